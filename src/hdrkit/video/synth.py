"""Synthetic HDR video: (HDR10 master, SDR) clip pairs for training and testing temporal methods.

The recipe of "Deep Video Inverse Tone Mapping Based on Temporal Clues" (CVPR 2024), made ours:

* a **camera path** over an HDR panorama (equirectangular, :func:`hdrkit.data.perspective_view`): a pan (yaw
  from ``yaw0`` to ``yaw1``), a zoom (field of view ``fov0`` → ``fov1``), a pitch drift and a hand-held
  **perspective jitter** (smoothed random yaw/pitch/roll of a fraction of a degree);
* **object motion**: a disc of random colour and luminance (up to a few thousand cd/m², so it clips in SDR)
  crossing the frame on a straight line;
* the HDR master: the panorama mastered once for the whole clip (:func:`hdrkit.tonemap.master_hdr10`, 1000 cd/m²
  peak, log-average 26 cd/m²), so the reference itself does not pump;
* the SDR: the virtual camera of :mod:`hdrkit.data.camera` (Eilertsen et al. 2017) whose **auto-exposure
  drifts**: the level follows the scene with a lag (exponential moving average of the per-frame level) and a
  slow sinusoidal drift of ±``drift_ev`` stops — regions clipped in one frame are well exposed in others (the
  "temporal clues") — or any tone-mapping operator of ``hdrkit.tonemap`` applied to the frame scaled by the same
  drift.

Everything follows from ``seed`` (:func:`make_clip_params`), and :func:`render_clip` is a pure function of the
panorama and the parameters.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report


@dataclass(frozen=True)
class ClipParams:
    """One synthetic clip (all that is needed to re-render it)."""

    frames: int = 48
    width: int = 256
    height: int = 144
    yaw0: float = 0.0
    yaw1: float = 30.0
    pitch0: float = 0.0
    pitch1: float = 0.0
    fov0: float = 70.0
    fov1: float = 60.0
    jitter: float = 0.3  # degrees (std of the hand-held shake)
    drift_ev: float = 1.0  # amplitude of the exposure drift, stops
    drift_period: float = 40.0  # frames
    drift_phase: float = 0.0
    ae_lag: float = 0.15  # EMA weight of the auto-exposure (1 = instant)
    saturated: float = 0.05  # auto-exposure target: fraction of clipped pixels
    crf_n: float = 0.9
    crf_sigma: float = 0.6
    tmo: str = "eilertsen2017"  # or a hdrkit.tonemap method
    obj_radius: float = 0.08  # fraction of the frame height
    obj_nits: float = 1500.0
    obj_colour: tuple = (1.0, 0.8, 0.6)
    obj_from: tuple = (-0.1, 0.3)  # (x, y) in frame fractions
    obj_to: tuple = (1.1, 0.6)
    peak: float = 1000.0
    mid: float = 26.0
    seed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def make_clip_params(rng: np.random.Generator, frames: int = 48, size: tuple[int, int] = (144, 256),
                     tmo: Optional[str] = None) -> ClipParams:
    """Draw a clip: random pan/zoom/pitch, drift and object."""
    yaw0 = float(rng.uniform(-180, 180))
    fov0 = float(rng.uniform(55, 85))
    col = rng.uniform(0.3, 1.0, 3)
    return ClipParams(
        frames=int(frames), height=int(size[0]), width=int(size[1]),
        yaw0=yaw0, yaw1=yaw0 + float(rng.uniform(-1, 1)) * frames * 0.8,
        pitch0=float(rng.uniform(-10, 15)), pitch1=float(rng.uniform(-10, 15)),
        fov0=fov0, fov1=float(np.clip(fov0 * rng.uniform(0.75, 1.25), 40, 100)),
        jitter=float(rng.uniform(0.0, 0.4)), drift_ev=float(rng.uniform(0.5, 1.5)),
        drift_period=float(rng.uniform(24, 72)), drift_phase=float(rng.uniform(0, 2 * np.pi)),
        ae_lag=float(rng.uniform(0.08, 0.3)), saturated=float(rng.uniform(0.02, 0.1)),
        crf_n=float(np.clip(rng.normal(0.9, 0.1), 0.2, 2.5)), crf_sigma=float(np.clip(rng.normal(0.6, 0.1), 0, 5)),
        tmo=tmo or "eilertsen2017",
        obj_radius=float(rng.uniform(0.04, 0.12)), obj_nits=float(np.exp(rng.uniform(np.log(100), np.log(3000)))),
        obj_colour=tuple(float(c) for c in col / col.max()),
        obj_from=(float(rng.uniform(-0.2, 0.2)), float(rng.uniform(0.1, 0.9))),
        obj_to=(float(rng.uniform(0.8, 1.2)), float(rng.uniform(0.1, 0.9))),
        seed=int(rng.integers(0, 2**31 - 1)),
    )


def _smooth_noise(rng: np.random.Generator, n: int, scale: float, width: float = 3.0) -> np.ndarray:
    x = rng.normal(0.0, 1.0, n + 24)
    k = np.exp(-0.5 * (np.arange(-12, 13) / width) ** 2)
    y = np.convolve(x, k / np.sqrt((k * k).sum()), mode="valid")[:n]
    return scale * y


def exposure_drift(params: ClipParams) -> np.ndarray:
    """The drift in stops of each frame: ``drift_ev · sin(2π t / period + phase)``."""
    t = np.arange(params.frames)
    return params.drift_ev * np.sin(2 * np.pi * t / params.drift_period + params.drift_phase)


def render_clip(pano_nits: np.ndarray, params: ClipParams,
                exposures: Optional[list] = None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(hdr_nits, sdr)`` per frame: float32 ``H×W×3`` BT.2020 cd/m² (≤ peak) and BT.709 code values.

    ``exposures``: a list to which the natural log of each frame's SDR exposure (sensor exposure per cd/m² of the
    master, up to a constant) is appended — the ground truth of the auto-exposure and its drift."""
    from hdrkit.data.camera import CameraParams, exposure_time, virtual_camera
    from hdrkit.data.panorama import check_panorama, perspective_view
    from hdrkit.tonemap import auto_exposure, master_hdr10, tonemap

    pano = check_panorama(pano_nits)
    if params.frames < 1:
        raise InputError("a clip needs at least one frame")
    rng = np.random.default_rng(params.seed)
    n = params.frames
    jy, jp, jr = (_smooth_noise(rng, n, params.jitter) for _ in range(3))
    exposure = auto_exposure(pano, params.mid)  # one exposure for the whole clip: the master does not pump
    drift = exposure_drift(params)
    s = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
    h, w = params.height, params.width
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    level = None
    for t in range(n):
        view = perspective_view(pano, yaw=params.yaw0 + (params.yaw1 - params.yaw0) * s[t] + jy[t],
                                pitch=params.pitch0 + (params.pitch1 - params.pitch0) * s[t] + jp[t], roll=jr[t],
                                fov=params.fov0 + (params.fov1 - params.fov0) * s[t], size=(h, w))
        scene = view * exposure
        cx = (params.obj_from[0] + (params.obj_to[0] - params.obj_from[0]) * s[t]) * w
        cy = (params.obj_from[1] + (params.obj_to[1] - params.obj_from[1]) * s[t]) * h
        r = params.obj_radius * h
        d = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
        alpha = np.clip(r + 0.5 - d, 0.0, 1.0)[..., None]  # anti-aliased disc
        shade = 0.6 + 0.4 * np.clip(1.0 - d / max(r, 1e-6), 0, 1)[..., None]  # brighter centre (a texture)
        obj = params.obj_nits * shade * np.asarray(params.obj_colour, np.float32)
        scene = scene * (1 - alpha) + obj * alpha
        hdr = master_hdr10(scene, peak=params.peak, exposure=1.0).astype(np.float32)
        gain = 2.0 ** drift[t]
        if params.tmo == "eilertsen2017":
            # the camera's auto-exposure lags (EMA of the per-frame level) and drifts: ev relative to the
            # per-frame auto-exposure = drift + log2(level_now / level_lagged)
            lvl = 1.0 / exposure_time(hdr, CameraParams(saturated=params.saturated))
            level = lvl if level is None else (1 - params.ae_lag) * level + params.ae_lag * lvl
            cam = CameraParams(params.crf_n, params.crf_sigma, params.saturated, 0.0, None, params.seed,
                               ev=float(drift[t] + np.log2(lvl / max(level, 1e-12))))
            sdr = virtual_camera(hdr, cam)
            if exposures is not None:  # exposure_time(hdr, cam) = 2^ev / lvl = 2^drift / level
                exposures.append(float(drift[t] * np.log(2.0) - np.log(max(level, 1e-12))))
        else:
            if exposures is not None:
                exposures.append(float(np.log(gain)))
            sdr = np.round(np.asarray(tonemap(hdr * gain, params.tmo), np.float64) * 255.0) / 255.0
        yield hdr, np.asarray(sdr, np.float32)


