"""Shared pieces of the tone-mapping operators: input checks, BT.2020→BT.709 gamut mapping, SDR encoding.

Conventions (docs/ARCHITECTURE.md): operators take absolute linear light in cd/m² with BT.2020 primaries,
float ``H×W×3`` (any leading shape ``(..., 3)`` works), and return float32 BT.709 code values for a BT.1886
display with γ = 2.4 and zero black, in [0, 1].

Documented clamping: negative input values (non-physical light, e.g. from an out-of-gamut conversion) are
clamped to 0; NaN or ±Inf raise :class:`hdrkit.errors.InputError`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit import color
from hdrkit.errors import InputError

#: Display gamma of the SDR output (ITU-R BT.1886 with zero black level).
SDR_GAMMA = 2.4

_M_2020_TO_709 = color.rgb_to_rgb_matrix("bt2020", "bt709")
_Y_709 = color.luminance_weights("bt709")


def check_hdr(hdr_nits: Any, name: str = "HDR input", clamp: bool = True) -> np.ndarray:
    """Validate an HDR array in nits: numeric, ``(..., 3)``, finite. Returns float32, negatives clamped to 0
    (``clamp=False`` leaves them for a caller whose next step clamps anyway).

    Raises :class:`InputError` for a wrong shape or for NaN/Inf values (never silently propagated).
    """
    try:
        x = np.asarray(hdr_nits)
    except (ValueError, TypeError) as exc:  # e.g. a ragged list
        raise InputError(f"{name} is not an array: {exc}") from None
    if x.dtype.kind not in "fiu":
        raise InputError(f"{name} must be a numeric array, got dtype {x.dtype}")
    if x.ndim < 1 or x.shape[-1] != 3:
        raise InputError(f"{name} must have 3 channels in its last axis (H×W×3), got shape {x.shape}")
    if x.size == 0:
        raise InputError(f"{name} is empty (shape {x.shape})")
    x = x.astype(np.float32, copy=False)
    if not np.isfinite(x).all():
        bad = int((~np.isfinite(x)).any(axis=-1).sum())
        raise InputError(f"{name} has {bad} pixel(s) with NaN or Inf values; clean them before tone mapping")
    return np.maximum(x, 0.0) if clamp else x


def gamut_map_bt2020_to_bt709(rgb2020: np.ndarray) -> np.ndarray:
    """Linear BT.2020 ``(..., 3)`` → linear BT.709 ``(..., 3)`` with no negative component.

    The 3×3 primaries conversion is followed by a luminance-preserving desaturation of the colours it leaves
    outside the BT.709 triangle: a pixel with a negative component is moved along the line towards the grey of
    the same luminance ``Y`` just far enough that its smallest component is 0 (``rgb' = Y + t·(rgb − Y)`` with
    ``t = Y / (Y − min(rgb))``).  Hue angle (in RGB) and luminance are kept, saturation is reduced; pixels with
    ``Y ≤ 0`` become black.  Values above 1 are left for the caller (display clipping).  Never returns NaN.
    """
    x = np.asarray(rgb2020, dtype=np.float32)
    out = x @ _M_2020_TO_709.T.astype(np.float32)
    mn = out.min(axis=-1)
    neg = mn < 0.0
    if neg.any():
        o = out[neg]
        y = np.maximum(o @ _Y_709.astype(np.float32), 0.0)
        m = mn[neg]
        t = np.where(y > 0.0, y / np.maximum(y - m, 1e-30), 0.0).astype(np.float32)
        out[neg] = y[:, None] + t[:, None] * (o - y[:, None])
    return np.maximum(out, 0.0)


def encode_sdr(linear709: np.ndarray) -> np.ndarray:
    """Display-relative linear BT.709 (1.0 = SDR white) → float32 BT.1886 γ2.4 code values, clipped to [0, 1]."""
    x = np.clip(np.asarray(linear709, dtype=np.float32), 0.0, 1.0)
    return np.asarray(color.bt1886_inverse_eotf(x, gamma=SDR_GAMMA), dtype=np.float32)


def display_linear_to_sdr(linear2020: np.ndarray) -> np.ndarray:
    """Display-relative linear BT.2020 (1.0 = SDR white) → BT.709 γ2.4 code values in [0, 1] (gamut mapped)."""
    return encode_sdr(gamut_map_bt2020_to_bt709(linear2020))


def check_positive(value: Any, name: str) -> float:
    """A finite, strictly positive float parameter, or :class:`InputError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise InputError(f"{name} must be a positive number, got {value!r}")
    return v


def check_finite(value: Any, name: str) -> float:
    """A finite float parameter, or :class:`InputError`."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v):
        raise InputError(f"{name} must be a finite number, got {value!r}")
    return v
