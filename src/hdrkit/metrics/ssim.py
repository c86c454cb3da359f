"""PSNR, SSIM and MS-SSIM kernels (numpy and torch), computed the way MATLAB's ``psnr``, ``ssim`` and
``multissim`` compute them -- the functions the PU21 reference code (``pu21_metric.m``) calls.

All kernels take planes of shape ``(..., H, W)`` and reduce over the last two axes (PSNR: over the axes given),
returning a float for 2-D numpy input, an array/tensor of shape ``(...)`` otherwise.

References
----------
Z. Wang, A. C. Bovik, H. R. Sheikh, E. P. Simoncelli, "Image quality assessment: from error visibility to
structural similarity", IEEE TIP 13(4), 2004.
Z. Wang, E. P. Simoncelli, A. C. Bovik, "Multiscale structural similarity for image quality assessment",
Asilomar 2003.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from hdrkit.errors import InputError
from hdrkit.metrics._backend import Backend, backend_of, gaussian_kernel1d

#: MATLAB ``multissim`` default scale weights: ``fspecial('gaussian', [1, 5], 1)`` normalised.
MATLAB_MSSSIM_WEIGHTS: tuple[float, ...] = tuple(gaussian_kernel1d(1.0, 5).tolist())
#: The weights of Wang et al. 2003 (used by most Python ports, e.g. ``pytorch-msssim``).
WANG2003_MSSSIM_WEIGHTS: tuple[float, ...] = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


def _result(xp: Backend, v: Any) -> Any:
    if xp.name == "numpy" and np.ndim(v) == 0:
        return float(v)
    return v


def psnr(ref: Any, test: Any, peak: float, axis: Sequence[int] | None = None) -> Any:
    """Peak signal-to-noise ratio ``10·log10(peak² / MSE)`` in dB (``+inf`` for identical inputs).

    Parameters
    ----------
    ref, test : arrays/tensors of the same shape
    peak : the fixed peak value (e.g. 256 for PU21, 1 for PQ code values) -- never the data maximum.
    axis : axes to average the squared error over; ``None`` = all.
    """
    xp = backend_of(ref, test)
    ref, test = xp.asarray(ref), xp.asarray(test)
    mse = xp.mean((ref - test) ** 2, axis=axis)
    with np.errstate(divide="ignore"):  # identical inputs: +inf, as MATLAB's psnr
        return _result(xp, 10.0 * xp.log10(peak**2 / mse))


def _moments(xp: Backend, x: Any, y: Any, taps: np.ndarray):
    f = lambda a: xp.filter_sep(a, taps, "replicate")  # noqa: E731
    mx, my = f(x), f(y)
    mxy = mx * my
    mx2, my2 = mx * mx, my * my
    sx2 = f(x * x) - mx2
    sy2 = f(y * y) - my2
    sxy = f(x * y) - mxy
    return mxy, mx2, my2, sx2, sy2, sxy


def ssim_map(x: Any, y: Any, data_range: float, sigma: float = 1.5) -> Any:
    """Local SSIM map, same size as the input (MATLAB ``ssim``).

    Gaussian window σ = ``sigma`` of ``2·ceil(3σ)+1`` taps, replicate padding, C1 = (0.01·L)², C2 = (0.03·L)²,
    ``((2μxμy + C1)(2σxy + C2)) / ((μx² + μy² + C1)(σx² + σy² + C2))``.

    Parameters
    ----------
    x, y : ``(..., H, W)`` arrays or tensors
    data_range : L, the dynamic range of the values (MATLAB's ``'DynamicRange'``)
    """
    xp = backend_of(x, y)
    x, y = xp.asarray(x), xp.asarray(y)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mxy, mx2, my2, sx2, sy2, sxy = _moments(xp, x, y, gaussian_kernel1d(float(sigma)))
    return ((2 * mxy + c1) * (2 * sxy + c2)) / ((mx2 + my2 + c1) * (sx2 + sy2 + c2))


def ssim(x: Any, y: Any, data_range: float, sigma: float = 1.5) -> Any:
    """Mean SSIM over the last two axes (MATLAB ``ssim(A, ref, 'DynamicRange', L)``); see :func:`ssim_map`."""
    xp = backend_of(x, y)
    return _result(xp, xp.mean(ssim_map(x, y, data_range, sigma), axis=(-2, -1)))


def _downsample2(xp: Backend, x: Any) -> Any:
    """MATLAB ``multissim``: ``imfilter(X, ones(2)/4, 'replicate')`` then ``X(1:2:end, 1:2:end)``."""
    x = xp.filter_sep(x, np.array([0.5, 0.5]), "replicate")
    return x[..., ::2, ::2]


def ms_ssim(
    x: Any,
    y: Any,
    data_range: float,
    weights: Sequence[float] = MATLAB_MSSSIM_WEIGHTS,
    sigma: float = 1.5,
) -> Any:
    """Multi-scale SSIM as MATLAB's ``multissim`` computes it.

    Per scale ``i < M``: mean of the contrast-structure map ``(2σxy + C2)/(σx² + σy² + C2)`` (values clamped to
    ≤ 1, variances to ≥ 0); at the coarsest scale the full SSIM map; each mean (negative → 0) raised to the
    normalised weight; product over scales.  Between scales: 2×2 box filter (replicate) and keep every second
    sample (sizes ``ceil(n/2)``).  Default weights: MATLAB's ``fspecial('gaussian',[1,5],1)`` normalised
    (≈ 0.0545, 0.2442, 0.4026, 0.2442, 0.0545); pass :data:`WANG2003_MSSSIM_WEIGHTS` for the paper's.

    Parameters
    ----------
    x, y : ``(..., H, W)``; each of H, W must allow ``len(weights) - 1`` halvings without reaching 1.
    data_range : L (C1 = (0.01·L)², C2 = (0.03·L)²)
    """
    xp = backend_of(x, y)
    x, y = xp.asarray(x), xp.asarray(y)
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 1 or len(w) < 1 or np.any(w < 0) or w.sum() <= 0:
        raise InputError("MS-SSIM weights must be a non-empty list of non-negative numbers")
    w = w / w.sum()
    h, wd = x.shape[-2], x.shape[-1]
    for _ in range(len(w) - 1):
        if h == 1 or wd == 1:
            raise InputError(f"image of {x.shape[-2]}x{x.shape[-1]} is too small for {len(w)}-scale MS-SSIM")
        h, wd = (h + 1) // 2, (wd + 1) // 2
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    taps = gaussian_kernel1d(float(sigma))
    score = None
    for i, wi in enumerate(w):
        mxy, mx2, my2, sx2, sy2, sxy = _moments(xp, x, y, taps)
        sx2, sy2 = xp.maximum(sx2, 0.0), xp.maximum(sy2, 0.0)
        cs = (2 * sxy + c2) / (sx2 + sy2 + c2)
        if i == len(w) - 1:
            cs = cs * (2 * mxy + c1) / (mx2 + my2 + c1)
        m = xp.mean(xp.minimum(cs, 1.0), axis=(-2, -1))
        term = xp.maximum(m, 0.0) ** float(wi)
        score = term if score is None else score * term
        if i < len(w) - 1:
            x, y = _downsample2(xp, x), _downsample2(xp, y)
    return _result(xp, score)
