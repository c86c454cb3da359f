"""Fitting and encoding with the gamma-map family (hdrkit.codec.adapt_gamma): the fit recovers a picture made by
a network of the family, more steps never end worse on the checked grid, the time budget holds, and the
default ``encode`` writes a version-2 gamma-family blob that decodes to what the reference forward pass gives."""

from __future__ import annotations

import struct
import time

import numpy as np
import pytest

from hdrkit.codec.adapt_gamma import GammaAdaptConfig, adapt_gamma
from hdrkit.codec.container import unpack
from hdrkit.errors import InputError
from hdrkit.models import gammanet as G


def _pair(h=48, w=64, seed=0):
    """An SDR picture and the HDR a random network of the family makes from it (so a perfect fit exists)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    sdr = np.clip(np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx * yy)], -1) * 255 + rng.normal(0, 3, (h, w, 3)), 0, 255)
    sdr = sdr.astype(np.uint8)
    cfg = G.GammaConfig(hidden=(16, 16), coord_octaves=3, color_octaves=3)
    true = G.init_params(cfg, seed=5, out_bias=0.8)
    true["out.weight"] = (rng.standard_normal(true["out.weight"].shape) * 0.05).astype(np.float32)
    return sdr, G.forward_reference(true, sdr, cfg), cfg


def _psnr(a, b):
    return 10 * np.log10(1 / np.mean((a - b) ** 2))


def test_fit_recovers_a_picture_of_the_family():
    sdr, pq, cfg = _pair()
    init = G.init_params(cfg, seed=0, out_bias=1.0)
    w, info = adapt_gamma(sdr, pq, init, cfg, GammaAdaptConfig(steps=150, batch=1024, lr=1e-2, loss="pq"))
    before, after = _psnr(G.decode(init, sdr, cfg), pq), _psnr(G.decode(w, sdr, cfg), pq)
    assert after > before + 12 and after > 35  # measured: 21.2 -> 37.7 dB
    assert info.steps_run == 150 and info.checks[0][0] == 0 and info.checks[-1][0] == 150


def test_more_steps_never_raise_the_checked_loss_and_best_weights_are_returned():
    sdr, pq, cfg = _pair(seed=1)
    init = G.init_params(cfg, seed=0)
    best = []
    for steps in (20, 60, 120):
        w, info = adapt_gamma(sdr, pq, init, cfg, GammaAdaptConfig(steps=steps, batch=512, lr=2e-2, check_every=10))
        assert min(l for _, l in info.checks) == dict(info.checks)[info.best_step]
        best.append(dict(info.checks)[info.best_step])
    assert best[0] >= best[1] >= best[2]


def test_a_diverging_run_ships_the_best_weights():
    sdr, pq, cfg = _pair(seed=2)
    init = G.init_params(cfg, seed=0, out_bias=0.9)
    w, info = adapt_gamma(sdr, pq, init, cfg, GammaAdaptConfig(steps=10, batch=256, lr=0.9, check_every=5))
    checked = dict(info.checks)
    assert checked[info.best_step] == min(checked.values())
    assert _psnr(G.decode(w, sdr, cfg), pq) >= _psnr(G.decode(init, sdr, cfg), pq) - 1e-6 or info.best_step > 0


def test_time_budget_is_kept():
    sdr, pq, cfg = _pair()
    t = time.perf_counter()
    _, info = adapt_gamma(sdr, pq, G.init_params(cfg), cfg, GammaAdaptConfig(steps=1_000_000, time_budget=0.4,
                                                                          batch=256))
    assert time.perf_counter() - t < 1.5 and 0 < info.steps_run < 1_000_000
    assert info.checks[-1][0] == info.steps_run


def test_bad_settings_and_inputs():
    for bad in (dict(steps=-1), dict(lr=0.0), dict(batch=0), dict(loss="l1"), dict(time_budget=0.0),
                dict(lr_halflife=-1.0), dict(check_every=0)):
        with pytest.raises(InputError):
            GammaAdaptConfig(**bad)
    sdr, pq, cfg = _pair()
    with pytest.raises(InputError):
        adapt_gamma(sdr.astype(np.float32), pq, G.init_params(cfg), cfg)
    with pytest.raises(InputError):
        adapt_gamma(sdr[:-1], pq, G.init_params(cfg), cfg)


def test_default_encode_is_the_gamma_family_and_decodes_like_the_reference():
    from hdrkit import color
    from hdrkit.codec.api import decode_arrays, default_adapt_config, encode_arrays

    sdr, pq, _ = _pair(seed=3)
    nits = np.asarray(color.pq_eotf(pq), np.float32)
    res = encode_arrays(sdr, nits, adapt_cfg=GammaAdaptConfig(steps=5, batch=256))
    assert struct.unpack_from("<H", res.blob, 8)[0] == 2 and res.blob[16] == 1
    c = unpack(res.blob)
    assert isinstance(c.cfg, G.GammaConfig) and c.quant == "fp16" and (c.width, c.height) == (64, 48)
    out = decode_arrays(res.blob, sdr)
    assert np.abs(out - G.forward_reference(c.weights, sdr, c.cfg)).max() < 2e-5
    assert isinstance(default_adapt_config(), GammaAdaptConfig)


def test_siren_settings_select_the_siren_family():
    from hdrkit import color
    from hdrkit.codec.adapt import AdaptConfig
    from hdrkit.codec.api import encode_arrays
    from hdrkit.models.config import SirenConfig

    sdr, pq, _ = _pair(seed=4)
    res = encode_arrays(sdr, np.asarray(color.pq_eotf(pq), np.float32), adapt_cfg=AdaptConfig(steps=2))
    assert struct.unpack_from("<H", res.blob, 8)[0] == 1 and isinstance(unpack(res.blob).cfg, SirenConfig)
    with pytest.raises(InputError, match="does not fit"):
        encode_arrays(sdr, np.asarray(color.pq_eotf(pq), np.float32), adapt_cfg=AdaptConfig(steps=2),
                      theta_init="random-gamma")


def test_gamma_family_refuses_a_gpu_instead_of_silently_using_the_cpu():
    from hdrkit import color
    from hdrkit.codec.api import decode_arrays, encode_arrays

    sdr, pq, _ = _pair(seed=5)
    nits = np.asarray(color.pq_eotf(pq), np.float32)
    with pytest.raises(InputError, match="on the CPU"):
        encode_arrays(sdr, nits, device="cuda")
    blob = encode_arrays(sdr, nits, adapt_cfg=GammaAdaptConfig(steps=1, batch=64)).blob
    with pytest.raises(InputError, match="on the CPU"):
        decode_arrays(blob, sdr, device="cuda")
