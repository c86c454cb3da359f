"""Where batch inputs and outputs live: local paths, or URIs of a pyarrow filesystem (``s3://``, ``gs://``,
``hdfs://``, ``file://``; whatever ``pyarrow.fs.FileSystem.from_uri`` resolves on the worker).

The hdrkit readers and writers need local files, so a worker copies each remote input to its local temporary
folder (hashing it on the way), runs the command there and uploads the output: in one stream on object stores
(an S3/GCS object appears whole or not at all), as a temporary name then a rename elsewhere.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import uuid
from pathlib import Path
from typing import Iterator, Optional

from hdrkit.errors import InputError


def is_uri(p) -> bool:
    return "://" in str(p)


def _fs(uri: str):
    try:
        import pyarrow
        from pyarrow import fs
    except ImportError:  # pragma: no cover - pyarrow comes with ray[data]
        raise InputError(f"{uri}: remote paths need pyarrow (pip install 'hdrkit[ray]')") from None
    try:
        return fs.FileSystem.from_uri(str(uri))
    except (pyarrow.ArrowException, ValueError, OSError, NotImplementedError) as exc:  # unknown scheme, no
        # credentials, ... (pyarrow's ArrowInvalid is a ValueError, its I/O errors OSErrors)
        raise InputError(f"cannot open {uri}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") \
            from None


def name(p) -> str:
    """The file name of a path or URI."""
    return posixpath.basename(str(p).rstrip("/")) if is_uri(p) else Path(p).name


def join(folder, filename: str) -> str:
    return f"{str(folder).rstrip('/')}/{filename}" if is_uri(folder) else str(Path(folder) / filename)


def stat(p) -> Optional[tuple[int, int]]:
    """``(size, mtime_ns)`` of a file, or None when there is none."""
    if not is_uri(p):
        try:
            st = os.stat(p)
        except OSError:
            return None
        return (st.st_size, st.st_mtime_ns) if os.path.isfile(p) else None
    from pyarrow.fs import FileType

    f, path = _fs(p)
    info = f.get_file_info(path)
    if info.type != FileType.File:
        return None
    return int(info.size or 0), int(info.mtime_ns or 0)


def is_folder(p) -> bool:
    if not is_uri(p):
        return Path(p).is_dir()
    from pyarrow.fs import FileType

    f, path = _fs(p)
    return f.get_file_info(path).type == FileType.Directory


def list_files(folder) -> list[str]:
    """The files directly in ``folder`` (not hidden), sorted."""
    if not is_uri(folder):
        return sorted(str(p) for p in Path(folder).iterdir() if p.is_file() and not p.name.startswith("."))
    from pyarrow.fs import FileSelector, FileType

    f, path = _fs(folder)
    infos = f.get_file_info(FileSelector(path, recursive=False))
    return sorted(join(folder, i.base_name) for i in infos
                  if i.type == FileType.File and not i.base_name.startswith("."))


def make_folder(folder) -> None:
    if is_uri(folder):
        f, path = _fs(folder)
        f.create_dir(path, recursive=True)
    else:
        Path(folder).mkdir(exist_ok=True)


def digest(p) -> str:
    """SHA-256 of a file's content."""
    h = hashlib.sha256()
    if is_uri(p):
        f, path = _fs(p)
        with f.open_input_stream(path) as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
    else:
        with open(p, "rb") as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
    return h.hexdigest()


def fetch(p, folder: Path) -> tuple[Path, str]:
    """A local copy of ``p`` in ``folder`` (``p`` itself when local) and the SHA-256 of its content."""
    if not is_uri(p):
        return Path(p), digest(p)
    f, path = _fs(p)
    dst = folder / f"{uuid.uuid4().hex[:8]}_{name(p)}"
    h = hashlib.sha256()
    with f.open_input_stream(path) as src, open(dst, "wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            h.update(chunk)
            out.write(chunk)
    return dst, h.hexdigest()


def upload(local: Path, uri: str) -> None:
    """Copy the finished local file to ``uri`` so that no partial object or file is ever visible there."""
    f, path = _fs(uri)
    direct = f.type_name in ("s3", "gcs")  # an object exists only once its upload completed
    parent, base = posixpath.split(path)
    target = path if direct else posixpath.join(parent, f".{base}.{uuid.uuid4().hex[:8]}.part")
    try:
        with open(local, "rb") as src, f.open_output_stream(target) as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                out.write(chunk)
        if not direct:
            f.move(target, path)
    except BaseException:
        if not direct:
            with contextlib.suppress(Exception):
                f.delete_file(target)
        raise


@contextlib.contextmanager
def local_output(uri: str, folder: Path) -> Iterator[Path]:
    """A local path to write the output of ``uri`` to (``uri`` itself when local); uploaded on success."""
    if not is_uri(uri):
        yield Path(uri)
        return
    local = folder / name(uri)
    yield local
    upload(local, uri)
