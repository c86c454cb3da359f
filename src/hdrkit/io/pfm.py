"""Portable FloatMap (.pfm): ``PF`` (RGB) / ``Pf`` (grey), scale sign = endianness, rows bottom-to-top."""

from __future__ import annotations

import numpy as np

from hdrkit.errors import FormatError


def _read_token(data: bytes, pos: int) -> tuple[bytes, int]:
    while pos < len(data) and data[pos:pos + 1].isspace():
        pos += 1
    start = pos
    while pos < len(data) and not data[pos:pos + 1].isspace():
        pos += 1
    if start == pos:
        raise FormatError("PFM header is truncated")
    return data[start:pos], pos


def read_header(data: bytes) -> tuple[int, int, int, str, int]:
    """``(channels, width, height, byte order '<'|'>', data offset)``."""
    magic, pos = _read_token(data, 0)
    if magic not in (b"PF", b"Pf"):
        raise FormatError("not a PFM file (magic must be PF or Pf)")
    try:
        w, pos = _read_token(data, pos)
        h, pos = _read_token(data, pos)
        s, pos = _read_token(data, pos)
        width, height, scale = int(w), int(h), float(s)
    except ValueError:
        raise FormatError("PFM header is malformed") from None
    if width <= 0 or height <= 0 or scale == 0:
        raise FormatError("PFM header is malformed (size or scale)")
    return (3 if magic == b"PF" else 1), width, height, ("<" if scale < 0 else ">"), pos + 1


def decode(data: bytes) -> np.ndarray:
    ch, w, h, order, off = read_header(data)
    need = w * h * ch * 4
    if len(data) - off < need:
        raise FormatError(f"PFM is truncated ({len(data) - off} of {need} data bytes)")
    arr = np.frombuffer(data, dtype=f"{order}f4", count=w * h * ch, offset=off).astype(np.float32)
    arr = arr.reshape(h, w, ch)[::-1]
    return np.ascontiguousarray(arr if ch == 3 else arr[..., 0])


def encode(pixels: np.ndarray) -> bytes:
    px = np.asarray(pixels, dtype="<f4")
    h, w = px.shape[:2]
    header = f"PF\n{w} {h}\n-1.0\n".encode("ascii")
    return header + np.ascontiguousarray(px[::-1]).tobytes()
