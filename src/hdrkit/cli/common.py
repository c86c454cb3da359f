"""Helpers shared by the subcommands: run policy (-y/-n/--quiet), progress bars with ETA, input expansion
(files, folders, globs, ``sample:NAME``), output checks and folder creation, option parsing.

Every subcommand gets ``-y/--yes``, ``-n/--no-overwrite`` and ``-q/--quiet`` from :mod:`hdrkit.cli.main`, which
sets :data:`POLICY` before the command body runs; commands only call the helpers below.
"""

from __future__ import annotations

import contextlib
import glob
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn

#: A run whose projected duration exceeds this many seconds gets a one-time ``warning:`` line on stderr.
LONG_RUN_S = 15 * 60.0


# ------------------------------------------------------------------------------------------------ run policy
@dataclass
class RunPolicy:
    """What the global options asked for: ``overwrite`` is ``"refuse"`` (default: an existing output is an
    error, like ffmpeg without -y), ``"yes"`` (-y) or ``"skip"`` (-n: existing outputs are kept and skipped, like
    ``cp -n``); ``quiet`` (-q) hides progress bars, warnings and the ``wrote ...`` lines (errors still print)."""

    overwrite: str = "refuse"
    quiet: bool = False


POLICY = RunPolicy()
#: Folders this run created for its outputs (removed again, if still empty, when the run fails).
_CREATED_DIRS: list[Path] = []


def set_policy(yes: bool = False, no_overwrite: bool = False, quiet: bool = False) -> RunPolicy:
    """Called once per command run by :mod:`hdrkit.cli.main`."""
    if yes and no_overwrite:
        raise InputError("-y/--yes and -n/--no-overwrite exclude each other")
    POLICY.overwrite = "yes" if yes else ("skip" if no_overwrite else "refuse")
    POLICY.quiet = bool(quiet)
    _CREATED_DIRS.clear()
    return POLICY


def say(message: str) -> None:
    """An informational line on stdout (``wrote ...``); nothing with ``--quiet``."""
    if not POLICY.quiet:
        print(message, flush=True)


def warn(message: str) -> None:
    """``warning: <message>`` on stderr; nothing with ``--quiet``."""
    if not POLICY.quiet:
        print(f"warning: {message}", file=sys.stderr, flush=True)


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


@contextlib.contextmanager
def rich_progress(description: str = "working", transient: bool = True,
                  long_run_s: float = LONG_RUN_S) -> Iterator[ProgressFn]:
    """A ``ProgressFn`` drawing a rich progress bar with elapsed time and ETA on stderr (silent when stderr is not
    a terminal, or with ``--quiet``).  When the projected total time exceeds ``long_run_s``, prints one
    ``warning: ... will take about ...`` line, terminal or not.  The speed is measured from the first completed
    step on (so start-up costs such as JIT compilation do not count), over at least 10 s and 2 steps."""
    from rich.console import Console
    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    console = Console(stderr=True)
    start = time.monotonic()
    warned = [False]
    first: list[tuple[float, int]] = []  # (time, done) of the first completed step
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=console,
        transient=transient,
        disable=POLICY.quiet or not console.is_terminal,
    ) as bar:
        task = bar.add_task(description, total=None)

        def update(done: int, total: int, desc: str = "") -> None:
            bar.update(task, completed=done, total=total, description=desc or description)
            if warned[0] or POLICY.quiet or not (0 < done < total):
                return
            now = time.monotonic()
            if not first:
                first.append((now, done))
                return
            t0, d0 = first[0]
            if now - t0 < 10.0 or done - d0 < 2:
                return
            elapsed = now - start
            projected = elapsed + (now - t0) / (done - d0) * (total - done)
            if projected > long_run_s:
                warned[0] = True
                msg = (f"warning: this run will take about {_duration(projected)} in all "
                       f"({_duration(projected - elapsed)} left at the current speed)")
                if bar.live.is_started and not bar.disable:
                    console.print(msg, markup=False, highlight=False, soft_wrap=True)
                else:
                    print(msg, file=sys.stderr, flush=True)

        yield update


# ------------------------------------------------------------------------------------------------ outputs
def _make_dirs(folder: Path) -> None:
    """Create ``folder`` and missing parents, remembering them for :func:`remove_created_dirs`."""
    missing = []
    p = folder
    while not p.exists():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    if p.exists() and not p.is_dir():
        raise InputError(f"cannot create output folder {folder}: {p} is a file")
    for d in reversed(missing):
        try:
            d.mkdir()
        except FileExistsError:
            continue
        except OSError as exc:
            raise InputError(f"cannot create output folder {d}: {exc.strerror or exc}") from None
        _CREATED_DIRS.append(d)


def remove_created_dirs() -> None:
    """Undo :func:`_make_dirs` after a failed run: remove the folders it created that are still empty."""
    for d in reversed(_CREATED_DIRS):
        try:
            d.rmdir()
        except OSError:
            pass
    _CREATED_DIRS.clear()


