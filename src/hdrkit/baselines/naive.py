"""Metadata-free baselines.

* :func:`sdr_linear_nits` -- the SDR picture linearised (BT.1886 γ2.4), converted to BT.2020 and scaled so that
  code value 1.0 is 203 cd/m² (ITU-R BT.2408 SDR reference white): what an HDR display shows an SDR file as.
* :func:`theta_init_blind` -- the shipped meta-learned initialisation of the embedded MLP applied without any
  per-image adaptation (a blind, domain-wise inverse tone mapper; 0 bytes of per-image metadata).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

SDR_WHITE_NITS = 203.0


def sdr_linear_nits(sdr: np.ndarray) -> np.ndarray:
    """SDR code values ``(H, W, 3)`` (uint8 or float in [0, 1], BT.709 γ2.4) -> BT.2020 cd/m², white = 203."""
    from hdrkit.codec.gainmap import sdr_to_linear

    return (sdr_to_linear(sdr, "bt2020", transfer="bt1886") * SDR_WHITE_NITS).astype(np.float32)


def naive_pq(sdr: np.ndarray) -> np.ndarray:
    """PQ code values ``(H, W, 3)`` of :func:`sdr_linear_nits`."""
    from hdrkit import color

    return np.asarray(color.pq_inverse_eotf(sdr_linear_nits(sdr)), np.float32)


def theta_init_blind(sdr: np.ndarray, theta_init: Optional[str | Path] = None) -> np.ndarray:
    """PQ code values ``(H, W, 3)`` in [0, 1] from the (shipped) ``theta_init`` without adaptation."""
    from hdrkit.codec.weights import load_theta
    from hdrkit.models.fast import decode_pq

    cfg, theta = load_theta(theta_init)
    if getattr(cfg, "family", "siren") == "gamma":
        from hdrkit.models.gammanet import decode

        return decode(theta, np.asarray(sdr), cfg)
    x = np.asarray(sdr)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else x.astype(np.float32)
    return np.clip(decode_pq(theta, x, cfg), 0, 1)
