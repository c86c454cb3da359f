"""Synthetic brackets made from the real HDR panoramas in ../shared/data/hdr (known radiance, CRF, times)."""

from __future__ import annotations

import numpy as np

# DSLR-like sensor noise, relative to the saturation exposure 1.0: full well ≈ 50,000 e⁻ (shot variance
# 2e-5·X), read noise ≈ 10 e⁻ (σ = 2e-4); then the CRF and 8- or 16-bit quantisation.
SHOT, READ = 2e-5, 2e-4


def load_radiance(shared_data, name: str, median: float = 0.18) -> np.ndarray:
    """Linear relative radiance of a panorama, scaled so that its median is ``median`` at t = 1."""
    from hdrkit.io import read_image

    e = read_image(shared_data / "hdr" / f"{name}.exr").pixels.astype(np.float64)
    e = np.maximum(e, 0.0)
    return e * (median / np.median(e))


def well_exposed(bracket, lo: float = 0.1, hi: float = 0.9) -> np.ndarray:
    """Pixels that at least one exposure records in [lo, hi] of full scale in every channel."""
    top = 255 if bracket[0].dtype == np.uint8 else 65535
    m = np.zeros(bracket[0].shape[:2], bool)
    for z in bracket:
        m |= np.all((z >= lo * top) & (z <= hi * top), axis=-1)
    return m


def log2_error(est: np.ndarray, truth: np.ndarray, mask: np.ndarray, per_channel_scale: bool = False) -> float:
    """Mean |log2(est) − log2(truth)| over ``mask``; optionally after removing a per-channel scale (the gauge
    of an estimated CRF)."""
    r = np.log2(np.maximum(est[mask], 1e-30)) - np.log2(np.maximum(truth[mask], 1e-30))
    if per_channel_scale:
        r = r - np.median(r, axis=0)
    return float(np.abs(r).mean())
