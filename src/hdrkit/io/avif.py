"""AVIF: 8/10/12-bit read and write through libavif (``imagecodecs``), with nclx colour signalling.

Pixels are coded by libavif (``imagecodecs.avif_encode/avif_decode``); the colour signalling libavif wrote or
read is checked here from the file itself: the ISOBMFF ``colr`` property (``nclx``: ITU-T H.273 primaries,
transfer, matrix, full-range flag; or ``prof``/``rICC``: an ICC profile) and ``pixi`` (bits per channel),
walked box by box with bounds checks (ISO/IEC 14496-12 §4.2, §12.1.5; ISO/IEC 23008-12 (HEIF) ``iprp``/
``ipco``; AV1 Image File Format §2).

Writing: PQ/HLG images are 10-bit (or 12) with nclx (9|1|12 / 16|18 / matrix); SDR images are 8-bit with the
nclx of their encoding; ``quality=100`` is lossless (identity matrix, 4:4:4).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

from hdrkit.errors import FormatError, InputError

_CONTAINERS = {b"meta": 4, b"iprp": 0, b"ipco": 0}


@dataclass(frozen=True)
class AvifInfo:
    bits: Optional[int]                               # from pixi (bits per channel), when present
    nclx: Optional[Tuple[int, int, int, int]]         # (primaries, transfer, matrix, full range 0/1)
    icc: Optional[bytes]
    size: Optional[Tuple[int, int]] = None             # (width, height) from ispe, when present


def _boxes(data: bytes, start: int, end: int, depth: int = 0) -> List[Tuple[bytes, int, int]]:
    """``[(type, payload start, payload end)]`` of the boxes in ``data[start:end]``, descending into the
    containers that lead to the image properties."""
    out: List[Tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end and len(out) < 4096:
        size, typ = struct.unpack(">I4s", data[pos:pos + 8])
        head = 8
        if size == 1:
            if pos + 16 > end:
                break
            (size,) = struct.unpack(">Q", data[pos + 8:pos + 16])
            head = 16
        elif size == 0:
            size = end - pos
        if size < head or pos + size > end:
            raise FormatError("AVIF box runs past the end of the file (truncated or corrupt)")
        out.append((typ, pos + head, pos + size))
        if typ in _CONTAINERS and depth < 4:
            out += _boxes(data, pos + head + _CONTAINERS[typ], pos + size, depth + 1)
        pos += size
    return out


def info(data: bytes) -> AvifInfo:
    """Colour signalling and bit depth of an AVIF file, read from its boxes."""
    if data[4:8] != b"ftyp":
        raise FormatError("not an AVIF file (no ftyp box)")
    bits = nclx = icc = size = None
    for typ, a, b in _boxes(data, 0, len(data)):
        if typ == b"ispe" and b - a >= 12:
            w, h = struct.unpack(">II", data[a + 4:a + 12])
            size = (w, h) if size is None else (max(size[0], w), max(size[1], h))
        if typ == b"colr" and b - a >= 4:
            kind = data[a:a + 4]
            if kind == b"nclx" and b - a >= 11 and nclx is None:
                p, t, m = struct.unpack(">HHH", data[a + 4:a + 10])
                nclx = (p, t, m, data[a + 10] >> 7)
            elif kind in (b"prof", b"rICC") and icc is None:
                icc = bytes(data[a + 4:b])
        elif typ == b"pixi" and b - a >= 5 and bits is None:
            n = data[a + 4]
            if n >= 1 and b - a >= 5 + n:
                bits = int(data[a + 5])
    return AvifInfo(bits, nclx, icc, size)


def decode(data: bytes) -> np.ndarray:
    """Pixels ``(H, W, C)`` uint8 or uint16 (values up to ``2**bits - 1``) through libavif."""
    import imagecodecs

    try:
        return np.asarray(imagecodecs.avif_decode(data, numthreads=1))
    except (imagecodecs.AvifError, ValueError, RuntimeError) as exc:  # libavif's errors, raised by imagecodecs
        raise FormatError(f"cannot decode AVIF ({str(exc).splitlines()[0] if str(exc) else exc})") from None


def encode(codes: np.ndarray, bits: int, primaries: int, transfer: int, quality: int = 95,
           alpha: Optional[np.ndarray] = None, ycbcr: bool = False) -> bytes:
    """AVIF bytes of integer code values ``(H, W, 3)`` (``bits`` = 8, 10 or 12) with nclx (``primaries``,
    ``transfer``) and full range; ``quality`` 1..100 (100: lossless, identity matrix).  ``ycbcr=True`` with
    ``quality=100`` codes 4:4:4 Y'CbCr (matrix of the primaries, e.g. nclx 9/16/9) losslessly: the only loss is
    the Y'CbCr rounding, at most 1 code per channel."""
    import imagecodecs

    if bits not in (8, 10, 12):
        raise InputError(f"AVIF holds 8, 10 or 12 bits per channel, got {bits}")
    if not 1 <= int(quality) <= 100:
        raise InputError(f"quality must be in 1..100, got {quality}")
    arr = codes if alpha is None else np.concatenate([codes, alpha[..., None]], axis=-1)
    lossless = int(quality) == 100
    matrix = 0 if lossless and not ycbcr else (9 if primaries == 9 else 1)
    return bytes(imagecodecs.avif_encode(
        np.ascontiguousarray(arr, np.uint8 if bits == 8 else np.uint16), level=int(quality), bitspersample=bits,
        primaries=primaries, transfer=transfer, matrix=matrix, pixelformat=imagecodecs.AVIF.PIXEL_FORMAT.YUV444,
        numthreads=1))


__all__ = ["AvifInfo", "decode", "encode", "info"]
