"""Rival methods and baselines: naive conversion closed form, GamutMLP-style and INF-style codecs, bench specs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrkit import color
from hdrkit.baselines import gamutmlp as GM
from hdrkit.baselines import inf as INF
from hdrkit.baselines.naive import naive_pq, sdr_linear_nits
from hdrkit.baselines.quality import parse_spec, run, Pair, means, table
from hdrkit.errors import InputError, MetadataError


def _pair(h=32, w=48, seed=0):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    sdr = np.clip(np.stack([xx / w, yy / h, 0.5 + 0.3 * np.sin(xx / 4)], -1) + rng.uniform(-.03, .03, (h, w, 3)), 0, 1)
    sdr_u8 = np.round(sdr * 255).astype(np.uint8)
    nits = sdr_linear_nits(sdr_u8) * (1 + 3 * (sdr_u8.max(-1, keepdims=True) / 255.0) ** 4)  # brighter highlights
    return sdr_u8, nits.astype(np.float32)


def test_naive_white_is_203_nits_and_grey_follows_bt1886():
    white = np.full((1, 1, 3), 255, np.uint8)
    np.testing.assert_allclose(sdr_linear_nits(white), 203.0, rtol=1e-5)
    grey = np.full((1, 1, 3), 0.5, np.float32)
    np.testing.assert_allclose(sdr_linear_nits(grey), 203.0 * 0.5 ** 2.4, rtol=1e-4)
    np.testing.assert_allclose(naive_pq(white), color.pq_inverse_eotf(np.float32(203.0)), rtol=1e-5)


def test_gamutmlp_param_count_features_and_zero_init_is_base():
    cfg = GM.GamutMLPConfig()
    assert cfg.in_dim == 120 and GM.param_count(cfg) == 120 * 32 + 32 * 32 + 32 * 3
    f = GM.features(torch.tensor([[0.25, 0.5]]), torch.tensor([[0.0, 1.0, 0.5]]), 12)
    assert f.shape == (1, 120)
    # k = 0 sine of x = 0.25: sin(pi/4)
    assert float(f[0, 0]) == pytest.approx(np.sin(np.pi / 4), abs=1e-6)
    sdr, _ = _pair()
    p = GM.init_params(cfg, torch.Generator().manual_seed(0))
    np.testing.assert_allclose(GM.decode(p, sdr, cfg), np.clip(naive_pq(sdr), 0, 1), atol=1e-6)


def test_gamutmlp_fit_beats_base_and_blob_round_trips():
    sdr, hdr = _pair()
    pq = color.pq_inverse_eotf(hdr).astype(np.float32)
    p, info = GM.adapt(sdr, pq, acfg=GM.GamutAdaptConfig(steps=150, batch=4096))
    err_fit = np.mean((GM.decode(p, sdr) - pq) ** 2)
    err_base = np.mean((naive_pq(sdr) - pq) ** 2)
    assert err_fit < 0.2 * err_base
    blob = GM.pack(p)
    assert len(blob) == 4 + 2 + 4 + 2 * GM.param_count() + 4
    cfg2, p2 = GM.unpack(blob)
    for k in p:
        np.testing.assert_array_equal(p2[k].numpy(), p[k].numpy().astype(np.float16).astype(np.float32))
    bad = bytearray(blob)
    bad[20] ^= 1
    with pytest.raises(MetadataError):
        GM.unpack(bytes(bad))
    with pytest.raises(MetadataError):
        GM.unpack(blob[:30])


def test_gamutmlp_sample_pool_strides():
    sdr, hdr = _pair()
    pq = color.pq_inverse_eotf(hdr).astype(np.float32)
    m = GM.out_of_range_mask(sdr, pq).reshape(-1)
    pool = GM.sample_pool(sdr, pq, GM.GamutAdaptConfig(oor_stride=5, other_stride=50)).numpy()
    assert len(pool) == len(np.flatnonzero(m)[::5]) + len(np.flatnonzero(~m)[::50])
    assert m.any() and (~m).any()


def test_gamutmlp_init_file_round_trip(tmp_path):
    p = GM.init_params(GM.GamutMLPConfig(), torch.Generator().manual_seed(1))
    GM.save_init(tmp_path / "g.bin", p)
    cfg, q = GM.load_init(tmp_path / "g.bin")
    for k in p:
        np.testing.assert_array_equal(p[k].numpy(), q[k].numpy())
    (tmp_path / "bad.bin").write_bytes(b"nonsense" * 4)
    with pytest.raises(MetadataError):
        GM.load_init(tmp_path / "bad.bin")


def test_inf_param_count_samples_and_fit():
    from hdrkit.models.siren import param_count

    assert param_count(INF.INF_MODEL) == 397_315
    sdr, hdr = _pair(h=24, w=40)
    pq = color.pq_inverse_eotf(hdr).astype(np.float32)
    blob = INF.encode(pq, 8)
    s = INF.read_samples(blob)
    assert s.shape == (3, 5, 3)
    np.testing.assert_allclose(s, pq[::8, ::8], atol=1 / 65535)
    small = INF.InfConfig(steps=60, patch=24, lr=1e-3,
                          model=INF.SirenConfig(color=(32, 16), spatial=(32, 16), merge=(32,)))
    out, _ = INF.decode(blob, sdr, small)
    assert out.shape == pq.shape and np.isfinite(out).all()
    # fitted on the samples: the sampled pixels are reproduced better than a constant guess
    assert np.mean((out[::8, ::8] - pq[::8, ::8]) ** 2) < 0.5 * np.var(pq[::8, ::8])
    with pytest.raises(MetadataError):
        INF.read_samples(b"not a png")


def test_parse_spec_and_tiny_run():
    assert parse_spec("gainmap:scale=4,q=95") == ("gainmap", {"scale": "4", "q": "95"})
    with pytest.raises(InputError):
        parse_spec("jpegxl")
    with pytest.raises(InputError):
        parse_spec("gainmap:scale")
    sdr, hdr = _pair()
    rows = run([Pair("a", sdr, hdr)], ["naive", "gainmap:scale=1,q=100"])
    m = means(rows)
    assert m["naive"]["bytes"] == 0 and m["gainmap:scale=1,q=100"]["bytes"] > 0
    assert m["gainmap:scale=1,q=100"]["pq_psnr"] > m["naive"]["pq_psnr"]
    assert "| `naive` | 1 | 0 |" in table(rows)


def test_quality_report_cli_tables_and_plots(tmp_path):
    import json

    from typer.testing import CliRunner

    from hdrkit.cli.main import app

    sdr, hdr = _pair()
    rows = run([Pair("a", sdr, hdr)], ["naive", "gainmap:scale=1,q=90", "gainmap:scale=2,q=90,ch=1"])
    (tmp_path / "r.json").write_text(json.dumps({"rows": rows, "note": "test", "settings": "x"}))
    res = CliRunner().invoke(app, ["bench", "quality-report", str(tmp_path / "r.json"), "--plot",
                                   str(tmp_path / "rd.png")])
    assert res.exit_code == 0, res.output
    assert "`gainmap:scale=1,q=90`" in res.output
    from PIL import Image

    for name in ("rd.png", "rd_itp.png"):
        with Image.open(tmp_path / name) as im:
            assert im.size == (900, 500)


def test_shipped_gamutmlp_reptile_init_loads():
    cfg, p = GM.load_init("shipped")
    assert cfg == GM.GamutMLPConfig() and sum(v.numel() for v in p.values()) == GM.param_count()
    assert all(torch.isfinite(v).all() for v in p.values())
    with pytest.raises(InputError):
        GM.load_init("/nonexistent/init.bin")
