"""``kpn-mfi`` (hdrkit.video.models.kpn_mfi): the brightness-consistency loss in closed form, the kernels against
OpenCV / an independent upsample-then-filter reference, tiled = untiled, clip structure (one frame, two frames, a
cut), the weights, the training loop (loss goes down, seeded runs are identical) and the CLI, on tiny inputs."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from conftest import gradient_frames, write_sdr


def _texture(h=40, w=56, seed=0):
    rng = np.random.default_rng(seed)
    import cv2

    return cv2.GaussianBlur(rng.uniform(0.2, 0.8, (h, w, 3)).astype(np.float32), (0, 0), 1.0)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, np.float32).transpose(2, 0, 1)))[None]


def test_consistency_loss_closed_form():
    """Identical neighbours cost 0; neighbours brighter/darker by constants c₁, c₂ cost 5·(|c₁| + |c₂|) (the
    guided filter and the normalised pyramid both carry a constant offset through: 5 levels, 2 neighbours)."""
    from hdrkit.video.models.kpn_mfi import consistency_loss, gaussian_pyramid, guided_filter

    x = _t(_texture())
    assert float(consistency_loss([x, x, x])) == 0.0
    got = float(consistency_loss([x + 0.03, x, x - 0.05]))
    assert got == pytest.approx(5 * (0.03 + 0.05), rel=1e-4)
    # the parts: offset-equivariance, and a flat image is left flat at every level
    assert torch.allclose(guided_filter(x + 0.1), guided_filter(x) + 0.1, atol=1e-5)
    flat = torch.full((1, 3, 33, 47), 0.4)
    for lev in gaussian_pyramid(flat, 5):
        assert torch.allclose(lev, torch.full_like(lev, 0.4), atol=1e-6)
    assert [tuple(lev.shape[-2:]) for lev in gaussian_pyramid(flat, 5)] == [(33, 47), (17, 24), (9, 12), (5, 6), (3, 3)]
    # a local change costs something; it is symmetric in the neighbours
    y = x.clone()
    y[..., 10:20, 10:20] += 0.2
    assert float(consistency_loss([y, x, x])) > 0
    assert float(consistency_loss([y, x, x])) == pytest.approx(float(consistency_loss([x, x, y])), rel=1e-6)


def test_kernels_match_opencv_filter2d_and_the_full_resolution_apply():
    """Spatially constant kernels = cv2.filter2D per channel (correlation, replicated border); the numba band
    kernel at the same resolution = the torch unfold form for spatially varying kernels."""
    import cv2

    from hdrkit.color import pq_eotf, pq_inverse_eotf
    from hdrkit.video.models.kpn_mfi import KCH, apply_kernels, apply_kernels_torch

    rng = np.random.default_rng(1)
    img = _texture(30, 44)
    ker = rng.uniform(0, 0.1, (3, 5, 5)).astype(np.float32)
    k = np.broadcast_to(ker.reshape(KCH), (30, 44, KCH))
    got = apply_kernels_torch(_t(img), _t(k))[0].permute(1, 2, 0).numpy()
    ref = np.stack([cv2.filter2D(img[..., c], -1, ker[c], borderType=cv2.BORDER_REPLICATE) for c in range(3)], -1)
    np.testing.assert_allclose(got, ref, atol=2e-6)
    # spatially varying kernels, numba band kernel on nits (PQ inside) vs torch on PQ
    kv = rng.uniform(0, 0.09, (30, 44, KCH)).astype(np.float32)
    nits = np.asarray(pq_eotf(img), np.float32)
    out = apply_kernels(nits, kv, tile=7)
    ref = apply_kernels_torch(_t(img), _t(kv))[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(np.asarray(pq_inverse_eotf(out)), np.clip(ref, 0, 1), atol=2e-5)


def test_full_resolution_apply_is_upsample_then_filter_and_tiles_change_nothing():
    """Work-resolution kernels applied to a 3.3× larger frame = torch's bilinear upsampling (align_corners=False)
    of the maps followed by the per-pixel filter; any band height gives the same bytes."""
    import torch.nn.functional as F

    from hdrkit.color import pq_eotf, pq_inverse_eotf
    from hdrkit.video.models.kpn_mfi import KCH, apply_kernels, apply_kernels_torch

    rng = np.random.default_rng(2)
    img = _texture(100, 150, seed=3)
    kv = rng.uniform(0, 0.09, (30, 44, KCH)).astype(np.float32)
    nits = np.asarray(pq_eotf(img), np.float32)
    full = apply_kernels(nits, kv, tile=None)
    up = F.interpolate(_t(kv), size=(100, 150), mode="bilinear", align_corners=False)
    ref = apply_kernels_torch(_t(img), up)[0].permute(1, 2, 0).numpy()
    np.testing.assert_allclose(np.asarray(pq_inverse_eotf(full)), np.clip(ref, 0, 1), atol=3e-5)
    for tile in (1, 7, 64, 99):
        assert np.array_equal(apply_kernels(nits, kv, tile=tile), full)


def _tiny_model(seed=0):
    from hdrkit.video.models.kpn_mfi import KPNMFI, KPNConfig, KPNMFINet

    torch.manual_seed(seed)
    net = KPNMFINet((8, 8, 8, 8, 8), 8)
    with torch.no_grad():  # a non-trivial kernel field and attention (the initial net is the identity)
        net.head.weight.normal_(0, 0.05)
        net.mfi.o.weight.normal_(0, 0.1)
    return KPNMFI(net.eval(), KPNConfig(work=480, ch=(8, 8, 8, 8, 8), attn=8), {})


def test_one_frame_two_frames_and_a_cut():
    """A single frame and a 2-frame clip run (a shot edge repeats the frame); with a cut, each shot's output is
    bit-identical to that shot expanded alone (nothing crosses a cut); the output is finite and positive."""
    from hdrkit.video.models.kpn_mfi import Restorer, expand_frames

    m = _tiny_model()
    fr = gradient_frames(9, 40, 56, cut=4)
    one = expand_frames(fr[:1], cuts=[0], model=m)
    assert len(one) == 1 and one[0].shape == (40, 56, 3) and np.isfinite(one[0]).all() and one[0].max() > 0
    two = expand_frames(fr[:2], cuts=[0], model=m)
    assert len(two) == 2 and not np.array_equal(two[0], two[1])
    both = expand_frames(fr, cuts=[0, 4], model=m)
    a, b = expand_frames(fr[:4], cuts=[0], model=m), expand_frames(fr[4:], cuts=[0], model=m)
    for x, y in zip(both, a + b):
        assert np.array_equal(x, y)
    # and the cut matters: without it the frames next to it differ
    nocut = expand_frames(fr, cuts=[0], model=m)
    assert not np.array_equal(nocut[3], both[3]) and not np.array_equal(nocut[4], both[4])
    # bounded memory: the restorer holds three frames
    r = Restorer(m, iter(fr), len(fr), [0, 4])
    for t in range(len(fr)):
        r.frame(t)
        assert len(r.buf) <= 3


def test_in_memory_method_through_the_video_dispatcher_and_the_identity_start():
    """``hdrkit.video.expand.expand_frames(method="kpn-mfi")`` is the shipped model's expand_frames; a freshly
    initialised network is (almost) the per-frame model: identity kernels on gcm's output."""
    from hdrkit.video.expand import expand_frames as vexp
    from hdrkit.video.models.kpn_mfi import KPNMFI, KPNConfig, KPNMFINet, expand_frames, gcm_frame

    fr = gradient_frames(3, 40, 56)
    assert all(np.array_equal(x, y) for x, y in zip(vexp(fr, method="kpn-mfi"), expand_frames(fr, cuts=[0])))
    torch.manual_seed(0)
    ident = KPNMFI(KPNMFINet().eval(), KPNConfig(), {})
    out = expand_frames(fr, cuts=[0], model=ident)
    g = gcm_frame(fr[1])
    assert np.abs(np.log((out[1] + 1) / (g + 1))).mean() < 0.01


