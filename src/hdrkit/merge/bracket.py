"""Exposure brackets: checking them, parsing exposure times, and simulating them from known radiance."""

from __future__ import annotations

from fractions import Fraction
from typing import Optional, Sequence

import numpy as np

from hdrkit.errors import InputError
from hdrkit.merge.crf import CRF

__all__ = ["check_bracket", "parse_times", "simulate_bracket", "code_levels"]


def code_levels(dtype: np.dtype) -> int:
    """Number of code values of an integer image dtype (256 for uint8, 65536 for uint16)."""
    return 256 if np.dtype(dtype) == np.uint8 else 65536


def _as_codes(img: np.ndarray, k: int) -> np.ndarray:
    a = np.asarray(img)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=-1)
    if a.ndim != 3 or a.shape[-1] != 3:
        raise InputError(f"exposure {k + 1} must be H×W×3, got shape {a.shape}")
    if a.dtype in (np.uint8, np.uint16):
        return a
    if a.dtype.kind in "iu":
        if a.min() < 0 or a.max() > 65535:
            raise InputError(f"exposure {k + 1} has integer codes outside 0..65535")
        return a.astype(np.uint16)
    if a.dtype.kind != "f":
        raise InputError(f"exposure {k + 1} has unsupported dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise InputError(f"exposure {k + 1} contains NaN or Inf")
    if a.min() < 0 or a.max() > 1:
        raise InputError(f"exposure {k + 1}: float code values must lie in [0, 1]")
    return np.round(a * 65535.0).astype(np.uint16)


def check_bracket(
    images: Sequence[np.ndarray], times: Optional[Sequence[float]] = None, min_images: int = 2
) -> tuple[list[np.ndarray], Optional[np.ndarray]]:
    """Validate a bracket and bring it to integer code values.

    ``images``: ``H×W×3`` arrays, all uint8, all uint16, or floats in [0, 1] (made 16-bit codes).
    ``times``: one positive exposure time per image (seconds, or any consistent relative unit).
    Returns (list of uint8/uint16 arrays, float64 times or None).
    """
    if isinstance(images, np.ndarray) and images.ndim == 4:
        images = list(images)
    images = list(images)
    if len(images) < min_images:
        raise InputError(f"a bracket needs at least {min_images} exposures, got {len(images)}")
    codes = [_as_codes(im, k) for k, im in enumerate(images)]
    shape = codes[0].shape
    for k, c in enumerate(codes[1:], start=2):
        if c.shape != shape:
            raise InputError(
                f"exposure {k} is {c.shape[1]}×{c.shape[0]} but exposure 1 is {shape[1]}×{shape[0]};"
                " all exposures must have the same size"
            )
    if len({c.dtype for c in codes}) > 1:
        # mixed 8/16-bit: promote to 16-bit codes
        codes = [c.astype(np.uint16) * 257 if c.dtype == np.uint8 else c for c in codes]
    if times is None:
        return codes, None
    t = np.asarray([float(x) for x in times], dtype=np.float64)
    if t.shape != (len(codes),):
        raise InputError(f"got {t.size} exposure times for {len(codes)} images")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InputError("exposure times must be positive numbers")
    return codes, t


def parse_times(text: str) -> list[float]:
    """Parse ``"0.25,1,4"`` or ``"1/60,1/15,1/4"`` (seconds) into floats."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            raise InputError(f"empty exposure time in {text!r}")
        try:
            v = float(Fraction(part))
        except (ValueError, ZeroDivisionError):
            raise InputError(f"exposure time {part!r} is not a number or fraction like 1/60") from None
        if not np.isfinite(v) or v <= 0:
            raise InputError(f"exposure time {part!r} must be positive")
        out.append(v)
    return out


def simulate_bracket(
    radiance: np.ndarray,
    times: Sequence[float],
    crf: CRF,
    bit_depth: int = 8,
    shot_noise: float = 0.0,
    read_noise: float = 0.0,
    rng: Optional[np.random.Generator] = None,
) -> list[np.ndarray]:
    """Photograph ``radiance`` (``H×W×3`` relative linear) at each exposure time through ``crf``.

    The sensor sees ``X = E·t`` (saturating at ``g(1)`` of the CRF), plus Gaussian noise of variance
    ``shot_noise·X + read_noise²``; the camera applies the forward response ``f = g⁻¹`` and quantises to
    ``bit_depth`` (8 or 16) bits.  Returns one uint8/uint16 ``H×W×3`` array per exposure.
    """
    if bit_depth not in (8, 16):
        raise InputError(f"bit_depth must be 8 or 16, got {bit_depth}")
    e = np.asarray(radiance, dtype=np.float64)
    if e.ndim != 3 or e.shape[-1] != 3:
        raise InputError(f"radiance must be H×W×3, got shape {e.shape}")
    if not np.all(np.isfinite(e)) or np.any(e < 0):
        raise InputError("radiance must be finite and non-negative")
    rng = rng if rng is not None else np.random.default_rng(0)
    levels = 2**bit_depth - 1
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    out = []
    for t in times:
        x = e * float(t)
        if shot_noise > 0 or read_noise > 0:
            sd = np.sqrt(shot_noise * x + read_noise**2)
            x = x + sd * rng.standard_normal(x.shape)
        x = np.clip(x, 0.0, None)
        z = crf.respond(x)
        out.append(np.round(np.clip(z, 0.0, 1.0) * levels).astype(dtype))
    return out
