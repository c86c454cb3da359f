"""File-level helpers of ``hdrkit expand`` (and ``hdrkit batch expand``): read an SDR picture, write HDR."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hdrkit.errors import InputError


def read_sdr(path: str | Path) -> np.ndarray:
    """SDR code values (float32 H×W×3, BT.709 / BT.1886) of an SDR file; ``InputError`` for an HDR file."""
    from hdrkit.color import convert
    from hdrkit.io import read_image

    img = read_image(path)
    if img.is_hdr:
        raise InputError(f"{Path(path).name} is already HDR ({img.encoding()}); expand takes an SDR image")
    return convert(img, primaries="bt709", transfer="bt1886", nits_per_unit=img.nits_per_unit).pixels


def write_hdr(path: str | Path, nits: np.ndarray):
    """Write absolute BT.2020 nits: linear for EXR/HDR/PFM, PQ (HDR10) otherwise; returns the written Image."""
    from hdrkit.color import from_nits
    from hdrkit.io import format_of, write_image

    transfer = "linear" if format_of(path) in ("exr", "hdr", "pfm") else "pq"
    out = from_nits(nits, primaries="bt2020", transfer=transfer)
    write_image(path, out)
    return out