def test_weights_ship_in_the_package_and_a_damaged_file_is_refused(tmp_path):
    from hdrkit.errors import FormatError
    from hdrkit.video.models.kpn_mfi import KPNMFI, load_model, load_weights, model_path

    p = model_path()
    assert p.is_file() and p.stat().st_size < 1_000_000
    m = load_model()
    assert isinstance(m, KPNMFI) and m.info["parameters"] == sum(x.numel() for x in m.net.parameters())
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(FormatError):
        load_weights(bad)
    np.savez(tmp_path / "obj.npz", __config__=np.array({"a": 1}, dtype=object))
    with pytest.raises(FormatError):
        load_weights(tmp_path / "obj.npz")
    other = tmp_path / "tc.npz"
    other.write_bytes((p.parent / "temporal_clues.npz").read_bytes())
    with pytest.raises(FormatError):
        load_weights(other)


def _tiny_pool(seed=0):
    """Clips ``T×9×H×W``: SDR = the master's PQ squeezed and clipped, "gcm" = a darker copy of the master with a
    per-frame flicker (so fitting and consistency both have something to learn)."""
    rng = np.random.default_rng(seed)
    clips = []
    for _ in range(3):
        base = _texture(32, 32, seed=int(rng.integers(1000))).transpose(2, 0, 1)
        fr = []
        for t in range(6):
            ref = np.roll(base, t, axis=2)
            g = ref * 0.8 + 0.03 * rng.standard_normal()
            sdr = np.clip(ref * 1.4 - 0.1, 0, 1)
            fr.append(np.concatenate([sdr, np.clip(g, 0, 1), ref]))
        clips.append(np.stack(fr).astype(np.float16))
    return clips


