"""Non-constant-luminance Y'CbCr from gamma-encoded R'G'B' (ITU-R BT.709-6 §3, ITU-R BT.2020-2 Table 4).

Full-range floating point: Y' in [0, 1], Cb and Cr in [-0.5, 0.5].  ``quantise_ycbcr`` gives narrow-range
("video"/legal) integer codes at 8/10/12 bits (Y' 16..235·2^(n-8), C 16..240·2^(n-8)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit import _array as A
from hdrkit.errors import InputError

#: (Kr, Kb) per standard.
KR_KB = {"bt709": (0.2126, 0.0722), "bt2020": (0.2627, 0.0593), "bt601": (0.299, 0.114)}


def _matrix(standard: str) -> np.ndarray:
    s = str(standard).lower().replace(".", "").replace("-", "")
    if s not in KR_KB:
        raise InputError(f"unknown Y'CbCr standard {standard!r}; choose one of {', '.join(KR_KB)}")
    kr, kb = KR_KB[s]
    kg = 1.0 - kr - kb
    return np.array(
        [[kr, kg, kb],
         [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), 0.5],
         [0.5, -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))]]
    )


def rgb_to_ycbcr(rgb_prime: Any, standard: str = "bt709") -> Any:
    """Gamma-encoded R'G'B' ``(..., 3)`` → full-range Y'CbCr ``(..., 3)``."""
    A.check_channels(rgb_prime, "R'G'B'")
    return A.matvec(A.as_float(rgb_prime), _matrix(standard))


def ycbcr_to_rgb(ycbcr: Any, standard: str = "bt709") -> Any:
    """Full-range Y'CbCr ``(..., 3)`` → R'G'B' ``(..., 3)``."""
    A.check_channels(ycbcr, "Y'CbCr")
    return A.matvec(A.as_float(ycbcr), np.linalg.inv(_matrix(standard)))


def quantise_ycbcr(ycbcr: np.ndarray, bits: int = 10) -> np.ndarray:
    """Full-range float Y'CbCr → narrow-range integer codes (BT.709 / BT.2020 quantisation)."""
    scale = 2 ** (bits - 8)
    y = np.round((219 * ycbcr[..., 0] + 16) * scale)
    c = np.round((224 * ycbcr[..., 1:] + 128) * scale)
    out = np.concatenate([y[..., None], c], axis=-1)
    return np.clip(out, 0, 2**bits - 1).astype(np.uint16)


def dequantise_ycbcr(codes: np.ndarray, bits: int = 10) -> np.ndarray:
    """Narrow-range integer codes → full-range float Y'CbCr."""
    scale = 2 ** (bits - 8)
    codes = np.asarray(codes, dtype=np.float64)
    y = (codes[..., 0] / scale - 16) / 219
    c = (codes[..., 1:] / scale - 128) / 224
    return np.concatenate([y[..., None], c], axis=-1)
