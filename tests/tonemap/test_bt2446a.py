"""ITU-R BT.2446-1 Method A against the report's own equations and printed curve points.

The report (Report ITU-R BT.2446-1 (03/2021), §4.1) gives no worked pixel example; what it prints are the curve
parameters: ρ = 1 + 32 (L/10000)^(1/2.4), the knee break points 0.7399 / 0.9909 with the linear slope 1.0770,
the quadratic −1.1510 Y'² + 2.7811 Y' − 0.6302 and the top segment 0.5 Y' + 0.5, and the colour correction
f = Y'_SDR / (1.1 Y'), Y'_tmo = Y'_SDR − max(0.1 C'r,tmo, 0).  The tests check those points and a scalar
re-derivation of the whole pipeline written with the ``math`` module.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.tonemap import bt2446a, bt2446a_curve, bt2446a_knee, bt2446a_rho


def _scalar_method_a(rgb_nits, l_hdr=1000.0, l_sdr=100.0):
    """Method A for one pixel, written from the report with plain floats (BT.2020 SDR R'G'B' out)."""
    rp, gp, bp = ((min(max(c, 0.0), l_hdr) / l_hdr) ** (1 / 2.4) for c in rgb_nits)
    y = 0.2627 * rp + 0.6780 * gp + 0.0593 * bp
    rho_h = 1 + 32 * (l_hdr / 10000) ** (1 / 2.4)
    rho_s = 1 + 32 * (l_sdr / 10000) ** (1 / 2.4)
    yp = math.log(1 + (rho_h - 1) * y) / math.log(rho_h)
    if yp <= 0.7399:
        yc = 1.0770 * yp
    elif yp < 0.9909:
        yc = -1.1510 * yp ** 2 + 2.7811 * yp - 0.6302
    else:
        yc = 0.5 * yp + 0.5
    ysdr = (rho_s ** yc - 1) / (rho_s - 1)
    cb = (bp - y) / 1.8814
    cr = (rp - y) / 1.4746
    f = ysdr / (1.1 * y) if y > 0 else 0.0
    cbt, crt = f * cb, f * cr
    yt = ysdr - max(0.1 * crt, 0.0)
    r = yt + 1.4746 * crt
    b = yt + 1.8814 * cbt
    g = (yt - 0.2627 * r - 0.0593 * b) / 0.6780
    return [min(max(v, 0.0), 1.0) for v in (r, g, b)]


def test_rho_values_for_the_report_peaks():
    # ρ_HDR for L_HDR = 1000 and ρ_SDR for L_SDR = 100 (closed forms of the report's step 1 / step 3).
    assert bt2446a_rho(1000) == pytest.approx(1 + 32 * 0.1 ** (1 / 2.4), rel=1e-12)
    assert bt2446a_rho(1000) == pytest.approx(13.2598, abs=1e-4)
    assert bt2446a_rho(100) == pytest.approx(5.6970, abs=1e-4)


def test_knee_printed_points_and_continuity():
    # Segment values at the printed break points: the pieces agree within 1e-3 (4-digit coefficients).
    lin = lambda y: 1.0770 * y  # noqa: E731
    quad = lambda y: -1.1510 * y * y + 2.7811 * y - 0.6302  # noqa: E731
    top = lambda y: 0.5 * y + 0.5  # noqa: E731
    assert abs(lin(0.7399) - quad(0.7399)) < 1e-3
    assert abs(quad(0.9909) - top(0.9909)) < 1e-3
    # and slopes (tangent continuity): 1.0770 vs −2·1.1510·0.7399 + 2.7811, 0.5 vs −2·1.1510·0.9909 + 2.7811
    assert abs(1.0770 - (-2 * 1.1510 * 0.7399 + 2.7811)) < 2e-3
    assert abs(0.5 - (-2 * 1.1510 * 0.9909 + 2.7811)) < 2e-3
    knee = bt2446a_knee(np.array([0.0, 0.5, 0.7399, 0.9909, 1.0]))
    np.testing.assert_allclose(knee, [0.0, 0.5385, 1.0770 * 0.7399, 0.5 * 0.9909 + 0.5, 1.0], atol=1e-12)


def test_curve_endpoints_and_monotonic():
    y = np.linspace(0, 1, 10001)
    c = bt2446a_curve(y)
    assert c[0] == 0.0 and c[-1] == pytest.approx(1.0, abs=1e-12)  # L_HDR white → SDR peak
    assert np.all(np.diff(c) > 0)


def test_grey_is_the_luma_curve_and_stays_grey():
    # Achromatic input: C'b = C'r = 0, so R' = G' = B' = Y'_SDR in BT.2020 and in BT.709 (grey is shared).
    nits = np.array([0.0, 1.0, 26.0, 100.0, 203.0, 500.0, 1000.0])
    grey = np.repeat(nits[:, None], 3, axis=1)
    expected = bt2446a_curve((nits / 1000.0) ** (1 / 2.4))
    out2020 = bt2446a(grey, primaries="bt2020")
    out709 = bt2446a(grey)
    np.testing.assert_allclose(out2020, np.repeat(expected[:, None], 3, 1), atol=2e-6)
    np.testing.assert_allclose(out709, np.repeat(expected[:, None], 3, 1), atol=2e-5)
    # HDR reference white (203 cd/m², BT.2408) by hand: Y' = 0.203^(1/2.4), ρ_H = 13.2598 → Y'_p ≈ 0.7696 →
    # quadratic segment Y'_c ≈ 0.8285 → Y'_SDR ≈ 0.687.
    assert out2020[4, 0] == pytest.approx(0.687, abs=1e-3)


@pytest.mark.parametrize("rgb", [(300.0, 100.0, 20.0), (5.0, 40.0, 200.0), (900.0, 5.0, 5.0), (2.0, 2.0, 1.0),
                                 (0.0, 1000.0, 0.0), (1000.0, 1000.0, 1000.0), (60.0, 0.0, 70.0)])
def test_matches_scalar_derivation_of_the_report(rgb):
    out = bt2446a(np.array([[rgb]], dtype=np.float32), primaries="bt2020")[0, 0]
    np.testing.assert_allclose(out, _scalar_method_a(rgb), atol=2e-6)


def test_other_peaks_and_clipping_above_l_hdr():
    x = np.array([[4000.0, 4000.0, 4000.0], [1000.0, 1000.0, 1000.0]], dtype=np.float32)
    out = bt2446a(x)
    np.testing.assert_array_equal(out[0], out[1])  # clipped to L_HDR first
    out4k = bt2446a(x, l_hdr=4000.0)
    assert out4k[0, 0] == pytest.approx(1.0, abs=1e-6) and out4k[1, 0] < 1.0
    np.testing.assert_allclose(bt2446a(np.array([[60.0, 0.0, 70.0]]), l_hdr=4000, primaries="bt2020")[0],
                               _scalar_method_a((60.0, 0.0, 70.0), l_hdr=4000), atol=2e-6)


def test_bad_parameters():
    with pytest.raises(InputError):
        bt2446a(np.zeros((2, 2, 3)), l_hdr=0)
    with pytest.raises(InputError):
        bt2446a(np.zeros((2, 2, 3)), primaries="p3")
    with pytest.raises(InputError):
        bt2446a(np.zeros((2, 2, 4)))
