"""Temporal level stabiliser: one gain per frame that holds the light of the same scene points steady in a shot.

A per-frame SDR → HDR operator (``gcm`` per frame, and the methods built on it) partly follows the SDR camera's
auto-exposure — its lag and its drift — while an HDR master made for the whole shot does not: the same scene point
comes out brighter or darker from frame to frame.  This module measures that on the output itself and takes it
out, with pure functions and one small streaming helper:

1. :func:`level_step`: the change of the output's level from frame ``t − 1`` to ``t`` — the **median** of
   ``ln Y_t(x) − ln Y_{t−1}(x + F(x))`` over pixels that are matched by OpenCV DIS flow ``F`` (computed on the
   outputs' PQ greys at a work resolution), pass the forward–backward occlusion check of
   :func:`hdrkit.metrics.temporal.occlusion_mask`, and are **mid-tones in the SDR of both frames** (no channel
   ≥ :data:`MID_HI`, luminance ≥ :data:`MID_LO`): clipped highlights — where a moving bright object usually is —
   and crushed blacks carry no level information, and the median ignores the rest of what moves.
2. :func:`stabilising_gains`: within each shot (cuts reset it) the steps are accumulated into the level
   ``L_t`` (``L`` = 0 at the shot's first frame) and the gain ``g_t = −(L_t − trend_t)`` removes the level's
   departure from its **trend** — ``L`` smoothed with a Gaussian of ``hold`` frames inside the shot
   (:func:`hdrkit.video.shots.smooth_within_shots`; ``hold = inf``: the shot's mean level).  So the correction
   cannot drift away: it is bounded by the level's spread within ``hold``, it is zero on average over the shot,
   and changes slower than ``hold`` (a real change of the scene's light) pass.  Gains are limited to
   ±:data:`MAX_STOPS` stops.
3. :func:`apply_level`: one gain on linear light, hue kept where it would exceed ``peak``.

Streaming: :class:`LevelTracker` holds the previous work-resolution frame only and one float per frame; the
gains are computed once all steps are known (an analysis pass), and the encode pass applies one number per frame.

Shapes: work-resolution outputs are PQ code values ``h×w×3`` (float32); SDR frames BT.709 code values ``h×w×3``;
output frames absolute linear cd/m² ``H×W×3``.
"""

from __future__ import annotations

import math
from typing import Callable, List, Optional, Sequence

import numpy as np

from hdrkit.errors import InputError

#: SDR mid-tones used for the level: max channel below this code value ...
MID_HI = 0.9
#: ... and BT.1886 linear luminance at least this (≈ code value 0.075).
MID_LO = 2e-3
#: Fewest matched mid-tone pixels for a level step (fewer: the step counts as 0, no information).
MIN_PIXELS = 64
#: Largest correction, in stops either way.
MAX_STOPS = 1.5
#: Default trend of the level (Gaussian std in seconds): chosen on the dev clips (docs/VIDEO.md).
DEFAULT_HOLD = math.inf
_Y = np.array([0.2627, 0.6780, 0.0593], np.float32)  # BT.2020 luminance (the outputs are BT.2020)
_Y709 = np.array([0.2126, 0.7152, 0.0722], np.float32)


def mid_tones(sdr: np.ndarray) -> np.ndarray:
    """``h×w`` bool: SDR pixels (BT.709 code values ``h×w×3``) that are mid-tones (see :data:`MID_HI`, :data:`MID_LO`)."""
    v = np.asarray(sdr, np.float32)
    Y = (np.clip(v, 0.0, 1.0) ** 2.4) @ _Y709
    return (v.max(-1) < MID_HI) & (Y >= MID_LO)


