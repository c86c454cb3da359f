"""OpenEXR via the official ``OpenEXR`` Python binding (half/float; RGB, RGBA, Y; chromaticities, whiteLuminance)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import numpy as np

from hdrkit.errors import FormatError
from hdrkit.io._quiet import quiet_stderr

MAGIC = b"\x76\x2f\x31\x01"


def read_header(path: Path) -> dict[str, Any]:
    import OpenEXR

    try:
        with quiet_stderr():
            return OpenEXR.File(str(path), header_only=True).header()
    except Exception as exc:  # the binding raises RuntimeError/ValueError with multi-line texts
        raise FormatError(f"{path.name}: not a readable OpenEXR file ({_first_line(exc)})") from None


def _first_line(exc: Exception) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def read_pixels(path: Path) -> tuple[np.ndarray, np.ndarray | None, dict[str, Any]]:
    """``(rgb float32 H×W×3, alpha or None, header)``."""
    import OpenEXR

    try:
        with quiet_stderr():
            f = OpenEXR.File(str(path), separate_channels=True)
            header = f.header()
            chans = {name: np.asarray(ch.pixels) for name, ch in f.channels().items()}
    except Exception as exc:
        raise FormatError(f"{path.name}: OpenEXR file is truncated or corrupt ({_first_line(exc)})") from None
    names = set(chans)
    alpha = chans.get("A")
    if {"R", "G", "B"} <= names:
        rgb = np.stack([chans["R"], chans["G"], chans["B"]], axis=-1)
    elif "Y" in names:
        rgb = np.repeat(chans["Y"][..., None], 3, axis=-1)
    else:
        raise FormatError(f"{path.name}: unsupported EXR channels {sorted(names)} (need R,G,B or Y)")
    if rgb.dtype.kind not in "f":
        raise FormatError(f"{path.name}: EXR channels are {rgb.dtype}, expected half or float")
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
        with quiet_stderr():
            OpenEXR.File(header, channels).write(str(path))
    except Exception as exc:
        raise FormatError(f"could not write OpenEXR {path.name} ({_first_line(exc)})") from None
