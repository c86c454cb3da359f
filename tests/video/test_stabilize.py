"""The temporal level stabiliser (hdrkit.video.stabilize): closed forms on synthetic clips."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import gradient_frames, write_sdr


def _texture(h=72, w=128, seed=0):
    """A smooth random texture of SDR mid-tone code values (0.25 … 0.75) and its 'output' in cd/m²."""
    import cv2

    rng = np.random.default_rng(seed)
    n = cv2.GaussianBlur(rng.normal(0, 1, (h, w)).astype(np.float32), (0, 0), 2.0)
    n = (n - n.min()) / (n.max() - n.min())
    sdr = np.stack([0.25 + 0.5 * n, 0.3 + 0.4 * n[:, ::-1], 0.25 + 0.5 * n.T[:h, :w] if h == w else 0.35 + 0.3 * n],
                   -1).astype(np.float32)
    nits = (200.0 * sdr**2.4).astype(np.float32) + 1.0
    return sdr, nits


def _pan(img, t, speed=1):
    return np.ascontiguousarray(np.roll(img, speed * t, axis=1))


def test_known_gains_are_recovered_and_removed():
    """Frames = one image × known gains (a slow drift and a jump): the steps are the gains' log ratios, the
    correction removes them up to the shot's mean level (hold = inf), and the output is the image at that level."""
    from hdrkit.video.stabilize import stabilise_frames

    sdr, nits = _texture()
    k = np.log(2.0) * np.concatenate([0.5 * np.sin(np.arange(20) / 3.0), [0.4] * 4])
    out, g = stabilise_frames([nits * np.float32(math.exp(v)) for v in k], [sdr] * len(k), [0], math.inf)
    np.testing.assert_allclose(g, -(k - k.mean()), atol=2e-3)
    ref = nits * np.float32(math.exp(k.mean()))
    for o in out:
        np.testing.assert_allclose(o, ref, rtol=3e-3)


def test_known_gains_on_a_panning_clip():
    """The same with the image panning one pixel per frame (the flow aligns the scene points)."""
    from hdrkit.video.stabilize import stabilise_frames

    sdr, nits = _texture(seed=1)
    k = np.log(2.0) * 0.8 * np.sin(np.arange(24) / 4.0)
    frames = [_pan(nits, t) * np.float32(math.exp(v)) for t, v in enumerate(k)]
    out, g = stabilise_frames(frames, [_pan(sdr, t) for t in range(len(k))], [0], math.inf)
    np.testing.assert_allclose(g, -(k - k.mean()), atol=0.01)


def test_a_static_clip_is_left_alone():
    from hdrkit.video.stabilize import stabilise_frames

    sdr, nits = _texture(seed=2)
    out, g = stabilise_frames([nits] * 10, [sdr] * 10, [0], math.inf)
    assert np.abs(g).max() < 1e-6
    for o in out:
        np.testing.assert_allclose(o, nits, rtol=1e-5)


def test_a_cut_resets_the_level():
    """Two shots at different levels: no step across the cut, each shot corrected on its own (the second shot's
    gains are those of that shot alone), the shots' levels are kept."""
    from hdrkit.video.stabilize import stabilise_frames

    sdr_a, nits_a = _texture(seed=3)
    sdr_b, nits_b = _texture(seed=4)
    ka = 0.3 * np.sin(np.arange(12) / 2.0)
    kb = 0.2 * np.cos(np.arange(10) / 2.0)
    frames = [nits_a * np.float32(math.exp(v)) for v in ka] + [5 * nits_b * np.float32(math.exp(v)) for v in kb]
    sdrs = [sdr_a] * 12 + [sdr_b] * 10
    out, g = stabilise_frames(frames, sdrs, [0, 12], math.inf)
    _, g_b = stabilise_frames(frames[12:], sdrs[12:], [0], math.inf)
    np.testing.assert_array_equal(g[12:], g_b)
    np.testing.assert_allclose(g[:12], -(ka - ka.mean()), atol=2e-3)
    np.testing.assert_allclose(g[12:], -(kb - kb.mean()), atol=2e-3)
    np.testing.assert_allclose(out[-1], 5 * nits_b * np.float32(math.exp(kb.mean())), rtol=3e-3)


