"""Training pairs for meta-learning the embedded MLP's initialisation.

A *pair* is ``(sdr, hdr_pq)``: ``(h, w, 3)`` SDR BT.709 γ2.4 code values (quantised to 8 bits, like a real
SDR file) and the HDR target as PQ code values in BT.2020.  Pairs are synthesised from

* views of HDR panoramas: random crops (size, aspect, horizontal position with wrap-around), area-resampled to
  the patch size, random horizontal flips, random exposure (x 2^U(-2, 2)), clipped at a random peak
  (1000 nits in 70 % of the pairs, else 600/2000/4000) -- so the coordinate branch cannot memorise positions;
* procedural scenes (smooth skies, shapes with log-uniform luminance, small bright lights, texture);

each tone mapped by one of several operators (``TMOS``): the YouTube LUT, ITU-R BT.2446 Method A, Reinhard 2002
(random key) and a virtual camera (Eilertsen et al. 2017 sigmoid with random n, sigma; BT.709 gamut clip).
Random augmentations follow the ``make_params(rng) -> dataclass`` / ``apply`` convention.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report

Pair = Tuple[np.ndarray, np.ndarray]


# ------------------------------------------------------------------------------------------------- TMOs
def _tmo_youtube(nits: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    from hdrkit.tonemap.lut import youtube

    return youtube(nits)


def _tmo_bt2446a(nits: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    from hdrkit.tonemap.bt2446 import bt2446a

    return bt2446a(nits, l_hdr=peak)


def _tmo_reinhard(nits: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    from hdrkit.tonemap.reinhard import reinhard2002

    return reinhard2002(nits, key=float(np.exp(rng.uniform(math.log(0.09), math.log(0.36)))))


def _tmo_camera(nits: np.ndarray, rng: np.random.Generator, peak: float) -> np.ndarray:
    """Virtual camera: Eilertsen et al. 2017 sigmoid f(H) = (1+s) H^n / (H^n + s) on exposure-normalised light."""
    from hdrkit import color

    n = float(np.clip(rng.normal(0.9, 0.1), 0.2, 2.5))
    s = float(np.clip(rng.normal(0.6, 0.1), 0.0, 5.0))
    lin = color.convert_primaries(nits.astype(np.float32), "bt2020", "bt709")
    lin = np.maximum(lin, 0)
    y = color.luminance(lin, "bt709")
    expo = float(np.exp(rng.uniform(math.log(0.6), math.log(1.6)))) / max(float(np.percentile(y, 90)), 1e-3)
    h = lin * expo
    hn = np.power(h, n)
    v = (1 + s) * hn / (hn + s)
    return np.clip(color.bt1886_inverse_eotf(np.clip(v, 0, 1)), 0, 1).astype(np.float32)


#: Tone mapping operators used to synthesise SDR renditions: ``f(nits_bt2020, rng, peak) -> code values``.
TMOS: Dict[str, Callable[[np.ndarray, np.random.Generator, float], np.ndarray]] = {
    "youtube": _tmo_youtube,
    "bt2446a": _tmo_bt2446a,
    "reinhard": _tmo_reinhard,
    "camera": _tmo_camera,
}


# ---------------------------------------------------------------------------------------------- sources
def load_panoramas(folder: str | Path, names: Optional[Sequence[str]] = None,
                   exclude: Sequence[str] = ()) -> Dict[str, np.ndarray]:
    """Absolute BT.2020 nits of every ``.exr``/``.hdr`` in ``folder`` (file stem -> H x W x 3 float32)."""
    from hdrkit import color
    from hdrkit.io import read_image

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix.lower() not in (".exr", ".hdr") or p.stem in exclude:
            continue
        if names is not None and p.stem not in names:
            continue
        out[p.stem] = np.ascontiguousarray(color.to_nits(read_image(p)), dtype=np.float32)
    if not out:
        raise InputError(f"no .exr/.hdr images in {folder}")
    return out


@dataclass(frozen=True)
class ViewParams:
    source: str
    top: int
    left: int
    height: int
    width: int
    flip: bool
    exposure: float
    peak: float
    tmo: str


def make_view_params(rng: np.random.Generator, sources: Dict[str, np.ndarray], tmos: Sequence[str]) -> ViewParams:
    name = sorted(sources)[int(rng.integers(len(sources)))]
    H, W, _ = sources[name].shape
    h = int(round(math.exp(rng.uniform(math.log(min(48, H)), math.log(H)))))
    aspect = math.exp(rng.uniform(math.log(0.6), math.log(2.0)))
    w = int(min(W, max(8, round(h * aspect))))
    top = int(rng.integers(0, H - h + 1))
    left = int(rng.integers(0, W))
    peak = 1000.0 if rng.random() < 0.7 else float(rng.choice([600.0, 2000.0, 4000.0]))
    return ViewParams(name, top, left, h, w, bool(rng.random() < 0.5),
                      float(2.0 ** rng.uniform(-2, 2)), peak, str(tmos[int(rng.integers(len(tmos)))]))


def apply_view(sources: Dict[str, np.ndarray], p: ViewParams, size: int) -> np.ndarray:
    """Crop (wrapping horizontally), resample to ``size x size`` (area), flip, expose, clip at the peak -> nits."""
    import cv2

    img = sources[p.source]
    cols = (np.arange(p.left, p.left + p.width) % img.shape[1])
    crop = img[p.top:p.top + p.height][:, cols]
    interp = cv2.INTER_AREA if crop.shape[0] >= size else cv2.INTER_LINEAR
    crop = cv2.resize(np.ascontiguousarray(crop), (size, size), interpolation=interp)
    if p.flip:
        crop = crop[:, ::-1]
    return np.clip(crop * p.exposure, 0, p.peak).astype(np.float32)


def procedural_scene(rng: np.random.Generator, size: int, peak: float) -> np.ndarray:
    """A random HDR scene in BT.2020 nits: sky gradient, shapes, texture, small lights (``size x size x 3``)."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / max(size - 1, 1)
    base = np.exp(rng.uniform(math.log(0.5), math.log(300)))
    sky_col = rng.uniform(0.3, 1.0, 3).astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    grad = (np.cos(ang) * xx + np.sin(ang) * yy)
    img = base * sky_col * np.exp(rng.uniform(-2, 2) * grad)[..., None]
    for _ in range(int(rng.integers(2, 9))):
        cx, cy = rng.uniform(0, 1, 2)
        rx, ry = np.exp(rng.uniform(math.log(0.03), math.log(0.4), 2))
        lum = np.exp(rng.uniform(math.log(0.05), math.log(800)))
        col = rng.uniform(0.05, 1.0, 3).astype(np.float32)
        if rng.random() < 0.5:
            mask = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1
        else:
            mask = (np.abs(xx - cx) <= rx) & (np.abs(yy - cy) <= ry)
        shade = 1 + 0.3 * np.sin(rng.uniform(5, 60) * xx + rng.uniform(0, 6)) * np.sin(rng.uniform(5, 60) * yy)
        img = np.where(mask[..., None], lum * col * shade[..., None], img)
    for _ in range(int(rng.integers(0, 4))):
        cx, cy = rng.uniform(0, 1, 2)
        r2 = ((xx - cx) ** 2 + (yy - cy) ** 2) / (rng.uniform(0.005, 0.03) ** 2)
        img = img + (np.exp(rng.uniform(math.log(1000), math.log(20000))) * np.exp(-r2))[..., None]
    img = img * np.exp(rng.normal(0, 0.15, (size, size, 1))).astype(np.float32)
    return np.clip(img, 0, peak).astype(np.float32)