def _same(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def output_exists(out: Path) -> bool:
    """Apply the overwrite policy to one existing output: ``True`` means skip it (-n); refusing raises."""
    if not Path(out).exists():
        return False
    if POLICY.overwrite == "yes":
        return False
    if POLICY.overwrite == "skip":
        return True
    raise InputError(f"{out} exists; pass -y to overwrite it (or -n to keep existing outputs)")


def check_output_path(out: Path, inputs: Sequence[Path] = ()) -> Path:
    """Check an output file before any work: not an input, not a folder, the overwrite policy (-y/-n; with -n
    an existing output ends the run with exit code 0 and a note), and its folder created if missing."""
    import typer

    out = Path(out)
    for p in inputs:
        if p is not None and _same(p, out):
            raise InputError(f"output {out} is also an input; choose another -o")
    if out.is_dir():
        raise InputError(f"output {out} is a folder; give a file name")
    if output_exists(out):
        if not POLICY.quiet:
            print(f"skipped {out}: it exists (-n)", file=sys.stderr)
        raise typer.Exit(0)
    if str(out.parent) not in ("", "."):
        _make_dirs(out.parent)
    return out


def output_folder(folder: Path, inputs: Sequence[Path] = ()) -> Path:
    """An output folder: created if missing (with its parents), never an input folder or a file."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"output {folder} exists and is not a folder")
    for p in inputs:
        if _same(p, folder):
            raise InputError(f"the output folder {folder} must differ from the input folder")
    _make_dirs(folder)
    return folder


# ------------------------------------------------------------------------------------------------ inputs
def _image_exts() -> set[str]:
    from hdrkit.io.read import EXTENSIONS

    return set(EXTENSIONS)


def expand_inputs(items: Iterable[str | Path], exts: Optional[Iterable[str]] = None) -> tuple[list[Path], bool]:
    """Files named by command-line inputs: files as given, folders → their image files (sorted, not recursive,
    no hidden files), glob patterns (``'shots/*.exr'``, for shells that do not expand them) → their matches,
    ``sample:NAME`` → the shipped sample.  ``exts`` restricts folder/glob listings (default: every readable
    image extension).  Returns ``(files, many)``: ``many`` is True when a folder, a glob or several inputs were
    given, i.e. when outputs go into a folder."""
    exts = {e.lower() for e in (exts or _image_exts())}
    files: list[Path] = []
    many = False
    items = list(items)
    for item in items:
        text = str(item)
        p = resolve_input(item)
        if text.startswith("sample:") or p.is_file():
            files.append(p)
        elif p.is_dir():
            many = True
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in exts
                           and not f.name.startswith("."))
            if not found:
                raise InputError(f"no image files ({', '.join(sorted(exts))}) in folder {p}")
            files.extend(found)
        elif glob.has_magic(text):
            many = True
            found = sorted(Path(f) for f in glob.glob(text) if Path(f).is_file() and Path(f).suffix.lower() in exts)
            if not found:
                raise InputError(f"no image files match {text!r}")
            files.extend(found)
        elif p.exists():
            raise InputError(f"{p} is not a file or a folder")
        else:
            raise InputError(f"no such file: {p}")
    if not files:
        raise InputError("no input files")
    return files, many or len(items) > 1


def plan_outputs(files: Sequence[Path], many: bool, output: Path, ext: str,
                 extra_inputs: Sequence[Path] = ()) -> list[tuple[Path, Path]]:
    """``(input, output)`` jobs: one file → ``output`` itself (:func:`check_output_path`); several → files
    ``output/<stem>.<ext>`` in a folder created as needed.  The overwrite policy is applied to every output
    before any work: by default one existing output is an error, -y overwrites, -n skips those jobs."""
    output = Path(output)
    if not many:
        check_output_path(output, list(files) + list(extra_inputs))
        return [(files[0], output)]
    if not output.exists() and output.suffix.lower() in _image_exts():
        raise InputError(f"several inputs need an output folder, not the file name {output}")
    dirs = sorted({f.parent for f in files})
    output_folder(output, dirs)
    ext = ext.lstrip(".")
    jobs, seen, skipped = [], {}, 0
    for f in files:
        out = output / f"{f.stem}.{ext}"
        if out.name in seen:
            raise InputError(f"{seen[out.name]} and {f} would both write {out}; rename one")
        seen[out.name] = f
        if any(_same(out, g) for g in files):
            raise InputError(f"output {out} is also an input; choose another -o")
        if output_exists(out):
            skipped += 1
            continue
        jobs.append((f, out))
    if skipped:
        warn(f"skipping {skipped} existing output{'s' if skipped > 1 else ''} in {output} (-n)")
    return jobs


def run_jobs(jobs: Sequence[tuple[Path, Path]], label: str,
             work: Callable[[Path, Path, Optional[ProgressFn]], Optional[str]]) -> None:
    """Run ``work(src, out, progress)`` for each job under one progress bar; ``say`` what each returns.  One job
    gets the bar for its own steps; several share it, one step per file (``progress`` is then None)."""
    with rich_progress(label) as progress:
        if len(jobs) == 1:
            msg = work(jobs[0][0], jobs[0][1], progress)
            if msg:
                say(msg)
            return
        for i, (src, out) in enumerate(jobs):
            progress(i, len(jobs), f"{label} {src.name}")
            msg = work(src, out, None)
            if msg:
                say(msg)
        progress(len(jobs), len(jobs), label)


# ------------------------------------------------------------------------------------------------ parsing
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
