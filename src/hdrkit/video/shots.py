"""Content-based shot detection (the ``ContentDetector`` of PySceneDetect, re-implemented on our thumbnails).

Score of frame ``t``: the mean absolute difference between the HSV thumbnails of frames ``t − 1`` and ``t``,
averaged over the three channels (OpenCV 8-bit HSV: H in [0, 180), S and V in [0, 255]), as PySceneDetect's
``ContentDetector`` computes it (``content_val``); a cut is declared where the score exceeds ``threshold``
(27 by default, PySceneDetect's default) and the previous cut is at least ``min_length`` frames away.
"""

from __future__ import annotations

from typing import Optional

import numpy as np

#: Default threshold and minimum shot length of PySceneDetect's ContentDetector.
DEFAULT_THRESHOLD = 27.0
DEFAULT_MIN_LENGTH = 15


def hsv_thumbnail(rgb_prime: np.ndarray, width: int = 96) -> np.ndarray:
    """float R'G'B' ``H×W×3`` in [0, 1] → uint8 HSV thumbnail (area-averaged to ``width`` columns)."""
    import cv2

    h, w = rgb_prime.shape[:2]
    tw = min(width, w)
    th = max(1, round(h * tw / w))
    small = cv2.resize(np.ascontiguousarray(rgb_prime, dtype=np.float32), (tw, th), interpolation=cv2.INTER_AREA)
    rgb8 = np.clip(np.round(small * 255.0), 0, 255).astype(np.uint8)
    return cv2.cvtColor(rgb8, cv2.COLOR_RGB2HSV)


def content_score(prev_hsv: Optional[np.ndarray], hsv: np.ndarray) -> float:
    """Mean over H, S, V of the mean absolute difference of two HSV thumbnails (0 for the first frame)."""
    if prev_hsv is None:
        return 0.0
    d = np.abs(hsv.astype(np.int16) - prev_hsv.astype(np.int16))
    return float(d.reshape(-1, 3).mean(axis=0).mean())


def detect_cuts(scores, threshold: float = DEFAULT_THRESHOLD, min_length: int = DEFAULT_MIN_LENGTH) -> list[int]:
    """Indices of the frames that start a new shot (frame 0 is always a shot start and is included)."""
    cuts = [0]
    for t, s in enumerate(np.asarray(scores, dtype=np.float64)):
        if t > 0 and s >= threshold and t - cuts[-1] >= min_length:
            cuts.append(t)
    return cuts


def frame_cuts(frames, threshold: float = DEFAULT_THRESHOLD, min_length: int = DEFAULT_MIN_LENGTH) -> list[int]:
    """Shot starts of frames in memory (SDR R'G'B' ``H×W×3`` each): :func:`content_score` of consecutive
    :func:`hsv_thumbnail` s, then :func:`detect_cuts`."""
    prev, scores = None, []
    for f in frames:
        hsv = hsv_thumbnail(f)
        scores.append(content_score(prev, hsv))
        prev = hsv
    return detect_cuts(scores, threshold, min_length)


def shot_ids(n: int, cuts: list[int]) -> np.ndarray:
    """Shot number of each of ``n`` frames from the shot starts ``cuts``."""
    ids = np.zeros(n, dtype=np.int64)
    for c in cuts[1:]:
        ids[c:] += 1
    return ids


def smooth_within_shots(values, cuts: list[int], sigma: float) -> np.ndarray:
    """Gaussian smoothing (std ``sigma`` frames) of ``values`` (``T`` or ``T×K``) along time, never across a cut.

    The kernel is truncated at the shot's ends and renormalised (no leakage from the neighbouring shot, no
    darkening at the ends); ``sigma = 0`` returns the values unchanged, ``sigma = inf`` the shot's mean.
    """
    v = np.asarray(values, dtype=np.float64)
    if sigma <= 0 or v.shape[0] < 2:
        return v.copy()
    flat = v.reshape(v.shape[0], -1)
    out = np.empty_like(flat)
    bounds = list(cuts) + [v.shape[0]]
    if np.isinf(sigma):
        for a, b in zip(bounds[:-1], bounds[1:]):
            out[a:b] = flat[a:b].mean(axis=0)
        return out.reshape(v.shape)
    radius = int(np.ceil(3 * sigma))
    k = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    for a, b in zip(bounds[:-1], bounds[1:]):
        seg = flat[a:b]
        n = b - a
        for t in range(n):
            lo, hi = max(0, t - radius), min(n, t + radius + 1)
            w = k[lo - t + radius: hi - t + radius]
            out[a + t] = w @ seg[lo:hi] / w.sum()
    return out.reshape(v.shape)
