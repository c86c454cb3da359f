"""Radiance RGBE (.hdr): pixels through OpenCV, header (``PRIMARIES=``, ``EXPOSURE=``) parsed here.

Reference: G. Ward, "Real Pixels", Graphics Gems II (1991); Radiance file format documentation.
"""

from __future__ import annotations

import numpy as np

import math

from hdrkit.errors import FormatError

#: Longest text header read (real ones are a few hundred bytes).
MAX_HEADER = 1 << 16


def parse_header(data: bytes, name: str = "HDR") -> tuple[dict[str, str], int, int, float, tuple[float, ...] | None]:
    """``(variables, width, height, exposure, primaries)`` from the text header."""
    try:
        return _parse_header(data)
    except FormatError as exc:
        raise FormatError(f"{name}: {exc}") from None


def _parse_header(data: bytes) -> tuple[dict[str, str], int, int, float, tuple[float, ...] | None]:
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        raise FormatError("not a Radiance HDR file (missing #?RADIANCE)")
    end = data.find(b"\n\n", 0, MAX_HEADER)
    if end < 0:
        raise FormatError("Radiance HDR header is truncated")
    variables: dict[str, str] = {}
    exposure = 1.0
    primaries = None
    for line in data[:end].decode("latin1").splitlines()[1:]:
        if "=" in line and not line.startswith("#"):
            k, v = line.split("=", 1)
            k, v = k.strip().upper(), v.strip()
            variables[k] = v
            try:
                if k == "EXPOSURE":
                    e = float(v)
                    if not (math.isfinite(e) and e > 0):
                        raise FormatError(f"Radiance HDR header has EXPOSURE={v[:20]} (must be a positive number)")
                    exposure *= e
                elif k == "PRIMARIES":
                    vals = tuple(float(t) for t in v.split())
                    primaries = vals if len(vals) == 8 else None
            except ValueError:
                raise FormatError(f"Radiance HDR header has a malformed {k} line") from None
    if not (math.isfinite(exposure) and exposure > 0):
        raise FormatError("Radiance HDR header's EXPOSURE lines multiply to 0 or infinity")
    res_end = data.find(b"\n", end + 2, end + 2 + 64)
    res = data[end + 2:res_end].decode("latin1").split() if res_end > 0 else []
    if len(res) != 4 or res[0] not in ("-Y", "+Y") or res[2] not in ("+X", "-X"):
        raise FormatError("Radiance HDR resolution line is malformed or unsupported")
    try:
        height, width = int(res[1]), int(res[3])
    except ValueError:
        raise FormatError("Radiance HDR resolution line is malformed") from None
    if variables.get("FORMAT", "32-bit_rle_rgbe") != "32-bit_rle_rgbe":
        raise FormatError(f"unsupported Radiance format {variables['FORMAT']!r} (only 32-bit_rle_rgbe)")
    return variables, width, height, exposure, primaries


def decode(data: bytes, name: str = "HDR", shape: tuple[int, int] | None = None) -> np.ndarray:
    """float32 ``H×W×3`` pixels (EXPOSURE not applied) of a file whose header passed :func:`parse_header`."""
    import imagecodecs

    try:
        rgb = imagecodecs.rgbe_decode(data)
    except (imagecodecs.RgbeError, ValueError) as exc:  # raised (never printed) by imagecodecs' RGBE reader
        raise FormatError(f"{name}: Radiance HDR pixel data is truncated or corrupt ({exc})") from None
    if rgb.ndim != 3 or rgb.shape[2] != 3 or (shape is not None and rgb.shape[:2] != tuple(shape)):
        raise FormatError(f"{name}: Radiance HDR decoded to an unexpected shape {rgb.shape}")
    return np.asarray(rgb, dtype=np.float32)


def encode(rgb: np.ndarray, primaries: tuple[float, ...] | None = None) -> bytes:
    import cv2

    px = np.clip(np.asarray(rgb, dtype=np.float32), 0, None)[..., ::-1]
    ok, buf = cv2.imencode(".hdr", np.ascontiguousarray(px))
    if not ok:
        raise FormatError("OpenCV could not encode Radiance HDR")
    data = buf.tobytes()
    if primaries is not None:
        line = ("PRIMARIES=" + " ".join(f"{p:.4f}" for p in primaries) + "\n").encode("ascii")
        end = data.find(b"\n\n")
        data = data[:end + 1] + line + data[end + 1:]
    return data
