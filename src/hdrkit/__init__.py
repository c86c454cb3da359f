"""hdrkit: a toolkit for high dynamic range imaging.

Inverse tone mapping (SDR -> HDR10), HDR shipped as SDR plus a tiny embedded neural decoder, the classical HDR
pipeline (bracket merging, tone mapping) and HDR quality metrics.  See ``docs/ARCHITECTURE.md``.
"""

__version__ = "0.1.0"
