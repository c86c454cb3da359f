"""OpenEXR via the official ``OpenEXR`` Python binding (half/float; RGB, RGBA, Y; chromaticities, whiteLuminance)."""

from __future__ import annotations

import base64
import io
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np

from hdrkit.errors import FormatError

MAGIC = b"\x76\x2f\x31\x01"

#: Scanlines per chunk of each compression (OpenEXR file layout); unknown codes are refused.
_LINES_PER_CHUNK = {0: 1, 1: 1, 2: 1, 3: 16, 4: 32, 5: 16, 6: 32, 7: 32, 8: 32, 9: 256, 10: 256, 11: 32}
_MAX_ATTRIBUTES = 1024


def parse_header(data: bytes, name: str = "EXR") -> dict[str, Any]:
    """Check an OpenEXR file's structure in pure Python before the C++ library sees it.

    Parses the (single-part) header attributes, refuses deep and unknown layouts, and for scanline files checks
    that every chunk of the offset table lies inside the file with a plausible leader (so a truncated or corrupt
    file is refused here, silently, instead of by OpenEXR printing to stderr).  Returns ``{"width", "height",
    "compression", "tiled", "chromaticities" (8 floats or None), "whiteLuminance" (float or None),
    "channels" [(name, pixel type)]}``.  Raises :class:`FormatError` with one line.
    """
    n = len(data)
    if n < 8 or data[:4] != MAGIC:
        raise FormatError(f"{name}: not an OpenEXR file (bad magic number)")
    version = struct.unpack("<I", data[4:8])[0]
    if version & 0xFF != 2:
        raise FormatError(f"{name}: unsupported OpenEXR version {version & 0xFF}")
    tiled, long_names, deep, multipart = (bool(version & f) for f in (0x200, 0x400, 0x800, 0x1000))
    if deep:
        raise FormatError(f"{name}: deep OpenEXR images are not supported")
    pos, attrs = 8, {}
    limit = 255 if long_names else 31
    while True:
        end = data.find(b"\0", pos, pos + limit + 1)
        if end < 0:
            raise FormatError(f"{name}: OpenEXR header is truncated or corrupt")
        if end == pos:  # empty name: end of the header
            pos += 1
            break
        aname = data[pos:end].decode("latin1")
        tend = data.find(b"\0", end + 1, end + 1 + limit + 1)
        if tend < 0 or tend + 5 > n:
            raise FormatError(f"{name}: OpenEXR header is truncated or corrupt")
        atype = data[end + 1:tend].decode("latin1")
        (size,) = struct.unpack("<i", data[tend + 1:tend + 5])
        if size < 0 or tend + 5 + size > n:
            raise FormatError(f"{name}: OpenEXR attribute {aname!r} runs past the end of the file")
        attrs[aname] = (atype, data[tend + 5:tend + 5 + size])
        pos = tend + 5 + size
        if len(attrs) > _MAX_ATTRIBUTES:
            raise FormatError(f"{name}: OpenEXR header has too many attributes")
    if multipart:
        raise FormatError(f"{name}: multi-part OpenEXR files are not supported")

    def get(key: str, typ: str, fmt: str):
        if key not in attrs:
            return None
        t, v = attrs[key]
        if t != typ or len(v) != struct.calcsize(fmt):
            raise FormatError(f"{name}: OpenEXR attribute {key!r} has type {t!r} ({len(v)} bytes), expected {typ!r}")
        return struct.unpack("<" + fmt, v)

    box = get("dataWindow", "box2i", "4i")
    comp = get("compression", "compression", "B")
    if box is None or comp is None or "channels" not in attrs:
        raise FormatError(f"{name}: OpenEXR header lacks dataWindow, compression or channels")
    if comp[0] not in _LINES_PER_CHUNK:
        raise FormatError(f"{name}: unknown OpenEXR compression {comp[0]}")
    width, height = box[2] - box[0] + 1, box[3] - box[1] + 1
    if width <= 0 or height <= 0:
        raise FormatError(f"{name}: invalid OpenEXR data window {box}")
    chroma = get("chromaticities", "chromaticities", "8f")
    white = get("whiteLuminance", "float", "f")
    if chroma is not None and not all(math.isfinite(c) for c in chroma):
        raise FormatError(f"{name}: OpenEXR chromaticities are not finite")
    if white is not None and not (math.isfinite(white[0]) and white[0] > 0):
        raise FormatError(f"{name}: OpenEXR whiteLuminance {white[0]} is not a positive number")
    channels = _channels(attrs["channels"], name)
    if not tiled:
        _check_scanline_chunks(data, pos, box, _LINES_PER_CHUNK[comp[0]], name)
    return {"width": width, "height": height, "compression": comp[0], "tiled": tiled, "channels": channels,
            "chromaticities": chroma, "whiteLuminance": None if white is None else white[0]}