def test_training_lowers_the_loss_and_is_deterministic():
    from dataclasses import replace

    from hdrkit.video.models.kpn_mfi import KPNMFINet
    from hdrkit.video.models.kpn_train import RECIPES, fit, window

    cfg = replace(RECIPES["kpn-smoke"], steps=25, crop=32, batch=2, val_every=25, lr=3e-3)
    pool = _tiny_pool()
    val = [window(c, t) for c in pool for t in (1, 4)]
    runs = []
    for _ in range(2):
        torch.manual_seed(cfg.seed)
        model, log = fit(KPNMFINet((8, 8, 8, 8, 8), 8), pool, val, cfg)
        runs.append((model, log))
    v = runs[0][1]["val"]
    assert v[-1]["loss_fit"] < 0.8 * v[0]["loss_fit"] and v[-1]["pq_l1"] < v[0]["pq_l1"]
    s0, s1 = runs[0][0].net.state_dict(), runs[1][0].net.state_dict()
    assert all(torch.equal(s0[k], s1[k]) for k in s0)


def test_cli_writes_hdr10_with_kpn_mfi_and_the_file_pass_is_the_in_memory_method(tmp_path):
    """``hdrkit video expand --method kpn-mfi`` (the look-ahead decoder + the full frames in row bands) writes
    what the in-memory form computes from the same decoded SDR frames, up to the 10-bit 4:4:4 HEVC encode."""
    from hdrkit.metrics import pu_psnr
    from hdrkit.video.io import VideoReader
    from hdrkit.video.models.kpn_mfi import expand_frames

    src = write_sdr(tmp_path / "sdr.mp4", gradient_frames(5, 48, 64))
    out = tmp_path / "hdr.mkv"
    cmd = [sys.executable, "-m", "hdrkit.cli.main", "video", "expand", str(src), "-o", str(out), "--method", "kpn-mfi"]
    r = subprocess.run(cmd + ["--chroma", "444", "--crf", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.is_file() and "kpn-mfi" in r.stdout
    with VideoReader(src) as rd:
        sdr = [f for f in rd.frames()]
    with VideoReader(out) as rd:
        got = [f for f in rd.frames()]
    mem = expand_frames(sdr, cuts=[0])
    assert len(got) == len(mem) == 5
    assert all(pu_psnr(m.astype(np.float64), g.astype(np.float64)) > 38 for g, m in zip(got, mem))
    r = subprocess.run(cmd + ["-y", "--param", "tile=16"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().count("\n") == 0 and "error" in r.stderr


def test_keep_best_returns_the_weights_of_the_best_validation_step():
    """``keep_best``: the returned net is the one validated best (re-validating it gives that step's PQ L1), and
    its weights differ from the last step's when the last step was not the best."""
    from dataclasses import replace

    from hdrkit.video.models.kpn_mfi import KPNMFINet
    from hdrkit.video.models.kpn_train import RECIPES, fit, window

    pool = _tiny_pool()
    val = [window(c, t) for c in pool for t in (1, 4)]
    cfg = replace(RECIPES["kpn-smoke"], steps=12, crop=32, batch=2, val_every=3, lr=3e-2, keep_best=True)
    torch.manual_seed(cfg.seed)
    model, log = fit(KPNMFINet((8, 8, 8, 8, 8), 8), pool, val, cfg)
    l1 = [v["pq_l1"] for v in log["val"]]
    best = int(np.argmin(l1))
    assert log["kept_step"] == log["val"][best]["step"] and model.info["kept_step"] == log["kept_step"]
    # re-validate the returned weights: a fit with 0 steps only validates (step 0) the net it is given
    _, log0 = fit(model.net.train(), pool, val, replace(cfg, steps=0))
    assert log0["val"][0]["pq_l1"] == pytest.approx(l1[best], rel=1e-5)
