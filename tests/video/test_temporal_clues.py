"""``temporal-clues`` (hdrkit.video.models): GOPs and references, alignment, the Eq. 1 blend, edge cases of clip
structure (shorter than the reference stride, one frame, a cut inside a GOP), weights and the CLI, on tiny clips."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from conftest import gradient_frames, write_sdr


def _bright(frames, gain=1.4):
    """Frames with clipped areas (the gradient pushed over white)."""
    return [np.clip(f * gain, 0.0, 1.0).astype(np.float32) for f in frames]


def test_gops_keys_and_global_references():
    from hdrkit.video.models.temporal_clues import (TCConfig, key_of, neighbour_key, reference_candidates,
                                                    shot_bounds)

    cfg = TCConfig(gop=6, ref_stride=12, window=48)
    assert shot_bounds(30, [0, 8]) == [(0, 8), (8, 30)]
    assert shot_bounds(1, [0]) == [(0, 1)]
    shot = (0, 100)
    assert [key_of(t, shot, 6) for t in (0, 5, 6, 11, 96, 99)] == [3, 3, 9, 9, 98, 98]  # last GOP: 96..99
    assert neighbour_key(1, shot, 6) is None and neighbour_key(4, shot, 6) == 9 and neighbour_key(7, shot, 6) == 3
    # references: every 12th frame of the shot, within ±48 of the key, outside its own GOP
    assert reference_candidates(27, shot, cfg) == [0, 12, 36, 48, 60, 72]
    # a cut inside a GOP: the second shot's GOPs start at the cut and its references never precede it
    s2 = (8, 30)
    assert key_of(8, s2, 6) == 11 and key_of(13, s2, 6) == 11 and key_of(14, s2, 6) == 17
    assert all(8 <= c < 30 for c in reference_candidates(17, s2, cfg))
    # shorter than the stride: one GOP, its only sampled frame is inside it → no reference
    assert reference_candidates(key_of(0, (0, 5), 6), (0, 5), cfg) == []


def _scene(h=48, w=64, seed=0):
    """A smooth textured linear radiance map (values up to ≈ 1.9, about a third of them over SDR white)."""
    import cv2

    rng = np.random.default_rng(seed)
    base = cv2.resize(rng.uniform(0.0, 1.0, (6, 8, 3)).astype(np.float32), (w + 16, h), interpolation=cv2.INTER_CUBIC)
    yy, xx = np.mgrid[0:h, 0:w + 16] / float(w)
    return (0.08 + 1.8 * np.clip(base, 0, 1) * (0.3 + 0.7 * xx[..., None])).astype(np.float32)


def test_align_recovers_the_light_of_a_clipped_key_from_a_darker_shifted_reference():
    """Closed form: the key sees radiance R (clipped at 1), the reference the same scene 3 pixels to the left and
    one stop darker.  The aligned clue must give back R in the key's clipped pixels (its exposure ratio 2 and the
    shift both estimated), with no weight where the reference itself is clipped."""
    from hdrkit.video.models.temporal_clues import align, linear, luminance

    R = _scene()
    key_lin, ref_lin = R[:, 3:67], 0.5 * R[:, 0:64]
    vk = np.clip(key_lin, 0, 1) ** (1 / 2.4)
    vr = np.clip(ref_lin, 0, 1) ** (1 / 2.4)
    clue = align(vk.astype(np.float32), vr.astype(np.float32), None, None)
    inner = np.zeros(vk.shape[:2], bool)
    inner[6:-6, 8:-8] = True
    clipped = inner & (vk.max(-1) >= 0.999) & (clue.w > 0.5)
    assert clipped.sum() > 100
    err = np.abs(np.log(luminance(clue.X[clipped]) / luminance(key_lin[clipped])))
    assert np.median(err) < 0.05
    assert np.all(clue.w[inner & (vr.max(-1) >= 0.999)] < 0.05)
    # the linearised key where it is not clipped is reproduced too (ratio and flow are right everywhere)
    ok = inner & (vk.max(-1) < 0.9) & (clue.w > 0.5)
    np.testing.assert_allclose(np.median(luminance(clue.X[ok]) / luminance(linear(vk)[ok])), 1.0, atol=0.03)


def test_unclipped_pixels_are_the_per_frame_model_and_the_output_is_finite():
    """Eq. 1: where the soft over-exposure mask is 0 the output is gcm's per-frame output exactly."""
    from hdrkit.video.models.temporal_clues import expand_frames, gcm_frame, soft_mask

    frames = _bright(gradient_frames(14, 48, 64))
    out = expand_frames(frames)
    for f, o in zip(frames, out):
        assert o.shape == f.shape and o.dtype == np.float32 and np.isfinite(o).all() and o.min() >= 0
        free = soft_mask(f) == 0
        np.testing.assert_allclose(o[free], gcm_frame(f)[free], rtol=1e-5, atol=1e-4)
    assert any((soft_mask(f) > 0).any() for f in frames)


