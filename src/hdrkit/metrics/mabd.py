"""MABD (mean absolute brightness difference): temporal-consistency scores for video, two published variants.

Frames are ``(T, H, W)`` brightness planes or ``(T, H, W, 3)`` RGB (brightness = mean of the three channels),
numpy or torch, in whatever unit the caller compares (e.g. PQ code values or PU21 values).

References
----------
H. Jiang and Y. Zheng, "Learning to see moving objects in the dark", ICCV 2019 (Sec. 5): per frame k,
MABD_k = mean over pixels of |br_k − br_{k−1}|; the score is the MSE between the MABD vectors of the output and
of the ground truth (lower is better).
KPN-MFI (``caogaofeng/KPN-MFI``): its evaluation code instead reports the mean |f_k − f_{k−1}| over the output
frames alone.
"""

from __future__ import annotations

from typing import Any

from hdrkit.errors import InputError
from hdrkit.metrics._backend import backend_of, prepare_pair
from hdrkit.metrics.ssim import _result


def _brightness(frames: Any) -> Any:
    if frames.ndim == 4:
        if frames.shape[-1] != 3:
            raise InputError(f"video frames must be (T, H, W) or (T, H, W, 3), got {tuple(frames.shape)}")
        frames = (frames[..., 0] + frames[..., 1] + frames[..., 2]) / 3.0
    elif frames.ndim != 3:
        raise InputError(f"video frames must be (T, H, W) or (T, H, W, 3), got {tuple(frames.shape)}")
    if frames.shape[0] < 2:
        raise InputError("MABD needs at least two frames")
    return frames


def mabd_vector(frames: Any) -> Any:
    """Jiang & Zheng's MABD vector: ``(T-1,)`` mean |br_k − br_{k−1}| for k = 1..T-1."""
    xp = backend_of(frames)
    br = _brightness(xp.asarray(frames))
    return xp.mean(xp.abs(br[1:] - br[:-1]), axis=(-2, -1))


def mabd_jiang2019(ref_frames: Any, test_frames: Any) -> Any:
    """Jiang & Zheng 2019 MABD score: MSE between the MABD vectors of ``test_frames`` and ``ref_frames``.

    0 when the output flickers exactly as the reference does; lower is better.
    """
    xp, r, t = prepare_pair(ref_frames, test_frames, channels=None)
    d = mabd_vector(t) - mabd_vector(r)
    return _result(xp, xp.mean(d * d))


def mabd_kpnmfi(test_frames: Any) -> Any:
    """KPN-MFI code's MABD: mean |f_k − f_{k−1}| over all consecutive output frames, pixels (and channels).

    Note that this variant, unlike :func:`mabd_jiang2019`, takes the output alone and averages over channels
    of the frame difference rather than of the brightness.
    """
    xp = backend_of(test_frames)
    f = xp.asarray(test_frames)
    if f.ndim not in (3, 4) or f.shape[0] < 2:
        raise InputError(f"video frames must be (T, H, W[, 3]) with T ≥ 2, got {tuple(f.shape)}")
    return _result(xp, xp.mean(xp.abs(f[1:] - f[:-1])))
