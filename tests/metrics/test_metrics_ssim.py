"""SSIM / MS-SSIM / PSNR kernels against independent scipy implementations of MATLAB's algorithms."""

import numpy as np
import pytest
from scipy import ndimage

from hdrkit.metrics import MATLAB_MSSSIM_WEIGHTS, ms_ssim, psnr, ssim, ssim_map

torch = pytest.importorskip("torch")


def _g(x):
    # MATLAB: 11-tap Gaussian σ = 1.5, replicate padding  ==  scipy gaussian_filter(truncate so radius = 5)
    return ndimage.gaussian_filter(x, 1.5, mode="nearest", truncate=5 / 1.5)


def _ssim_ref(x, y, L, lum=True):
    c1, c2 = (0.01 * L) ** 2, (0.03 * L) ** 2
    mx, my = _g(x), _g(y)
    sx = np.maximum(_g(x * x) - mx**2, 0) if not lum else _g(x * x) - mx**2
    sy = np.maximum(_g(y * y) - my**2, 0) if not lum else _g(y * y) - my**2
    sxy = _g(x * y) - mx * my
    cs = (2 * sxy + c2) / (sx + sy + c2)
    return cs * (2 * mx * my + c1) / (mx**2 + my**2 + c1), cs


def _msssim_ref(x, y, L, w):
    w = np.asarray(w) / np.sum(w)
    out = 1.0
    for i, wi in enumerate(w):
        full, cs = _ssim_ref(x, y, L, lum=False)
        m = full if i == len(w) - 1 else cs
        out *= max(np.mean(np.minimum(m, 1)), 0) ** wi
        # imfilter(X, ones(2)/4, 'replicate') and keep odd (1-based) samples
        pad = lambda a: np.pad(a, ((0, 1), (0, 1)), mode="edge")  # noqa: E731
        x = (lambda p: (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4)(pad(x))[::2, ::2]
        y = (lambda p: (p[:-1, :-1] + p[1:, :-1] + p[:-1, 1:] + p[1:, 1:]) / 4)(pad(y))[::2, ::2]
    return out


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    x = ndimage.gaussian_filter(rng.uniform(0, 255, (67, 93)), 2) * 3
    y = x + rng.normal(0, 8, x.shape)
    return x, y


def test_ssim_matches_reference(pair):
    x, y = pair
    ref_map, _ = _ssim_ref(x, y, 255.0)
    np.testing.assert_allclose(ssim_map(x, y, 255.0), ref_map, rtol=1e-10, atol=1e-12)
    assert ssim(x, y, 255.0) == pytest.approx(ref_map.mean(), rel=1e-12)
    assert float(ssim(torch.tensor(x), torch.tensor(y), 255.0)) == pytest.approx(ref_map.mean(), rel=1e-12)


def test_msssim_matches_reference(pair):
    x, y = pair
    want = _msssim_ref(x, y, 255.0, MATLAB_MSSSIM_WEIGHTS)
    assert ms_ssim(x, y, 255.0) == pytest.approx(want, rel=1e-10)
    assert float(ms_ssim(torch.tensor(x), torch.tensor(y), 255.0)) == pytest.approx(want, rel=1e-10)


def test_matlab_default_scale_weights():
    # fspecial('gaussian', [1 5], 1), normalised
    g = np.exp(-np.arange(-2, 3) ** 2 / 2)
    np.testing.assert_allclose(MATLAB_MSSSIM_WEIGHTS, g / g.sum(), rtol=1e-12)


def test_ssim_properties(pair):
    x, y = pair
    assert ssim(x, x, 255.0) == pytest.approx(1.0)
    assert ssim(x, y, 255.0) < 1
    assert ssim(x, y, 255.0) == pytest.approx(ssim(y, x, 255.0))
    stack = np.stack([x, y])
    assert ssim(stack, stack[::-1], 255.0).shape == (2,)


def test_psnr_closed_form():
    a = np.zeros((10, 10))
    assert psnr(a, a + 0.1, 1.0) == pytest.approx(20.0)
    assert psnr(a, a, 1.0) == np.inf


def test_ssim_gradient_flows(pair):
    x, y = pair
    xt = torch.tensor(x, requires_grad=True)
    ms_ssim(xt, torch.tensor(y), 255.0).backward()
    assert torch.isfinite(xt.grad).all() and xt.grad.abs().sum() > 0
