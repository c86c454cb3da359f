"""Simple deghosting: a reference exposure and per-exposure consistency masks.

Following the reference-exposure approach of Grosch 2006 ("Fast and robust high dynamic range image generation
with camera and object movement", Vision, Modeling and Visualization) in its simplest form: each exposure's
radiance estimate ``g(Z_k)/t_k`` (brightest channel) is compared with the reference exposure's.  Where both are well exposed and
they differ by more than ``threshold`` stops, or where the reference is saturated (black) but exposure ``k`` says
the pixel is darker (brighter) than that bound allows, exposure ``k`` is left out of the merge at that pixel.
The masks are dilated so that object borders go too.  The reference exposure is always kept, so every pixel
keeps a radiance estimate.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from hdrkit.merge.bracket import code_levels
from hdrkit.merge.crf import CRF

__all__ = ["ghost_masks"]


def ghost_masks(
    codes: Sequence[np.ndarray],
    times: np.ndarray,
    crf: CRF,
    reference: int,
    threshold: float = 0.5,
    well_exposed: tuple[float, float] = (0.04, 0.96),
    dilate: int = 5,
) -> list[np.ndarray]:
    """Per-exposure ``H×W`` float32 masks (1 = use, 0 = ghost) for merging against exposure ``reference``.

    ``threshold``: largest tolerated disagreement in stops (log2 units) of the brightest channel's radiance;
    ``well_exposed``: normalised code range where a pixel counts as well exposed in all channels;
    ``dilate``: size of the square that grows the ghost regions (0 = no growth).
    """
    import cv2

    levels = code_levels(codes[0].dtype)
    if crf.size != levels:
        crf = crf.resampled(levels)
    lo, hi = well_exposed[0] * (levels - 1), well_exposed[1] * (levels - 1)

    def radiance(k: int) -> np.ndarray:
        lin = crf.linearize(codes[k]).max(axis=-1)
        return np.log2(np.maximum(lin, 1e-12) / times[k])

    def good(k: int) -> np.ndarray:
        z = codes[k]
        return np.all((z >= lo) & (z <= hi), axis=-1)

    r_ref = radiance(reference)
    g_ref = good(reference)
    sat_ref = np.any(codes[reference] > hi, axis=-1) & ~g_ref
    dark_ref = np.all(codes[reference] < lo, axis=-1)
    # bounds on the brightest channel where the reference is clipped: a saturated channel means at least
    # g(hi)/t, all channels dark means at most g(lo)/t (conservative over channels)
    g_hi = min(np.interp(well_exposed[1], crf.codes, crf.table[:, c]) for c in range(3))
    g_lo = max(np.interp(well_exposed[0], crf.codes, crf.table[:, c]) for c in range(3))
    bright_bound = np.log2(max(g_hi, 1e-12) / times[reference])
    dark_bound = np.log2(max(g_lo, 1e-12) / times[reference])
    masks = []
    kernel = np.ones((dilate, dilate), np.uint8) if dilate > 1 else None
    for k in range(len(codes)):
        if k == reference:
            masks.append(np.ones(codes[k].shape[:2], np.float32))
            continue
        r_k = radiance(k)
        g_k = good(k)
        ghost = g_k & g_ref & (np.abs(r_k - r_ref) > threshold)
        # reference clipped: it only bounds the radiance; exposure k must respect the bound
        ghost |= g_k & sat_ref & (r_k < bright_bound - threshold)
        ghost |= g_k & dark_ref & (r_k > dark_bound + threshold)
        ghost = ghost.astype(np.uint8)
        if kernel is not None:
            ghost = cv2.dilate(ghost, kernel)
        masks.append((1 - ghost).astype(np.float32))
    return masks
