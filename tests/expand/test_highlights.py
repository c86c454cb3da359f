"""The highlight dome of ``expand --peak`` (:func:`hdrkit.expand.highlights.highlight_dome`): closed-form checks on
synthetic pictures."""

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.expand.highlights import highlight_dome


def _two_discs(size=64):
    """SDR with two clipped discs (left radius 8, right radius 12) on grey, and a 1000 cd/m² grade where the left
    disc is graded 950 and the right one 700 cd/m² (both re-graded to 4000 by hand: ×2 and ×1.2)."""
    yy, xx = np.mgrid[:size, :size]
    left = (yy - 32) ** 2 + (xx - 16) ** 2 <= 8 ** 2
    right = (yy - 32) ** 2 + (xx - 46) ** 2 <= 12 ** 2
    sdr = np.full((size, size, 3), 0.4)
    sdr[left] = (1.0, 1.0, 0.7)
    sdr[right] = 1.0
    grade = np.full((size, size, 3), 60.0, np.float32)
    grade[left] = (950.0, 900.0, 500.0)
    grade[right] = 700.0
    nits = grade.copy()
    nits[left] *= 2.0
    nits[right] *= 1.2
    return sdr, grade, nits, left, right


def test_dome_lifts_only_the_brightest_clipped_region_to_the_target():
    sdr, grade, nits, left, right = _two_discs()
    out = highlight_dome(nits, sdr, 4000.0, grade=grade)
    assert out.dtype == np.float32 and out.shape == nits.shape
    np.testing.assert_array_equal(out[~left], nits[~left])  # the dimmer disc and the rest keep the re-grade
    assert out[32, 16].max() == pytest.approx(3600.0, rel=1e-5)  # the centre: d = d_max, w = 1
    assert (out[left].max(-1) >= nits[left].max(-1) - 1e-3).all()
    ratio = out[left] / nits[left]
    np.testing.assert_allclose(ratio[:, 0], ratio[:, 1], rtol=1e-5)  # one ratio per pixel: hue kept
    np.testing.assert_allclose(ratio[:, 0], ratio[:, 2], rtol=1e-5)
    row = out[32, 8:17].max(-1)  # rim → centre along a radius: the dome rises
    assert (np.diff(row) >= -1e-3).all() and row[0] < row[-1]
    # w at the rim pixel (d = 1 of d_max = 8 + …) is small: that pixel stays close to the re-grade
    assert out[32, 8].max() < 1.5 * nits[32, 8].max()


def test_dome_closed_form_inside_the_region():
    from scipy import ndimage

    sdr, grade, nits, left, _ = _two_discs()
    out = highlight_dome(nits, sdr, 4000.0, grade=grade, target=0.8)
    d = ndimage.distance_transform_edt(left)
    t = np.clip(d / d.max(), 0, 1)
    w = t * t * (3 - 2 * t)
    m = nits.max(-1).astype(np.float64)
    expect = m * (3200.0 / m) ** w
    np.testing.assert_allclose(out.max(-1)[left], expect[left], rtol=1e-5)


def test_dome_ties_go_to_the_larger_region_and_grade_defaults_to_the_picture():
    sdr, grade, nits, left, right = _two_discs()
    grade[right] = grade[left].max()  # both graded 950 at their top
    out = highlight_dome(nits, sdr, 4000.0, grade=grade)
    np.testing.assert_array_equal(out[left], nits[left])
    assert out[32, 46].max() == pytest.approx(3600.0, rel=1e-5)
    out2 = highlight_dome(nits, sdr, 4000.0)  # no grade: regions ranked by the picture itself (left: 1900)
    assert out2[32, 16].max() == pytest.approx(3600.0, rel=1e-5)
    np.testing.assert_array_equal(out2[right], nits[right])


@pytest.mark.parametrize("peak", [500.0, 1000.0])
def test_dome_is_the_identity_up_to_the_grade_peak(peak):
    sdr, grade, nits, _, _ = _two_discs()
    np.testing.assert_array_equal(highlight_dome(nits, sdr, peak, grade=grade), nits)


def test_dome_without_clipped_pixels_changes_nothing():
    sdr, grade, nits, _, _ = _two_discs()
    np.testing.assert_array_equal(highlight_dome(nits, sdr * 0.9, 4000.0, grade=grade), nits)


def test_dome_never_lowers_what_is_already_above_the_target():
    sdr, grade, nits, left, _ = _two_discs()
    nits[left] = 3900.0
    out = highlight_dome(nits, sdr, 4000.0, grade=grade)
    np.testing.assert_array_equal(out, nits)


def test_dome_rejects_mismatched_shapes():
    sdr, grade, nits, _, _ = _two_discs()
    with pytest.raises(InputError):
        highlight_dome(nits, sdr[:10], 4000.0)
    with pytest.raises(InputError):
        highlight_dome(nits, sdr, 4000.0, grade=grade[:10])
    with pytest.raises(InputError):
        highlight_dome(nits[..., 0], sdr[..., 0], 4000.0)
