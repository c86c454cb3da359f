"""The metrics on real HDR panoramas (../shared/data/hdr; skipped when absent) and on a GPU when there is one."""

import numpy as np
import pytest

from hdrkit.metrics import delta_e_itp, evaluate, pu_psnr

torch = pytest.importorskip("torch")


@pytest.fixture(scope="module")
def courtyard(shared_data):
    from hdrkit.io import read_image

    path = shared_data / "hdr" / "courtyard.exr"
    if not path.exists():
        pytest.skip(f"{path} is missing")
    img = read_image(path)
    return img.nits("bt2020")[::4, ::4].astype(np.float64)  # 256×128 keeps the test short


def test_real_image_orderings(courtyard):
    ref = courtyard
    rng = np.random.default_rng(0)
    mild = ref * rng.lognormal(0, 0.02, ref.shape)
    strong = ref * rng.lognormal(0, 0.2, ref.shape)
    m0, m1, m2 = evaluate(ref, ref), evaluate(ref, mild), evaluate(ref, strong)
    assert m0["pu_psnr"] == np.inf and m0["delta_itp"] == 0 and m0["pu_ssim"] == pytest.approx(1)
    for k in ("pu_psnr", "pu_psnr_y", "pu_ssim", "pu_msssim", "pu_fsim", "pu_vsi", "pq_psnr", "pq_ssim"):
        assert m1[k] > m2[k], k
    assert m1["delta_itp"] < m2["delta_itp"]


def test_real_image_exposure_error(courtyard):
    # One stop too bright is a far bigger error, perceptually, than 2 % noise; PU21 and ΔE_ITP both say so.
    ref = courtyard
    assert pu_psnr(ref, ref * 2) < pu_psnr(ref, ref * np.random.default_rng(1).lognormal(0, 0.02, ref.shape))
    assert delta_e_itp(ref, ref * 2) > 10


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_numpy():
    rng = np.random.default_rng(2)
    ref = rng.lognormal(3, 1.5, (64, 96, 3))
    test = ref * rng.lognormal(0, 0.1, ref.shape)
    want = evaluate(ref, test)
    got = evaluate(torch.tensor(ref, device="cuda"), torch.tensor(test, device="cuda"))
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-9), k


def test_evaluate_torch_cpu_matches_numpy_and_flat_is_nan_not_warning():
    import warnings

    rng = np.random.default_rng(3)
    ref = rng.lognormal(3, 1.5, (48, 64, 3))
    test = ref * rng.lognormal(0, 0.1, ref.shape)
    want = evaluate(ref, test)
    got = evaluate(torch.tensor(ref), torch.tensor(test))
    for k in want:
        assert got[k] == pytest.approx(want[k], rel=1e-9), k
    flat = np.full((4, 4, 3), 100.0)
    bumped = flat.copy()
    bumped[0, 0, 0] = 110.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m = evaluate(flat, bumped)
    assert m["pu_psnr"] == pytest.approx(49.105813, abs=1e-5)
    assert np.isnan(m["pu_msssim"]) and np.isnan(m["pu_vsi"])  # too small / flat reference: undefined
    from hdrkit.errors import InputError

    with pytest.raises(InputError, match="non-finite"):
        evaluate(flat, np.where(bumped > 105, np.nan, bumped))
