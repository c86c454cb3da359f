"""MTB alignment (Ward 2003), homography alignment, deghosting."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.merge import crf_gamma, merge, simulate_bracket
from hdrkit.merge.align import align_bracket, homography_orb, mtb_ward2003, shift_image

from merge_testlib import READ, SHOT, log2_error, well_exposed

TIMES = [1 / 8, 1 / 2, 2]


@pytest.fixture(scope="module")
def bracket(forest):
    return simulate_bracket(forest, TIMES, crf_gamma(2.2), 8, SHOT, READ, np.random.default_rng(21))


@pytest.mark.parametrize("shift", [(7, -4), (-13, 9), (1, 0), (0, -30), (25, 17)])
def test_mtb_recovers_known_translation(bracket, shift):
    dx, dy = shift
    moved = shift_image(bracket[0], dx, dy)  # the short exposure, moved
    got = mtb_ward2003(bracket[1], moved)
    assert abs(got[0] + dx) <= 1 and abs(got[1] + dy) <= 1, got


def test_merge_with_alignment_matches_unshifted(bracket, forest):
    crf = crf_gamma(2.2)
    moved = [shift_image(bracket[0], 9, -5), bracket[1], shift_image(bracket[2], -6, 11)]
    r = merge(moved, TIMES, crf=crf, align="mtb")
    inner = np.zeros(forest.shape[:2], bool)
    inner[20:-20, 20:-20] = True  # borders were filled by edge repetition
    m = well_exposed(bracket) & inner
    assert log2_error(r, forest, m) < 0.02
    r_bad = merge(moved, TIMES, crf=crf)  # without alignment it is visibly wrong
    assert log2_error(r_bad, forest, m) > 0.05


def test_homography_alignment(bracket):
    cv2 = pytest.importorskip("cv2")
    ref, img = bracket[1][:, :512], bracket[0][:, :512]
    h, w = ref.shape[:2]
    rot = cv2.getRotationMatrix2D((w / 2, h / 2), 2.0, 1.0)
    rot[:, 2] += (6, -4)
    moved = cv2.warpAffine(img, rot, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    H = homography_orb(ref, moved)
    # H maps moved → reference coordinates: composed with the known warp it must be close to the identity
    known = np.vstack([rot, [0, 0, 1]])
    ident = H @ known
    ident /= ident[2, 2]
    pts = np.array([[50, 50, 1], [460, 60, 1], [256, 200, 1]], float).T
    err = np.abs((ident @ pts)[:2] / (ident @ pts)[2] - pts[:2]).max()
    assert err < 1.0, err
    out = align_bracket([moved, ref], "homography", reference=1)
    assert out[0].shape == ref.shape and out[0].dtype == ref.dtype


def test_homography_refuses_flat_images():
    flat = np.full((64, 64, 3), 128, np.uint8)
    with pytest.raises(InputError, match="homography"):
        homography_orb(flat, flat)
    with pytest.raises(InputError):
        align_bracket([flat, flat], "sift")


def test_deghost_removes_moving_object(bracket, forest):
    crf = crf_gamma(2.2)
    ghosted = [z.copy() for z in bracket]
    # a dark object present only in the long exposure (it walked through the frame)
    ghosted[2][100:160, 300:380] = 20
    obj = np.zeros(forest.shape[:2], bool)
    obj[100:160, 300:380] = True
    m = obj & well_exposed(bracket[:2])
    plain = merge(ghosted, TIMES, crf=crf)
    clean = merge(ghosted, TIMES, crf=crf, deghost=True, reference=1)
    e_plain = log2_error(plain, forest, m)
    e_clean = log2_error(clean, forest, m)
    assert e_plain > 0.5
    assert e_clean < 0.05, (e_plain, e_clean)
    # away from the object deghosting changes little
    rest = well_exposed(bracket) & ~obj
    assert log2_error(clean, forest, rest) < 0.02
