"""Batch items: which input files make one output, found in a folder or listed in a manifest file.

Folder rules (deterministic output names, ``NAME.<format>`` in the output folder):

- ``encode``: every image file is an HDR master named by its stem without a trailing ``_hdr``; a file
  ``NAME_sdr.*`` is the SDR grade of master ``NAME`` (the layout ``hdrkit pairs`` writes).
- ``eval``: the reference folder and ``test_dir`` are paired by file name, then by stem.
- ``decode`` / ``expand`` / ``tonemap``: one image file = one item, named by its stem.

Folders and the paths in a list may be URIs of a pyarrow filesystem (``s3://bucket/prefix``, ``gs://...``,
``file://...``; :mod:`hdrkit.batch.storage`).  A manifest file (any file that is not a folder) lists one item per line: its input paths separated by a tab
or a comma (``HDR[,SDR]`` for encode, ``REF,TEST`` for eval), relative to the manifest's folder; blank lines
and ``#`` comments are ignored.  Two inputs that would write the same output name are both reported as failed
items rather than silently overwriting each other.
"""

from __future__ import annotations

from dataclasses import dataclass
import posixpath
from pathlib import Path
from typing import Optional

from hdrkit.batch import storage
from hdrkit.errors import InputError


@dataclass(frozen=True)
class Item:
    """One unit of work: ``name`` (output stem, unique), its input paths, or the reason it cannot run."""

    name: str
    inputs: tuple[str, ...]
    error: Optional[str] = None


def _images(folder) -> list[str]:
    from hdrkit.io import EXTENSIONS

    return [p for p in storage.list_files(folder) if _suffix(p) in EXTENSIONS]


def _stem(p: str) -> str:
    return posixpath.splitext(storage.name(p))[0]


def _suffix(p: str) -> str:
    return posixpath.splitext(storage.name(p))[1].lower()


def _strip(stem: str, suffix: str) -> str:
    return stem[: -len(suffix)] if stem.endswith(suffix) and len(stem) > len(suffix) else stem


def _unique(items: list[Item]) -> list[Item]:
    """Items whose names collide become failed items naming every input involved."""
    by_name: dict[str, list[Item]] = {}
    for it in items:
        by_name.setdefault(it.name, []).append(it)
    out = []
    for name, group in sorted(by_name.items()):
        if len(group) == 1:
            out.append(group[0])
        else:
            files = ", ".join(storage.name(i.inputs[0]) for i in group)
            out.append(Item(name, group[0].inputs, f"several inputs would write the same output {name}: {files}"))
    return out


def _pair_encode(files: list[str]) -> list[Item]:
    sdr = {_strip(_stem(p), "_sdr"): p for p in files if _stem(p).endswith("_sdr")}
    items, used = [], set()
    for p in files:
        if _stem(p).endswith("_sdr"):
            continue
        name = _strip(_stem(p), "_hdr")
        partner = sdr.get(name)
        if partner is not None:
            used.add(name)
        items.append(Item(name, (p,) + ((partner,) if partner is not None else ())))
    for name, p in sdr.items():
        if name not in used:
            items.append(Item(name, (p,), f"SDR grade {storage.name(p)} has no HDR master {name}_hdr.* or {name}.*"))
    return items


def _pair_eval(ref: list[str], test: list[str]) -> list[Item]:
    by_name = {storage.name(p): p for p in test}
    by_stem: dict[str, list[str]] = {}
    for p in test:
        by_stem.setdefault(_stem(p), []).append(p)
    items = []
    for p in ref:
        n, st = storage.name(p), _stem(p)
        t = by_name.get(n) or (by_stem[st][0] if len(by_stem.get(st, [])) == 1 else None)
        if t is None:
            items.append(Item(st, (p,), f"no test image named {n} or {st}.* in the test folder"))
        else:
            items.append(Item(st, (p, t)))
    return items


def discover(op_name: str, source: str | Path, test_dir: str | Path | None = None) -> list[Item]:
    """The items of ``source`` (a folder, or a manifest file) for the batch operation ``op_name``."""
    source = str(source)
    if storage.is_folder(source):
        files = _images(source)
        if op_name == "eval":
            if test_dir is None or not storage.is_folder(test_dir):
                raise InputError("batch eval of a folder needs --test FOLDER (same-named test images)")
            items = _pair_eval(files, _images(str(test_dir)))
        elif op_name == "encode":
            items = _pair_encode(files)
        else:
            items = [Item(_stem(p), (p,)) for p in files]
        if not items:
            raise InputError(f"no image files in {source}")
        return _unique(items)
    if storage.is_uri(source) or not Path(source).is_file():
        raise InputError(f"{source} is neither a folder nor a list of inputs")
    return _unique(read_list(op_name, Path(source)))


def read_list(op_name: str, path: Path) -> list[Item]:
    """Items of a manifest file (see the module docstring)."""
    from hdrkit.batch.ops import OPS

    lo, hi = OPS[op_name].arity
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the list of inputs {path}: {exc}") from None
    items = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = [f.strip() for f in (line.split("\t") if "\t" in line else line.split(","))]
        fields = [f for f in fields if f]
        paths = tuple(p if storage.is_uri(p) or Path(p).is_absolute() else str(path.parent / p) for p in fields)
        name = _strip(_stem(paths[0]), "_hdr") if op_name == "encode" else _stem(paths[0])
        if not lo <= len(paths) <= hi:
            want = f"{lo}" if lo == hi else f"{lo} or {hi}"
            items.append(Item(name, paths, f"{path.name} line {n}: {len(paths)} paths, batch {op_name} takes {want}"))
        else:
            items.append(Item(name, paths))
    if not items:
        raise InputError(f"{path} lists no inputs")
    return items
