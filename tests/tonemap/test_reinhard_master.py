"""Reinhard 2002 closed forms and the HDR10 mastering (BT.2390 EETF) properties."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit import color
from hdrkit.errors import InputError
from hdrkit.tonemap import eetf_bt2390, master_hdr10, reinhard2002, saturation_mantiuk2009, saturation_schlick1994


def _code(ld):
    return ld ** (1 / 2.4)


def test_global_on_uniform_grey_is_key_over_one_plus_key():
    # Uniform image: log-average = L (δ negligible), scaled L = a, eq. 3 gives a / (1 + a).
    x = np.full((8, 8, 3), 150.0, np.float32)
    out = reinhard2002(x, key=0.18, white=float("inf"), delta=1e-12)
    np.testing.assert_allclose(out, _code(0.18 / 1.18), atol=1e-6)
    out = reinhard2002(x, key=0.36, white=float("inf"), delta=1e-12)
    np.testing.assert_allclose(out, _code(0.36 / 1.36), atol=1e-6)


def test_white_point_maps_to_display_white():
    # Eq. 4 with L_white = max L: the brightest pixel reaches L_d = 1 exactly.
    rng = np.random.default_rng(0)
    g = rng.random((16, 16)).astype(np.float32) * 500 + 1
    x = np.repeat(g[..., None], 3, -1)
    out = reinhard2002(x)
    assert out.max() == pytest.approx(1.0, abs=1e-6)
    assert out.reshape(-1, 3)[np.argmax(g)][0] == pytest.approx(1.0, abs=1e-6)
    # and the closed form elsewhere
    lavg = np.exp(np.mean(np.log(1e-4 + g.astype(np.float64))))
    L = 0.18 / lavg * g
    ld = L * (1 + L / L.max() ** 2) / (1 + L)
    np.testing.assert_allclose(out[..., 1], _code(ld), atol=2e-6)


@pytest.mark.parametrize("local", [True, "bilateral"])
def test_local_on_uniform_image_equals_global(local):
    x = np.full((32, 32, 3), 80.0, np.float32)
    np.testing.assert_allclose(reinhard2002(x, local=local), reinhard2002(x), atol=1e-5)


def test_local_operator_keeps_detail_in_a_bright_region():
    # A textured patch inside a very bright area: dodging-and-burning keeps more local contrast than global.
    rng = np.random.default_rng(1)
    g = np.full((64, 64), 10.0)
    g[16:48, 16:48] = 5000.0 * (1 + 0.5 * rng.random((32, 32)))
    x = np.repeat(g[..., None], 3, -1).astype(np.float32)
    for mode in (True, "bilateral"):
        loc = reinhard2002(x, local=mode, white=float("inf"))[20:44, 20:44, 0].std()
        glo = reinhard2002(x, white=float("inf"))[20:44, 20:44, 0].std()
        assert loc > glo


def test_saturation_corrections():
    rgb = np.array([[2.0, 1.0, 0.5]])
    lin = np.array([1.2])
    lout = np.array([0.6])
    np.testing.assert_allclose(saturation_schlick1994(rgb, lin, lout, 1.0), rgb / 1.2 * 0.6)
    np.testing.assert_allclose(saturation_schlick1994(rgb, lin, lout, 0.0), [[0.6, 0.6, 0.6]])
    np.testing.assert_allclose(saturation_schlick1994(rgb, lin, lout, 0.5), (rgb / 1.2) ** 0.5 * 0.6)
    np.testing.assert_allclose(saturation_mantiuk2009(rgb, lin, lout, 1.0), rgb / 1.2 * 0.6)
    np.testing.assert_allclose(saturation_mantiuk2009(rgb, lin, lout, 0.0), [[0.6, 0.6, 0.6]])
    np.testing.assert_allclose(saturation_mantiuk2009(rgb, lin, lout, 0.5), ((rgb / 1.2 - 1) * 0.5 + 1) * 0.6)
    x = np.array([[[300.0, 100.0, 20.0]]], np.float32)
    grey = reinhard2002(x, saturation=0.0)
    assert grey[0, 0, 0] == pytest.approx(grey[0, 0, 1], abs=1e-6) == pytest.approx(grey[0, 0, 2], abs=1e-6)


def test_eetf_bt2390_closed_form_properties():
    src, dst = 4000.0, 1000.0
    pq = color.pq_inverse_eotf
    x = np.geomspace(1e-3, src, 20001)
    y = eetf_bt2390(x, src, dst)
    assert y[-1] == pytest.approx(dst, rel=1e-9)  # the source peak lands on the target peak
    assert np.all(np.diff(y) > 0)  # monotonic
    ks = 1.5 * float(pq(dst)) / float(pq(src)) - 0.5  # knee in normalised PQ
    knee_nits = float(color.pq_eotf(ks * float(pq(src))))
    below = x < knee_nits
    np.testing.assert_allclose(y[below], x[below], rtol=1e-9)  # identity under the knee
    # C1 continuity at the knee: slope of the PQ-domain curve is 1 on both sides
    e = lambda n: float(pq(n)) / float(pq(src))  # noqa: E731
    h = 1e-6
    k_lo = float(color.pq_eotf((ks - h) * float(pq(src))))
    k_hi = float(color.pq_eotf((ks + h) * float(pq(src))))
    slope = (e(eetf_bt2390(k_hi, src, dst)) - e(eetf_bt2390(k_lo, src, dst))) / (2 * h)
    assert slope == pytest.approx(1.0, abs=1e-3)
    # identity when the target can show everything
    np.testing.assert_allclose(eetf_bt2390(x[x <= 1000], 1000.0, 4000.0), x[x <= 1000], rtol=1e-9)
    with pytest.raises(InputError):
        eetf_bt2390(x, 0.0, 100.0)


def test_master_exposes_mid_grey_and_caps_the_peak():
    rng = np.random.default_rng(2)
    scene = (rng.lognormal(0, 2, (64, 64, 1)) * np.array([1.0, 0.8, 0.6])).astype(np.float32)
    scene[0, 0] = [5e4, 4e4, 3e4]  # a sun
    m = master_hdr10(scene, peak=1000.0, mid=26.0)
    assert m.dtype == np.float32 and m.shape == scene.shape
    assert m.max() <= 1000.0 + 1e-3 and m.min() >= 0
    assert m.max() == pytest.approx(1000.0, rel=1e-4)
    # below the knee the exposure is exact: log-average of the scene → 26 nits
    uniform = np.full((4, 4, 3), 0.37, np.float32)
    np.testing.assert_allclose(master_hdr10(uniform, mid=26.0), 26.0, rtol=1e-5)
    # chromaticity (RGB ratios) is kept through the roll-off
    bright = m[0, 0]
    np.testing.assert_allclose(bright / bright[0], [1.0, 0.8, 0.6], rtol=1e-4)
    # exposure overrides mid; mid=None keeps absolute values under the peak
    np.testing.assert_allclose(master_hdr10(uniform, exposure=100.0), 37.0, rtol=1e-5)
    np.testing.assert_allclose(master_hdr10(uniform * 100, mid=None), 37.0, rtol=1e-5)
    # any scale of the same scene gives the same master
    np.testing.assert_allclose(master_hdr10(scene * 1000.0), m, rtol=1e-4, atol=1e-3)
    with pytest.raises(InputError):
        master_hdr10(scene, peak=20000)
    with pytest.raises(InputError):
        master_hdr10(np.full((2, 2, 3), np.nan))


def test_master_on_adversarial_input():
    x = np.array([[[0, 0, 0], [3e38, 0, 0], [1e-30, 1e-30, 1e-30], [-5, 2, 1]]], np.float32)
    for kwargs in ({}, {"exposure": 1e30}, {"mid": None}):
        m = master_hdr10(x, **kwargs)
        assert np.isfinite(m).all() and m.min() >= 0 and m.max() <= 1000.0 + 1e-3
    assert master_hdr10(np.zeros((2, 2, 3))).max() == 0.0
    before = x.copy()
    master_hdr10(x)
    np.testing.assert_array_equal(x, before)
