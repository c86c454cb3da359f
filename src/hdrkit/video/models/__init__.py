"""Learned video inverse tone mapping: methods of ``hdrkit video expand`` that look at more than one frame.

* ``temporal-clues`` (:mod:`hdrkit.video.models.temporal_clues`): Ye et al. 2024, "Deep Video Inverse Tone
  Mapping Based on Temporal Clues" (CVPR), CPU-sized — key frames restored from globally sampled reference frames
  (DIS flow + a learned flow correction, exposure alignment, masked fusion with a small U-Net on top of ``gcm``'s
  per-frame output), propagated to their neighbours at reduced resolution.
* ``kpn-mfi`` (:mod:`hdrkit.video.models.kpn_mfi`): Cao et al. 2022, "KPN-MFI" (IJCAI), CPU-sized — per-pixel
  5×5 kernels predicted from frames t − 1, t, t + 1 (multi-frame interaction at 1/16 scale), applied to
  ``gcm``'s per-frame output in PQ, trained with the brightness-consistency loss.

:data:`VIDEO_METHODS` maps a method name to the module that implements it; a method is listed only when its
weights ship in ``hdrkit/assets/models``.
"""

from __future__ import annotations

import functools

#: Multi-frame methods of ``hdrkit video expand`` (name → weight file in ``hdrkit/assets/models``).
VIDEO_METHODS = {"temporal-clues": "temporal_clues.npz", "kpn-mfi": "kpn_mfi.npz"}


def weights_path(name: str):
    """The shipped weight file of video method ``name``."""
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / "assets" / "models" / VIDEO_METHODS[name]


@functools.lru_cache(maxsize=4)
def _cached(path: str, loader):
    return loader(path)


def load_shipped(name: str, loader, trainer: str, path=None):
    """``loader(path)`` of the weights of method ``name`` (default: the shipped file), cached per file; a missing
    file is an :class:`~hdrkit.errors.InputError` naming the ``trainer`` module that makes it."""
    from pathlib import Path

    from hdrkit.errors import InputError

    p = Path(path) if path is not None else weights_path(name)
    if not p.is_file():
        raise InputError(f"model weights {p} are missing (train them: python -m {trainer})")
    return _cached(str(p.resolve()), loader)


def clip_frames(frames, cuts=None):
    """``(frames as float32 H×W×3 arrays of one size, cuts)`` of the in-memory ``expand_frames`` of the video
    methods (``cuts`` default: :func:`hdrkit.video.shots.frame_cuts`); bad input is an ``InputError``."""
    import numpy as np

    from hdrkit.errors import InputError

    frames = [np.asarray(f, np.float32) for f in frames]
    if not frames:
        raise InputError("no frames to expand")
    if any(f.ndim != 3 or f.shape[-1] != 3 or f.shape != frames[0].shape for f in frames):
        raise InputError("frames must all be H×W×3 of one size")
    if cuts is None:
        from hdrkit.video.shots import frame_cuts

        cuts = frame_cuts(frames)
    return frames, cuts


def method_module(name: str):
    """The module implementing video method ``name`` (one of :data:`VIDEO_METHODS`): it provides
    ``load_model()``, ``options(**params)``, ``restorer(model, thumbs, n, cuts, **options)`` (``.frame(t)``,
    ``.thumb(t)``, ``.base(t)``), ``apply_output(model, base, v, d, **options)`` and ``expand_frames``."""
    import importlib

    return importlib.import_module(f"hdrkit.video.models.{name.replace('-', '_')}")


__all__ = ["VIDEO_METHODS", "clip_frames", "load_shipped", "method_module", "weights_path"]
