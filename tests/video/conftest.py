"""Tiny video files for the video tests (a few 64×48 frames: every test runs in well under a second or two)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import av  # noqa: E402,F401  the `video` extra is in the `test` extra: a missing PyAV fails these tests


def gradient_frames(n: int = 8, h: int = 48, w: int = 64, cut: int | None = None) -> list[np.ndarray]:
    """SDR R'G'B' frames: a moving colour gradient; after ``cut`` a different (inverted, shifted) picture."""
    yy, xx = np.mgrid[0:h, 0:w] / float(w)
    out = []
    for i in range(n):
        img = np.stack([(xx + 0.02 * i) % 1.0, yy, 0.3 + 0.4 * xx], -1)
        if cut is not None and i >= cut:
            img = 1.0 - np.roll(img, w // 3, axis=1)
        out.append(img.astype(np.float32))
    return out


def write_sdr(path: Path, frames: list[np.ndarray], codec: str = "h264", fps: int = 24) -> Path:
    from hdrkit.video.io import VideoWriter

    h, w = frames[0].shape[:2]
    with VideoWriter(path, w, h, fps, codec=codec, hdr=False, crf=10) as wr:
        for f in frames:
            wr.write_rgb_prime(f)
    return path


def write_hdr(path: Path, frames_nits: list[np.ndarray], **kw) -> Path:
    from hdrkit.video.io import VideoWriter

    h, w = frames_nits[0].shape[:2]
    with VideoWriter(path, w, h, 24, **kw) as wr:
        for f in frames_nits:
            wr.write_nits(f)
    return path


@pytest.fixture
def sdr_clip(tmp_path) -> Path:
    return write_sdr(tmp_path / "sdr.mp4", gradient_frames(8))


@pytest.fixture
def sdr_clip_cut(tmp_path) -> Path:
    return write_sdr(tmp_path / "sdr_cut.mp4", gradient_frames(40, cut=20))
