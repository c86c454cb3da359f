"""Synthetic (SDR, HDR) pairs for the gain-map tests."""

from __future__ import annotations

import numpy as np

from hdrkit.codec import gainmap as G


def _pair(h=48, w=64, seed=0, wide=False):
    """Synthetic (SDR uint8, HDR nits) pair: smooth gradients + bright highlights; HDR = SDR-linear x boost."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sdr = np.stack([xx / w, yy / h, 0.5 + 0.4 * np.sin(xx / 7)], -1)
    sdr = np.clip(sdr + rng.uniform(-0.05, 0.05, sdr.shape), 0, 1)
    sdr_u8 = np.round(sdr * 255).astype(np.uint8)
    lin = G.sdr_to_linear(sdr_u8) * G.SDR_WHITE_NITS
    boost = 1 + 4 * np.exp(-((xx - w * 0.7) ** 2 + (yy - h * 0.3) ** 2) / 60.0)
    hdr = lin * boost[..., None]
    if wide:  # a saturated BT.2020 green that BT.709 cannot hold
        hdr[: h // 2, : w // 2] = np.array([5.0, 300.0, 5.0], np.float32)
    return sdr_u8, hdr.astype(np.float32)
