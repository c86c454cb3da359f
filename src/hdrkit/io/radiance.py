"""Radiance RGBE (.hdr): pixels through OpenCV, header (``PRIMARIES=``, ``EXPOSURE=``) parsed here.

Reference: G. Ward, "Real Pixels", Graphics Gems II (1991); Radiance file format documentation.
"""

from __future__ import annotations

import numpy as np

from hdrkit.errors import FormatError
from hdrkit.io._quiet import cv2_silent, quiet_stderr


def parse_header(data: bytes) -> tuple[dict[str, str], int, int, float, tuple[float, ...] | None]:
    """``(variables, width, height, exposure, primaries)`` from the text header."""
    if not (data.startswith(b"#?RADIANCE") or data.startswith(b"#?RGBE")):
        raise FormatError("not a Radiance HDR file (missing #?RADIANCE)")
    end = data.find(b"\n\n")
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
                    exposure *= float(v)
                elif k == "PRIMARIES":
                    vals = tuple(float(t) for t in v.split())
                    primaries = vals if len(vals) == 8 else None
            except ValueError:
                raise FormatError(f"Radiance HDR header has a malformed {k} line") from None
    res_end = data.find(b"\n", end + 2)
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


def decode(data: bytes) -> np.ndarray:
    cv2 = cv2_silent()
    with quiet_stderr():
        bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_ANYDEPTH | cv2.IMREAD_COLOR)
    if bgr is None:
        raise FormatError("Radiance HDR pixel data is truncated or corrupt")
    return np.ascontiguousarray(bgr[..., ::-1], dtype=np.float32)


def encode(rgb: np.ndarray, primaries: tuple[float, ...] | None = None) -> bytes:
    cv2 = cv2_silent()
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
