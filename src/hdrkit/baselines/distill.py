"""Distillation (MLP-iTM paper §4.6): when no HDR master exists, fit the embedded MLP to the output of a blind
up-conversion method (:func:`hdrkit.expand.expand`) instead; the result is an image-wise MLP that decodes fast
and reproduces that method's HDR rendition, carried in the SDR file like any other encode."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn


def distill_target(sdr: np.ndarray, method: str, peak: float = 1000.0) -> np.ndarray:
    """HDR target (BT.2020 cd/m², ``(H, W, 3)``) made from SDR code values by ``method`` of :mod:`hdrkit.expand`."""
    from hdrkit.expand import expand

    try:
        out = expand(sdr, method=method, peak=peak)
    except InputError as exc:
        if "bad parameter" not in str(exc):
            raise
        out = expand(sdr, method=method)
    return np.clip(np.asarray(out, np.float32), 0, 10000)


def distill_file(sdr_path: str | Path, out: str | Path, method: str, *, progress: Optional[ProgressFn] = None,
                 **encode_kw):
    """``hdrkit encode SDR --target-from METHOD -o OUT``: expand the SDR with ``method``, then encode as usual
    (:func:`hdrkit.codec.api.encode_file`) with that expansion as the HDR master."""
    from hdrkit.codec.api import encode_file
    from hdrkit.io import Image, read_image, write_image

    img = read_image(sdr_path)
    if img.transfer in ("linear", "pq", "hlg"):
        raise InputError(f"{Path(sdr_path).name} is not an SDR picture (transfer {img.transfer}); "
                         "--target-from makes the HDR from an SDR input")
    target = distill_target(img.pixels, method)
    with tempfile.TemporaryDirectory(prefix="hdrkit-distill-") as tmp:
        master = Path(tmp) / "target.exr"
        write_image(master, Image(target / 100.0, primaries="bt2020", transfer="linear", nits_per_unit=100.0))
        return encode_file(master, sdr_path, out, progress=progress, **encode_kw)
