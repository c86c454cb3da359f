"""Atomic file output: write to a temporary file in the destination folder, then ``os.replace`` it.

A crash or an error half-way leaves no partial output and never touches an existing file of the same name.
The temporary name is ASCII (``.hdrkit-XXXXXXXX.tmp.EXT``) whatever the output is called, so encoders that
cannot take arbitrary bytes in a path still work; errors name the output, never the temporary file.  The file
is created with mode 0o666 filtered by the process umask (the usual permissions) without reading or changing
the umask: nothing process-wide is touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
from pathlib import Path
from typing import Iterator

from hdrkit.errors import FormatError, InputError


def _create_temp(folder: Path, suffix: str, out: Path) -> Path:
    suffix = suffix if suffix.isascii() else ""
    for _ in range(100):
        tmp = folder / f".hdrkit-{secrets.token_hex(6)}.tmp{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o666)
        except FileExistsError:
            continue
        except OSError as exc:  # no permission, read-only file system, name too long, ...
            raise InputError(f"cannot write {out}: {exc.strerror or exc}") from None
        os.close(fd)
        return tmp
    raise InputError(f"cannot write {out}: no free temporary name in {folder}")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path (same folder, same extension) that becomes ``path`` when the block succeeds.

    Raises :class:`InputError` (one line, naming ``path``) when the folder is missing or unwritable.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(f"output folder {folder} does not exist")
    if path.is_dir():
        raise InputError(f"output {path} is a folder")
    tmp_path = _create_temp(folder, path.suffix, path)
    try:
        try:
            yield tmp_path
        except OSError as exc:  # the encoder writing the temporary file: disk full, quota, ...
            raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
        try:
            size = tmp_path.stat().st_size
        except FileNotFoundError:
            size = 0
        if size == 0:
            raise FormatError(f"writing {path} produced no data")
        try:
            os.replace(tmp_path, path)
        except OSError as exc:
            msg = "it is a folder" if exc.errno == errno.EISDIR else (exc.strerror or str(exc))
            raise InputError(f"cannot write {path}: {msg}") from None
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