def level_step(prev_pq: np.ndarray, cur_pq: np.ndarray, prev_ok: np.ndarray, cur_ok: np.ndarray,
               preset: str = "medium", min_pixels: int = MIN_PIXELS) -> float:
    """ln of the output's light ratio frame ``cur`` / frame ``prev`` on the same scene points.

    ``prev_pq``, ``cur_pq``: the outputs as PQ code values (``h×w×3``); ``prev_ok``, ``cur_ok``: ``h×w`` bool
    masks of usable pixels (:func:`mid_tones` of their SDR).  The flow ``F`` (``cur(x) ≈ prev(x + F(x))``) is
    DIS on the PQ greys (mean-normalised patches, so a level change of a few tenths of a stop does not bias it);
    pixels must pass the forward–backward check and be usable in both frames.  Returns the median of
    ``ln Y_cur − ln Y_prev∘F`` (float), or 0.0 when fewer than ``min_pixels`` pixels qualify.
    """
    from hdrkit.color import pq_eotf
    from hdrkit.metrics.temporal import dis_flow, occlusion_mask, warp

    p, c = np.asarray(prev_pq, np.float32), np.asarray(cur_pq, np.float32)
    if p.shape != c.shape or p.ndim != 3 or p.shape[-1] != 3:
        raise InputError(f"level_step needs two h×w×3 frames of one size, got {p.shape} and {c.shape}")
    fw = dis_flow(c, p, preset)
    bw = dis_flow(p, c, preset)
    Yc = np.asarray(pq_eotf(c), np.float32) @ _Y
    Yp = warp(np.asarray(pq_eotf(p), np.float32) @ _Y, fw)
    okp = warp(np.asarray(prev_ok, np.float32), fw) > 0.999
    sel = occlusion_mask(fw, bw) & np.asarray(cur_ok, bool) & okp & (Yc > 1e-3) & (Yp > 1e-3)
    if int(sel.sum()) < min_pixels:
        return 0.0
    return float(np.median(np.log(Yc[sel]) - np.log(Yp[sel])))


def shot_level(steps: Sequence[float], cuts: Sequence[int]) -> np.ndarray:
    """Cumulative level ``L`` (``T``) of each frame within its shot: ``L`` = 0 at a shot's first frame, then
    the running sum of ``steps`` (``steps[t]``: ln level change from ``t − 1`` to ``t``; ignored at shot starts)."""
    s = np.nan_to_num(np.asarray(steps, np.float64), nan=0.0, posinf=0.0, neginf=0.0)
    starts = set(int(c) for c in cuts) | {0}
    level = np.zeros(len(s))
    for t in range(1, len(s)):
        level[t] = 0.0 if t in starts else level[t - 1] + s[t]
    return level


def stabilising_gains(steps: Sequence[float], cuts: Sequence[int], hold: float = DEFAULT_HOLD,
                      max_stops: float = MAX_STOPS) -> np.ndarray:
    """ln gain of each frame (``T``, float64): ``−(L − trend)`` with ``L`` = :func:`shot_level` and ``trend`` its
    Gaussian smoothing of std ``hold`` frames within the shot (``inf``: the shot's mean; ``0``: no correction),
    limited to ±``max_stops`` stops."""
    from hdrkit.video.shots import smooth_within_shots

    hold = float(hold)
    if np.isnan(hold) or hold < 0:
        raise InputError(f"the stabiliser's hold must be ≥ 0 frames (inf: the shot's mean), got {hold}")
    level = shot_level(steps, cuts)
    if hold == 0 or len(level) == 0:
        return np.zeros(len(level))
    shots = sorted(set(int(c) for c in cuts if 0 <= int(c) < len(level)) | {0})
    trend = smooth_within_shots(level, shots, hold)
    lim = float(max_stops) * math.log(2.0)
    return np.clip(-(level - trend), -lim, lim)


def apply_level(nits: np.ndarray, log_gain: float, peak: float = 1e4) -> np.ndarray:
    """``nits · exp(log_gain)`` (``…×3`` linear cd/m²), the three channels scaled down together where
    ``max(R, G, B)`` would exceed ``peak`` (hue kept).  float32."""
    x = np.asarray(nits, np.float32) * np.float32(math.exp(float(log_gain)))
    if log_gain > 0:
        m = x.max(-1, keepdims=True)
        x = np.where(m > peak, x * (np.float32(peak) / np.maximum(m, np.float32(1e-30))), x)
    return np.clip(x, 0.0, peak).astype(np.float32)


