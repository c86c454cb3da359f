"""Classical inverse tone-mapping operators: values computed by hand from each paper's formula, finiteness on
real SDR images, the bilateral grid, the registry and bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.expand import METHODS, expand, register_method
from hdrkit.expand.bilateral import bilateral_grid

CLASSICAL = ["linear", "akyuz2007", "masia2009", "masia2017", "huo2014", "kovaleski2014"]


def grey(values, shape=None):
    v = np.asarray(values, dtype=np.float64)
    img = np.repeat(v.reshape(-1, 1, 1), 3, axis=2) if shape is None else np.full(shape + (3,), float(v))
    return img.reshape((-1, 1, 3)) if shape is None else img


def nits_of(out, i=0):
    """Neutral pixels stay neutral through BT.709 → BT.2020: every channel equals the luminance."""
    px = out.reshape(-1, 3)[i]
    assert np.allclose(px, px[0], rtol=1e-5)
    return float(px[0])


def test_linear_by_hand():
    # V = 0.5 → L = 0.5^2.4 = 0.189465; × 1000 nits
    out = expand(grey(0.5, (2, 2)), "linear", peak=1000)
    assert nits_of(out) == pytest.approx(189.465, abs=1e-3)


def test_akyuz2007_by_hand():
    # L = V^2.4 for V = 0.2, 0.5, 0.8: 0.0210122, 0.189465, 0.585350
    # L_out(0.5) = 1000 · ((0.189465 − 0.0210122)/(0.585350 − 0.0210122))^γ = 1000 · 0.298495^γ
    img = grey([0.2, 0.5, 0.8])
    assert nits_of(expand(img, "akyuz2007", peak=1000), 1) == pytest.approx(298.495, rel=1e-5)
    # γ = 2: 0.298495² = 0.0890995
    assert nits_of(expand(img, "akyuz2007", peak=1000, gamma=2.0), 1) == pytest.approx(89.0995, rel=1e-5)
    assert nits_of(expand(img, "akyuz2007", peak=1000), 2) == pytest.approx(1000.0, rel=1e-6)
    assert nits_of(expand(img, "akyuz2007", peak=1000), 0) == pytest.approx(0.0, abs=1e-9)


def _ninety_ten():
    # 90 pixels at V = 0.8 and 10 at V = 0.2: the 1st/99th percentiles are L(0.2) and L(0.8) and
    # ln L_H = 0.9 ln L(0.8) + 0.1 ln L(0.2) (up to the δ = 1e-6 of the log-mean), so the key k = 0.9
    return grey([0.8] * 90 + [0.2] * 10)


def test_masia2009_by_hand():
    # γ = 10.44 · 0.9 − 6.282 = 3.114;  L_out(0.8) = 1000 · 0.585350^3.114 = 188.683
    out = expand(_ninety_ten(), "masia2009", peak=1000)
    assert nits_of(out, 0) == pytest.approx(188.683, rel=1e-4)
    # a dark image gives γ < 0 in the 2009 fit: clamped to min_gamma, result stays finite and monotone
    dark = expand(grey([0.05] * 90 + [0.6] * 10), "masia2009")
    assert np.all(np.isfinite(dark)) and nits_of(dark, 0) < nits_of(dark, 95)


def test_masia2017_by_hand():
    # ln L_H = 0.9·ln 0.585350 + 0.1·ln 0.0210122 = −0.481990 − 0.386265 = −0.868255; k = 0.9; p_ov = 0
    # γ = 2.4379 + 0.2319·(−0.868255) − 1.1228·0.9 = 2.4379 − 0.201348 − 1.01052 = 1.226032
    # L_out(0.8) = 1000 · 0.585350^1.226032 = 518.614
    out = expand(_ninety_ten(), "masia2017", peak=1000)
    assert nits_of(out, 0) == pytest.approx(518.614, rel=1e-4)


def test_huo2014_by_hand():
    # flat image: BF(BF(L)) = L and L_H = L, so L_out = (L/L)·((1000 L)^n + (1000 L)^n)^(1/n) = 1000 L · 2^(1/n)
    # V = 0.5, n = 0.86: 189.465 · 2^(1/0.86) = 189.465 · 2.238901 = 424.192
    out = expand(grey(0.5, (8, 8)), "huo2014", peak=1000)
    assert nits_of(out) == pytest.approx(424.192, rel=1e-4)


def test_kovaleski2014_by_hand():
    # no pixel above 254/255: B = 0, E = 1/4: L_out = (0.189465 · (1200 − 0.3) + 0.3)/4 = 56.9002
    assert nits_of(expand(grey(0.5, (8, 8)), "kovaleski2014")) == pytest.approx(56.9002, rel=1e-5)
    # everything clipped: B = 1, E = 1: L_out = 1 · 1199.7 + 0.3 = 1200
    assert nits_of(expand(grey(1.0, (8, 8)), "kovaleski2014")) == pytest.approx(1200.0, rel=1e-6)
    # a clipped blob lifts its surroundings of similar brightness (edge-stopping: not across a strong edge)
    img = np.full((64, 64, 3), 0.96)
    img[24:40, 24:40] = 1.0
    img[:, 48:] = 0.3
    out = expand(img, "kovaleski2014", sigma_s=10.0).mean(axis=-1)
    base = (0.96**2.4 * 1199.7 + 0.3) / 4
    assert out[20, 20] > 1.2 * base  # near the highlight, similar brightness
    far = (0.3**2.4 * 1199.7 + 0.3) / 4
    assert out[32, 60] < 1.05 * far  # behind the edge


@pytest.mark.parametrize("method", CLASSICAL)
def test_every_operator_on_real_8bit_sdr(shared_data, method):
    from hdrkit import color
    from hdrkit.io import read_image

    nits = color.to_nits(read_image(shared_data / "hdr" / "city.exr"), "bt709")[::2, ::2]
    sdr8 = np.round(255 * np.clip(nits / np.quantile(nits, 0.97), 0, 1) ** (1 / 2.4)).astype(np.uint8)
    out = expand(sdr8, method)
    assert out.dtype == np.float32 and out.shape == sdr8.shape
    assert np.all(np.isfinite(out)) and out.min() >= 0
    pq = color.pq_inverse_eotf(out)
    assert np.all(np.isfinite(pq)) and 0 <= pq.min() and pq.max() <= 1
    assert out.max() > 300  # it does expand


def test_bilateral_grid_properties():
    rng = np.random.default_rng(0)
    assert np.allclose(bilateral_grid(np.full((20, 30), 0.7), np.full((20, 30), 0.7), 4, 0.1), 0.7)
    step = np.zeros((40, 40))
    step[:, 20:] = 1.0
    noisy = step + 0.02 * rng.standard_normal(step.shape)
    out = bilateral_grid(noisy, noisy, 6.0, 0.1)
    assert np.abs(out - step)[:, :18].max() < 0.05 and np.abs(out - step)[:, 22:].max() < 0.05  # edge kept
    assert out[:, :18].std() < noisy[:, :18].std() / 2  # noise smoothed
    # against a brute-force bilateral filter on a small image
    img = rng.random((24, 24))
    ys, xs = np.mgrid[0:24, 0:24]
    ref = np.empty_like(img)
    for y in range(24):
        for x in range(24):
            w = np.exp(-((ys - y) ** 2 + (xs - x) ** 2) / (2 * 4.0**2) - (img - img[y, x]) ** 2 / (2 * 0.3**2))
            ref[y, x] = (w * img).sum() / w.sum()
    assert np.abs(bilateral_grid(img, img, 4.0, 0.3) - ref).mean() < 0.03


def test_registry_and_bad_input():
    assert set(CLASSICAL) <= set(METHODS)
    register_method("_test_identity", lambda sdr, **kw: np.zeros_like(sdr, dtype=np.float32))
    try:
        assert expand(grey(0.5, (2, 2)), "_test_identity").shape == (2, 2, 3)
    finally:
        METHODS.pop("_test_identity")
    with pytest.raises(InputError, match="unknown"):
        expand(grey(0.5, (2, 2)), "nope")
    with pytest.raises(InputError):
        expand(np.full((2, 2, 3), np.nan), "linear")
    with pytest.raises(InputError):
        expand(np.zeros((2, 2)), "linear")
    with pytest.raises(InputError):
        expand(np.full((2, 2, 3), 1.5), "linear")
    with pytest.raises(InputError):
        expand(grey(0.5, (2, 2)), "linear", peak=-5)
    with pytest.raises(InputError, match="parameter"):
        expand(grey(0.5, (2, 2)), "linear", bogus=1)