def test_a_bright_object_crossing_does_not_pump_the_level():
    """A steady scene, a clipped bright disc (SDR white, 3000 cd/m²) and a fast unclipped dark disc crossing it:
    the gains stay within 0.02 (0.03 stop) of none."""
    from hdrkit.video.stabilize import stabilise_frames

    sdr, nits = _texture(seed=5)
    h, w = sdr.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w]
    frames, sdrs = [], []
    for t in range(20):
        s, o = sdr.copy(), nits.copy()
        bright = (xx - 6 * t) ** 2 + (yy - 30) ** 2 < 14**2
        s[bright], o[bright] = 1.0, 3000.0
        dark = (xx - (w - 11 * t)) ** 2 + (yy - 50) ** 2 < 10**2
        s[dark], o[dark] = 0.3, 200.0 * 0.3**2.4 * 0.2
        frames.append(o)
        sdrs.append(s)
    _, g = stabilise_frames(frames, sdrs, [0], math.inf)
    assert np.abs(g).max() < 0.02, g


def test_hold_keeps_slow_changes_and_gains_are_limited():
    from hdrkit.video.stabilize import MAX_STOPS, stabilising_gains

    steps = np.full(400, 0.005)  # a slow, steady brightening (3 stops over the shot)
    assert np.abs(stabilising_gains(steps, [0], 0.0)).max() == 0
    mid = stabilising_gains(steps, [0], 24.0)[80:320]  # away from the shot's ends (3 σ)
    assert np.abs(mid).max() < 1e-9  # a linear trend is its own Gaussian smoothing: kept
    g = stabilising_gains(np.r_[0, np.full(9, 1.0)], [0], math.inf)
    assert np.abs(g).max() == pytest.approx(MAX_STOPS * math.log(2.0))


def test_apply_level_keeps_hue_at_the_peak_and_the_lut_form_agrees():
    from hdrkit.color import pq_eotf
    from hdrkit.video.stabilize import apply_level, level_light, level_lut

    x = np.array([[800.0, 400.0, 100.0], [10.0, 20.0, 5.0]], np.float32)
    y = apply_level(x, math.log(2.0), 1000.0)
    np.testing.assert_allclose(y[0], [1000.0, 500.0, 125.0], rtol=1e-6)  # capped, ratios kept
    np.testing.assert_allclose(y[1], [20.0, 40.0, 10.0], rtol=1e-6)
    lut = np.linspace(0.1, 0.7, 9 * 3, dtype=np.float32).reshape(9, 3)
    np.testing.assert_allclose(pq_eotf(level_lut(lut, -0.3, 1000.0)),
                               apply_level(pq_eotf(lut), -0.3, 1000.0), rtol=1e-4)
    light = level_light(np.array([[900.0, 100.0], [100.0, 20.0]]), np.log([2.0, 0.5]), 1000.0)
    np.testing.assert_allclose(light, [[1000.0, 200.0], [50.0, 10.0]])


def test_expand_frames_stabilises_a_pumping_global_baseline():
    """gcm's global baseline per frame (no smoothing) on a static scene whose SDR exposure pumps (a camera gain
    before the BT.1886 code values): the output level follows the pump; with the stabiliser its frame-to-frame
    spread is cut by more than 3×."""
    from hdrkit.video.expand import expand_frames

    sdr, _ = _texture(seed=6)
    lin = sdr**2.4
    pump = 0.35 * np.sin(np.arange(16) / 2.0)  # ±0.5 stop
    frames = [np.clip(lin * math.exp(p), 0, 1) ** (1 / 2.4) for p in pump]

    def spread(out):
        lv = np.array([np.median(np.log(np.maximum(o.mean(-1), 1e-3))) for o in out])
        return float(np.std(lv))

    a = spread(expand_frames(frames, smooth=0.0))
    b = spread(expand_frames(frames, smooth=0.0, stabilise=True))
    assert a > 0.1 and b < a / 3, (a, b)


