"""A deterministic ``torch.utils.data.Dataset`` of (SDR, HDR) training pairs or pixel batches.

Sample ``i`` is a pure function of ``(seed, i)``: its random draws come from
``np.random.default_rng([seed, i])``, so the same index gives the same pair in any worker, any order, any epoch
(use a different ``seed`` per epoch for fresh draws).  Each sample:

1. picks a source — one of the HDR files (uniformly) or, with probability ``procedural``, a procedural scene;
2. makes a ``size`` picture — a random perspective view of a 2:1 panorama, or a random crop of other images;
3. random horizontal flip;
4. masters it (:func:`hdrkit.tonemap.master_hdr10`, peak ``peak``, log-average at ``mid · 2^ev`` cd/m² with a
   random exposure shift ``ev`` in stops);
5. tone maps it with a random operator (:class:`hdrkit.data.augment.RandomTMO`);
6. returns ``{"sdr", "hdr"}`` as float32 ``3×H×W`` tensors (8-bit SDR / 255, 16-bit PQ / 65535), or with
   ``pixels=K`` a batch of ``K`` random pixels ``{"sdr": K×3, "hdr": K×3, "xy": K×2}`` (x = column, y = row,
   in [0, 1]).

:meth:`PairDataset.params` returns the draws of a sample (for logging) without rendering it.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from hdrkit.errors import InputError

try:  # torch is a core dependency, but keep the import error readable
    from torch.utils.data import Dataset
except ImportError:  # pragma: no cover
    Dataset = object  # type: ignore[misc,assignment]


@dataclass(frozen=True)
class SampleParams:
    """Every random draw of one sample."""

    index: int
    source: str  # file name, or "procedural"
    geometry: dict  # view / crop / scene parameters
    flip: bool
    ev: float
    tmo: dict  # {"method": ..., "params": {...}}
    peak: Optional[float] = None  # the master's peak when drawn (``peak_choices``)
    colour: Optional[tuple] = None  # the scene's per-channel gains when drawn (``colour`` > 0)

    def as_dict(self) -> dict:
        return asdict(self)


class PairDataset(Dataset):
    """Deterministic stream of (SDR, HDR) pairs from HDR files and/or procedural scenes.

    Parameters
    ----------
    root : a folder of HDR files (EXR/HDR/PFM/16-bit PQ PNG or TIFF), a list of files, or ``None``.
    length : number of samples (``len(dataset)``).
    size : output size, int or ``(h, w)``.
    procedural : probability of a procedural scene (1.0 when there are no files).
    tmos : operators to draw from (:class:`~hdrkit.data.augment.RandomTMO`); ``randomize_tmo`` draws their
        parameters too (``True``, ``False``, or the names of the operators whose parameters are drawn).
    ev_range : exposure shift range in stops; ``flip`` enables random horizontal flips.
    fov, pitch, roll : view ranges in degrees for panoramas.
    peak, mid : mastering peak and log-average cd/m².
    pixels : ``None`` → whole pictures; ``K`` → ``K`` random pixels per sample.
    seed : the dataset seed.
    cache : number of decoded HDR files kept in memory (per worker process).
    tmo_weights : relative probabilities of ``tmos`` (uniform when ``None``).
    peak_choices, peak_weights : draw the mastering peak of each sample from ``peak_choices`` (relative
        probabilities ``peak_weights``, uniform when ``None``) instead of using ``peak``; the SDR is made from that
        master and the sample carries it (``"peak"``, cd/m²).
    colour : > 0: tint each scene before mastering (:class:`~hdrkit.data.augment.RandomColour`, ``ln`` gains
        ``N(0, colour)`` per channel, luminance kept); drawn after every other parameter, so ``0`` (the default)
        leaves every other draw as it was.
    """

    def __init__(self, root: Optional[str | os.PathLike | Iterable[str | os.PathLike]] = None, length: int = 1000,
                 size: Any = 256, procedural: float = 0.0, tmos: Sequence[str] = ("youtube",),
                 randomize_tmo: bool | Sequence[str] = True, ev_range: tuple[float, float] = (-1.0, 1.0),
                 flip: bool = True,
                 fov: tuple[float, float] = (50.0, 100.0), pitch: tuple[float, float] = (-30.0, 30.0),
                 roll: tuple[float, float] = (-10.0, 10.0), peak: float = 1000.0, mid: float = 26.0,
                 pixels: Optional[int] = None, seed: int = 0, cache: int = 16,
                 tmo_weights: Optional[Sequence[float]] = None, peak_choices: Optional[Sequence[float]] = None,
                 peak_weights: Optional[Sequence[float]] = None, colour: float = 0.0):
        from hdrkit.data.augment import ExposureShift, RandomColour, RandomCrop, RandomFlip, RandomTMO, RandomView
        from hdrkit.data.pairs import list_hdr_files
        from hdrkit.data.procedural import ProceduralScene

        if root is None:
            files: list[Path] = []
        elif isinstance(root, (str, os.PathLike)):
            files = list_hdr_files(root) if Path(root).is_dir() else [Path(root)]
        else:
            files = [Path(p) for p in root]
        for f in files:
            if not f.is_file():
                raise InputError(f"HDR file {f} does not exist")
        self.files = files
        if int(length) < 1:
            raise InputError(f"length must be ≥ 1, got {length}")
        self.length = int(length)
        if not 0.0 <= float(procedural) <= 1.0:
            raise InputError(f"procedural must be a probability, got {procedural}")
        self.procedural = 1.0 if not files else float(procedural)
        self.view = RandomView(size, pitch=pitch, roll=roll, fov=fov)
        self.size = self.view.size
        self.crop = RandomCrop(self.size)
        self.flip = RandomFlip(0.5 if flip else 0.0)
        self.exposure = ExposureShift(ev_range)
        self.tmo = RandomTMO(tmos, randomize=randomize_tmo, weights=tmo_weights)
        self.scenes = ProceduralScene()
        self.colour = RandomColour(colour) if float(colour) > 0 else None
        self.peak, self.mid = float(peak), float(mid)
        self.peak_choices = None
        if peak_choices is not None:
            pc = np.asarray(peak_choices, np.float64).ravel()
            pw = np.ones(len(pc)) if peak_weights is None else np.asarray(peak_weights, np.float64)
            if (pc.size == 0 or not (np.isfinite(pc) & (pc > 0) & (pc <= 10000.0)).all() or pw.shape != pc.shape
                    or (pw < 0).any() or pw.sum() <= 0):
                raise InputError("peak_choices needs peaks in (0, 10000] cd/m², one non-negative weight each")
            self.peak_choices, self.peak_weights = pc, pw / pw.sum()
        if pixels is not None and int(pixels) < 1:
            raise InputError(f"pixels must be ≥ 1, got {pixels}")
        self.pixels = None if pixels is None else int(pixels)
        self.seed = int(seed)
        self._cache_size = max(0, int(cache))
        self._cache: OrderedDict[Path, np.ndarray] = OrderedDict()

    def __len__(self) -> int:
        return self.length

    # ----------------------------------------------------------------------------------------------- draws
    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, int(index)])

    def _load(self, path: Path) -> np.ndarray:
        from hdrkit.data.pairs import load_hdr_nits

        if path in self._cache:
            self._cache.move_to_end(path)
            return self._cache[path]
        nits = load_hdr_nits(path)
        if self._cache_size:
            self._cache[path] = nits
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return nits

    def _draw(self, index: int) -> tuple[SampleParams, Any, np.random.Generator]:
        """Draw every parameter of sample ``index`` (reading the source only to know its shape)."""
        from hdrkit.data.pairs import is_panorama

        if not 0 <= int(index) < self.length:
            raise IndexError(index)
        rng = self._rng(index)
        use_proc = rng.random() < self.procedural
        if use_proc:
            sp = self.scenes.make_params(rng)
            source, geometry, payload = "procedural", {"scene": sp.as_dict()}, sp
        else:
            path = self.files[int(rng.integers(len(self.files)))]
            nits = self._load(path)
            if is_panorama(nits.shape):
                vp = self.view.make_params(rng)
                geometry, payload = {"view": vp.as_dict()}, (path, vp)
            else:
                cp = self.crop.make_params(rng)
                geometry, payload = {"crop": cp.as_dict()}, (path, cp)
            source = path.name
        fp = self.flip.make_params(rng)
        ep = self.exposure.make_params(rng)
        tp = self.tmo.make_params(rng)
        pk = None if self.peak_choices is None else float(self.peak_choices[int(rng.choice(
            len(self.peak_choices), p=self.peak_weights))])
        cg = None if self.colour is None else self.colour.make_params(rng).gains
        params = SampleParams(int(index), source, geometry, fp.horizontal, ep.ev,
                              {"method": tp.method, "params": dict(tp.params)}, pk, cg)
        return params, (payload, fp, ep, tp), rng

    def params(self, index: int) -> SampleParams:
        """The random draws of sample ``index`` (deterministic; renders nothing)."""
        return self._draw(index)[0]

    # --------------------------------------------------------------------------------------------- render
    def pair(self, index: int) -> tuple[np.ndarray, np.ndarray, SampleParams]:
        """Sample ``index`` as numpy ``(sdr, hdr, params)``: float32 ``H×W×3`` each (see the module docstring)."""
        from hdrkit.data.augment import _pair
        from hdrkit.data.pairs import _ensure_min_size, make_pair
        from hdrkit.data.procedural import SceneParams
        from hdrkit.tonemap import master_hdr10

        params, (payload, fp, ep, tp), _ = self._draw(index)
        if isinstance(payload, SceneParams):
            scene = self.scenes.render(payload, self.size)
        else:
            path, gp = payload
            nits = self._load(path)
            if "view" in params.geometry:
                scene = self.view.apply(nits, gp)
            else:
                scene = self.crop.apply(_ensure_min_size(nits, _pair(self.size, "size")), gp)
        scene = self.flip.apply(scene, fp)
        if params.colour is not None:
            from hdrkit.data.augment import ColourParams

            scene = self.colour.apply(scene, ColourParams(params.colour))
        # The exposure shift moves the master's log-average (auto-exposure would cancel a plain gain).
        master = master_hdr10(scene, peak=self.peak if params.peak is None else params.peak,
                              mid=self.mid * 2.0 ** ep.ev)
        sdr, hdr = make_pair(master, tp.method, tp.params)
        return sdr, hdr, params

    def __getitem__(self, index: int) -> dict:
        import torch

        sdr, hdr, params = self.pair(index)
        if self.pixels is None:
            out = {"sdr": torch.from_numpy(np.ascontiguousarray(sdr.transpose(2, 0, 1))),
                   "hdr": torch.from_numpy(np.ascontiguousarray(hdr.transpose(2, 0, 1)))}
            if params.peak is not None:
                out["peak"] = torch.tensor(params.peak, dtype=torch.float32)
            return out
        rng = np.random.default_rng([self.seed, int(index), 1])
        h, w = sdr.shape[:2]
        flat = rng.integers(0, h * w, self.pixels)
        rows, cols = np.divmod(flat, w)
        xy = np.stack([cols / max(w - 1, 1), rows / max(h - 1, 1)], axis=-1).astype(np.float32)
        return {"sdr": torch.from_numpy(sdr.reshape(-1, 3)[flat].copy()),
                "hdr": torch.from_numpy(hdr.reshape(-1, 3)[flat].copy()),
                "xy": torch.from_numpy(xy)}
