"""Learned expansion operators (U-Net, MetaHDR): shipped weights, the expand registry, adaptation, the CLI."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.expand import METHODS, expand
from hdrkit.expand import learned


def _scene(h=64, w=96, seed=0):
    """A small HDR master (cd/m², BT.2020) with a bright window, and its bracket at −2/0/+2 EV."""
    from hdrkit.data import CameraParams
    from hdrkit.expand.learned_data import shoot

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / w
    base = 20 + 60 * (0.5 + 0.5 * np.sin(8 * xx + 3 * yy))
    master = np.stack([base, 0.8 * base, 0.6 * base], axis=-1) * np.exp(0.1 * rng.standard_normal((h, w, 1)))
    master[10:25, 20:45] = [900.0, 850.0, 700.0]
    cam = CameraParams(n=0.9, sigma=0.6, saturated=0.08, noise=0.0, seed=1)
    shots, times = shoot(master.astype(np.float32), cam, (-2.0, 0.0, 2.0))
    return master.astype(np.float32), [s.astype(np.float32) / 255.0 for s in shots], times


def test_shipped_models_load_from_the_package_within_size_limits():
    from hdrkit.models.unet import param_count

    for name in ("unet", "metahdr"):
        path = learned.model_path(name)
        assert path.is_file() and path.stat().st_size < 8_000_000
        cfg, params, info = learned.load_model(name)
        assert param_count(params) <= 2_000_000
        assert "recipe" in info
    assert "unet" in METHODS and "metahdr" in METHODS


@pytest.mark.parametrize("method", ["unet", "metahdr"])
def test_learned_methods_return_finite_bt2020_nits(method):
    _, shots, _ = _scene()
    out = expand(shots[1], method=method)
    assert out.shape == shots[1].shape and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 10000
    # a brighter SDR pixel never comes out darker on average: the mapping is increasing in the input
    flat = np.linspace(0, 1, 64 * 64 * 3, dtype=np.float32).reshape(64, 64, 3)
    grey = np.repeat(flat[..., :1], 3, axis=-1)
    y = expand(grey, method=method).mean(axis=-1).ravel()
    assert np.corrcoef(np.arange(y.size), y)[0, 1] > 0.9


def test_peak_option_rolls_highlights_off():
    _, shots, _ = _scene()
    out = expand(shots[2], method="unet", peak=300.0)
    assert out.max() <= 300.0 + 1e-3


def test_align_scale_recovers_a_known_factor():
    rng = np.random.default_rng(0)
    anchor = rng.uniform(1, 500, (32, 32, 3)).astype(np.float32)
    sdr = rng.uniform(0.1, 0.8, (32, 32, 3))
    np.testing.assert_allclose(learned.align_scale(anchor / 7.0, anchor, sdr), anchor, rtol=1e-5)


def test_true_label_is_the_scene_up_to_scale():
    master, shots, times = _scene()
    label = learned.true_label(shots, times)
    ok = (shots[1].max(-1) > 0.05) & (shots[1].max(-1) < 0.9)
    ratio = np.log(label[ok].mean(-1)) - np.log(master[ok].mean(-1))
    assert np.std(ratio) < 0.15  # relative radiance: one scale factor (8-bit, estimated response)
    assert label[15, 30].mean() / label[50, 80].mean() > 5  # the window stays far brighter than the wall


def test_adaptation_with_true_labels_moves_towards_the_label():
    from hdrkit.metrics import pu_psnr

    master, shots, times = _scene()
    dark, mid, bright = shots
    rel = [times[0] / times[1], times[2] / times[1]]
    label = learned.align_scale(learned.true_label([dark, bright], rel), learned.unet(mid), mid)
    single = learned.metahdr(mid)
    adapted = learned.metahdr(mid, adapt_with="true", exposures=[dark, bright], times=rel)
    assert pu_psnr(label, adapted) > pu_psnr(label, single)


def test_metahdr_bad_arguments():
    _, shots, times = _scene()
    with pytest.raises(InputError):
        learned.metahdr(shots[1], adapt_with="true")  # no exposures
    with pytest.raises(InputError):
        learned.metahdr(shots[1], adapt_with="maybe", exposures=shots)
    with pytest.raises(InputError):
        learned.metahdr(shots[1], adapt_with="true", exposures=shots)  # no times
    with pytest.raises(InputError):
        learned.metahdr(shots[1], exposures=shots)  # exposures without adapt_with
    with pytest.raises(InputError):
        learned.metahdr(shots[1], adapt_with="simulated", exposures=[shots[0][:32]])


def test_unet_beats_naive_linearisation_on_held_out_panorama_views(shared_data):
    from hdrkit.data import VirtualCamera, perspective_view
    from hdrkit.expand import classical
    from hdrkit.expand.learned_data import HOLDOUT, load_sources
    from hdrkit.metrics import delta_e_itp, pu_psnr
    from hdrkit.tonemap import master_hdr10

    sources = load_sources(shared_data / "hdr", names=HOLDOUT)
    cam, rng = VirtualCamera(), np.random.default_rng(3)
    wins = 0
    for name in HOLDOUT:
        master = master_hdr10(np.clip(perspective_view(sources[name], yaw=90.0, fov=75.0, size=192), 0, None))
        sdr = cam.apply(master, cam.make_params(rng)).astype(np.float64)
        ours, naive = learned.unet(sdr), classical.linear(sdr, peak=203.0)
        wins += pu_psnr(master, ours) > pu_psnr(master, naive) and delta_e_itp(master, ours) < delta_e_itp(master, naive)
    assert wins >= 2
