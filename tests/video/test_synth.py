"""Synthetic HDR video: deterministic, a master that does not pump, an SDR whose exposure drifts."""

from __future__ import annotations

import numpy as np


def _pano(seed=0):
    """A small procedural panorama (2:1) in nits with a bright sun-like blob."""
    rng = np.random.default_rng(seed)
    h, w = 64, 128
    yy, xx = np.mgrid[0:h, 0:w]
    lum = 2.0 * 10.0 ** (2.0 * np.abs(np.sin(np.pi * xx / w)) * (0.5 + 0.5 * yy / h))  # 2 … 200 nits
    p = lum[..., None] * np.array([0.7, 0.85, 1.0]) * rng.uniform(0.8, 1.2, (h, w, 3))
    p[(yy - 20) ** 2 + (xx - 40) ** 2 < 25] = 3000.0
    return p.astype(np.float32)


def test_render_clip_is_deterministic_and_its_exposure_drifts():
    from hdrkit.video.synth import ClipParams, exposure_drift, render_clip

    p = ClipParams(frames=12, width=64, height=32, yaw0=0, yaw1=10, drift_ev=1.0, drift_period=12, seed=3)
    a = list(render_clip(_pano(), p))
    b = list(render_clip(_pano(), p))
    assert all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b))
    c = list(render_clip(_pano(), ClipParams(**{**p.as_dict(), "seed": 4})))
    assert not np.array_equal(a[3][1], c[3][1])  # another seed, another hand-held jitter
    hdr = np.array([h.mean() for h, _ in a])
    sdr = np.array([s.mean() for _, s in a])
    assert all(h.max() <= 1000.0 + 1e-3 for h, _ in a)  # mastered to the peak
    drift = exposure_drift(p)
    # SDR brightness follows the drift (correlation) far more than the master's brightness changes
    assert np.corrcoef(drift, np.log(sdr))[0, 1] > 0.8
    assert np.ptp(np.log(sdr)) > 2 * np.ptp(np.log(hdr))


def test_write_clip_files_and_metadata(tmp_path):
    from hdrkit.io import write_image
    from hdrkit.io.image import Image
    from hdrkit.video.io import VideoReader, probe
    from hdrkit.video.synth import ClipParams, write_clip

    exr = tmp_path / "pano.exr"
    write_image(exr, Image(_pano() / 100.0, "bt2020", "linear", 100.0))
    files = write_clip(exr, tmp_path, ClipParams(frames=6, width=64, height=32, seed=1), name="p")
    hi, si = probe(files.hdr), probe(files.sdr)
    assert hi.is_hdr and hi.frames == 6 and hi.pix_fmt == "yuv444p10le" and hi.content_light["max_cll"] > 0
    assert not si.is_hdr and si.frames == 6 and si.codec == "h264"
    with VideoReader(files.hdr) as r:
        assert next(r.frames()).shape == (32, 64, 3)
    assert (tmp_path / "p.json").exists()


def test_render_clip_reports_the_true_exposure():
    """``exposures``: with a TMO the SDR exposure is the drift alone (``ln 2 · drift``); with the virtual camera,
    a static scene with no drift and an instant auto-exposure has one exposure throughout, and a drift of d EV
    moves it by d·ln 2 relative to the no-drift clip."""
    from hdrkit.video.synth import ClipParams, exposure_drift, render_clip

    base = dict(frames=8, width=64, height=32, yaw0=0, yaw1=0, fov0=70, fov1=70, jitter=0.0, obj_from=(-9, -9),
                obj_to=(-9, -9), drift_period=8, seed=1)
    p = ClipParams(**base, drift_ev=1.0, tmo="reinhard2002")
    ev = []
    list(render_clip(_pano(), p, ev))
    np.testing.assert_allclose(ev, np.log(2.0) * exposure_drift(p), atol=1e-9)
    flat, drifting = [], []
    list(render_clip(_pano(), ClipParams(**base, drift_ev=0.0, ae_lag=1.0), flat))
    list(render_clip(_pano(), ClipParams(**base, drift_ev=1.0, ae_lag=1.0), drifting))
    assert np.ptp(flat) < 1e-9
    p1 = ClipParams(**base, drift_ev=1.0, ae_lag=1.0)
    np.testing.assert_allclose(np.array(drifting) - np.array(flat), np.log(2.0) * exposure_drift(p1), atol=1e-9)
