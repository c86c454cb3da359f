"""Rival methods and baselines for the metadata codecs (issue 6): naive SDR->HDR without metadata, the blind
meta-init, GamutMLP-style (Le & Brown, CVPR 2023) and INF-style (Liu et al., CVPR 2023) codecs adapted from
their original tasks to SDR -> HDR10.  Gain maps live in :mod:`hdrkit.codec.gainmap`."""

from hdrkit.baselines.naive import naive_pq, sdr_linear_nits, theta_init_blind

__all__ = ["naive_pq", "sdr_linear_nits", "theta_init_blind"]
