"""Image-level conversion between any two encodings (primaries × transfer × luminance scale)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from hdrkit.color.primaries import check_primaries, convert_primaries
from hdrkit.color.transfer import check_transfer, default_nits_per_unit, eotf, inverse_eotf

if TYPE_CHECKING:  # pragma: no cover
    from hdrkit.io.image import Image

#: Pixels converted per float64 block: the float64 temporaries stay ~ tens of MB whatever the image size, so a
#: conversion peaks at the float32 input + output (see the memory model in ``hdrkit.io.limits``).
_BLOCK_PIXELS = 1 << 18


def _blockwise(fn, x: np.ndarray) -> np.ndarray:
    """``fn(float64 block) -> (..., 3)`` applied to row blocks of ``x`` (``H×W×3`` or any ``(..., 3)``) into a
    float32 result; identical to ``fn(x.astype(float64)).astype(float32)`` (the ops are per pixel)."""
    x = np.asarray(x)
    flat = x.reshape(-1, x.shape[-1]) if x.ndim else x.reshape(1, 1)
    if flat.shape[0] <= _BLOCK_PIXELS:
        return np.asarray(fn(x.astype(np.float64)), dtype=np.float32)
    out = np.empty(flat.shape, np.float32)
    for i in range(0, flat.shape[0], _BLOCK_PIXELS):
        out[i:i + _BLOCK_PIXELS] = fn(flat[i:i + _BLOCK_PIXELS].astype(np.float64))
    return out.reshape(x.shape)


def to_nits(img: "Image", primaries: str = "bt2020") -> np.ndarray:
    """Absolute linear light in cd/m² (float32 ``H×W×3``) in ``primaries`` from any :class:`Image`."""
    return _blockwise(lambda x: convert_primaries(eotf(x, img.transfer, img.nits_per_unit), img.primaries,
                                                  primaries), img.pixels)


def from_nits(nits: Any, primaries: str = "bt2020", transfer: str = "pq",
              nits_per_unit: Optional[float] = None, **image_fields: Any) -> "Image":
    """Encode absolute linear light (cd/m², ``H×W×3`` in ``primaries``) as an :class:`Image`.

    ``nits_per_unit`` defaults to 1 for ``linear`` (values are nits) and to the transfer's default otherwise.
    """
    from hdrkit.io.image import Image

    t = check_transfer(transfer)
    if nits_per_unit is None:
        nits_per_unit = 1.0 if t == "linear" else default_nits_per_unit(t)
    enc = _blockwise(lambda x: inverse_eotf(x, t, nits_per_unit), np.asarray(nits))
    return Image(enc, primaries=check_primaries(primaries), transfer=t,
                 nits_per_unit=nits_per_unit, **image_fields)


def convert(img: "Image", primaries: Optional[str] = None, transfer: Optional[str] = None,
            nits_per_unit: Optional[float] = None) -> "Image":
    """Re-encode ``img`` in other primaries / transfer / luminance scale (``None`` keeps the current one).

    Works through absolute linear light, in float64.  ``nits_per_unit`` of the result defaults to the source's
    when the transfer does not change, to 1 (absolute nits) when going to ``linear`` from a non-linear signal, and
    to the transfer's default otherwise (SDR white 203 nits, HLG peak 1000 nits).  Out-of-gamut colours stay
    negative in linear results and are clamped by non-linear encodings.

    Examples: an 8-bit BT.709 JPEG to linear BT.2020 nits: ``convert(img, "bt2020", "linear", 1.0)``;
    a scene-linear EXR to HDR10: ``convert(img, "bt2020", "pq")``.
    """
    p = check_primaries(primaries) if primaries is not None else img.primaries
    t = check_transfer(transfer) if transfer is not None else img.transfer
    if nits_per_unit is None:
        if t == img.transfer:
            nits_per_unit = img.nits_per_unit
        elif t == "linear":
            nits_per_unit = 1.0
        else:
            nits_per_unit = default_nits_per_unit(t)
    nits_per_unit = float(nits_per_unit)
    same_scale = t == "pq" or nits_per_unit == img.nits_per_unit
    if p == img.primaries and t == img.transfer and same_scale:
        return img.with_pixels(img.pixels.copy(), nits_per_unit=nits_per_unit)
    enc = _blockwise(lambda x: inverse_eotf(convert_primaries(eotf(x, img.transfer, img.nits_per_unit),
                                                              img.primaries, p), t, nits_per_unit), img.pixels)
    return img.with_pixels(enc, primaries=p, transfer=t, nits_per_unit=nits_per_unit)
