"""Gain-MLP / Gamma-MLP re-implementation: closed-form maps, blob round trip, a fit that learns a known map."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit import color
from hdrkit.baselines import gainmlp as GM
from hdrkit.errors import MetadataError


def _sdr(h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h, w])[:, None, None]
    base = np.stack([xx, yy, 0.5 + 0.3 * np.sin(6 * xx)], -1)
    return np.clip(np.round((base + rng.normal(0, 0.02, base.shape)) * 255), 0, 255).astype(np.uint8)


def test_sdr_pq_is_bt1886_white_at_100_nits_in_bt2020():
    s = GM.sdr_pq(np.full((1, 1, 3), 255, np.uint8))
    assert np.allclose(s, color.pq_inverse_eotf(100.0), atol=1e-6)
    red = GM.sdr_pq(np.array([[[255, 0, 0]]], np.uint8))[0, 0]
    lin = color.convert_primaries(np.array([1.0, 0, 0]), "bt709", "bt2020") * 100
    assert np.allclose(red, color.pq_inverse_eotf(lin), atol=1e-6)


@pytest.mark.parametrize("mode", ["gain", "gamma"])
def test_maps_invert_exactly(mode):
    rng = np.random.default_rng(1)
    s = rng.random((8, 8, 3)) * 0.6
    h = rng.random((8, 8, 3)) * 0.95
    np.testing.assert_allclose(GM.apply_map(s, GM.residual_map(h, s, mode), mode), h, atol=1e-6)


def test_blob_round_trip_and_corruption():
    import torch

    from hdrkit.baselines import gamutmlp as G

    cfg = GM.GainMLPConfig("gain", (16, 16))
    p = G.init_params(cfg.net, torch.Generator().manual_seed(0))
    blob = GM.pack(p, cfg, (0.5, 0.25, -0.25))
    assert len(blob) == 13 + (4 + 2 + 2 * 2) + 2 * G.param_count(cfg.net) + 4  # header, net header, fp16, CRC
    c2, p2, norm = GM.unpack(blob)
    assert c2 == cfg and norm == (0.5, 0.25, -0.25)
    assert all(np.allclose(p2[k].numpy(), p[k].numpy().astype(np.float16)) for k in p)
    bad = bytearray(blob)
    bad[20] ^= 0xFF
    with pytest.raises(MetadataError):
        GM.unpack(bytes(bad))
    with pytest.raises(MetadataError):
        GM.unpack(blob[:10])


def test_fit_learns_a_spatially_varying_gamma_map():
    """HDR made from the SDR with a known smooth gamma map: the fitted network brings it back far closer than the
    mean map it starts from."""
    sdr = _sdr()
    s = GM.sdr_pq(sdr)
    yy, xx = np.mgrid[0:24, 0:32] / np.array([24, 32])[:, None, None]
    g = (0.7 + 0.2 * xx + 0.1 * yy)[..., None] * np.ones(3)
    hdr = GM.apply_map(s, g, "gamma")
    blob, _ = GM.fit(sdr, hdr, GM.GainMLPConfig("gamma"), GM.GainMLPFitConfig(steps=300, batch=768))
    out = GM.decode(blob, sdr)
    flat = GM.apply_map(s, np.full_like(g, g.mean()), "gamma")
    err, err0 = np.mean((out - hdr) ** 2), np.mean((flat - hdr) ** 2)
    assert err < err0 / 10
    assert 10 * np.log10(1 / err) > 35


def test_quality_bench_runs_gainmlp():
    from hdrkit.baselines import quality as Q

    sdr = _sdr()
    hdr = np.asarray(color.pq_eotf(GM.apply_map(GM.sdr_pq(sdr), np.full((24, 32, 3), 0.8), "gamma")), np.float32)
    assert set(Q.METHODS) == set(Q.RUNNERS)
    (row,) = Q.run([Q.Pair("p", sdr, hdr)], ["gainmlp:mode=gain,steps=5,batch=256,hidden=8"])
    assert row["method"].startswith("gainmlp") and row["bytes"] > 13 + 10 + 2 * (120 * 8 + 64 + 24)
    assert np.isfinite(row["pu_psnr"])