def test_a_single_frame_and_a_clip_shorter_than_the_reference_stride():
    from hdrkit.video.models.temporal_clues import expand_frames, load_model

    frames = _bright(gradient_frames(5, 48, 64))
    assert load_model().cfg.ref_stride > len(frames)
    one = expand_frames(frames[:1])
    assert len(one) == 1 and np.isfinite(one[0]).all()
    five = expand_frames(frames)
    assert len(five) == 5 and all(np.isfinite(o).all() for o in five)
    # the key frame (centre of the only GOP) has no reference: it is what the model makes of the frame alone
    np.testing.assert_allclose(five[2], expand_frames(frames, refs=0)[2], rtol=1e-6)


def test_a_scene_cut_inside_a_gop_isolates_the_shots():
    """Cut at frame 8 (inside the GOP 6–11): nothing of the first shot reaches the second — the second shot's
    output equals that of the same frames expanded on their own."""
    from hdrkit.video.models.temporal_clues import expand_frames

    frames = _bright(gradient_frames(20, 48, 64, cut=8))
    both = expand_frames(frames, cuts=[0, 8])
    alone = expand_frames(frames[8:], cuts=[0])
    for a, b in zip(both[8:], alone):
        np.testing.assert_array_equal(a, b)
    first = expand_frames(frames[:8], cuts=[0])
    for a, b in zip(both[:8], first):
        np.testing.assert_array_equal(a, b)


def test_restorer_memory_is_bounded():
    from hdrkit.video.models.temporal_clues import Restorer, load_model

    from dataclasses import replace

    m = load_model()
    m = replace(m, cfg=replace(m.cfg, window=8, ref_stride=4))
    frames = _bright(gradient_frames(60, 32, 48))
    r = Restorer(m, iter(frames), len(frames), [0])
    held = 0
    for t in range(len(frames)):
        r.frame(t)
        held = max(held, len(r.buf))
    cfg = m.cfg
    assert held <= 2 * cfg.window + 2 * cfg.gop + 1 < len(frames) // 2  # thumbnails: a window, not the clip
    assert len(r.keys) <= 4 and len(r.bases) <= 4 * cfg.gop


