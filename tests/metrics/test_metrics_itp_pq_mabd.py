"""ΔE_ITP (BT.2124) vs colour-science, PQ metrics vs closed forms, MABD vs hand computations."""

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.metrics import delta_e_itp, delta_e_itp_map, mabd_jiang2019, mabd_kpnmfi, mabd_vector, pq_psnr, pq_ssim

torch = pytest.importorskip("torch")


def test_delta_itp_check_value():
    a = np.array([[[100.0, 100.0, 100.0]]])
    b = np.array([[[110.0, 100.0, 100.0]]])
    assert delta_e_itp(a, b) == pytest.approx(7.982103, abs=1e-5)
    assert float(delta_e_itp(torch.tensor(a), torch.tensor(b))) == pytest.approx(7.982103, abs=1e-5)


def test_delta_itp_matches_colour_science():
    colour = pytest.importorskip("colour")
    rng = np.random.default_rng(7)
    a = rng.uniform(0, 4000, (24, 32, 3)) * rng.choice([0.001, 0.1, 1], (24, 32, 1))
    b = a * rng.lognormal(0, 0.2, a.shape)
    want = colour.difference.delta_E_ITP(colour.RGB_to_ICtCp(a), colour.RGB_to_ICtCp(b))
    np.testing.assert_allclose(delta_e_itp_map(a, b), want, atol=1e-6, rtol=0)
    assert delta_e_itp(a, b) == pytest.approx(want.mean(), abs=1e-6)


def test_delta_itp_zero_and_symmetric():
    rng = np.random.default_rng(8)
    a, b = rng.uniform(0, 1000, (2, 8, 8, 3))
    assert delta_e_itp(a, a) == 0
    assert delta_e_itp(a, b) == pytest.approx(delta_e_itp(b, a))


def test_pq_psnr_closed_form_against_colour():
    colour = pytest.importorskip("colour")
    rng = np.random.default_rng(9)
    a = rng.uniform(0.1, 5000, (16, 16, 3))
    b = a * 1.05
    ea, eb = colour.models.eotf_inverse_ST2084(a), colour.models.eotf_inverse_ST2084(b)
    want = 10 * np.log10(1 / np.mean((ea - eb) ** 2))
    assert pq_psnr(a, b) == pytest.approx(want, abs=1e-6)
    # above 10,000 cd/m² PQ saturates at code 1
    assert pq_psnr(np.full((4, 4, 3), 2e4), np.full((4, 4, 3), 3e4)) == np.inf


def test_pq_ssim_properties():
    rng = np.random.default_rng(10)
    a = rng.uniform(0, 1000, (32, 40, 3))
    assert pq_ssim(a, a) == pytest.approx(1.0)
    assert pq_ssim(a, a * 1.5) < pq_ssim(a, a * 1.1) < 1


def test_mabd_hand_computed():
    # ref: brightness 0, 1, 3 (MABD vector [1, 2]); test: 0, 2, 2 (vector [2, 0])
    ref = np.stack([np.full((4, 5), v) for v in (0.0, 1.0, 3.0)])
    test = np.stack([np.full((4, 5), v) for v in (0.0, 2.0, 2.0)])
    np.testing.assert_allclose(mabd_vector(ref), [1, 2])
    assert mabd_jiang2019(ref, test) == pytest.approx(((2 - 1) ** 2 + (0 - 2) ** 2) / 2)
    assert mabd_kpnmfi(test) == pytest.approx(1.0)
    # RGB: brightness is the channel mean; KPN-MFI averages |Δf| over channels
    rgb = np.zeros((2, 3, 3, 3))
    rgb[1, ..., 0] = 3.0
    rgb[1, ..., 1] = -3.0
    assert mabd_vector(rgb)[0] == pytest.approx(0.0)
    assert mabd_kpnmfi(rgb) == pytest.approx(2.0)
    assert float(mabd_jiang2019(torch.tensor(ref), torch.tensor(test))) == pytest.approx(2.5)


def test_mabd_errors():
    with pytest.raises(InputError):
        mabd_kpnmfi(np.zeros((1, 4, 4)))
    with pytest.raises(InputError):
        mabd_jiang2019(np.zeros((3, 4, 4)), np.zeros((3, 4, 5)))