def test_file_pass_applies_the_in_memory_gains(tmp_path):
    """``expand_video --stabilise`` = ``expand_frames(stabilise=True)`` on the decoded frames (up to the codec),
    and the gains are one float per frame; a per-frame image method is refused."""
    from hdrkit.errors import InputError
    from hdrkit.video.expand import expand_frames, expand_video
    from hdrkit.video.io import VideoReader

    src = write_sdr(tmp_path / "in.mp4", gradient_frames(16))
    with VideoReader(src) as r:
        frames = list(r.frames())
    ref = expand_frames(frames, 24.0, method="masia2017", smooth=0.0, stabilise=True)
    expand_video(src, tmp_path / "out.mkv", method="masia2017", smooth=0.0, stabilise=True, chroma="444", crf=0)
    with VideoReader(tmp_path / "out.mkv") as r:
        back = list(r.frames())
    assert len(back) == len(ref)
    for a, b in zip(ref, back):
        assert abs(np.median(a) - np.median(b)) < 0.03 * np.median(a) + 0.5
    with pytest.raises(InputError, match="stabilise"):
        expand_video(src, tmp_path / "bad.mkv", method="huo2014", stabilise=True)
    with pytest.raises(InputError, match="hold"):
        expand_video(src, tmp_path / "bad.mkv", stabilise=True, hold=-1)
    assert not (tmp_path / "bad.mkv").exists()


def test_cli_stabilise(capsys, sdr_clip_cut, tmp_path):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
    from cli_helpers import assert_one_line_error, cli

    out = tmp_path / "hdr.mkv"
    code, o, e = cli(capsys, "video", "expand", sdr_clip_cut, "-o", out, "--stabilise", "--hold", "2")
    assert code == 0, e
    assert "stabilised" in o and "2 shot(s)" in o and out.is_file()
    bad = tmp_path / "bad.mkv"
    code, o, e = cli(capsys, "video", "expand", sdr_clip_cut, "-o", bad, "--method", "huo2014", "--stabilise")
    assert_one_line_error(code, e, "--stabilise", o)
    code, o, e = cli(capsys, "video", "expand", sdr_clip_cut, "-o", bad, "--stabilise", "--hold", "-1")
    assert_one_line_error(code, e, "--hold", o)
    assert not bad.exists()


def test_temporal_clues_file_pass_applies_the_in_memory_gains(tmp_path):
    """``--method temporal-clues --stabilise``: the file pass (gains measured in the content-light pass at the work
    resolution, applied per frame in the encode pass) writes what the in-memory form computes, and the gains
    matter on a clip whose SDR exposure pumps."""
    from hdrkit.metrics import pu_psnr
    from hdrkit.video.expand import expand_frames, expand_video
    from hdrkit.video.io import VideoReader

    pump = 0.4 * np.sin(np.arange(12) / 2.0)
    frames = [np.clip(f**2.4 * math.exp(p), 0, 1) ** (1 / 2.4) for f, p in zip(gradient_frames(12, 48, 64), pump)]
    src = write_sdr(tmp_path / "sdr.mp4", frames)
    with VideoReader(src) as rd:
        sdr = list(rd.frames())
    out = tmp_path / "hdr.mkv"
    expand_video(src, out, method="temporal-clues", stabilise=True, chroma="444", crf=2)
    with VideoReader(out) as rd:
        got = list(rd.frames())
    mem = expand_frames(sdr, method="temporal-clues", stabilise=True)
    plain = expand_frames(sdr, method="temporal-clues")
    assert len(got) == len(mem) == 12
    moved = [pu_psnr(m.astype(np.float64), p.astype(np.float64)) for m, p in zip(mem, plain)]
    assert min(moved) < 35  # the stabiliser changed some frames by more than the codec's error
    for g, m in zip(got, mem):
        assert pu_psnr(m.astype(np.float64), g.astype(np.float64)) > 38
