"""Warping error (Lai et al. 2018) with DIS flow and the forward–backward occlusion mask: closed-form cases."""

from __future__ import annotations

import numpy as np
import pytest


def _texture(h=64, w=96, seed=0):
    import cv2

    rng = np.random.default_rng(seed)
    t = cv2.GaussianBlur(rng.uniform(0, 1, (h, w, 3)).astype(np.float32), (0, 0), 2.0)
    return (t - t.min()) / (t.max() - t.min()) * 0.8 + 0.1


def test_pure_translation_is_consistent_and_a_brightness_flicker_costs_its_square():
    from hdrkit.metrics import warping_error, warping_error_pair

    big = _texture(80, 120)
    f0, f1 = big[8:72, 10:106], big[8:72, 13:109]  # the camera moves 3 px right
    base = warping_error_pair(f0, f1)
    assert base < 2e-4
    c = 0.05
    flick = warping_error_pair(f0, f1 + c, f0, f1)  # flow from the clean guide, test frame 1 brighter by c
    assert flick - base == pytest.approx(3 * c * c, rel=0.15)  # summed over the 3 channels
    seq = np.stack([f0, f1, f0])
    assert warping_error(seq) < 2e-4


def test_occlusion_mask_marks_pixels_that_leave_the_frame():
    from hdrkit.metrics import dis_flow, occlusion_mask

    big = _texture(80, 140, seed=1)
    f0, f1 = big[8:72, 10:110], big[8:72, 16:116]  # 6 px shift: frame 0's first 6 columns leave the view
    fw, bw = dis_flow(f0, f1), dis_flow(f1, f0)
    np.testing.assert_allclose(np.median(fw[..., 0]), -6.0, atol=0.3)  # f0(x) = f1(x − 6)
    m = occlusion_mask(fw, bw)
    assert m[:, 20:80].mean() > 0.95 and m[:, :5].mean() < 0.05


def test_warping_error_rejects_bad_shapes():
    from hdrkit.errors import InputError
    from hdrkit.metrics import warping_error

    with pytest.raises(InputError):
        warping_error(np.zeros((1, 8, 8, 3)))
