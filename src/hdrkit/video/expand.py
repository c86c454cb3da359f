"""SDR → HDR10 video up-conversion (:func:`expand_video`) and HDR10 → SDR (:func:`tonemap_video`).

Two kinds of method:

* **Any image operator** of :mod:`hdrkit.expand` (classical or learned: ``expand.METHODS``), applied to each
  frame on its own (``smooth=0`` is the only mode; these can flicker).
* **The temporally stable global baseline** (methods in :data:`GLOBAL_METHODS`: ``gcm`` (default), ``masia2017``,
  ``masia2009``, ``akyuz2007``, ``linear``): the operator's *global parameters* — for ``gcm`` the condition
  vector of :mod:`hdrkit.models.gcm` (its global conditional mapping; the local highlight branch is not run),
  for the classical curves their statistics (log-average luminance, key, over-exposed percentage, 1 %/99 %
  luminance quantiles) — are measured on every frame, **smoothed within each shot** with a Gaussian of
  ``smooth`` seconds (two-sided, truncated at the shot's ends, so it resets at cuts — :mod:`hdrkit.video.shots`)
  and the resulting global mapping is **baked into a 33³ 3D LUT per frame** (SDR R'G'B' → PQ BT.2020 R'G'B'),
  applied by a fused Y'CbCr → LUT → Y'CbCr kernel.  ``smooth=0`` is the same operator per frame, unsmoothed.

Passes over the input (each streams; memory holds one frame plus the encoder's look-ahead, and a few numbers
per frame):

1. analysis: statistics on every ``step``-th pixel (:func:`analysis_step`: ≥ 16384 pixels, every 8th at
   1080p) and a 96-pixel HSV thumbnail for shot detection;
2. (global methods) content light: each frame's final LUT on every (step/2)-th pixel → MaxCLL / MaxFALL
   estimates; for per-frame methods the operator on the analysis pixels (pass 1) gives the estimate.  The estimate is what the
   HDR10 metadata carries (the SEI precedes the frames, so a value measured while encoding would come too late);
3. encoding, with the audio and subtitle streams copied through.
"""

from __future__ import annotations

import functools
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report
from hdrkit.video import _kernels as K
from hdrkit.video import shots as S
from hdrkit.video.io import (
    ContentLight,
    MasteringDisplay,
    VideoReader,
    VideoWriter,
    content_light_of,
    frame_light,
    ycbcr_matrices,
)
from hdrkit.video.stabilize import apply_level

#: Global operators with a temporally smoothed, LUT-baked video form.
GLOBAL_METHODS = ("gcm", "masia2017", "masia2009", "akyuz2007", "linear")
#: Default method of ``hdrkit video expand``: the smoothed global baseline with gcm's global mapping (chosen on
#: clips of ../shared/data/hdr: MABD-MSE 1.4 vs 4.0 ×10⁻⁴ and PU-PSNR 15.4 vs 12.1 dB against masia2017; docs/VIDEO.md).
DEFAULT_METHOD = "gcm"
#: Default smoothing (Gaussian std in seconds) of the global baseline's statistics.
DEFAULT_SMOOTH = 1.0
#: Lattice size of the per-frame LUT.
LUT_SIZE = 33
#: Statistics of a frame (columns of ``Analysis.stats``).
#: Luminance quantiles of the exposure anchor (``log_q*`` statistics).  The median alone: on the dev clips
#: (../shared/data/hdr) seven quantiles (5 … 95 %) reduced MABD-MSE no further and let a small bright object
#: that comes and goes (a flash) move the mid-tones.
ANCHOR_QUANTILES = (0.5,)
STAT_NAMES = ("log_mean", "key", "p_over", "log_lo", "log_hi") + tuple(f"log_q{round(100 * q):02d}"
                                                                        for q in ANCHOR_QUANTILES)
#: The analysis reads every ``step``-th pixel, ``step`` the largest power of two leaving ≥ this many pixels
#: (1080p: every 8th, 240×135); the content-light pass reads every ``step/2``-th.
_STATS_PIXELS = 16384


