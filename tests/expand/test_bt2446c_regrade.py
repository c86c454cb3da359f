"""BT.2446-1 method C inverse (classical bt2446c) and the peak re-grading of the learned methods (regrade_peak)."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.expand import classical


def test_regrade_peak_round_trip_and_knee():
    from hdrkit.tonemap import regrade_peak

    x = np.array([[[10.0, 20.0, 30.0], [200.0, 150.0, 100.0], [600.0, 500.0, 400.0], [950.0, 900.0, 800.0]]])
    up = regrade_peak(x, 4000.0, 1000.0)
    assert np.allclose(up[0, :2], x[0, :2], rtol=1e-5)
    assert 2500 < up[0, 3, 0] < 3300 and up[0, 3, 0] / up[0, 3, 1] == pytest.approx(950 / 900, rel=1e-5)
    assert np.allclose(regrade_peak(up, 1000.0, 4000.0), x, rtol=2e-3)
    assert regrade_peak(np.array([[2000.0, 10.0, 10.0]]), 1000.0, 1000.0).max() == pytest.approx(1000.0)


# ------------------------------------------------------------------------------------------ BT.2446 C
def test_bt2446c_curve_design_points_and_inverse():
    # Report ITU-R BT.2446-1 §5: 1000 cd/m² HDR peak ↔ 118.4 cd/m² SDR super-white; 203 cd/m² HDR reference white
    # ↔ SDR signal 0.96 (100·0.96^2.4 = 90.66 cd/m²); linear segment k1 = 0.83802 below 58.5 cd/m² SDR.
    assert classical.bt2446c_curve(1000.0) == pytest.approx(118.4, abs=0.05)
    assert classical.bt2446c_curve(203.0) == pytest.approx(100 * 0.96 ** 2.4, abs=0.05)
    assert classical.bt2446c_curve(50.0) == pytest.approx(0.83802 * 50.0)
    y = np.geomspace(0.01, 1000, 200)
    assert np.allclose(classical.bt2446c_inverse_curve(classical.bt2446c_curve(y)), y, rtol=1e-9)
    # another peak keeps the knee and meets the same super-white at the new peak
    assert classical.bt2446c_curve(4000.0, peak=4000.0) == pytest.approx(classical.bt2446c_curve(1000.0), rel=1e-9)
    assert classical.bt2446c_curve(40.0, peak=4000.0) == pytest.approx(classical.bt2446c_curve(40.0))


def test_bt2446c_keeps_chromaticity_and_maps_white():
    from hdrkit.color import convert_primaries, rgb_to_xyz_matrix

    rng = np.random.default_rng(0)
    sdr = rng.uniform(0.05, 1.0, (8, 8, 3))
    out = classical.bt2446c(sdr).astype(np.float64)
    lin = np.asarray(convert_primaries(sdr ** 2.4 * 100.0, "bt709", "bt2020"))
    M = np.asarray(rgb_to_xyz_matrix("bt2020"))
    xyz_in, xyz_out = lin @ M.T, out @ M.T
    xy = lambda v: v[..., :2] / v.sum(-1, keepdims=True)
    assert np.allclose(xy(xyz_in), xy(xyz_out), atol=1e-5)
    assert np.allclose(xyz_out[..., 1], classical.bt2446c_inverse_curve(xyz_in[..., 1]), rtol=1e-4)
    white = classical.bt2446c(np.ones((1, 1, 3)))
    assert white[0, 0] == pytest.approx(np.full(3, classical.bt2446c_inverse_curve(100.0)), rel=1e-4)
    with pytest.raises(InputError):
        classical.bt2446c(sdr, alpha=0.5)
