"""Helpers shared by the subcommands: progress bars, option parsing, output checks."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator, Optional

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn


@contextlib.contextmanager
def rich_progress(description: str = "working", transient: bool = True) -> Iterator[ProgressFn]:
    """A ``ProgressFn`` drawing a rich progress bar on stderr (silent when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
        disable=not console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, desc: str = "") -> None:
            bar.update(task, completed=done, total=total, description=desc or description)

        yield update


def check_output_path(out: Path, inputs: list[Path] | tuple[Path, ...] = ()) -> Path:
    """Refuse to overwrite an input and require an existing parent folder."""
    out = Path(out)
    for p in inputs:
        try:
            if Path(p).resolve() == out.resolve():
                raise InputError(f"output {out} is also an input; choose another -o")
        except OSError:
            pass
    if not out.parent.exists() and str(out.parent) not in ("", "."):
        raise InputError(f"output folder {out.parent} does not exist")
    return out


def parse_float(value: Optional[str], name: str) -> Optional[float]:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        raise InputError(f"{name} must be a number, got {value!r}") from None


def resolve_input(path: str | Path) -> Path:
    """``sample:NAME`` → the sample shipped in the package (``hdrkit/assets/samples``); other paths unchanged."""
    text = str(path)
    if not text.startswith("sample:"):
        return Path(path)
    import importlib.resources

    name = text[len("sample:"):]
    folder = importlib.resources.files("hdrkit") / "assets" / "samples"
    matches = sorted(p.name for p in folder.iterdir() if p.name.split(".")[0] == name and not p.name.endswith(".md"))
    if not matches:
        avail = sorted({p.name.split(".")[0] for p in folder.iterdir() if not p.name.endswith(".md")})
        raise InputError(f"no shipped sample named {name!r}; available: {', '.join(avail)}")
    return Path(str(folder / matches[0]))


def replace_given(config, **changes):
    """``dataclasses.replace(config, ...)`` with only the options the user gave (``None`` = keep the default)."""
    from dataclasses import replace

    return replace(config, **{k: v for k, v in changes.items() if v is not None})