def level_lut(lut_pq: np.ndarray, log_gain: float, peak: float = 1e4) -> np.ndarray:
    """A PQ-output LUT (``…×3`` PQ code values) followed by :func:`apply_level` (float32, same shape)."""
    from hdrkit.color import pq_eotf, pq_inverse_eotf

    if log_gain == 0:
        return lut_pq
    nits = apply_level(np.asarray(pq_eotf(np.asarray(lut_pq, np.float64)), np.float32), log_gain, peak)
    return np.asarray(pq_inverse_eotf(nits), np.float32)


def level_light(light: np.ndarray, log_gains: np.ndarray, peak: float = 1e4) -> np.ndarray:
    """Per-frame content light ``(max, mean)`` of max(R, G, B) (``T×2`` cd/m²) after the gains: the maximum
    scaled and limited to ``peak``, the frame mean scaled (an upper bound where the limit applies)."""
    f = np.exp(np.asarray(log_gains, np.float64))
    out = np.array(light, np.float64, copy=True)
    out[:, 0] = np.minimum(out[:, 0] * f, peak)
    out[:, 1] = np.minimum(out[:, 1] * f, out[:, 0])
    return out


class LevelTracker:
    """Streams :func:`level_step` over a clip in frame order, holding only the previous frame.

    ``push(pq, sdr)``: the work-resolution output (PQ code values ``h×w×3``) and SDR (code values ``h×w×3``) of
    the next frame; ``cut=True`` (or frame 0) starts a shot (step 0).  :attr:`steps`: one float per frame."""

    def __init__(self, preset: str = "medium"):
        self.preset = preset
        self.steps: List[float] = []
        self._prev = None

    def push(self, pq: np.ndarray, sdr: np.ndarray, cut: bool = False) -> float:
        cur = (np.ascontiguousarray(pq, np.float32), mid_tones(sdr))
        if self._prev is None or cut or self._prev[0].shape != cur[0].shape:
            step = 0.0
        else:
            step = level_step(self._prev[0], cur[0], self._prev[1], cur[1], self.preset)
        self._prev = cur
        self.steps.append(step)
        return step

    def gains(self, cuts: Sequence[int], hold: float = DEFAULT_HOLD) -> np.ndarray:
        """:func:`stabilising_gains` of the steps so far (``hold`` in frames)."""
        return stabilising_gains(self.steps, cuts, hold)


def stabilise_frames(frames: Sequence[np.ndarray], sdr: Sequence[np.ndarray], cuts: Sequence[int],
                     hold: float = DEFAULT_HOLD, peak: float = 1e4,
                     thumb: Optional[Callable[[np.ndarray], np.ndarray]] = None) -> tuple[list, np.ndarray]:
    """In-memory form: the stabiliser on output frames (linear cd/m² ``H×W×3``) with their SDR frames (code
    values ``H×W×3``) and shot starts ``cuts`` → ``(stabilised frames, ln gains)``.  ``hold`` in frames;
    ``thumb``: the work-resolution view of a frame (default: the frame itself)."""
    from hdrkit.color import pq_inverse_eotf

    if len(frames) != len(sdr):
        raise InputError(f"{len(frames)} output frames for {len(sdr)} SDR frames")
    thumb = thumb or (lambda f: f)
    cut_set = set(int(c) for c in cuts)
    tr = LevelTracker()
    for t, (o, s) in enumerate(zip(frames, sdr)):
        pq = np.asarray(pq_inverse_eotf(np.clip(thumb(np.asarray(o, np.float32)), 0.0, 1e4)), np.float32)
        tr.push(pq, thumb(np.asarray(s, np.float32)), cut=t in cut_set)
    g = tr.gains(cuts, hold)
    return [apply_level(o, gt, peak) for o, gt in zip(frames, g)], g
