"""HDR → SDR video (:func:`tonemap_video`) with the image operators of :mod:`hdrkit.tonemap`.

The static operators (``bt2446a``, ``youtube``, ``lut``, ``ocio``, ``clip``) are per-pixel curves with no frame
statistic, so they cannot flicker and run per frame as they are.  ``reinhard2002`` depends on the frame's
log-average luminance and its white point; here both are measured on every 4th pixel of each frame in a first
pass, smoothed in the log domain within each shot (:func:`hdrkit.video.shots.smooth_within_shots`, reset at
cuts) and fed back through the operator's ``key`` (``key · L̄_frame / L̄_smoothed``, which makes its scaling
``key / L̄_smoothed``) and ``white`` parameters.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn
from hdrkit.video import shots as S


def _open_hdr(path):
    from hdrkit.video.io import VideoReader

    reader = VideoReader(path)
    if not reader.info.is_hdr:
        name = reader.path.name
        reader.close()
        raise InputError(f"{name} is SDR (transfer {reader.info.transfer}); video tonemap takes HDR10/HLG video")
    return reader


def tonemap_video(src: str | os.PathLike, dst: str | os.PathLike, method: str = "bt2446a", smooth: float = 1.0,
                  codec: str = "h264", crf: Optional[float] = None, preset: Optional[str] = None,
                  params: Optional[dict] = None, progress: Optional[ProgressFn] = None) -> dict:
    """Tone map an HDR video to SDR (BT.709, BT.1886, 8-bit 4:2:0), atomically; audio/subtitles copied."""
    from hdrkit import color
    from hdrkit.io.atomic import atomic_path
    from hdrkit.tonemap import TONEMAP_METHODS, tonemap
    from hdrkit.tonemap.reinhard import log_average
    from hdrkit.video.expand import _Rate, _check_complete
    from hdrkit.video.io import SDR_CODECS, VideoWriter, _check_output, check_encodable

    if method not in TONEMAP_METHODS:
        raise InputError(f"unknown tone mapping method {method!r}; choose from {', '.join(TONEMAP_METHODS)}")
    if codec not in SDR_CODECS:
        raise InputError(f"unsupported SDR codec {codec!r}; choose {', '.join(SDR_CODECS)}")
    smooth = float(smooth)
    if not np.isfinite(smooth) or smooth < 0:
        raise InputError(f"--smooth must be ≥ 0 seconds, got {smooth}")
    _check_output(Path(dst))
    params = dict(params or {})
    with _open_hdr(src) as reader:
        info = reader.info
        check_encodable(codec, info.width, info.height, "420", hdr=False)
    stats = None
    cuts = [0]
    if method == "reinhard2002":
        rows, scores, prev = [], [], None
        with _open_hdr(src) as reader:
            rate = _Rate(progress, "analysing", reader.info.frames)
            for frame in reader.decoded():
                nits = reader.convert(reader.to_rgb_prime(frame)[::4, ::4])
                lw = np.maximum(np.asarray(color.luminance(nits, "bt2020")), 0.0)
                rows.append([np.log(log_average(lw)), np.log(max(float(lw.max()), 1e-4))])
                pq = np.asarray(color.pq_inverse_eotf(np.clip(nits, 0, 10000)), np.float32)
                hsv = S.hsv_thumbnail(pq)
                scores.append(S.content_score(prev, hsv))
                prev = hsv
                rate(len(rows))
            _check_complete(reader, len(rows))
            fps = reader.info.fps or 25.0
        cuts = S.detect_cuts(scores)
        stats = np.exp(S.smooth_within_shots(np.array(rows), cuts, smooth * fps))
    key = float(params.pop("key", 0.18))
    n = 0
    with _open_hdr(src) as reader, atomic_path(dst) as tmp:
        copies = reader.copyable_streams()
        with VideoWriter(tmp, info.width, info.height, reader.stream.average_rate or info.fps or 25, codec=codec,
                         hdr=False, crf=crf, preset=preset) as writer:
            writer.copy_streams(copies)
            rate = _Rate(progress, "tone mapping", info.frames)
            for frame in reader.decoded(copies, writer.mux_copy):
                nits = reader.convert(reader.to_rgb_prime(frame))
                p = dict(params)
                if stats is not None and n < len(stats):
                    lw = np.maximum(np.asarray(color.luminance(nits, "bt2020")), 0.0)
                    p["key"] = key * log_average(lw) / stats[n, 0]
                    p.setdefault("white", max(key / stats[n, 0] * stats[n, 1], 1e-3))
                elif method == "reinhard2002":
                    p["key"] = key
                writer.write_rgb_prime(np.asarray(tonemap(nits, method, **p), np.float32))
                n += 1
                rate(n)
    return {"output": str(dst), "frames": n, "method": method, "smooth": smooth if stats is not None else 0.0,
            "cuts": cuts, "codec": codec}
