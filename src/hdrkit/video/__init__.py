"""Video: HDR10 in and out (PyAV), shot detection, SDR→HDR10 up-conversion, tone mapping, synthetic HDR video.

- :mod:`hdrkit.video.io` -- :class:`VideoReader`, :class:`VideoWriter`, :func:`probe` (correct Y'CbCr matrix
  and range, HDR10 mastering display / content light level metadata, HEVC Main 10 and AV1 10-bit).
- :mod:`hdrkit.video.shots` -- content-based shot detection.
- :mod:`hdrkit.video.expand` -- :func:`expand_video` (per-frame operators of :mod:`hdrkit.expand` or the
  temporally smoothed global baseline baked into a 3D LUT per frame), :func:`tonemap_video`.
- :mod:`hdrkit.video.stabilize` -- the level stabiliser: one gain per frame holding the output light of the
  same scene points steady within a shot (``expand_video(stabilise=True)``, ``--stabilise``).
- :mod:`hdrkit.video.synth` -- synthetic HDR10 + SDR video pairs (camera paths, drifting auto-exposure).
"""
