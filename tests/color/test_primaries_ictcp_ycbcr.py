"""Primaries matrices, luminance, ICtCp and Y'CbCr against colour-science and the standards' printed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch

colour = pytest.importorskip("colour")

from hdrkit import color as C  # noqa: E402

SPACES = {"bt709": "ITU-R BT.709", "bt2020": "ITU-R BT.2020", "p3d65": "P3-D65"}


@pytest.mark.parametrize("name", list(SPACES))
def test_rgb_to_xyz_matches_colour(name):
    ref = colour.RGB_COLOURSPACES[SPACES[name]].matrix_RGB_to_XYZ
    np.testing.assert_allclose(C.rgb_to_xyz_matrix(name), ref, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("src", list(SPACES))
@pytest.mark.parametrize("dst", list(SPACES))
def test_rgb_to_rgb_matches_colour(src, dst):
    ref = colour.matrix_RGB_to_RGB(colour.RGB_COLOURSPACES[SPACES[src]], colour.RGB_COLOURSPACES[SPACES[dst]],
                                   chromatic_adaptation_transform=None)
    np.testing.assert_allclose(C.rgb_to_rgb_matrix(src, dst), ref, rtol=1e-6, atol=1e-9)


def test_bt709_to_bt2020_matrix_is_bt2087():
    # ITU-R BT.2087-0, eq. (4) (printed to 4 decimals).
    ref = np.array([[0.6274, 0.3293, 0.0433], [0.0691, 0.9195, 0.0114], [0.0164, 0.0880, 0.8956]])
    np.testing.assert_allclose(C.rgb_to_rgb_matrix("bt709", "bt2020"), ref, atol=6e-5)


def test_luminance_weights_per_primaries():
    np.testing.assert_allclose(C.luminance_weights("bt709"), [0.2126, 0.7152, 0.0722], atol=5e-5)
    np.testing.assert_allclose(C.luminance_weights("bt2020"), [0.2627, 0.6780, 0.0593], atol=5e-5)
    rgb = np.random.default_rng(0).uniform(0, 1, (5, 7, 3))
    np.testing.assert_allclose(C.luminance(rgb, "bt2020"), rgb @ C.luminance_weights("bt2020"), rtol=1e-12)


def test_primaries_round_trip_and_torch():
    rgb = np.random.default_rng(2).uniform(0, 1, (10, 3))
    back = C.convert_primaries(C.convert_primaries(rgb, "bt709", "bt2020"), "bt2020", "bt709")
    np.testing.assert_allclose(back, rgb, rtol=1e-12, atol=1e-14)
    t = torch.tensor(rgb, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x: C.convert_primaries(x, "bt709", "p3d65"), (t,))


def test_ictcp_matches_colour_on_nits():
    rgb = np.random.default_rng(3).uniform(0, 1000, (200, 3))
    ours = C.rgb_to_ictcp(rgb)
    ref = colour.RGB_to_ICtCp(rgb, method="ITU-R BT.2100-2 PQ")
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-10)
    np.testing.assert_allclose(C.ictcp_to_rgb(ours), rgb, rtol=1e-9, atol=1e-8)


def test_ictcp_grey_has_no_chroma_and_gradcheck():
    grey = np.array([[100.0, 100.0, 100.0]])
    ictcp = C.rgb_to_ictcp(grey)
    assert abs(ictcp[0, 1]) < 1e-12 and abs(ictcp[0, 2]) < 1e-12
    assert ictcp[0, 0] == pytest.approx(C.pq_inverse_eotf(100.0), rel=1e-12)
    t = torch.tensor([[10.0, 50.0, 200.0], [300.0, 20.0, 5.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(C.rgb_to_ictcp, (t,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("std,key", [("bt709", "ITU-R BT.709"), ("bt2020", "ITU-R BT.2020")])
def test_ycbcr_matches_colour(std, key):
    rgb = np.random.default_rng(4).uniform(0, 1, (100, 3))
    ref = colour.RGB_to_YCbCr(rgb, K=colour.WEIGHTS_YCBCR[key], out_legal=False, out_int=False)
    np.testing.assert_allclose(C.rgb_to_ycbcr(rgb, std), ref, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(C.ycbcr_to_rgb(C.rgb_to_ycbcr(rgb, std), std), rgb, atol=1e-12)


def test_ycbcr_narrow_range_codes():
    # White → Y' 940, C 512 at 10 bits; black → 64 (BT.2020 Table 5).
    codes = C.quantise_ycbcr(C.rgb_to_ycbcr(np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]), "bt2020"), 10)
    assert codes.tolist() == [[940, 512, 512], [64, 512, 512]]
    np.testing.assert_allclose(C.dequantise_ycbcr(codes, 10)[:, 0], [1.0, 0.0], atol=1e-12)
