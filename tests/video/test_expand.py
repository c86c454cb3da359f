"""Shots, temporal smoothing, the per-frame 3D LUT path and ``expand_video`` end to end on tiny clips."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import gradient_frames, write_sdr


def test_detect_cuts_finds_the_cut_and_not_the_pan(sdr_clip_cut):
    from hdrkit.video.expand import analyse

    a = analyse(sdr_clip_cut, smooth=1.0)
    assert a.cuts == [0, 20]
    assert a.scores[20] > 27 and np.all(np.delete(a.scores, 20) < 10)


def test_smoothing_matches_scipy_inside_a_shot_and_never_crosses_a_cut():
    from scipy.ndimage import gaussian_filter1d

    from hdrkit.video.shots import smooth_within_shots

    rng = np.random.default_rng(0)
    v = np.concatenate([rng.normal(0, 1, 60), 10 + rng.normal(0, 1, 60)])
    out = smooth_within_shots(v, [0, 60], sigma=3.0)
    ref = gaussian_filter1d(v[:60], 3.0, truncate=3.0)
    np.testing.assert_allclose(out[10:50], ref[10:50], atol=1e-9)  # interior: the same Gaussian
    assert out[:60].max() < 5 and out[60:].min() > 5  # no leakage across the cut
    np.testing.assert_allclose(smooth_within_shots(np.full(30, 2.5), [0], 4.0), 2.5)
    np.testing.assert_array_equal(smooth_within_shots(v, [0], 0.0), v)


def test_tetrahedral_kernel_matches_colour_science_and_our_lut_module():
    colour = pytest.importorskip("colour")
    from hdrkit.tonemap.lut import Lut3D, lut_tetrahedral
    from hdrkit.video import _kernels as K

    rng = np.random.default_rng(3)
    table = rng.uniform(0, 1, (9, 9, 9, 3)).astype(np.float32)
    x = rng.uniform(0, 1, (5, 7, 3)).astype(np.float32)
    out = np.empty_like(x)
    K.apply_lut(x, table, out)
    ref = colour.LUT3D(table.astype(np.float64)).apply(
        x.astype(np.float64), interpolator=colour.algebra.table_interpolation_tetrahedral)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    ours = lut_tetrahedral(x, Lut3D(table, np.zeros(3), np.ones(3)))
    np.testing.assert_allclose(out, ours, atol=1e-5)


def test_frame_lut_reproduces_the_operator():
    """The 33³ LUT of a frame's curve against the curve applied to every pixel: ≥ 55 dB PU-PSNR for the smooth
    curves; akyuz2007 clips at its black point (a kink the lattice cannot follow), ≥ 40 dB."""
    from hdrkit import color
    from hdrkit.expand.classical import expand_luminance
    from hdrkit.metrics import pu_psnr
    from hdrkit.video import _kernels as K
    from hdrkit.video.expand import GLOBAL_METHODS, frame_lut, frame_stats, global_curve

    sdr = gradient_frames(1, 48, 64)[0]
    sdr = np.clip(sdr * np.random.default_rng(0).uniform(0.5, 1.2, sdr.shape), 0, 1).astype(np.float32)
    st = frame_stats(sdr)
    for method in (m for m in GLOBAL_METHODS if m != "gcm"):  # gcm: test_gcm_video_form_is_hdrkit_expand_gcm
        exact = expand_luminance(sdr, global_curve(method, st, 1000.0))
        pq = np.empty_like(sdr)
        K.apply_lut(sdr, frame_lut(method, st, 1000.0), pq)
        limit = 40 if method == "akyuz2007" else 55
        assert pu_psnr(exact.astype(np.float64), np.asarray(color.pq_eotf(pq), np.float64)) > limit, method


def test_gcm_video_form_is_hdrkit_expand_gcm():
    """Unsmoothed, on a frame with nothing near clipping (gcm's highlight branch then does nothing), the video form
    of gcm (condition of the frame, global mapping baked into the 33³ LUT) equals ``hdrkit.expand``'s gcm on the
    same frame within the lattice's interpolation error (≥ 45 dB PU-PSNR); another frame's condition does not."""
    from hdrkit import color
    from hdrkit.expand import expand
    from hdrkit.metrics import pu_psnr
    from hdrkit.video import _kernels as K
    from hdrkit.video.expand import frame_lut, gcm_condition

    rng = np.random.default_rng(0)
    sdr = np.clip(gradient_frames(1, 48, 64)[0] * rng.uniform(0.3, 1.0, (48, 64, 3)), 0, 0.85).astype(np.float32)
    exact = expand(sdr, "gcm").astype(np.float64)
    res = {}
    for name, z in (("own", gcm_condition(sdr)), ("other", gcm_condition(np.full_like(sdr, 0.1)))):
        pq = np.empty_like(sdr)
        K.apply_lut(sdr, frame_lut("gcm", z), pq)
        res[name] = pu_psnr(exact, np.asarray(color.pq_eotf(pq), np.float64))
    assert res["own"] >= 45 and res["other"] < res["own"] - 10, res


def test_global_curve_per_frame_equals_the_image_operator():
    """With unsmoothed statistics of the full frame, the video form of masia2017 *is* hdrkit.expand's."""
    from hdrkit.expand import expand
    from hdrkit.expand.classical import expand_luminance
    from hdrkit.video.expand import frame_stats, global_curve

    sdr = gradient_frames(1)[0].astype(np.float64)
    for m in ("masia2017", "masia2009", "linear"):
        np.testing.assert_allclose(expand_luminance(sdr, global_curve(m, frame_stats(sdr))), expand(sdr, m),
                                   rtol=1e-5, atol=1e-4)


def test_fused_kernel_equals_the_three_steps():
    from hdrkit.video import _kernels as K
    from hdrkit.video.expand import frame_lut, frame_stats
    from hdrkit.video.io import ycbcr_matrices

    rng = np.random.default_rng(5)
    y = rng.integers(16, 236, (8, 10)).astype(np.uint8)
    cb = rng.integers(16, 241, (4, 5)).astype(np.uint8)
    cr = rng.integers(16, 241, (4, 5)).astype(np.uint8)
    q_in, q_out = K.plane_quant(8, False), K.plane_quant(10, False)
    m_in, _ = ycbcr_matrices("bt709")
    _, m_out = ycbcr_matrices("bt2020")
    rgb = np.empty((8, 10, 3), np.float32)
    K.planes_to_rgb(y, cb, cr, 1, 1, q_in, m_in, rgb)
    lut = frame_lut("masia2017", frame_stats(rgb))
    pq = np.empty_like(rgb)
    K.apply_lut(rgb, lut, pq)
    ref = [np.empty((8, 10), np.uint16), np.empty((4, 5), np.uint16), np.empty((4, 5), np.uint16)]
    K.rgb_to_planes(pq, 1, q_out, m_out, 1023.0, *ref)
    got = [np.empty((8, 10), np.uint16), np.empty((4, 5), np.uint16), np.empty((4, 5), np.uint16)]
    K.planes_lut_planes(y, cb, cr, 1, 1, q_in, m_in, lut, 1, q_out, m_out, 1023.0, *got)
    for a, b in zip(got, ref):
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1


def _mabd_mse_of(path, ref_frames):
    from hdrkit import color
    from hdrkit.metrics import mabd_jiang2019
    from hdrkit.video.io import VideoReader

    with VideoReader(path) as r:
        out = np.stack([np.asarray(color.pq_inverse_eotf(np.clip(f, 0, 1e4))) for f in r.frames()])
    return float(mabd_jiang2019(ref_frames, out)), out


def test_smoothing_removes_the_flicker_of_per_frame_statistics(tmp_path):
    """A static scene whose statistics jump every other frame (a small bright flash in a corner): the per-frame
    operator pumps the whole picture, the smoothed one barely moves.  Reference: the static scene."""
    from hdrkit.video.expand import expand_video

    base = gradient_frames(1, 48, 64)[0] * 0.6
    frames = []
    for t in range(24):
        f = base.copy()
        if t % 2:
            f[:12, :16] = 1.0  # 6 % of the frame clips every other frame
        frames.append(f.astype(np.float32))
    src = write_sdr(tmp_path / "flash.mp4", frames)
    ref = np.repeat(np.asarray(frames[0])[None], 24, axis=0)
    res = {}
    for smooth in (0.0, 1.0):
        out = tmp_path / f"o{smooth}.mkv"
        expand_video(src, out, method="masia2017", smooth=smooth)
        res[smooth], pq = _mabd_mse_of(out, ref)
        # the unflashed area: per-frame brightness change
        res[f"area{smooth}"] = float(np.abs(np.diff(pq[:, 24:, 24:].mean(axis=(1, 2, 3)))).mean())
    assert res["area1.0"] < res["area0.0"] / 3, res


def test_expand_video_writes_hdr10_with_estimated_light(sdr_clip, tmp_path):
    from hdrkit import color
    from hdrkit.video import _kernels as K
    from hdrkit.video.expand import analyse, expand_video, frame_lut
    from hdrkit.video.io import VideoReader, frame_light, probe

    out = tmp_path / "hdr.mp4"
    r = expand_video(sdr_clip, out, codec="hevc")
    info = probe(out)
    assert info.is_hdr and info.codec == "hevc" and info.frames == 8 and r.frames == 8
    assert info.content_light == {"max_cll": r.content_light.max_cll, "max_fall": r.content_light.max_fall}
    # the estimate (every 2nd pixel) against the operator on every pixel of every frame: within 5 %
    a = analyse(sdr_clip)
    light = []
    with VideoReader(sdr_clip) as rd:
        for t, f in enumerate(rd.frames()):
            pq = np.empty_like(f)
            K.apply_lut(f, frame_lut(r.method, a.params[t], own=a.own(t)), pq)
            light.append(frame_light(np.asarray(color.pq_eotf(pq))))
    light = np.array(light)
    assert r.content_light.max_cll == pytest.approx(light[:, 0].max(), rel=0.05)
    assert r.content_light.max_fall == pytest.approx(light[:, 1].max(), rel=0.05)


def test_per_frame_method_through_the_dispatcher(sdr_clip, tmp_path):
    from hdrkit.errors import InputError
    from hdrkit.video.expand import expand_video
    from hdrkit.video.io import probe

    out = tmp_path / "huo.mkv"
    r = expand_video(sdr_clip, out, method="huo2014", codec="av1")
    assert r.smooth == 0 and probe(out).codec == "av1"
    with pytest.raises(InputError, match="per frame"):
        expand_video(sdr_clip, tmp_path / "x.mkv", method="huo2014", smooth=1.0)
    with pytest.raises(InputError, match="unknown expansion method"):
        expand_video(sdr_clip, tmp_path / "x.mkv", method="nope")
    # the smoothed global baseline refuses what it would otherwise ignore: operator parameters, a GPU
    with pytest.raises(InputError, match="takes no operator parameters"):
        expand_video(sdr_clip, tmp_path / "x.mkv", method="masia2017", params={"min_gamma": 2.0})
    with pytest.raises(InputError, match="runs on the CPU"):
        expand_video(sdr_clip, tmp_path / "x.mkv", params={"device": "cuda"})
    assert not (tmp_path / "x.mkv").exists()


def test_interrupt_leaves_nothing_behind(sdr_clip, tmp_path):
    """Ctrl-C during the encoding pass: KeyboardInterrupt propagates, the temp file is removed, no output."""
    from hdrkit.video.expand import expand_video

    out_dir = tmp_path / "out"
    out_dir.mkdir()

    def progress(done, total, desc):
        if desc.startswith("encoding") and done >= 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        expand_video(sdr_clip, out_dir / "hdr.mkv", progress=progress)
    assert list(out_dir.iterdir()) == []


def test_audio_and_subtitles_are_copied_untouched(tmp_path):
    import av

    from hdrkit.video.expand import expand_video

    srt = tmp_path / "s.srt"
    srt.write_text("1\n00:00:00,000 --> 00:00:00,300\nhello hdr\n\n2\n00:00:00,200 --> 00:00:00,400\nsecond\n")
    src = tmp_path / "avs.mkv"
    sub_in = av.open(str(srt))
    c = av.open(str(src), "w")
    v = c.add_stream("libx264", rate=24)
    v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
    a = c.add_stream("aac", rate=48000)
    s = c.add_stream_from_template(sub_in.streams[0])
    for i, f in enumerate(gradient_frames(10)):
        vf = av.VideoFrame.from_ndarray((f * 255).astype(np.uint8), format="rgb24")
        vf.pts = i
        c.mux(v.encode(vf))
    for i in range(10):
        af = av.AudioFrame.from_ndarray(np.sin(np.arange(1024)[None] * 0.01 * (i + 1)).astype(np.float32),
                                        format="fltp", layout="mono")
        af.sample_rate, af.pts = 48000, i * 1024
        c.mux(a.encode(af))
    c.mux(v.encode(None))
    c.mux(a.encode(None))
    for p in sub_in.demux():
        if p.dts is not None:
            p.stream = s
            c.mux(p)
    c.close()
    sub_in.close()
    out = tmp_path / "hdr.mkv"
    expand_video(src, out)

    def packets(path):
        with av.open(str(path)) as ci:
            return [(p.stream.type, p.pts, bytes(p)) for p in ci.demux() if p.stream.type != "video" and p.dts is not None]

    a_in, a_out = packets(src), packets(out)
    assert a_in == a_out and sum(t == "subtitle" for t, _, _ in a_out) == 2 and sum(t == "audio" for t, _, _ in a_out) > 5


def test_in_memory_form_runs_the_same_analysis_as_the_file_pass(sdr_clip_cut):
    """``expand_frames`` (the benchmark's path) and ``expand_video`` see the same statistics, cuts and LUTs."""
    from hdrkit.video.expand import DEFAULT_METHOD, _Analyser, analyse, analysis_step, expand_frames
    from hdrkit.video.io import VideoReader

    with VideoReader(sdr_clip_cut) as r:
        frames = list(r.frames())
    a = analyse(sdr_clip_cut, smooth=1.0)
    an = _Analyser(DEFAULT_METHOD, None)
    for f in frames:
        an.add(f[::analysis_step(64, 48), ::analysis_step(64, 48)])
    b = an.result(a.fps, 1.0, 27.0, 15)
    assert a.cuts == b.cuts == [0, 20]
    np.testing.assert_allclose(a.params, b.params, rtol=1e-5, atol=1e-6)
    out = expand_frames(frames, a.fps, smooth=1.0)
    assert len(out) == 40 and out[0].shape == (48, 64, 3) and 0 < out[0].max() <= 1000.5


def test_analysis_step_leaves_enough_pixels():
    from hdrkit.video.expand import analysis_step

    assert analysis_step(64, 48) == 1 and analysis_step(1920, 1080) == 8 and analysis_step(3840, 2160) == 16
    for w, h in ((640, 360), (1280, 720), (1920, 1080), (4096, 2160)):
        s = analysis_step(w, h)
        assert (w // s) * (h // s) >= 16384 and (w // (2 * s)) * (h // (2 * s)) < 16384


@pytest.mark.parametrize("stabilise", [False, True])
def test_expand_keeps_no_per_frame_arrays(tmp_path, stabilise):
    """Bounded memory, structurally: the Python-side peak of ``expand_video`` (tracemalloc: numpy buffers,
    LUTs, frames, lists) grows by less than 4 KB per extra frame when the clip is 5× longer — a few numbers per
    frame (gcm's 32-number condition, smoothed, scores, light: ≈ 1 KB; the level stabiliser's step and gain),
    never a frame (36 KB here as float32, 9 KB as 8-bit planes) or a LUT (431 KB)."""
    import tracemalloc

    from hdrkit.video.expand import expand_video

    short = write_sdr(tmp_path / "short.mp4", gradient_frames(12))
    long = write_sdr(tmp_path / "long.mp4", gradient_frames(60))
    expand_video(short, tmp_path / "warm.mkv", codec="av1")  # imports, JIT caches, lru caches
    peaks = {}
    for name, src in (("short", short), ("long", long)):
        tracemalloc.start()
        expand_video(src, tmp_path / f"{name}.mkv", codec="av1", stabilise=stabilise)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert (peaks["long"] - peaks["short"]) / (60 - 12) < 4096, peaks
