"""Learned video inverse tone mapping: methods of ``hdrkit video expand`` that look at more than one frame.

* ``temporal-clues`` (:mod:`hdrkit.video.models.temporal_clues`): Ye et al. 2024, "Deep Video Inverse Tone
  Mapping Based on Temporal Clues" (CVPR), CPU-sized — key frames restored from globally sampled reference frames
  (DIS flow + a learned flow correction, exposure alignment, masked fusion with a small U-Net on top of ``gcm``'s
  per-frame output), propagated to their neighbours at reduced resolution.

:data:`VIDEO_METHODS` maps a method name to the module that implements it; a method is listed only when its
weights ship in ``hdrkit/assets/models``.
"""

from __future__ import annotations

#: Multi-frame methods of ``hdrkit video expand`` (name → weight file in ``hdrkit/assets/models``).
VIDEO_METHODS = {"temporal-clues": "temporal_clues.npz"}

__all__ = ["VIDEO_METHODS"]
