"""Errors are mapped where they arise, never by a catch-all; readers and writers touch no process-wide state."""

from __future__ import annotations

import ast
import threading
from pathlib import Path

import numpy as np

SRC = Path(__file__).resolve().parents[2] / "src" / "hdrkit"
_ERRORS = {"HdrkitError", "InputError", "FormatError", "MetadataError"}


def _broad(handler: ast.ExceptHandler) -> bool:
    names = []
    t = handler.type
    if t is None:
        return True
    for node in (t.elts if isinstance(t, ast.Tuple) else [t]):
        if isinstance(node, ast.Attribute):  # a library's own type (ocio.Exception) is fine, builtins.X is not
            if getattr(node.value, "id", "") == "builtins":
                names.append(node.attr)
        else:
            names.append(getattr(node, "id", ""))
    return bool({"Exception", "BaseException"} & set(names))


def _raises_hdrkit_error(handler: ast.ExceptHandler) -> bool:
    """True when the handler turns what it caught into an hdrkit error.  A handler that re-raises (bare
    ``raise``) what it does not recognise is a filter, not a catch-all (e.g. Ray's bare ``Exception`` for a
    start-up timeout, matched by exact type and text)."""
    if any(isinstance(n, ast.Raise) and n.exc is None for n in ast.walk(handler)):
        return False
    for node in ast.walk(handler):
        if isinstance(node, ast.Raise) and node.exc is not None:
            call = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            name = call.attr if isinstance(call, ast.Attribute) else getattr(call, "id", "")
            if name in _ERRORS:
                return True
    return False


def test_no_catch_all_makes_the_one_line_message():
    """No ``except Exception``/``BaseException``/bare ``except`` in the package turns what it caught into an
    hdrkit error (and the CLI's ``main`` catches only ``HdrkitError``): each library exception is mapped, by
    type, at the I/O or parsing call that raises it."""
    offenders = []
    for path in sorted(SRC.rglob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ExceptHandler) and _broad(node) and _raises_hdrkit_error(node):
                offenders.append(f"{path.relative_to(SRC)}:{node.lineno}")
    assert not offenders, offenders
    main = ast.parse((SRC / "cli" / "main.py").read_text())
    caught = {ast.unparse(h.type) for h in ast.walk(main) if isinstance(h, ast.ExceptHandler) and h.type}
    assert "Exception" not in caught and "BaseException" not in caught, caught


def test_the_lint_catches_a_catch_all():
    bad = ast.parse("try:\n    f()\nexcept Exception as exc:\n    raise FormatError(str(exc))\n")
    good = ast.parse("try:\n    f()\nexcept (ValueError, OSError) as exc:\n    raise FormatError(str(exc))\n")
    h_bad = next(n for n in ast.walk(bad) if isinstance(n, ast.ExceptHandler))
    h_good = next(n for n in ast.walk(good) if isinstance(n, ast.ExceptHandler))
    assert _broad(h_bad) and _raises_hdrkit_error(h_bad)
    assert not _broad(h_good)
    filt = ast.parse("try:\n    f()\nexcept Exception as exc:\n    if type(exc) is not Exception:\n        raise\n"
                     "    raise FormatError(str(exc))\n")
    assert not _raises_hdrkit_error(next(n for n in ast.walk(filt) if isinstance(n, ast.ExceptHandler)))


def test_no_process_wide_state_in_io():
    """The I/O layer neither redirects file descriptors, nor flips the umask, nor sets Pillow's global limit."""
    text = "\n".join(p.read_text() for p in (SRC / "io").rglob("*.py"))
    for needle in ("dup2", "os.umask", "MAX_IMAGE_PIXELS =", "simplefilter", "setLogLevel", "LOAD_TRUNCATED"):
        assert needle not in text, needle


def _files(folder: Path) -> dict[str, Path]:
    from hdrkit.io import Image, write_image

    rng = np.random.default_rng(0)
    out = {}
    for k, ext in enumerate(("png", "exr", "hdr", "tif", "jpg", "pfm", "avif")):
        img = Image((rng.random((40 + k, 56, 3)) * 0.9).astype(np.float32), "bt709", "bt1886")
        out[ext] = write_image(folder / f"seed.{ext}", img)
    return out


def test_readers_and_writers_are_thread_safe(tmp_path):
    """Eight threads read every format and write it back (with the pixel budget changed in some of them) at
    once; each gets exactly what a single-threaded read gives, and the budget of one never leaks into another."""
    from hdrkit.errors import FormatError
    from hdrkit.io import read_image, write_image
    from hdrkit.io.limits import budget, current_budget

    files = _files(tmp_path)
    expected = {ext: read_image(p).pixels for ext, p in files.items()}
    errors: list[str] = []
    barrier = threading.Barrier(8)

    def work(t: int) -> None:
        barrier.wait()
        try:
            for rep in range(3):
                for ext, p in files.items():
                    if t % 2:
                        with budget(max_pixels=100):  # tiny: this thread must be refused, the others not
                            try:
                                read_image(p)
                                errors.append(f"thread {t}: budget ignored")
                            except FormatError:
                                pass
                    img = read_image(p)
                    if not np.array_equal(img.pixels, expected[ext]):
                        errors.append(f"thread {t}: {ext} differs")
                    write_image(tmp_path / f"t{t}_{rep}.{ext}", img)
            if current_budget().max_pixels != 1 << 27:
                errors.append(f"thread {t}: budget leaked")
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(f"thread {t}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors[:5]
    for ext in files:
        back = read_image(tmp_path / f"t0_0.{ext}")
        assert back.pixels.shape == expected[ext].shape
