"""Training and evaluation data for the learned expansion operators (U-Net iTM, MetaHDR).

A *scene* is an HDR10 master in absolute cd/m² (BT.2020, 1000 cd/m² peak, BT.2390 roll-off, log-average at
``mid`` cd/m² — :func:`hdrkit.tonemap.master_hdr10`) of either a crop of a real panorama (random size, aspect,
horizontal wrap-around, flip) or a procedural scene (:func:`hdrkit.meta.tasks.procedural_scene`).  Its SDR
renditions come from

* the project's one virtual camera (:func:`hdrkit.data.virtual_camera`, Eilertsen et al. 2017, ACM TOG 36(6)):
  BT.709 sensor, CRF ``f(H) = (1+σ)Hⁿ/(Hⁿ+σ)``, auto-exposure with a random fraction (2–12 %) of saturated
  pixels, sensor noise, 8 bits, JPEG in half the single shots; the same camera at several ``ev`` shoots a
  bracket (MetaHDR tasks);
* or a tone-mapping operator of :func:`hdrkit.tonemap.tonemap` with parameters drawn by
  :class:`hdrkit.data.RandomTMO` (YouTube LUT, BT.2446-1 Method A, Reinhard 2002: :data:`TRAIN_TMOS`).

Random draws follow ``make_params(rng) -> dataclass`` / ``apply(..., params)``.  The real panoramas we evaluate on
are :data:`HOLDOUT` and never enter training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from hdrkit.data.camera import CameraParams

#: Panoramas of ``../shared/data/hdr`` kept out of every training run and used for evaluation.
HOLDOUT: Tuple[str, ...] = ("courtyard", "forest", "sunset")
#: The small previews duplicate content of the full panoramas; they are used for neither.
EXCLUDED: Tuple[str, ...] = ("preview_landscape", "preview_studio")
#: Operators (besides the camera) that make SDR for training.
TRAIN_TMOS: Tuple[str, ...] = ("youtube", "bt2446a", "reinhard2002")
MASTER_PEAK = 1000.0


def load_sources(folder, names: Optional[Sequence[str]] = None, exclude: Sequence[str] = ()) -> Dict[str, np.ndarray]:
    """Panoramas of ``folder`` as absolute BT.2020 cd/m² (name → ``H×W×3``), minus :data:`EXCLUDED`."""
    from hdrkit.meta.tasks import load_panoramas

    return load_panoramas(folder, names=names, exclude=tuple(exclude) + EXCLUDED)


# ----------------------------------------------------------------------------------------------- scenes
@dataclass(frozen=True)
class SceneParams:
    source: str          # panorama name, or "" for a procedural scene
    top: int
    left: int
    height: int
    width: int
    flip: bool
    mid: float           # cd/m² of the log-average luminance in the master
    seed: int            # procedural scene seed


def make_scene_params(rng: np.random.Generator, sources: Dict[str, np.ndarray], procedural_share: float = 0.25,
                      mid_ev: float = 0.5) -> SceneParams:
    mid = 26.0 * 2.0 ** float(rng.uniform(-mid_ev, mid_ev))
    if not sources or rng.random() < procedural_share:
        return SceneParams("", 0, 0, 0, 0, False, mid, int(rng.integers(2**31)))
    name = sorted(sources)[int(rng.integers(len(sources)))]
    H, W, _ = sources[name].shape
    h = int(round(math.exp(rng.uniform(math.log(min(96, H)), math.log(H)))))
    w = int(min(W, max(16, round(h * math.exp(rng.uniform(math.log(0.75), math.log(1.33)))))))
    return SceneParams(name, int(rng.integers(0, H - h + 1)), int(rng.integers(0, W)), h, w,
                       bool(rng.random() < 0.5), mid, 0)


def apply_scene(sources: Dict[str, np.ndarray], p: SceneParams, size: int) -> np.ndarray:
    """The HDR10 master (cd/m², BT.2020, ``size×size×3`` float32) of the scene ``p``."""
    import cv2

    from hdrkit.meta.tasks import procedural_scene
    from hdrkit.tonemap import master_hdr10

    if not p.source:
        scene = procedural_scene(np.random.default_rng(p.seed), size, 1e4)
    else:
        img = sources[p.source]
        cols = np.arange(p.left, p.left + p.width) % img.shape[1]
        crop = np.ascontiguousarray(img[p.top:p.top + p.height][:, cols])
        interp = cv2.INTER_AREA if crop.shape[0] >= size else cv2.INTER_LINEAR
        scene = cv2.resize(crop, (size, size), interpolation=interp)
        if p.flip:
            scene = scene[:, ::-1]
    return master_hdr10(np.ascontiguousarray(scene), peak=MASTER_PEAK, mid=p.mid)


# ----------------------------------------------------------------------------------------------- camera
def make_camera_params(rng: np.random.Generator, saturated: Tuple[float, float] = (0.02, 0.12),
                       jpeg_probability: float = 0.0) -> CameraParams:
    """One draw of the project's virtual camera (:class:`hdrkit.data.VirtualCamera`, Eilertsen et al. 2017
    curve distribution) with ``saturated`` pixels clipped at EV 0; no JPEG by default (bracket fusion)."""
    from hdrkit.data import VirtualCamera

    return VirtualCamera(saturated=saturated, jpeg_probability=jpeg_probability).make_params(rng)


def shoot(master: np.ndarray, cam: CameraParams, evs: Sequence[float] = (0.0,)) -> Tuple[List[np.ndarray], List[float]]:
    """Photograph the master at each exposure value (EV relative to auto-exposure) with one camera
    (:func:`hdrkit.data.virtual_camera`): 8-bit ``uint8`` images and their exposure times (sensor units per
    cd/m²)."""
    from hdrkit.data import exposure_time, virtual_camera

    shots, times = [], []
    for ev in evs:
        p = replace(cam, ev=float(ev))
        shots.append(np.round(virtual_camera(master, p) * 255.0).astype(np.uint8))
        times.append(exposure_time(master, p))
    return shots, times


def tmo_sdr(master: np.ndarray, tmo: str, rng: np.random.Generator) -> np.ndarray:
    """SDR of ``master`` by a tone-mapping operator of :func:`hdrkit.tonemap.tonemap` with parameters drawn by
    :class:`hdrkit.data.RandomTMO`, quantised to 8 bits (float32 code values)."""
    from hdrkit.data import RandomTMO, quantize_sdr

    gen = RandomTMO((tmo,))
    return quantize_sdr(gen.apply(master, gen.make_params(rng)))


def make_pair(rng: np.random.Generator, sources: Dict[str, np.ndarray], size: int, procedural_share: float = 0.25,
              tmo_share: float = 0.3, tmos: Sequence[str] = TRAIN_TMOS) -> Tuple[np.ndarray, np.ndarray]:
    """One random ``(sdr code values, master cd/m²)`` pair, ``size×size×3`` float32 each."""
    master = apply_scene(sources, make_scene_params(rng, sources, procedural_share), size)
    if tmos and rng.random() < tmo_share:
        return tmo_sdr(master, str(tmos[int(rng.integers(len(tmos)))]), rng), master
    shots, _ = shoot(master, make_camera_params(rng, jpeg_probability=0.5))
    return shots[0].astype(np.float32) / 255.0, master


@dataclass(frozen=True)
class Task:
    """A MetaHDR task: one scene photographed at several exposures by one camera."""

    shots: Tuple[np.ndarray, ...]   # float32 code values in [0, 1], one per EV
    times: Tuple[float, ...]
    evs: Tuple[float, ...]
    master: np.ndarray              # cd/m² BT.2020 (the true HDR)
    camera: CameraParams


def make_task(rng: np.random.Generator, sources: Dict[str, np.ndarray], size: int,
              evs: Sequence[float] = (-2.0, 0.0, 2.0), procedural_share: float = 0.25) -> Task:
    master = apply_scene(sources, make_scene_params(rng, sources, procedural_share), size)
    cam = make_camera_params(rng)
    shots, times = shoot(master, cam, evs)
    return Task(tuple(s.astype(np.float32) / 255.0 for s in shots), tuple(times), tuple(float(e) for e in evs),
                master, cam)


def eval_scenes(sources: Dict[str, np.ndarray], views: int, size: int, seed: int = 1234) -> List[Tuple[str, SceneParams]]:
    """A fixed list of evaluation views: ``views`` random crops (mid = 26 cd/m², no procedural) per panorama."""
    rng = np.random.default_rng(seed)
    out = []
    for name in sorted(sources):
        for _ in range(views):
            p = make_scene_params(rng, {name: sources[name]}, procedural_share=0.0, mid_ev=0.0)
            out.append((name, p))
    return out
