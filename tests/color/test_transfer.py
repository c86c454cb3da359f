"""Transfer functions against colour-science (independent implementation) and their own inverses."""

from __future__ import annotations

import numpy as np
import pytest
import torch

colour = pytest.importorskip("colour")

from hdrkit import color as C  # noqa: E402

RTOL = 1e-6


def _assert_rel(a, b, atol=1e-12):
    np.testing.assert_allclose(np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64), rtol=RTOL, atol=atol)


CODE = np.linspace(0.0, 1.0, 4097)
NITS = np.concatenate([[0.0], np.geomspace(1e-6, 10000.0, 4000)])
SCENE = np.concatenate([[0.0], np.geomspace(1e-8, 1.0, 4000)])


def test_pq_constants_are_the_st2084_rationals():
    assert C.transfer.PQ_M1 == 0.1593017578125
    assert C.transfer.PQ_M2 == 78.84375
    assert C.transfer.PQ_C1 == 0.8359375
    assert C.transfer.PQ_C2 == 18.8515625
    assert C.transfer.PQ_C3 == 18.6875


def test_pq_against_colour():
    _assert_rel(C.pq_eotf(CODE), colour.models.eotf_ST2084(CODE))
    _assert_rel(C.pq_inverse_eotf(NITS), colour.models.eotf_inverse_ST2084(NITS))


def test_pq_known_points():
    # ST 2084: code 1.0 ↔ 10,000 cd/m²; 100 cd/m² ↔ 0.508078 (BT.2408 Table 1: 100 nits ≈ 51 % PQ).
    assert C.pq_eotf(1.0) == pytest.approx(10000.0, rel=1e-12)
    assert C.pq_inverse_eotf(100.0) == pytest.approx(0.5080784215, rel=1e-9)
    assert C.pq_inverse_eotf(203.0) == pytest.approx(0.58, abs=1e-3)  # BT.2408: reference white 58 % PQ


def test_srgb_against_colour():
    _assert_rel(C.srgb_eotf(CODE), colour.models.eotf_sRGB(CODE))
    _assert_rel(C.srgb_inverse_eotf(SCENE), colour.models.eotf_inverse_sRGB(SCENE))


def test_bt1886_against_colour():
    _assert_rel(C.bt1886_eotf(CODE), colour.models.eotf_BT1886(CODE))
    _assert_rel(C.bt1886_inverse_eotf(SCENE), colour.models.eotf_inverse_BT1886(SCENE))


def test_hlg_oetf_against_colour():
    _assert_rel(C.hlg_oetf(SCENE), colour.models.oetf_BT2100_HLG(SCENE))
    _assert_rel(C.hlg_inverse_oetf(CODE), colour.models.oetf_inverse_BT2100_HLG(CODE))


@pytest.mark.parametrize("peak", [1000.0, 2000.0])
def test_hlg_eotf_against_colour(peak):
    rng = np.random.default_rng(0)
    sig = rng.uniform(0.0, 1.0, (500, 3))
    ref = colour.models.eotf_BT2100_HLG(sig, L_B=0, L_W=peak)
    _assert_rel(C.hlg_eotf(sig, peak=peak), ref, atol=1e-9)
    nits = rng.uniform(1e-3, peak, (500, 3))
    _assert_rel(C.hlg_inverse_eotf(nits, peak=peak), colour.models.eotf_inverse_BT2100_HLG(nits, L_B=0, L_W=peak))


@pytest.mark.parametrize("transfer", ["linear", "srgb", "bt1886", "pq", "hlg"])
def test_round_trip_is_identity(transfer):
    rng = np.random.default_rng(1)
    v = rng.uniform(0.0, 1.0, (64, 3))
    back = C.inverse_eotf(C.eotf(v, transfer), transfer)
    np.testing.assert_allclose(back, v, rtol=1e-9, atol=1e-12)
    v32 = v.astype(np.float32)
    back32 = C.inverse_eotf(C.eotf(v32, transfer), transfer)
    assert back32.dtype == np.float32
    np.testing.assert_allclose(back32, v32, rtol=1e-4, atol=2e-5)


@pytest.mark.parametrize("fn", [C.pq_eotf, C.pq_inverse_eotf, C.srgb_eotf, C.srgb_inverse_eotf,
                                C.bt1886_eotf, C.bt1886_inverse_eotf, C.hlg_oetf, C.hlg_inverse_oetf])
def test_torch_matches_numpy_and_keeps_dtype(fn):
    x = np.linspace(0.001, 0.999, 101)
    for dtype in (torch.float32, torch.float64):
        t = fn(torch.tensor(x, dtype=dtype))
        assert isinstance(t, torch.Tensor) and t.dtype == dtype
        np.testing.assert_allclose(t.numpy(), fn(x), rtol=1e-4 if dtype == torch.float32 else 1e-12)
    assert fn(x.astype(np.float32)).dtype == np.float32


@pytest.mark.parametrize("fn", [C.pq_eotf, C.pq_inverse_eotf, C.srgb_eotf, C.srgb_inverse_eotf,
                                C.bt1886_eotf, C.bt1886_inverse_eotf, C.hlg_oetf, C.hlg_inverse_oetf])
def test_gradcheck(fn):
    # Sample both sides of every piecewise knee, away from the non-differentiable points themselves.
    x = torch.tensor([0.002, 0.02, 0.05, 0.07, 0.3, 0.45, 0.55, 0.8, 0.95], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,), eps=1e-7, atol=1e-6, rtol=1e-5)


def test_hlg_eotf_gradcheck():
    x = torch.tensor([[0.2, 0.4, 0.6], [0.7, 0.55, 0.9]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda s: C.hlg_eotf(s), (x,), eps=1e-7, atol=1e-6)
    y = torch.tensor([[20.0, 80.0, 300.0], [900.0, 10.0, 1.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda n: C.hlg_inverse_eotf(n), (y,), eps=1e-6, atol=1e-6)


def test_nan_propagates_and_nd_shapes():
    x = np.full((2, 3, 4, 3), 0.5)
    x[0, 0, 0, 0] = np.nan
    for t in ("srgb", "bt1886", "pq", "hlg", "linear"):
        y = C.eotf(x, t)
        assert y.shape == x.shape
        assert np.isnan(y[0, 0, 0, 0]) and np.isfinite(y[1]).all()


def test_negative_inputs_do_not_produce_nan():
    x = np.array([-1.0, -1e-3, 0.0])
    for fn in (C.pq_eotf, C.pq_inverse_eotf, C.bt1886_eotf, C.bt1886_inverse_eotf, C.srgb_eotf, C.srgb_inverse_eotf):
        assert np.isfinite(fn(x)).all()
    assert (C.pq_inverse_eotf(np.array([-5.0])) == C.pq_inverse_eotf(np.array([0.0]))).all()


def test_unknown_transfer_is_a_clear_error():
    from hdrkit.errors import InputError

    with pytest.raises(InputError, match="unknown transfer"):
        C.eotf(np.zeros(3), "gamma9")