def test_weights_ship_in_the_package_and_a_damaged_file_is_refused(tmp_path):
    from hdrkit.errors import FormatError
    from hdrkit.video.models.temporal_clues import load_model, load_weights, model_path, save_weights

    p = model_path()
    assert p.is_file() and p.stat().st_size < 4_000_000 and "assets" in p.parts
    m = load_model()
    save_weights(tmp_path / "copy.npz", m)
    m2 = load_weights(tmp_path / "copy.npz")
    for a, b in zip(m.fuse.state_dict().values(), m2.fuse.state_dict().values()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    bad = tmp_path / "bad.npz"
    bad.write_bytes(p.read_bytes()[:2000])
    with pytest.raises((FormatError, Exception)) as ei:
        load_weights(bad)
    assert not isinstance(ei.value, (AttributeError, NameError))


def test_cli_writes_hdr10_and_rejects_bad_options(tmp_path):
    from hdrkit.video.io import VideoReader

    src = write_sdr(tmp_path / "sdr.mp4", _bright(gradient_frames(10, 48, 64)))
    out = tmp_path / "hdr.mkv"
    cmd = [sys.executable, "-m", "hdrkit.cli.main", "video", "expand", str(src), "-o", str(out), "--codec", "av1",
           "--method", "temporal-clues"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with VideoReader(out) as rd:
        assert rd.info.is_hdr and rd.info.frames in (10, 0)
        n = sum(1 for _ in rd.frames())
    assert n == 10
    r = subprocess.run(cmd + ["-y", "--param", "refs=99"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.strip().startswith("error:") and "Traceback" not in r.stderr


def test_bad_options_are_one_line_errors(tmp_path):
    from hdrkit._params import bind
    from hdrkit.errors import InputError
    from hdrkit.video.expand import expand_video
    from hdrkit.video.models.temporal_clues import options

    src = write_sdr(tmp_path / "sdr.mp4", gradient_frames(3, 48, 64))
    with pytest.raises(InputError, match="temporal-clues"):
        bind(options, "temporal-clues", {"nope": "1"}, skip=0)
    assert bind(options, "temporal-clues", {"refs": "2", "fix": "no"}, skip=0) == {"refs": 2, "fix": False}
    with pytest.raises(InputError, match="smoothing"):
        expand_video(src, tmp_path / "o.mkv", method="temporal-clues", smooth=1.0)
    with pytest.raises(InputError, match="refs"):
        expand_video(src, tmp_path / "o.mkv", method="temporal-clues", params={"refs": 99})
    assert not (tmp_path / "o.mkv").exists()


def test_file_pass_is_the_in_memory_method(tmp_path):
    """``expand_video`` (two decoders: the work-resolution look-ahead and the full frames) writes what the
    in-memory form computes from the same decoded SDR frames, up to the 10-bit 4:4:4 HEVC encode."""
    from hdrkit.metrics import pu_psnr
    from hdrkit.video.expand import expand_video
    from hdrkit.video.io import VideoReader
    from hdrkit.video.models.temporal_clues import expand_frames, gcm_frame, soft_mask

    src = write_sdr(tmp_path / "sdr.mp4", _bright(gradient_frames(12, 48, 64)))
    with VideoReader(src) as rd:
        sdr = [f for f in rd.frames()]
    out = tmp_path / "hdr.mkv"
    expand_video(src, out, method="temporal-clues", codec="hevc", chroma="444", crf=2)
    with VideoReader(out) as rd:
        got = [f for f in rd.frames()]
    mem = expand_frames(sdr, cuts=[0])
    assert len(got) == len(mem) == 12
    for g, m, s in zip(got, mem, sdr):
        assert pu_psnr(m.astype(np.float64), g.astype(np.float64)) > 38
        hot = soft_mask(s) > 0.5
        if hot.sum() > 20 and np.abs(np.log((m[hot] + 1) / (gcm_frame(s)[hot] + 1))).mean() > 0.05:
            assert np.abs(g[hot] - m[hot]).mean() < np.abs(g[hot] - gcm_frame(s)[hot]).mean()


def test_steady_gain_reduces_frame_to_frame_change_and_keeps_eq1():
    """On a slowly panning clip the steady gain (Δ averaged with t ± 1 along the flow, α-weighted) changes less
    from frame to frame inside the clipped area than the raw per-frame Δ, and α = 0 pixels stay gcm's."""
    from hdrkit.video.models.temporal_clues import Restorer, load_model, soft_mask

    m = load_model()
    frames = _bright(gradient_frames(12, 48, 64), 1.6)
    change = {}
    for steady in (False, True):
        r = Restorer(m, iter(frames), len(frames), [0], steady=steady)
        ds = [r.frame(t) for t in range(len(frames))]
        hot = np.stack([soft_mask(f) > 0.9 for f in frames])
        change[steady] = np.mean([np.abs(ds[t + 1] - ds[t])[hot[t] & hot[t + 1]].mean() for t in range(11)])
    assert change[True] < change[False]


def test_full_resolution_stage_in_bands_is_bit_identical(tmp_path):
    """4K in bounded memory: Eq. 1's blend (Δ upsampled, α, the per-frame output), the re-grade and the
    stabiliser's gain run in row bands; put together they are the whole frame's result bit for bit, the
    upsampling agrees with OpenCV's bilinear resize, and the writer's banded path encodes the same planes."""
    import cv2

    from hdrkit.video.expand import _restored_bands
    from hdrkit.video.io import VideoWriter
    from hdrkit.video.models import temporal_clues as TC
    from hdrkit.video.models.temporal_clues import apply_gain, upsample_rows

    rng = np.random.default_rng(7)
    H, W = 90, 160
    sdr = rng.uniform(0, 1, (H, W, 3)).astype(np.float32)
    base = (rng.uniform(0, 900, (H, W, 3))).astype(np.float32)
    delta = rng.normal(0, 0.5, (27, 48, 3)).astype(np.float32)
    up = upsample_rows(delta, (W, H), 0, H)
    np.testing.assert_allclose(up, cv2.resize(delta, (W, H), interpolation=cv2.INTER_LINEAR), atol=2e-5)
    whole = np.concatenate([b for _, b in _restored_bands(TC, None, sdr, base, delta, 4000.0, 0.3, rows=H)])
    for rows in (2, 16, 64):
        banded = np.concatenate([b for _, b in _restored_bands(TC, None, sdr, base, delta, 4000.0, 0.3, rows=rows)])
        assert banded.dtype == whole.dtype and np.array_equal(banded, whole)
    np.testing.assert_array_equal(apply_gain(base[30:50], sdr[30:50], delta, band=(30, H)),
                                  apply_gain(base, sdr, delta)[30:50])
    captured = []
    w = VideoWriter(tmp_path / "x.mkv", W, H, 24, codec="hevc", hdr=True)
    w.write_planes = lambda y, cb, cr, key=False: captured.append((y.copy(), cb.copy(), cr.copy()))
    w.write_nits(whole)
    w.write_nits_bands(_restored_bands(TC, None, sdr, base, delta, 4000.0, 0.3, rows=16))
    w.close(flush=False)
    for a, b in zip(*captured):
        np.testing.assert_array_equal(a, b)