def analysis_step(width: int, height: int) -> int:
    """Pixel step of the analysis pass for a ``width × height`` video (see :data:`_STATS_PIXELS`)."""
    step = 1
    while (width // (2 * step)) * (height // (2 * step)) >= _STATS_PIXELS:
        step *= 2
    return step


def frame_stats(sdr: np.ndarray) -> np.ndarray:
    """The statistics of one SDR frame (BT.709 R'G'B' code values ``H×W×3``): :data:`STAT_NAMES`.

    ``log_mean`` = ln of the log-average luminance, ``key`` = Akyüz & Reinhard's key, ``p_over`` = % of pixels
    with ``L ≥ 254/255``, ``log_lo``/``log_hi`` = ln of the 1 % / 99 % luminance quantiles, ``log_qNN`` = ln of
    the :data:`ANCHOR_QUANTILES` (luminance of the BT.1886-linearised frame, 1 = SDR white) — everything the
    global operators need, and the quantiles of the exposure anchor.
    """
    from hdrkit.expand.classical import _linearise, image_key

    _, L = _linearise(sdr)
    k, L_H = image_key(L)
    qs = np.quantile(L, (0.01, 0.99) + ANCHOR_QUANTILES)
    lq = np.log(np.maximum(qs, 1e-6))
    return np.concatenate([[np.log(L_H), k, 100.0 * float(np.mean(L >= 254.0 / 255.0))], lq])


def global_curve(method: str, stats: np.ndarray, peak: float = 1000.0,
                 own: Optional[np.ndarray] = None) -> Callable[[np.ndarray], np.ndarray]:
    """``L → L_out`` (nits) of a global operator from (possibly smoothed) :func:`frame_stats`.

    ``own`` (the frame's unsmoothed statistics) anchors the exposure: the frame's luminance quantiles
    (:data:`ANCHOR_QUANTILES`: the median) are mapped onto the smoothed ones (piecewise linear in log luminance,
    a constant gain beyond the ends; for the median alone a pure gain) before the curve, so an SDR exposure that pumps
    within a shot (auto-exposure hunting, a camera curve that is not a pure gain) is not passed on; the output
    is capped at ``peak``.  With the frame's own statistics (no smoothing) the map is the identity and the curve
    is the image operator of :mod:`hdrkit.expand.classical` exactly.
    """
    from hdrkit.expand.classical import masia2009_gamma, masia2017_gamma

    peak = float(peak)
    log_mean, key, p_over, log_lo, log_hi = (float(v) for v in stats[:5])
    anchor = None
    if own is not None and not np.allclose(own[5:], stats[5:]):
        src = np.maximum.accumulate(np.asarray(own[5:], np.float64) + 1e-6 * np.arange(len(ANCHOR_QUANTILES)))
        dst = np.maximum.accumulate(np.clip(np.asarray(stats[5:], np.float64), src - 3.0, src + 3.0))

        def anchor(L):
            x = np.log(np.maximum(L, 1e-7))
            y = np.interp(x, src, dst)
            y = np.where(x < src[0], x + dst[0] - src[0], np.where(x > src[-1], x + dst[-1] - src[-1], y))
            return np.where(L > 0, np.exp(y), 0.0)
    if method in ("masia2017", "masia2009"):
        g = masia2017_gamma(np.exp(log_mean), key, p_over) if method == "masia2017" else masia2009_gamma(key)
        g = max(g, 0.1)
        curve = lambda L: peak * L**g  # noqa: E731
    elif method == "akyuz2007":
        lo, hi = np.exp(log_lo), np.exp(log_hi)
        if hi <= lo * 1.0001:
            curve = lambda L: peak * L  # noqa: E731
        else:
            curve = lambda L: peak * np.clip((L - lo) / (hi - lo), 0.0, 1.0)  # noqa: E731
    elif method == "linear":
        curve = lambda L: peak * L  # noqa: E731
    else:
        raise InputError(f"{method!r} has no global video form; choose one of {', '.join(GLOBAL_METHODS)}")
    if anchor is None:
        return curve
    return lambda L: np.minimum(curve(anchor(L)), peak)


@functools.lru_cache(maxsize=4)
def lattice(size: int = LUT_SIZE) -> np.ndarray:
    """The ``size³×3`` R'G'B' lattice points in [0, 1], indexed ``[r, g, b]`` (read-only, cached)."""
    g = np.linspace(0.0, 1.0, size)
    r, gg, b = np.meshgrid(g, g, g, indexing="ij")
    out = np.stack([r, gg, b], axis=-1)
    out.setflags(write=False)
    return out


def frame_lut(method: str, stats: np.ndarray, peak: float = 1000.0, size: int = LUT_SIZE,
              to_sdr: Optional[Callable[[np.ndarray], np.ndarray]] = None,
              own: Optional[np.ndarray] = None) -> np.ndarray:
    """A frame's global curve baked into a float32 ``size³×3`` LUT: stream R'G'B' → PQ BT.2020 R'G'B'.

    ``to_sdr`` maps the stream's R'G'B' to BT.709 code values when they differ (``VideoReader.convert``);
    ``own``: the frame's unsmoothed statistics (exposure anchor, :func:`global_curve`).
    """
    from hdrkit import color
    from hdrkit.expand.classical import expand_luminance, linearise

    if method == "gcm":
        nodes = lattice(size) if to_sdr is None else to_sdr(lattice(size).astype(np.float32))
        return gcm_lut(stats, nodes, peak)
    if to_sdr is None:
        nodes, lin = lattice(size), _lattice_linear(size)
    else:
        nodes = to_sdr(lattice(size).astype(np.float32))
        lin = linearise(nodes)
    nits = expand_luminance(nodes, global_curve(method, stats, peak, own), lin)
    return np.asarray(color.pq_inverse_eotf(np.clip(nits, 0.0, 10000.0)), dtype=np.float32)


@functools.lru_cache(maxsize=2)
def _gcm_model():
    from hdrkit.expand.learned import model_path
    from hdrkit.models.gcm import load_weights

    p = model_path("gcm")
    if not p.is_file():
        raise InputError(f"model weights {p} are missing (train them: python -m hdrkit.expand.gcm_train)")
    return load_weights(p)[0]


def gcm_condition(sdr: np.ndarray) -> np.ndarray:
    """The condition vector ``z`` of :class:`hdrkit.models.gcm.GCM` for one SDR frame (BT.709 code values
    ``H×W×3``; the analysis pass gives it every ``step``-th pixel): the global parameters that ``gcm``'s video
    form smooths within a shot.  float64 ``(cond,)``."""
    import torch

    v = torch.from_numpy(np.ascontiguousarray(np.asarray(sdr, np.float32).transpose(2, 0, 1)))[None]
    with torch.no_grad():
        return _gcm_model().condition(v)[0].numpy().astype(np.float64)


def gcm_lut(z: np.ndarray, nodes: np.ndarray, peak: float = 1000.0) -> np.ndarray:
    """gcm's global mapping under condition ``z`` (:func:`gcm_condition`, possibly smoothed) at the lattice
    ``nodes`` (BT.709 code values ``…×3``) → PQ BT.2020 R'G'B' float32 (``hdrkit.models.gcm``'s mapping, then
    its 1000 cd/m² grade re-graded to ``peak`` as ``hdrkit.expand``'s ``gcm`` does)."""
    import torch

    from hdrkit import color
    from hdrkit.tonemap import regrade_peak

    pts = torch.from_numpy(np.ascontiguousarray(nodes, np.float32).reshape(1, -1, 3))
    with torch.no_grad():
        log_f = _gcm_model().mapping(pts, torch.from_numpy(np.asarray(z, np.float32))[None])[0].numpy()
    nits = np.exp(np.minimum(log_f.astype(np.float64), np.log(1e4)))
    nits = np.clip(color.convert_primaries(nits, "bt709", "bt2020"), 0.0, 1e4)
    nits = regrade_peak(nits, float(peak), 1000.0).reshape(np.shape(nodes))
    return np.asarray(color.pq_inverse_eotf(np.clip(nits, 0.0, 10000.0)), dtype=np.float32)


@functools.lru_cache(maxsize=4)
def _lattice_linear(size: int) -> tuple[np.ndarray, np.ndarray]:
    from hdrkit.expand.classical import linearise

    lin, L = linearise(lattice(size))
    lin.setflags(write=False)
    L.setflags(write=False)
    return lin, L


@dataclass
class Analysis:
    """Result of the analysis pass: per-frame statistics, shot cuts and content light."""

    frames: int
    fps: float
    stats: np.ndarray  # frames × len(STAT_NAMES)
    scores: np.ndarray  # content score of each frame (shot detection)
    cuts: list[int]
    light: Optional[np.ndarray] = None  # frames × 2 (max, mean of max(R,G,B)) nits; per-frame methods only
    params: Optional[np.ndarray] = None  # the statistics actually used per frame (smoothed or not)
    anchor: bool = True  # map each frame's median onto the smoothed one (global_curve's ``own``)
    gains: Optional[np.ndarray] = None  # ln gain per frame of the level stabiliser (hdrkit.video.stabilize)

    def own(self, t: int) -> Optional[np.ndarray]:
        """The exposure anchor of frame ``t`` for :func:`frame_lut` (None when anchoring is off)."""
        return self.stats[t] if self.anchor else None

    def lut(self, method: str, t: int, peak: float, to_sdr=None) -> np.ndarray:
        """Frame ``t``'s final LUT: :func:`frame_lut` of its (smoothed) parameters, then the stabiliser's gain."""
        from hdrkit.video.stabilize import level_lut

        lut = frame_lut(method, self.params[t], peak, to_sdr=to_sdr, own=self.own(t))
        return lut if self.gains is None else level_lut(lut, float(self.gains[t]), peak)


@dataclass
class ExpandResult:
    """What :func:`expand_video` did."""

    output: str
    frames: int
    width: int
    height: int
    method: str
    smooth: float
    codec: str
    cuts: list[int]
    content_light: ContentLight
    seconds: float
    fps: float
    passes: dict = field(default_factory=dict)


class _Rate:
    """Frames / s and ETA for progress descriptions."""

    def __init__(self, progress: Optional[ProgressFn], label: str, total: Optional[int]):
        self.progress, self.label, self.total = progress, label, total or 0
        self.t0 = time.perf_counter()

    def __call__(self, done: int) -> None:
        if self.progress is None:
            return
        dt = time.perf_counter() - self.t0
        fps = done / dt if dt > 0 else 0.0
        text = f"{self.label} {fps:.1f} fps"
        if self.total and fps > 0 and done <= self.total:
            eta = (self.total - done) / fps
            text += f", ETA {int(eta // 60)}:{int(eta % 60):02d}"
        report(self.progress, done, self.total, text)


def _thumb(reader: VideoReader, frame, step: int) -> np.ndarray:
    """Every ``step``-th pixel of a frame (nearest, values unchanged) as SDR BT.709 code values."""
    if reader.info.chroma == "rgb":
        return reader.convert(reader.to_rgb_prime(frame)[::step, ::step])
    y, cb, cr, sx, sy = reader.frame_planes(frame)
    ys = y[::step, ::step]
    cbs = cb[:: max(1, step >> sy), :: max(1, step >> sx)]
    crs = cr[:: max(1, step >> sy), :: max(1, step >> sx)]
    # the subsampled chroma grid matches the subsampled luma grid when step ≥ the subsampling factor
    out = np.empty(ys.shape + (3,), np.float32)
    m_in, _ = ycbcr_matrices(reader.info.matrix)
    K.planes_to_rgb(ys, cbs, crs, 0 if step >= (1 << sx) else sx, 0 if step >= (1 << sy) else sy,
                    reader.frame_quant(frame), m_in, out)
    return reader.convert(out)


def _open_sdr(path, matrix=None, full_range=None) -> VideoReader:
    reader = VideoReader(path, matrix=matrix, full_range=full_range)
    if reader.info.is_hdr:
        name, t = reader.path.name, reader.info.transfer
        reader.close()
        raise InputError(f"{name} is already HDR ({t.upper()}); video expand takes SDR video")
    return reader


def _check_complete(reader: VideoReader, n: int) -> None:
    expected = reader.info.frames
    if expected and n < expected - max(2, int(0.02 * expected)):
        raise InputError(f"{reader.path.name} is truncated: decoded {n} of {expected} frames")


class _Analyser:
    """Per-frame analysis shared by the file pass and :func:`expand_frames`: statistics, shot score, light."""

    def __init__(self, method: str, params: Optional[dict]):
        self.method, self.params = method, dict(params or {})
        self.per_frame = method not in GLOBAL_METHODS
        self.stats, self.scores, self.light = [], [], []
        self._prev = None

    def add(self, sdr_subsampled: np.ndarray) -> None:
        from hdrkit.expand import expand as expand_image

        self.stats.append(gcm_condition(sdr_subsampled) if self.method == "gcm" else frame_stats(sdr_subsampled))
        hsv = S.hsv_thumbnail(sdr_subsampled)
        self.scores.append(S.content_score(self._prev, hsv))
        self._prev = hsv
        if self.per_frame:
            self.light.append(frame_light(expand_image(sdr_subsampled, method=self.method, **self.params)))

    def result(self, fps: float, smooth: float, threshold: float, min_length: int, anchor: bool = True) -> Analysis:
        st = np.array(self.stats)
        cuts = S.detect_cuts(self.scores, threshold, min_length)
        used = st if self.per_frame else S.smooth_within_shots(st, cuts, smooth * fps)
        return Analysis(len(st), fps, st, np.array(self.scores), cuts,
                        np.array(self.light) if self.per_frame else None, used, anchor and self.method != "gcm")


def analyse(path: str | os.PathLike, method: str = DEFAULT_METHOD, smooth: float = DEFAULT_SMOOTH,
            threshold: float = S.DEFAULT_THRESHOLD, min_length: int = S.DEFAULT_MIN_LENGTH,
            params: Optional[dict] = None, progress: Optional[ProgressFn] = None,
            matrix: Optional[str] = None, full_range: Optional[bool] = None, anchor: bool = True) -> Analysis:
    """Pass 1: statistics, shots and (per-frame methods) content light of an SDR video."""
    an = _Analyser(method, params)
    with _open_sdr(path, matrix, full_range) as reader:
        rate = _Rate(progress, "analysing", reader.info.frames)
        step = analysis_step(reader.info.width, reader.info.height)
        for frame in reader.decoded():
            an.add(_thumb(reader, frame, step))
            rate(len(an.stats))
        _check_complete(reader, len(an.stats))
        fps = reader.info.fps or 25.0
    return an.result(fps, smooth, threshold, min_length, anchor)


def _check_stabilise(stabilise: bool, hold: Optional[float], method: str, per_frame: bool, multi: bool) -> float:
    """The stabiliser's hold in seconds (default :data:`hdrkit.video.stabilize.DEFAULT_HOLD`), checked."""
    from hdrkit.video.stabilize import DEFAULT_HOLD

    hold = DEFAULT_HOLD if hold is None else float(hold)
    if np.isnan(hold) or hold < 0:
        raise InputError(f"--hold must be ≥ 0 seconds (inf: the shot's mean level), got {hold}")
    if stabilise and per_frame and not multi:
        raise InputError(f"--stabilise is for the global baseline ({', '.join(GLOBAL_METHODS)}) and the video "
                         f"methods, not the per-frame method {method}")
    return hold


def expand_frames(frames, fps: float = 24.0, method: str = DEFAULT_METHOD, smooth: Optional[float] = None,
                  peak: float = 1000.0, threshold: float = S.DEFAULT_THRESHOLD,
                  min_length: int = S.DEFAULT_MIN_LENGTH, params: Optional[dict] = None,
                  anchor: bool = True, stabilise: bool = False, hold: Optional[float] = None) -> list[np.ndarray]:
    """In-memory form of :func:`expand_video` for a list of SDR frames (BT.709 code values ``H×W×3``): the same
    analysis (every 4th pixel), shots, smoothing, level stabiliser and per-frame LUTs, without the codecs.
    Returns nits frames."""
    from hdrkit import color
    from hdrkit.expand import expand as expand_image
    from hdrkit.video import stabilize as ST
    from hdrkit.video.models import VIDEO_METHODS

    multi = method in VIDEO_METHODS
    per_frame = method not in GLOBAL_METHODS
    hold = _check_stabilise(stabilise, hold, method, per_frame, multi)
    if multi:
        from hdrkit.video.models import method_module
        from hdrkit.video.models.temporal_clues import to_work, work_size

        M = method_module(method)
        step = analysis_step(frames[0].shape[1], frames[0].shape[0]) if len(frames) else 1
        cuts = S.frame_cuts([np.asarray(f, np.float32)[::step, ::step] for f in frames], threshold, min_length)
        opts = M.options(**(params or {}))
        out = M.expand_frames(frames, cuts, peak, **opts)
        if stabilise:
            size = work_size(frames[0].shape[1], frames[0].shape[0], M.load_model().cfg.work)
            out = ST.stabilise_frames(out, frames, cuts, hold * fps, peak, lambda f: to_work(f, size))[0]
        return out
    smooth = (0.0 if per_frame else DEFAULT_SMOOTH) if smooth is None else float(smooth)
    if per_frame:
        return [expand_image(f, method=method, **(params or {})) for f in frames]
    an = _Analyser(method, params)
    for f in frames:
        step = analysis_step(f.shape[1], f.shape[0])
        an.add(np.asarray(f, np.float32)[::step, ::step])
    a = an.result(fps, smooth, threshold, min_length, anchor)
    if stabilise:  # as the content-light pass of the file: each frame's LUT on every (step/2)-th pixel
        tracker = ST.LevelTracker()
        for t, f in enumerate(frames):
            s2 = max(1, analysis_step(f.shape[1], f.shape[0]) // 2)
            small = np.ascontiguousarray(np.asarray(f, np.float32)[::s2, ::s2])
            pq = np.empty_like(small)
            K.apply_lut(small, a.lut(method, t, peak), pq)
            tracker.push(pq, small, cut=t in a.cuts)
        a.gains = tracker.gains(a.cuts, hold * fps)
    out = []
    for t, f in enumerate(frames):
        f = np.ascontiguousarray(f, dtype=np.float32)
        pq = np.empty_like(f)
        K.apply_lut(f, a.lut(method, t, peak), pq)
        out.append(np.asarray(color.pq_eotf(pq), np.float32))
    return out


def _global_light(path, analysis: Analysis, method: str, peak: float, progress, matrix, full_range,
                  tracker=None) -> np.ndarray:
    """Pass 2 for the global methods: each frame's LUT on every ``step/2``-th pixel → (max, mean) of
    max(R,G,B) in nits (:func:`hdrkit.video._kernels.lut_light`); with ``tracker``
    (:class:`hdrkit.video.stabilize.LevelTracker`) the level steps of the same pixels' output too."""
    from hdrkit import color

    eotf = np.asarray(color.pq_eotf(np.linspace(0.0, 1.0, 4096)), np.float64)
    light = []
    with _open_sdr(path, matrix, full_range) as reader:
        rate = _Rate(progress, "measuring light", analysis.frames)
        step = max(1, analysis_step(reader.info.width, reader.info.height) // 2)
        for t, frame in enumerate(reader.decoded()):
            if t >= analysis.frames:
                break
            sdr = np.ascontiguousarray(_thumb(reader, frame, step))
            lut = analysis.lut(method, t, peak)
            light.append(K.lut_light(sdr, lut, eotf))
            if tracker is not None:
                pq = np.empty_like(sdr)
                K.apply_lut(sdr, lut, pq)
                tracker.push(pq, sdr, cut=t in analysis.cuts)
            rate(t + 1)
    return np.array(light)


def _finish_grade(nits: np.ndarray, peak: float) -> np.ndarray:
    """A 1000 cd/m² grade of the learned models re-graded to ``peak`` (as ``hdrkit expand``'s learned methods)."""
    from hdrkit.expand.learned import _finish

    return _finish(nits, peak)


class _Thumbnails:
    """Work-resolution SDR thumbnails of a video, one per frame, from a reader of its own (closed by
    :meth:`close` or at exhaustion) — the look-ahead stream of the multi-frame methods."""

    def __init__(self, src, matrix, full_range, size):
        from hdrkit.video.models.temporal_clues import to_work

        self.reader = _open_sdr(src, matrix, full_range)
        self._it = (to_work(self.reader.convert(self.reader.to_rgb_prime(f)), size) for f in self.reader.decoded())

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._it)
        except StopIteration:
            self.close()
            raise

    def close(self):
        self.reader.close()


#: Row band height of the full-resolution stage of the multi-frame methods (even: 4:2:0 chroma rows).
BAND_ROWS = 64


def _restored_bands(M, model, sdr: np.ndarray, base: np.ndarray, delta: np.ndarray, peak: float,
                    gain: Optional[float] = None, rows: int = BAND_ROWS, options: Optional[dict] = None):
    """The full-resolution stage of a multi-frame method (``M``: its module) in row bands: ``(r0, nits rows)``
    of ``M.output_bands`` (``temporal-clues``: Eq. 1's blend, :func:`hdrkit.video.models.temporal_clues.apply_gain`
    — Δ upsampled, α, the per-frame model's output ``base``; ``kpn-mfi``: its kernels on ``base``), the re-grade
    to ``peak`` and the stabiliser's ``gain`` (ln), ``rows`` rows at a time — the same numbers as the whole frame
    at once, holding a few band-sized temporaries instead of whole-frame ones."""
    for r0, out in M.output_bands(model, base, sdr, delta, rows, **(options or {})):
        out = _finish_grade(out, peak)
        yield r0, (out if gain is None else apply_level(out, gain, peak))


def _multi_light(src, analysis: Analysis, M, model, work, options: dict, peak: float, progress, matrix,
                 full_range, tracker=None) -> np.ndarray:
    """Content-light pass of the multi-frame methods (``M``: the method's module): the whole method at the work
    resolution (the encode pass repeats it at the same resolution, so its maps are the same) → (max, mean) of
    max(R,G,B) per frame; with ``tracker`` (:class:`hdrkit.video.stabilize.LevelTracker`) the level steps of
    that output too."""
    from hdrkit import color

    thumbs = _Thumbnails(src, matrix, full_range, work)
    light = []
    try:
        r = M.restorer(model, thumbs, analysis.frames, analysis.cuts, **options)
        rate = _Rate(progress, "restoring (content light)", analysis.frames)
        for t in range(analysis.frames):
            d = r.frame(t)
            out = _finish_grade(M.apply_output(model, r.base(t), r.thumb(t), d, **options), peak)
            light.append(frame_light(out))
            if tracker is not None:
                tracker.push(np.asarray(color.pq_inverse_eotf(out), np.float32), r.thumb(t), cut=t in analysis.cuts)
            rate(t + 1)
    finally:
        thumbs.close()
    return np.array(light)


def expand_video(src: str | os.PathLike, dst: str | os.PathLike, method: str = DEFAULT_METHOD,
                 smooth: Optional[float] = None, peak: Optional[float] = None, codec: str = "hevc",
                 crf: Optional[float] = None, preset: Optional[str] = None, chroma: str = "420",
                 mastering: Optional[MasteringDisplay] = None, light: Optional[ContentLight] = None,
                 params: Optional[dict] = None, threshold: float = S.DEFAULT_THRESHOLD,
                 min_length: int = S.DEFAULT_MIN_LENGTH, copy_streams: bool = True,
                 matrix: Optional[str] = None, full_range: Optional[bool] = None, anchor: bool = True,
                 stabilise: bool = False, hold: Optional[float] = None,
                 progress: Optional[ProgressFn] = None) -> ExpandResult:
    """Up-convert an SDR video file to HDR10 (HEVC Main 10 or AV1 10-bit), atomically.

    Parameters
    ----------
    src, dst : input video (any container/codec FFmpeg reads) and output ``.mkv``/``.mp4``/``.mov``.
    method : a :data:`GLOBAL_METHODS` name (smoothed global baseline, LUT per frame) or any other
        ``hdrkit.expand.METHODS`` name (applied per frame).
    smooth : Gaussian std in seconds of the global statistics within a shot (default 1 s; 0 = per frame).
    peak : nits of SDR white for the operator (1000 by default; also the mastering display's maximum).
    codec, crf, preset, chroma : encoder settings (:class:`hdrkit.video.io.VideoWriter`).
    mastering, light : HDR10 metadata; ``light=None`` estimates MaxCLL/MaxFALL (module docstring).
    params : extra operator parameters for per-frame methods.
    threshold, min_length : shot detection (:mod:`hdrkit.video.shots`).
    matrix, full_range : override the input's Y'CbCr matrix / range.
    anchor : global methods: map each frame's median luminance onto the smoothed one (:func:`global_curve`).
    stabilise, hold : the level stabiliser (:mod:`hdrkit.video.stabilize`; global methods and video methods):
        one gain per frame that keeps the output light of the same scene points steady within a shot; ``hold``:
        std in seconds of the level trend it keeps (default: the shot's mean level).  Measured in the content-
        light pass (which then runs even when ``light`` is given), applied in the encode pass.

    Returns an :class:`ExpandResult`; no file is left behind on any error or interrupt.
    """
    from hdrkit.expand import METHODS
    from hdrkit.expand import expand as expand_image
    from hdrkit.io.atomic import atomic_path
    from hdrkit.video.models import VIDEO_METHODS

    if method not in GLOBAL_METHODS and method not in METHODS and method not in VIDEO_METHODS:
        raise InputError(f"unknown expansion method {method!r}; choose one of "
                         f"{', '.join(list(GLOBAL_METHODS) + list(VIDEO_METHODS) + [m for m in METHODS if m not in GLOBAL_METHODS])}")
    multi = method in VIDEO_METHODS
    per_frame = method not in GLOBAL_METHODS
    if smooth is None:
        smooth = 0.0 if per_frame else DEFAULT_SMOOTH
    smooth = float(smooth)
    if np.isnan(smooth) or smooth < 0:
        raise InputError(f"--smooth must be ≥ 0 seconds (inf: one exposure per shot), got {smooth}")
    if multi and smooth > 0:
        raise InputError(f"{method} takes no temporal smoothing (--smooth): it is temporal by construction")
    if per_frame and smooth > 0:
        raise InputError(f"{method} is applied per frame; temporal smoothing is for {', '.join(GLOBAL_METHODS)}")
    hold = _check_stabilise(stabilise, hold, method, per_frame, multi)
    if not per_frame:  # the global baseline's parameters come from the (smoothed) statistics: nothing to ignore
        extra = {k: v for k, v in (params or {}).items() if not (k == "device" and str(v) == "cpu")}
        if "device" in extra:
            raise InputError(f"the {method} video baseline runs on the CPU (a 3D LUT per frame); drop --device")
        if extra:
            raise InputError(f"the {method} video baseline takes no operator parameters (got "
                             f"{', '.join(sorted(extra))}); its curve follows the smoothed statistics of each shot")
    peak = 1000.0 if peak is None else float(peak)
    if not np.isfinite(peak) or not 0 < peak <= 10000:
        raise InputError(f"--peak must lie in (0, 10000] nits, got {peak}")
    op_params = dict(params or {})
    if multi:
        from hdrkit.video.models import method_module
        from hdrkit.video.models.temporal_clues import work_size

        M = method_module(method)
        op_params = M.options(**op_params)
    elif per_frame:
        op_params.setdefault("peak", peak)
        import inspect

        try:
            inspect.signature(METHODS[method]).bind(np.zeros((2, 2, 3)), **op_params)
        except TypeError:
            op_params.pop("peak", None)
    dst = Path(dst)
    with VideoReader(src) as probe_reader:  # fail fast, before any pass, on sizes and HDR input
        info = probe_reader.info
    if info.is_hdr:
        raise InputError(f"{Path(src).name} is already HDR ({info.transfer.upper()}); video expand takes SDR video")
    # validate the encoder settings before the analysis pass (a bad setting must not cost a pass)
    from hdrkit.video.io import _check_output, check_encodable

    _check_output(dst)
    check_encodable(codec, info.width, info.height, chroma, hdr=True)
    t0 = time.perf_counter()
    passes = {}
    analysis = analyse(src, "linear" if multi else method, smooth, threshold, min_length,
                       None if multi else op_params, progress, matrix, full_range, anchor)
    passes["analysis_s"] = time.perf_counter() - t0
    if multi:
        mf_model = M.load_model()
        work = work_size(info.width, info.height, mf_model.cfg.work)
    if light is None or stabilise:
        from hdrkit.video.stabilize import LevelTracker, level_light

        t1 = time.perf_counter()
        tracker = LevelTracker() if stabilise else None
        if multi:
            fl = _multi_light(src, analysis, M, mf_model, work, op_params, peak, progress, matrix, full_range, tracker)
        else:
            fl = analysis.light if per_frame else _global_light(src, analysis, method, peak, progress, matrix,
                                                                full_range, tracker)
        if tracker is not None:
            analysis.gains = tracker.gains(analysis.cuts, hold * analysis.fps)
            fl = level_light(fl, analysis.gains, peak)
        if light is None:
            light = content_light_of(float(fl[:, 0].max()), float(fl[:, 1].max()))
        passes["light_s"] = time.perf_counter() - t1
    mastering = mastering or MasteringDisplay.named("p3d65", max_nits=max(peak, 100.0))
    t2 = time.perf_counter()
    with _open_sdr(src, matrix, full_range) as reader, atomic_path(dst) as tmp:
        copies = reader.copyable_streams() if copy_streams else []
        with VideoWriter(tmp, info.width, info.height, reader.stream.average_rate or analysis.fps, codec=codec,
                         hdr=True, chroma=chroma, crf=crf, preset=preset, mastering=mastering,
                         light=light) as writer:
            writer.copy_streams(copies)
            rate = _Rate(progress, "encoding", analysis.frames)
            q_out = K.plane_quant(10, False)
            _, m_out = ycbcr_matrices("bt2020")
            m_in, _ = ycbcr_matrices(reader.info.matrix)
            to_sdr = None if reader.info.primaries in ("bt709", "bt601") else reader.convert
            n = 0
            if multi:
                thumbs = _Thumbnails(src, matrix, full_range, work)
                restorer = M.restorer(mf_model, thumbs, analysis.frames, analysis.cuts, **op_params)
            for frame in reader.decoded(copies, writer.mux_copy):
                if n >= analysis.frames:
                    break
                if multi:
                    sdr = reader.convert(reader.to_rgb_prime(frame))
                    gain = None if analysis.gains is None else float(analysis.gains[n])
                    writer.write_nits_bands(_restored_bands(M, mf_model, sdr, M.gcm_frame(sdr), restorer.frame(n), peak,
                                                            gain, options=op_params))
                elif per_frame:
                    sdr = reader.convert(reader.to_rgb_prime(frame))
                    writer.write_nits(expand_image(sdr, method=method, **op_params))
                elif reader.info.chroma == "rgb":
                    sdr = reader.to_rgb_prime(frame)
                    pq = np.empty_like(sdr)
                    K.apply_lut(sdr, analysis.lut(method, n, peak, to_sdr), pq)
                    writer.write_rgb_prime(pq)
                else:
                    lut = analysis.lut(method, n, peak, to_sdr)
                    y, cb, cr, sx, sy = reader.frame_planes(frame)
                    oy, ocb, ocr = writer.new_planes()
                    K.planes_lut_planes(y, cb, cr, sx, sy, reader.frame_quant(frame), m_in, lut,
                                        1 if chroma == "420" else 0, q_out, m_out, 1023.0, oy, ocb, ocr)
                    writer.write_planes(oy, ocb, ocr)
                n += 1
                rate(n)
            if multi:
                thumbs.close()
    passes["encode_s"] = time.perf_counter() - t2
    seconds = time.perf_counter() - t0
    return ExpandResult(str(dst), n, info.width, info.height, method, smooth, codec, analysis.cuts, light, seconds,
                        n / seconds if seconds > 0 else 0.0, passes)
