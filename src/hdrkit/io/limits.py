"""Resource limits for untrusted input: which files may be opened and how many pixels may be decoded.

Memory model
------------
Every reader checks the picture size a header declares *before* any large allocation, against

1. the **pixel budget** ``max_pixels`` (default 2**27 = 134 M pixels, e.g. 16384×8192): the float32 RGB
   image alone is 12 bytes per pixel (1.6 GB at the budget), and a read peaks at about 2× that (the decoded
   samples plus the float32 copy; see ``docs/ROBUSTNESS.md`` for the measured figures);
2. **what the file can hold**: above ``trusted_pixels`` (default 2**22, 4.2 M pixels) a file must carry at
   least one byte per ``max_pixels_per_byte`` (default 8) declared pixels.  Real photographs need 0.1–1 byte per
   pixel; a header claiming 10000×10000 pixels in 762 bytes is a truncated file or a decompression bomb, and
   is refused before the decoder allocates anything.  With the defaults a file under 1 MB never decodes to
   more than 8.4 M pixels (about 100 MB as float32);
3. per-format hard capacities where they are exact (a deflate stream expands at most 1032:1, so a PNG whose
   IDAT bytes cannot fill its declared rows is truncated).

The budget is per thread/task (a :mod:`contextvars` variable): :func:`budget` changes it for a block, the
CLI sets it from ``hdrkit --max-pixels N`` (which also trusts any compression ratio up to ``N`` pixels: the
user vouches for the file).  Nothing here changes process-wide state.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator, Optional

from hdrkit.errors import FormatError, InputError

#: Longest side any reader accepts.
MAX_SIDE = 1 << 17


@dataclass(frozen=True)
class Budget:
    """Limits applied to every decode (see the module docstring for the memory model)."""

    max_pixels: int = 1 << 27
    trusted_pixels: int = 1 << 22
    max_pixels_per_byte: float = 8.0
    #: Embedded decoders (``hdrkit.codec``): refuse metadata asking for more than this many parameters × pixels
    #: (multiply-adds per pixel, whatever the architecture) before running it.  5e11 is ~10 s on one core at
    #: the measured 5e10/s; the default 9 k-parameter model reaches it at 55 M pixels.
    max_decode_cost: float = 5e11

    @property
    def max_file_bytes(self) -> int:
        """Largest input file read into memory: float32 RGBA stored uncompressed at the budget, twice over."""
        return max(self.max_pixels, 1 << 20) * 32


_BUDGET: contextvars.ContextVar[Budget] = contextvars.ContextVar("hdrkit_budget", default=Budget())


def current_budget() -> Budget:
    """The :class:`Budget` in force in this thread/task."""
    return _BUDGET.get()


@contextlib.contextmanager
def budget(max_pixels: Optional[int] = None, **changes) -> Iterator[Budget]:
    """Run a block under a different budget; ``max_pixels=N`` also trusts any compression ratio up to N pixels."""
    b = current_budget()
    if max_pixels is not None:
        if int(max_pixels) < 1:
            raise InputError(f"the pixel budget must be a positive number of pixels, got {max_pixels}")
        changes = {"trusted_pixels": int(max_pixels), **changes, "max_pixels": int(max_pixels)}
    token = _BUDGET.set(replace(b, **changes))
    try:
        yield _BUDGET.get()
    finally:
        _BUDGET.reset(token)


def set_budget(max_pixels: int) -> None:
    """Set the budget of the current context for good (what the CLI does once per process from ``--max-pixels``)."""
    if int(max_pixels) < 1:
        raise InputError(f"--max-pixels must be a positive number of pixels, got {max_pixels}")
    _BUDGET.set(replace(current_budget(), max_pixels=int(max_pixels), trusted_pixels=int(max_pixels)))


def check_pixels(name: str, width: int, height: int, nbytes: int) -> None:
    """Refuse a declared ``width×height`` before decoding: invalid, over the budget, or more than ``nbytes`` of
    file can plausibly hold.  Raises :class:`FormatError` with one line."""
    width, height = int(width), int(height)
    if width <= 0 or height <= 0:
        raise FormatError(f"{name}: invalid image size {width}×{height}")
    b = current_budget()
    n = width * height
    if width > MAX_SIDE or height > MAX_SIDE or n > b.max_pixels:
        raise FormatError(f"{name}: image size {width}×{height} ({n:,} pixels) is too large for the pixel budget of "
                          f"{b.max_pixels:,} (raise it with hdrkit --max-pixels)")
    if n > b.trusted_pixels and n > b.max_pixels_per_byte * nbytes:
        raise FormatError(f"{name}: header claims {width}×{height} pixels but the file has only {nbytes:,} bytes "
                          f"(truncated, or a decompression bomb; hdrkit --max-pixels {n} accepts it)")


def check_decode_cost(name: str, n_params: int, n_pixels: int) -> None:
    """Refuse running an embedded model of ``n_params`` parameters over ``n_pixels`` pixels when the product
    exceeds the budget's ``max_decode_cost`` (cost amplification by metadata).  Raises :class:`FormatError`."""
    limit = current_budget().max_decode_cost
    cost = float(n_params) * float(n_pixels)
    if cost > limit:
        raise FormatError(f"{name}: its embedded decoder ({n_params:,} parameters × {n_pixels:,} pixels = {cost:.3g}) "
                          f"exceeds the decode-cost limit of {limit:.3g}")


def read_input(path: str | os.PathLike, *, what: str = "file", head: Optional[int] = None) -> bytes:
    """All bytes of a *regular* file (or its first ``head`` bytes), refusing folders, FIFOs, devices (a symlink to
    ``/dev/zero``) and files larger than the budget allows, before reading anything.  Raises
    :class:`InputError`."""
    p = Path(path)
    st = _stat_regular(p, what)
    limit = current_budget().max_file_bytes
    if st.st_size > limit:
        raise InputError(f"{p} is {st.st_size:,} bytes, more than the {limit:,} the pixel budget allows "
                         f"(raise it with hdrkit --max-pixels)")
    try:
        # O_NONBLOCK: a file swapped for a FIFO after the stat cannot block the open
        fd = os.open(p, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    try:
        st2 = os.fstat(fd)
        if not stat.S_ISREG(st2.st_mode) or st2.st_size > limit:
            raise InputError(f"{p} changed while being opened (no longer a regular file of a safe size)")
        if head is not None:
            return os.read(fd, max(0, min(int(head), st2.st_size)))
        chunks, left = [], st2.st_size + 1
        while left > 0:  # one read for most files: b"".join of one piece is that piece, not a copy
            chunk = os.read(fd, min(left, 1 << 30))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        if left <= 0:
            raise InputError(f"{p} grew while being read")
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def check_input_file(path: str | os.PathLike, *, what: str = "file") -> Path:
    """The checks of :func:`read_input` without reading (for libraries that open the path themselves)."""
    p = Path(path)
    _stat_regular(p, what)
    return p


def _stat_regular(p: Path, what: str) -> os.stat_result:
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"no such file: {p}") from None
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{p} is a folder, not a {what}")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{p} is not a regular file (a FIFO, device or socket is not an image or data file)")
    return st