def _channels(attr: tuple[str, bytes], name: str) -> list[tuple[str, int]]:
    atype, v = attr
    if atype != "chlist":
        raise FormatError(f"{name}: OpenEXR channels attribute has type {atype!r}")
    out, pos = [], 0
    while pos < len(v) and v[pos] != 0:
        end = v.find(b"\0", pos)
        if end < 0 or end + 17 > len(v):
            raise FormatError(f"{name}: OpenEXR channel list is corrupt")
        ptype, _lin, xs, ys = struct.unpack("<iB3xii", v[end + 1:end + 17])
        if ptype not in (0, 1, 2) or xs < 1 or ys < 1:
            raise FormatError(f"{name}: OpenEXR channel list is corrupt")
        out.append((v[pos:end].decode("latin1"), ptype))
        pos = end + 17
    if not out:
        raise FormatError(f"{name}: OpenEXR file has no channels")
    return out


def _check_scanline_chunks(data: bytes, table: int, box: tuple[int, ...], lines: int, name: str) -> None:
    n = len(data)
    height = box[3] - box[1] + 1
    count = -(-height // lines)
    if table + 8 * count > n:
        raise FormatError(f"{name}: OpenEXR file is truncated (offset table)")
    offsets = np.frombuffer(data, dtype="<u8", count=count, offset=table)
    first = table + 8 * count
    if offsets.min() < first or offsets.max() > n - 8:
        raise FormatError(f"{name}: OpenEXR file is truncated or corrupt (chunk offsets outside the file)")
    for off in offsets.tolist():
        y, size = struct.unpack("<ii", data[off:off + 8])
        if not box[1] <= y <= box[3] or size < 0 or off + 8 + size > n:
            raise FormatError(f"{name}: OpenEXR file is truncated or corrupt (chunk at byte {off})")


def read_header(path: Path) -> dict[str, Any]:
    """The OpenEXR binding's header dict (every attribute) of a file that passed :func:`parse_header`."""
    import OpenEXR

    from hdrkit.io.limits import read_input

    data = read_input(path)
    parse_header(data, path.name)
    try:
        return OpenEXR.File(io.BytesIO(data), header_only=True).header()
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # what the binding raises on a bad file
        raise FormatError(f"{path.name}: not a readable OpenEXR file ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_pixels(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """``(rgb float32 H×W×3, alpha or None, header)`` of the bytes of a file that passed :func:`parse_header`
    (decoded from memory: the file is read once, whatever its name)."""
    import OpenEXR

    try:
        f = OpenEXR.File(io.BytesIO(data), separate_channels=True)
        header = f.header()
        chans = {name: np.asarray(ch.pixels) for name, ch in f.channels().items()}
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # what the binding raises on a bad file
        raise FormatError(f"{name}: OpenEXR file is truncated or corrupt ({_first_line(exc)})") from None
    names = set(chans)
    alpha = chans.get("A")
    if {"R", "G", "B"} <= names:
        rgb = np.stack([chans["R"], chans["G"], chans["B"]], axis=-1)
    elif "Y" in names:
        rgb = np.repeat(chans["Y"][..., None], 3, axis=-1)
    else:
        raise FormatError(f"{name}: unsupported EXR channels {sorted(names)} (need R,G,B or Y)")
    if rgb.dtype.kind not in "f":
        raise FormatError(f"{name}: EXR channels are {rgb.dtype}, expected half or float")
    header = dict(header, pixel_bits=16 if rgb.dtype == np.float16 else 32)
    rgb = rgb.astype(np.float32)
    return rgb, (None if alpha is None else alpha.astype(np.float32)), header


def write(path: Path, rgb: np.ndarray, alpha: np.ndarray | None, chromaticities: tuple[float, ...],
          white_luminance: float, half: bool = False, attributes: dict[str, Any] | None = None) -> None:
    import OpenEXR

    dtype = np.float16 if half else np.float32
    channels = {"R": rgb[..., 0].astype(dtype), "G": rgb[..., 1].astype(dtype), "B": rgb[..., 2].astype(dtype)}
    if alpha is not None:
        channels["A"] = alpha.astype(dtype)
    header: dict[str, Any] = {
        "compression": OpenEXR.ZIP_COMPRESSION,
        "type": OpenEXR.scanlineimage,
        "chromaticities": tuple(float(c) for c in chromaticities),
        "whiteLuminance": float(white_luminance),
    }
    for k, v in (attributes or {}).items():
        header[k] = base64.b64encode(v).decode("ascii") if isinstance(v, (bytes, bytearray)) else v
    try:
        OpenEXR.File(header, channels).write(str(path))
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # what the binding raises on a failed write
        raise FormatError(f"could not write OpenEXR ({_first_line(exc)})") from None