@dataclass
class ClipFiles:
    name: str
    hdr: str
    sdr: str
    params: dict


def write_clip(pano_path: str | os.PathLike, out_dir: str | os.PathLike, params: ClipParams, name: Optional[str] = None,
               fps: float = 24.0, as_frames: bool = False, hdr_codec: str = "hevc", hdr_chroma: str = "444",
               progress: Optional[ProgressFn] = None) -> ClipFiles:
    """Render a clip and write ``NAME_hdr.mkv`` (HDR10, 4:4:4 10-bit HEVC, CRF 4 by default: a near-lossless
    reference) + ``NAME_sdr.mp4`` (H.264 8-bit BT.709, CRF 12), or with ``as_frames`` two folders of PNGs
    (16-bit PQ BT.2020 and 8-bit BT.709).  Every file is written atomically."""
    import json

    from hdrkit.color import from_nits
    from hdrkit.data.pairs import load_hdr_nits
    from hdrkit.io import Image, write_image
    from hdrkit.io.atomic import atomic_path, atomic_write_bytes
    from hdrkit.video.io import ContentLight, MasteringDisplay, VideoWriter, content_light_of, frame_light

    out = Path(out_dir)
    name = name or Path(pano_path).stem
    pano = load_hdr_nits(pano_path)
    frames = list(render_clip(pano, params)) if not as_frames else None
    if as_frames:
        hdir, sdir = out / f"{name}_hdr", out / f"{name}_sdr"
        hdir.mkdir(parents=True, exist_ok=True)
        sdir.mkdir(parents=True, exist_ok=True)
        for t, (hdr, sdr) in enumerate(render_clip(pano, params)):
            write_image(hdir / f"{t:05d}.png", from_nits(hdr, "bt2020", "pq"))
            write_image(sdir / f"{t:05d}.png", Image(sdr, "bt709", "bt1886", 203.0))
            report(progress, t + 1, params.frames, f"rendering {name}")
        hdr_path, sdr_path = str(hdir), str(sdir)
    else:
        light = np.array([frame_light(h) for h, _ in frames])
        cll = content_light_of(light[:, 0].max(), light[:, 1].max())
        hdr_path, sdr_path = out / f"{name}_hdr.mkv", out / f"{name}_sdr.mp4"
        h, w = params.height, params.width
        with atomic_path(hdr_path) as tmp, VideoWriter(tmp, w, h, fps, codec=hdr_codec, chroma=hdr_chroma, crf=4,
                                                       mastering=MasteringDisplay.named("bt2020", params.peak),
                                                       light=ContentLight(cll.max_cll, cll.max_fall)) as wr:
            for t, (hdr, _) in enumerate(frames):
                wr.write_nits(hdr)
                report(progress, t + 1, 2 * params.frames, f"writing {name}")
        with atomic_path(sdr_path) as tmp, VideoWriter(tmp, w, h, fps, codec="h264", hdr=False, crf=12) as wr:
            for t, (_, sdr) in enumerate(frames):
                wr.write_rgb_prime(sdr)
                report(progress, params.frames + t + 1, 2 * params.frames, f"writing {name}")
        hdr_path, sdr_path = str(hdr_path), str(sdr_path)
    meta = {"name": name, "source": Path(pano_path).name, "fps": fps, "params": params.as_dict()}
    atomic_write_bytes(out / f"{name}.json", json.dumps(meta, indent=1).encode())
    return ClipFiles(name, hdr_path, sdr_path, meta)
