"""PU21 encoding and the PU metrics against the reference vectors of issue 4 / gfxdisp/pu21."""

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.metrics import (
    PU21_PARAMETERS,
    pu21_decode,
    pu21_encode,
    pu_msssim,
    pu_psnr,
    pu_psnr_y,
    pu_ssim,
)

torch = pytest.importorskip("torch")

# banding_glare, float64 (issue 4; computed with gfxdisp/pu21 pu21_encoder.m)
VECTORS = [(0.01, 0.372232), (1.0, 36.543911), (100.0, 256.383897), (1000.0, 420.096921), (10000.0, 595.393920)]


def test_pu21_reference_vectors_numpy_and_torch():
    Y = np.array([y for y, _ in VECTORS])
    V = np.array([v for _, v in VECTORS])
    np.testing.assert_allclose(pu21_encode(Y), V, atol=1e-5, rtol=0)
    vt = pu21_encode(torch.tensor(Y))
    assert isinstance(vt, torch.Tensor) and vt.dtype == torch.float64
    np.testing.assert_allclose(vt.numpy(), V, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", list(PU21_PARAMETERS))
def test_pu21_round_trip(name):
    # Above the clamp floor each set is strictly increasing; decode∘encode must return Y.
    Y = np.logspace(np.log10(0.0051), 4, 5001)
    back = pu21_decode(pu21_encode(Y, name), name)
    np.testing.assert_allclose(back, Y, rtol=1e-9 if name in ("banding_glare", "peaks") else 1e-7, atol=0)


def test_pu21_round_trip_default_1e9_everywhere():
    Y = np.logspace(np.log10(0.005), 4, 20001)
    assert np.max(np.abs(pu21_decode(pu21_encode(Y)) / Y - 1)) <= 1e-9


def test_pu21_clamps_nan_and_shape():
    v = pu21_encode(np.array([[-5.0, 0.0, 0.005], [1e5, 10000.0, np.nan]]))
    assert v.shape == (2, 3)
    assert v[0, 0] == v[0, 1] == v[0, 2]
    assert v[1, 0] == v[1, 1]
    assert np.isnan(v[1, 2])
    assert torch.isnan(pu21_encode(torch.tensor([np.nan]))).all()


def test_pu21_monotonic_and_100_nits_near_256():
    Y = np.logspace(-2, 4, 1000)
    for name in PU21_PARAMETERS:
        assert np.all(np.diff(pu21_encode(Y, name)) > 0)
    assert abs(pu21_encode(100.0) - 256) < 1


def test_pu21_unknown_parameter_set():
    with pytest.raises(InputError):
        pu21_encode(1.0, "nope")
    with pytest.raises(InputError):
        pu21_encode(1.0, (1, 2, 3))


def test_pu21_differentiable():
    y = torch.tensor([1.0, 100.0, 1000.0], dtype=torch.float64, requires_grad=True)
    pu21_encode(y).sum().backward()
    assert torch.all(y.grad > 0)


def _check_pair():
    ref = np.full((4, 4, 3), 100.0)
    test = ref.copy()
    test[0, 0, 0] = 110.0
    return ref, test


def test_pu_psnr_check_values():
    ref, test = _check_pair()
    assert pu_psnr(ref, test) == pytest.approx(49.105813, abs=1e-5)
    assert pu_psnr_y(ref, test) == pytest.approx(57.484070, abs=1e-5)
    t = pu_psnr(torch.tensor(ref), torch.tensor(test))
    assert float(t) == pytest.approx(49.105813, abs=1e-5)


def test_pu_psnr_closed_form_and_peak_is_fixed():
    # Uniform images: PU-PSNR = 20·log10(256 / |PU(a) − PU(b)|), independent of the image maximum.
    a, b = np.full((8, 8, 3), 50.0), np.full((8, 8, 3), 60.0)
    d = pu21_encode(50.0) - pu21_encode(60.0)
    assert pu_psnr(a, b) == pytest.approx(20 * np.log10(256 / abs(d)), rel=1e-12)
    assert pu_psnr(a * 10, b * 10) != pytest.approx(pu_psnr(a, b))
    assert pu_psnr(a, a) == np.inf


def test_pu_psnr_y_weights_parameter():
    ref, test = _check_pair()
    w2020 = (0.2627, 0.6780, 0.0593)
    y_ref, y_test = ref @ np.array(w2020), test @ np.array(w2020)
    mse = np.mean((pu21_encode(y_ref) - pu21_encode(y_test)) ** 2)
    assert pu_psnr_y(ref, test, weights=w2020) == pytest.approx(10 * np.log10(256**2 / mse), rel=1e-12)


def test_pu_metrics_batch_matches_single():
    rng = np.random.default_rng(3)
    a = rng.uniform(0, 2000, (2, 40, 48, 3))
    b = a * rng.lognormal(0, 0.1, a.shape)
    for f in (pu_psnr, pu_psnr_y, pu_ssim, pu_msssim):
        batch = f(a, b)
        assert batch.shape == (2,)
        assert batch[1] == pytest.approx(f(a[1], b[1]), rel=1e-12)


def test_pu_metrics_identity_and_errors():
    rng = np.random.default_rng(4)
    a = rng.uniform(0, 2000, (32, 32, 3))
    assert pu_ssim(a, a) == pytest.approx(1.0)
    assert pu_msssim(a, a) == pytest.approx(1.0)
    with pytest.raises(InputError, match="differ in size"):
        pu_psnr(a, a[:16])
    with pytest.raises(InputError):
        pu_psnr(a[..., :2], a[..., :2])
    with pytest.raises(InputError, match="too small"):
        pu_msssim(a[:8, :8], a[:8, :8])
