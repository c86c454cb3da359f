"""SDR metrics on PU21-encoded HDR images, computed as the reference ``pu21_metric.m`` computes them.

Inputs are absolute linear RGB in cd/m² of shape ``(..., H, W, 3)`` (numpy or torch).  Scalars come back as a
``float`` for a single numpy image, an array/tensor of shape ``(...)`` otherwise.

References
----------
R. K. Mantiuk and M. Azimi, PCS 2021; ``gfxdisp/pu21:matlab/pu21_metric.m``: PSNR on RGB with peak 256, PSNR-Y,
SSIM and MS-SSIM on luminance (Rec.709 weights applied to the linear values *before* encoding) with dynamic
range 256.
"""

from __future__ import annotations

from typing import Any, Sequence

from hdrkit.metrics._backend import Backend, prepare_pair
from hdrkit.metrics.pu21 import pu21_encode
from hdrkit.metrics.ssim import MATLAB_MSSSIM_WEIGHTS, ms_ssim, psnr, ssim

#: Luminance weights that ``pu21_metric.m`` (``get_luminance``) uses, whatever the primaries.
PU21_LUMINANCE_WEIGHTS: tuple[float, float, float] = (0.212656, 0.715158, 0.072186)
#: Peak value of PU21 PSNR and the dynamic range of PU21 SSIM/MS-SSIM (``pu21_metric.m``).
PU21_PEAK = 256.0


def _luminance(xp: Backend, rgb: Any, weights: Sequence[float]) -> Any:
    w0, w1, w2 = (float(w) for w in weights)
    return rgb[..., 0] * w0 + rgb[..., 1] * w1 + rgb[..., 2] * w2


def _pu_luminance_pair(ref_nits: Any, test_nits: Any, params: str, weights: Sequence[float]):
    """PU21 of the luminance ``w·RGB`` of both images, ``(..., H, W)`` each."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return pu21_encode(_luminance(xp, r, weights), params), pu21_encode(_luminance(xp, t, weights), params)


def pu_psnr(ref_nits: Any, test_nits: Any, params: str = "banding_glare", peak: float = PU21_PEAK) -> Any:
    """PU21-PSNR in dB: PSNR of the PU21-encoded RGB values with a fixed ``peak`` of 256 (not the maximum).

    Parameters
    ----------
    ref_nits, test_nits : ``(..., H, W, 3)`` absolute linear RGB, cd/m²
    params : PU21 parameter set (see :func:`~hdrkit.metrics.pu21_encode`)
    peak : PSNR peak (256 in ``pu21_metric.m``)
    """
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return psnr(pu21_encode(r, params), pu21_encode(t, params), peak, axis=(-3, -2, -1))


def pu_psnr_y(
    ref_nits: Any,
    test_nits: Any,
    params: str = "banding_glare",
    peak: float = PU21_PEAK,
    weights: Sequence[float] = PU21_LUMINANCE_WEIGHTS,
) -> Any:
    """PU21-PSNR on luminance: ``Y = w·RGB`` (linear, default Rec.709 weights as in ``pu21_metric.m``; pass
    ``hdrkit.color.luminance_weights("bt2020")`` for true BT.2020 luminance), PU21-encoded, PSNR with peak 256.

    Shapes as :func:`pu_psnr`.
    """
    return psnr(*_pu_luminance_pair(ref_nits, test_nits, params, weights), peak, axis=(-2, -1))


def pu_ssim(
    ref_nits: Any,
    test_nits: Any,
    params: str = "banding_glare",
    weights: Sequence[float] = PU21_LUMINANCE_WEIGHTS,
    data_range: float = PU21_PEAK,
) -> Any:
    """PU21-SSIM: MATLAB ``ssim`` (Gaussian σ 1.5, replicate borders) on PU21-encoded luminance, range 256.

    Shapes as :func:`pu_psnr`; see :func:`hdrkit.metrics.ssim.ssim_map`.
    """
    pr, pt = _pu_luminance_pair(ref_nits, test_nits, params, weights)
    return ssim(pt, pr, data_range)


def pu_msssim(
    ref_nits: Any,
    test_nits: Any,
    params: str = "banding_glare",
    weights: Sequence[float] = PU21_LUMINANCE_WEIGHTS,
    data_range: float = PU21_PEAK,
    scale_weights: Sequence[float] = MATLAB_MSSSIM_WEIGHTS,
) -> Any:
    """PU21-MS-SSIM: MATLAB ``multissim`` (5 scales, its default Gaussian scale weights) on PU21-encoded
    luminance with dynamic range 256.  Shapes as :func:`pu_psnr`; see :func:`hdrkit.metrics.ssim.ms_ssim`."""
    pr, pt = _pu_luminance_pair(ref_nits, test_nits, params, weights)
    return ms_ssim(pt, pr, data_range, scale_weights)


def pu_error_map(ref_nits: Any, test_nits: Any, params: str = "banding_glare") -> Any:
    """Per-pixel PU21 error: RMS over the 3 channels of the PU21 difference, ``(..., H, W)`` (PU units)."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    d = pu21_encode(r, params) - pu21_encode(t, params)
    return xp.sqrt(xp.mean(d * d, axis=-1))


__all__ = ["pu_psnr", "pu_psnr_y", "pu_ssim", "pu_msssim", "pu_error_map", "PU21_LUMINANCE_WEIGHTS"]
