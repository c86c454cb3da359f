"""Exposure data from EXIF: ``ExposureTime``, ``FNumber``, ``ISOSpeedRatings`` (PhotographicSensitivity).

Read with Pillow (JPEG, PNG ``eXIf``, WebP, TIFF) or tifffile (16-bit TIFF Pillow cannot open).  Nothing is
executed or unpickled from the file; only the numeric tags are read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence, Union

from hdrkit.errors import InputError

__all__ = ["Exposure", "read_exposure", "bracket_times"]

_EXIF_IFD = 0x8769
_EXPOSURE_TIME = 0x829A
_FNUMBER = 0x829D
_ISO = 0x8827


@dataclass(frozen=True)
class Exposure:
    """Exposure settings of one photograph (``None`` where the file does not say)."""

    time: Optional[float]
    f_number: Optional[float]
    iso: Optional[float]


def _num(v) -> Optional[float]:
    if v is None:
        return None
    if isinstance(v, (tuple, list)):
        if len(v) == 2 and all(isinstance(x, int) for x in v):  # (numerator, denominator)
            return float(v[0]) / float(v[1]) if v[1] else None
        v = v[0] if v else None
        if v is None:
            return None
    try:
        f = float(v)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    return f if f > 0 and f == f and f != float("inf") else None


def _from_pillow(path: Path) -> Optional[dict]:
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as im:
            if im.format == "PNG":
                im.load()  # a PNG eXIf chunk after the image data is only seen once the file has been read
            exif = im.getexif()
            tags = dict(exif.get_ifd(_EXIF_IFD))
            for k in (_EXPOSURE_TIME, _FNUMBER, _ISO):  # some writers put them in IFD0
                if k not in tags and k in exif:
                    tags[k] = exif[k]
            return tags
    except Exception:  # noqa: BLE001 - unreadable by Pillow: try tifffile / report no EXIF
        return None


def _from_tifffile(path: Path) -> Optional[dict]:
    try:
        import tifffile

        with tifffile.TiffFile(path) as tf:
            page = tf.pages[0]
            tag = page.tags.get("ExifTag")
            exif = dict(tag.value) if tag is not None else {}
            names = {"ExposureTime": _EXPOSURE_TIME, "FNumber": _FNUMBER, "ISOSpeedRatings": _ISO,
                     "PhotographicSensitivity": _ISO}
            return {names[k]: v for k, v in exif.items() if k in names}
    except Exception:  # noqa: BLE001
        return None


def read_exposure(path: Union[str, os.PathLike]) -> Exposure:
    """Exposure time (s), f-number and ISO from the EXIF of ``path`` (missing values are ``None``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    tags = _from_pillow(path)
    if not tags and path.suffix.lower() in (".tif", ".tiff"):
        tags = _from_tifffile(path)
    tags = tags or {}
    return Exposure(_num(tags.get(_EXPOSURE_TIME)), _num(tags.get(_FNUMBER)), _num(tags.get(_ISO)))


def bracket_times(paths: Sequence[Union[str, os.PathLike]]) -> list[float]:
    """Relative exposures of a bracket from EXIF: ``t · (ISO/ISO₁) · (N₁/N)²`` (in seconds when aperture and ISO
    do not change; ISO/f-number are used only when every image has them).

    Raises :class:`InputError` naming the first file without an exposure time.
    """
    exps = [read_exposure(p) for p in paths]
    for p, e in zip(paths, exps):
        if e.time is None:
            raise InputError(f"{Path(p).name} has no EXIF ExposureTime; give the times with --times (e.g. 1/60,1/15,1/4)")
    times = [float(e.time) for e in exps]  # type: ignore[arg-type]
    if all(e.iso is not None for e in exps):
        times = [t * e.iso / exps[0].iso for t, e in zip(times, exps)]  # type: ignore[operator]
    if all(e.f_number is not None for e in exps):
        times = [t * (exps[0].f_number / e.f_number) ** 2 for t, e in zip(times, exps)]  # type: ignore[operator]
    return times