def make_pair(nits: np.ndarray, tmo: str, rng: np.random.Generator, peak: float) -> Pair:
    """Tone map ``nits`` with ``tmo`` -> (8-bit-quantised SDR code values, PQ target)."""
    from hdrkit import color

    sdr = TMOS[tmo](nits, rng, peak)
    sdr = (np.round(np.clip(sdr, 0, 1) * 255) / 255).astype(np.float32)
    pq = np.asarray(color.pq_inverse_eotf(nits), dtype=np.float32)
    return sdr, pq


def make_pool(
    sources: Dict[str, np.ndarray],
    count: int,
    size: int,
    tmos: Sequence[str] = tuple(TMOS),
    procedural_share: float = 0.25,
    seed: int = 0,
    progress: Optional[ProgressFn] = None,
) -> List[Pair]:
    """``count`` random pairs of ``size x size`` (views of ``sources`` and procedural scenes)."""
    for t in tmos:
        if t not in TMOS:
            raise InputError(f"unknown TMO {t!r}; choose from {sorted(TMOS)}")
    rng = np.random.default_rng(seed)
    pool: List[Pair] = []
    for i in range(count):
        if not sources or rng.random() < procedural_share:
            peak = 1000.0 if rng.random() < 0.7 else float(rng.choice([600.0, 2000.0, 4000.0]))
            nits = procedural_scene(rng, size, peak)
            tmo = str(tmos[int(rng.integers(len(tmos)))])
        else:
            p = make_view_params(rng, sources, tmos)
            nits, tmo, peak = apply_view(sources, p, size), p.tmo, p.peak
        pool.append(make_pair(nits, tmo, rng, peak))
        report(progress, i + 1, count, "synthesising pairs")
    return pool
