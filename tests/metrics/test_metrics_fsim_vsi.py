"""FSIM / VSI: properties the papers state, numpy == torch, and the helpers against MATLAB conventions."""

import numpy as np
import pytest

from hdrkit.metrics import fsim, phase_congruency, pu_fsim, pu_vsi, sdsp_saliency, vsi
from hdrkit.metrics._backend import resize_matrix

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def scene():
    rng = np.random.default_rng(1)
    from scipy import ndimage

    base = ndimage.gaussian_filter(rng.uniform(0, 1, (96, 128, 3)), (3, 3, 0))
    img = (base - base.min()) / (base.max() - base.min()) * 255
    img[30:60, 40:90] += 60  # a sharp-edged patch
    return img


def test_identity_gives_one(scene):
    assert fsim(scene, scene) == pytest.approx(1.0)
    assert fsim(scene, scene, chromatic=True) == pytest.approx(1.0)
    assert vsi(scene, scene) == pytest.approx(1.0)


def test_scores_fall_with_distortion(scene):
    rng = np.random.default_rng(2)
    noise = rng.normal(0, 1, scene.shape)
    f = [fsim(scene, scene + s * noise) for s in (2, 10, 40)]
    v = [vsi(scene, scene + s * noise) for s in (2, 10, 40)]
    assert 1 > f[0] > f[1] > f[2] > 0
    assert 1 > v[0] > v[1] > v[2] > 0


def test_numpy_and_torch_agree(scene):
    rng = np.random.default_rng(3)
    test = scene + rng.normal(0, 10, scene.shape)
    for fn in (fsim, vsi, lambda a, b: fsim(a, b, chromatic=True)):
        n = fn(scene, test)
        t = fn(torch.tensor(scene), torch.tensor(test))
        assert float(t) == pytest.approx(n, rel=1e-9)


def test_phase_congruency_highlights_edges():
    img = np.zeros((64, 64))
    img[:, 31:33] = 200.0  # a thin line (a square wave would be congruent mid-plateau too: the FFT is periodic)
    pc = phase_congruency(img)
    assert pc.shape == (64, 64)
    assert 0 <= pc.min() and pc.max() <= 1
    assert pc[:, 31:33].min() > 0.7
    assert pc[:, 10:20].max() < 0.1
    assert np.all(phase_congruency(np.full((16, 16), 7.0)) == 0)


def test_saliency_range_and_centre_bias():
    img = np.full((80, 120, 3), 128.0)
    img[35:45, 55:65] = [250, 40, 20]  # a red dot in the centre
    s = sdsp_saliency(img)
    assert s.shape == (80, 120) and s.min() == pytest.approx(0) and s.max() == pytest.approx(1)
    assert s[35:45, 55:65].mean() > s[:10, :10].mean()


def test_resize_matrix_is_matlab_bilinear():
    # imresize([1 2 3 4], [1 2], 'bilinear'), by hand from MATLAB's contributions(): u = 2x - 0.5, kernel
    # 0.5·tri(0.5·d) over samples 0..3 (sample 0 mirrors to 1) -> 0.125·1 + 0.375·1 + 0.375·2 + 0.125·3
    np.testing.assert_allclose(resize_matrix(4, 2) @ np.array([1.0, 2, 3, 4]), [1.625, 3.375])
    # upsampling: imresize([1 2], [1 4], 'bilinear') = [1 1.25 1.75 2]
    np.testing.assert_allclose(resize_matrix(2, 4, antialias=True) @ np.array([1.0, 2]), [1, 1.25, 1.75, 2])
    np.testing.assert_allclose(resize_matrix(37, 256).sum(axis=1), 1)


def test_pu_fsim_vsi_on_nits():
    rng = np.random.default_rng(5)
    ref = rng.lognormal(3, 1.5, (64, 64, 3))
    test = ref * rng.lognormal(0, 0.3, ref.shape)
    assert 0 < pu_fsim(ref, test) < 1
    assert 0 < pu_vsi(ref, test) < 1
    assert pu_fsim(ref, ref) == pytest.approx(1.0)


def test_agrees_with_piq_where_installed(scene):
    """piq (Apache-2.0) is an independent implementation of both papers; it needs torchvision, so this runs in
    the cvvdp environment only (docs/METRICS.md).  FSIM/FSIMc agree to 5 decimals.  VSI agrees to ~3e-4 only:
    piq resizes for SDSP without antialiasing and upsamples with align_corners=True, where MATLAB's imresize
    (which we follow) antialiases and aligns pixel centres."""
    piq = pytest.importorskip("piq")
    from scipy import ndimage

    rng = np.random.default_rng(6)
    big = ndimage.zoom(scene, (5.5, 5.5, 1), order=1)[:520, :700]  # min side 520: FSIM's F = 2 path
    big = np.clip(big, 0, 255)
    for sigma in (3.0, 20.0):
        test = np.clip(big + rng.normal(0, sigma, big.shape), 0, 255)
        a = torch.tensor(big, dtype=torch.float32).permute(2, 0, 1)[None]
        b = torch.tensor(test, dtype=torch.float32).permute(2, 0, 1)[None]
        assert fsim(test, big) == pytest.approx(piq.fsim(b, a, data_range=255.0, chromatic=False).item(), abs=2e-5)
        assert fsim(test, big, chromatic=True) == pytest.approx(
            piq.fsim(b, a, data_range=255.0, chromatic=True).item(), abs=2e-5)
        assert vsi(test, big) == pytest.approx(piq.vsi(b, a, data_range=255.0).item(), abs=1e-3)
