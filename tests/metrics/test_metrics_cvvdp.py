"""Cross-checks with ColorVideoVDP's package (``cvvdp`` extra).  Skipped where it is not installed: it needs a
torchvision that matches its torch, so it lives in a separate environment (see docs/METRICS.md)."""

import numpy as np
import pytest

from hdrkit.metrics import PU21_PARAMETERS, cvvdp_available, cvvdp_jod, pu21_decode, pu21_encode

pytestmark = pytest.mark.skipif(not cvvdp_available(), reason="pycvvdp (cvvdp extra) is not installed")


@pytest.mark.parametrize("name", list(PU21_PARAMETERS))
def test_pu21_agrees_with_pycvvdp(name):
    import torch
    from pycvvdp.utils import PU

    Y = np.logspace(np.log10(0.005), 4, 2001)
    theirs = PU(type=name).encode(torch.tensor(Y)).numpy()
    ours = pu21_encode(Y, name)
    # pycvvdp does not clamp V at 0 (ours, like pu21_encoder.m, does); compare where V > 0
    ok = theirs > 0
    np.testing.assert_allclose(ours[ok], theirs[ok], rtol=1e-12, atol=1e-12)
    V = np.linspace(1.0, ours.max(), 500)
    np.testing.assert_allclose(pu21_decode(V, name), PU(type=name).decode(torch.tensor(V)).numpy(), rtol=1e-12)


def test_cvvdp_jod_identity_and_degradation():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:128, 0:192]
    ref = (50 + 40 * np.sin(x / 5.0))[..., None] * np.array([1.0, 0.9, 1.1]) + 1.0
    jod_same = cvvdp_jod(ref, ref)
    jod_small = cvvdp_jod(ref, ref * rng.lognormal(0, 0.02, ref.shape))
    jod_big = cvvdp_jod(ref, ref * rng.lognormal(0, 0.3, ref.shape))
    assert jod_same == pytest.approx(10.0, abs=1e-3)
    assert 10.0 > jod_small > jod_big
