"""Warping error (Lai et al. 2018) with OpenCV DIS optical flow and a forward–backward occlusion mask.

References
----------
W.-S. Lai, J.-B. Huang, O. Wang, E. Shechtman, E. Yumer, M.-H. Yang, "Learning blind video temporal
consistency", ECCV 2018, eq. 9: ``E_warp(V_t, V_{t+1}) = Σ_i M_t(i) ‖V_t(i) − V̂_{t+1}(i)‖² / Σ_i M_t(i)``, with
``V̂_{t+1}`` the frame ``t+1`` warped to ``t`` by the flow, ``M_t`` the non-occlusion mask; the video's error is
the mean over consecutive pairs.  As in their evaluation code the flow is computed on a *guide* sequence (the
input or the reference video) and applied to the frames being scored.
M. Ruder, A. Dosovitskiy, T. Brox, "Artistic style transfer for videos", GCPR 2016, eq. 4: a pixel is occluded
when the forward and backward flows do not cancel,
``|w_f + w_b(x + w_f)|² > 0.01 (|w_f|² + |w_b(x + w_f)|²) + 0.5``.
T. Kroeger, R. Timofte, D. Dai, L. Van Gool, "Fast optical flow using dense inverse search", ECCV 2016 (DIS,
``cv2.DISOpticalFlow``).

Frames are float ``H×W`` or ``H×W×3`` in a perceptual unit (PQ code values in [0, 1] in ``hdrkit video eval``).
"""

from __future__ import annotations

from typing import Optional

import numpy as np

from hdrkit.errors import InputError


def _grey8(frame: np.ndarray) -> np.ndarray:
    f = np.asarray(frame, dtype=np.float32)
    if f.ndim == 3:
        f = f.mean(axis=-1)
    if f.ndim != 2:
        raise InputError(f"a flow guide frame must be H×W or H×W×3, got {f.shape}")
    return np.clip(np.round(f * 255.0), 0, 255).astype(np.uint8)


def dis_flow(frame0: np.ndarray, frame1: np.ndarray, preset: str = "medium") -> np.ndarray:
    """Dense flow ``F`` (``H×W×2``, x then y, pixels) with ``frame0(x) ≈ frame1(x + F(x))`` (OpenCV DIS).

    Inputs are float frames in [0, 1] (their channel mean is used).
    """
    import cv2

    presets = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST, "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
               "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
    if preset not in presets:
        raise InputError(f"DIS preset must be one of {', '.join(presets)}, got {preset!r}")
    dis = cv2.DISOpticalFlow_create(presets[preset])
    return dis.calc(_grey8(frame0), _grey8(frame1), None)


def warp(frame: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warp: ``out(x) = frame(x + flow(x))`` (bilinear, border replicated)."""
    import cv2

    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    f = np.asarray(frame, dtype=np.float32)
    return cv2.remap(f, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def occlusion_mask(flow_fw: np.ndarray, flow_bw: np.ndarray) -> np.ndarray:
    """Ruder et al. 2016 forward–backward check: True where a pixel of frame 0 is *visible* in frame 1.

    ``flow_fw`` maps frame 0 → 1 (as :func:`dis_flow`), ``flow_bw`` maps frame 1 → 0.  Pixels whose target falls
    outside the frame are occluded too.
    """
    h, w = flow_fw.shape[:2]
    bw_at = warp(flow_bw, flow_fw)
    s = flow_fw + bw_at
    lhs = (s * s).sum(-1)
    rhs = 0.01 * ((flow_fw * flow_fw).sum(-1) + (bw_at * bw_at).sum(-1)) + 0.5
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    x1, y1 = gx + flow_fw[..., 0], gy + flow_fw[..., 1]
    inside = (x1 >= 0) & (x1 <= w - 1) & (y1 >= 0) & (y1 <= h - 1)
    return (lhs <= rhs) & inside


def warping_error_pair(test0: np.ndarray, test1: np.ndarray, guide0: Optional[np.ndarray] = None,
                       guide1: Optional[np.ndarray] = None, preset: str = "medium") -> float:
    """Lai et al. 2018 eq. 9 for one pair: masked mean of ``‖test0 − warp(test1)‖²`` (summed over channels).

    The flows and the mask come from ``guide0``/``guide1`` (default: the test frames themselves).
    """
    g0 = test0 if guide0 is None else guide0
    g1 = test1 if guide1 is None else guide1
    fw = dis_flow(g0, g1, preset)
    bw = dis_flow(g1, g0, preset)
    mask = occlusion_mask(fw, bw)
    if not mask.any():
        return 0.0
    d = np.asarray(test0, np.float32) - warp(test1, fw)
    d2 = (d * d).sum(-1) if d.ndim == 3 else d * d
    return float(d2[mask].mean())


def warping_error(frames, guide=None, preset: str = "medium") -> float:
    """Lai et al. 2018 warping error of a sequence (``T×H×W[×3]``): the mean of :func:`warping_error_pair`."""
    f = np.asarray(frames)
    if f.ndim not in (3, 4) or f.shape[0] < 2:
        raise InputError(f"warping error needs T ≥ 2 frames of H×W[×3], got {f.shape}")
    g = f if guide is None else np.asarray(guide)
    if g.shape[:3] != f.shape[:3]:
        raise InputError(f"guide {g.shape} and frames {f.shape} differ in size")
    return float(np.mean([warping_error_pair(f[t], f[t + 1], g[t], g[t + 1], preset) for t in range(len(f) - 1)]))
