"""The "conventional" HDR metrics of the HDRTV papers: PSNR and SSIM on PQ code values in [0, 1].

Inputs are absolute linear BT.2020 RGB in cd/m² ``(..., H, W, 3)``; they are PQ-encoded (SMPTE ST 2084,
``hdrkit.color.pq_inverse_eotf``; values above 10,000 cd/m² are clipped to code 1, negatives to 0).

References
----------
X. Chen et al., "A new journey from SDRTV to HDRTV", ICCV 2021 (HDRTVNet), which reports PSNR and SSIM on the
PQ/BT.2020 signal; the MLP-embedded iTM paper (ACM MM 2024) reports the same "PQ-PSNR" and "SSIM".
"""

from __future__ import annotations

from typing import Any

from hdrkit.color import pq_inverse_eotf
from hdrkit.metrics._backend import prepare_pair
from hdrkit.metrics.ssim import _result, psnr, ssim_map


def _pq(xp, x):
    return xp.clip(pq_inverse_eotf(x), 0.0, 1.0)


def pq_psnr(ref_nits: Any, test_nits: Any) -> Any:
    """PSNR (dB) of PQ code values, RGB, peak 1.  Shapes as :func:`hdrkit.metrics.pu_psnr`."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return psnr(_pq(xp, r), _pq(xp, t), 1.0, axis=(-3, -2, -1))


def pq_ssim(ref_nits: Any, test_nits: Any) -> Any:
    """SSIM of PQ code values: MATLAB-style SSIM (Gaussian σ 1.5, replicate borders, dynamic range 1) on each
    of R', G', B', averaged over the three channels.  Shapes as :func:`hdrkit.metrics.pu_psnr`."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    pr, pt = _pq(xp, r), _pq(xp, t)
    # channel-first planes (..., 3, H, W) for the separable filter
    m = ssim_map(xp.stack([pt[..., c] for c in range(3)], axis=-3), xp.stack([pr[..., c] for c in range(3)], axis=-3), 1.0)
    return _result(xp, xp.mean(m, axis=(-3, -2, -1)))
