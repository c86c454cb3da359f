"""Merging an exposure bracket into a radiance map.

Debevec & Malik 1997 (SIGGRAPH '97, eq. 6), in the log domain::

    ln E = Σ_k w(Z_k)·(ln g(Z_k) − ln t_k) / Σ_k w(Z_k)

or in the linear domain (Banterle & Artusi, *Modern HDR imaging at the time of deep learning*, eq. 1)::

    E = Σ_k w(Z_k)·g(Z_k)/t_k / Σ_k w(Z_k)

per pixel and channel.  For integer codes the per-exposure terms ``w(z)·(ln g(z) − ln t_k)`` and ``w(z)`` are
tabulated once (256 or 65536 entries), so merging is a few table lookups and additions per exposure (the fast
path; 8-bit lookups go through OpenCV's ``LUT``).

Saturated and black pixels: the extreme codes (0 and the maximum) get no weight.  So that a pixel clipped in
every exposure still gets the best available estimate instead of NaN, the shortest exposure keeps a tiny weight
(``1e-6``) on its upper half of codes and the longest exposure on its lower half: a pixel saturated everywhere
ends up as ``g(max)/t_min`` (a lower bound of its radiance), a pixel black everywhere as ``g(0⁺)/t_max``, and
everywhere else this floor changes the result by less than float32 rounding.
"""

from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np

from hdrkit.errors import InputError
from hdrkit.merge.bracket import check_bracket, code_levels
from hdrkit.merge.crf import CRF, crf_from_spec
from hdrkit.merge.weights import WeightFn, get_weight
from hdrkit.progress import ProgressFn, report

__all__ = ["merge", "merge_tables", "merge_codes", "MERGE_DOMAINS", "FALLBACK_WEIGHT"]

#: Weight kept by the shortest exposure on bright codes and the longest on dark codes (see module docstring).
FALLBACK_WEIGHT = 1e-6

MERGE_DOMAINS = ("log", "linear")


def merge_tables(
    crf: CRF, times: np.ndarray, weight: Union[str, WeightFn] = "triangle", domain: str = "log"
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Per-exposure lookup tables: (numerator tables ``n×3`` float32, weight tables ``n`` float32).

    Log domain: ``num_k[z] = w_k(z)·(ln g(z) − ln t_k)``; linear: ``num_k[z] = w_k(z)·g(z)/t_k``.
    """
    if domain not in MERGE_DOMAINS:
        raise InputError(f"merge domain must be 'log' or 'linear', got {domain!r}")
    wfn = get_weight(weight)
    n = crf.size
    x = np.linspace(0.0, 1.0, n)
    w = np.asarray(wfn(x), dtype=np.float64).copy()
    w[0] = w[-1] = 0.0
    g = crf.table.copy()
    positive = g[g > 0]
    floor = 0.5 * positive.min() if positive.size else 1e-12
    g = np.maximum(g, floor)
    k_short, k_long = int(np.argmin(times)), int(np.argmax(times))
    nums, dens = [], []
    for k, t in enumerate(times):
        wk = w.copy()
        if k == k_short:
            wk[n // 2 :] = np.maximum(wk[n // 2 :], FALLBACK_WEIGHT)
        if k == k_long:
            wk[: n // 2 + 1] = np.maximum(wk[: n // 2 + 1], FALLBACK_WEIGHT)
        val = np.log(g) - np.log(t) if domain == "log" else g / t
        nums.append(np.ascontiguousarray(wk[:, None] * val, dtype=np.float32))
        dens.append(np.ascontiguousarray(wk, dtype=np.float32))
    return nums, dens


def _lookup(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Per-channel table lookup: ``codes`` uint8/uint16 ``H×W×3``, ``table`` ``n×3`` or ``n`` → float32."""
    if codes.dtype == np.uint8:
        import cv2

        lut = table.reshape(256, 1, -1)
        out = cv2.LUT(codes, lut)
        return out if out.ndim == 3 else out[..., None]
    if table.ndim == 1:
        return np.take(table, codes)
    out = np.empty(codes.shape, dtype=np.float32)
    for c in range(codes.shape[-1]):
        np.take(table[:, c], codes[..., c], out=out[..., c])
    return out


def merge_codes(
    codes: Sequence[np.ndarray],
    times: np.ndarray,
    crf: CRF,
    weight: Union[str, WeightFn] = "triangle",
    domain: str = "log",
    masks: Optional[Sequence[Optional[np.ndarray]]] = None,
    progress: Optional[ProgressFn] = None,
) -> np.ndarray:
    """The merge kernel on checked integer codes (see :func:`merge`); ``masks``: optional ``H×W`` weight
    multipliers per exposure (deghosting).  Returns float32 ``H×W×3`` relative radiance."""
    levels = code_levels(codes[0].dtype)
    if crf.size != levels:
        crf = crf.resampled(levels)
    nums, dens = merge_tables(crf, np.asarray(times, dtype=np.float64), weight, domain)
    num = np.zeros(codes[0].shape, dtype=np.float32)
    den = np.zeros(codes[0].shape, dtype=np.float32)
    for k, z in enumerate(codes):
        report(progress, k, len(codes), "merging")
        a = _lookup(z, nums[k])
        b = _lookup(z, dens[k])
        m = None if masks is None else masks[k]
        if m is not None:
            m = np.asarray(m, dtype=np.float32)[..., None]
            a *= m
            b *= m
        num += a
        den += b
    report(progress, len(codes), len(codes), "merging")
    # den > 0 everywhere unless masks removed every exposure with weight; fall back to the unmasked floor.
    np.maximum(den, np.float32(1e-30), out=den)
    num /= den
    if domain == "log":
        np.exp(num, out=num)
    return num


def merge(
    images: Sequence[np.ndarray],
    times: Sequence[float],
    crf: Union[None, str, CRF] = None,
    *,
    weight: Union[str, WeightFn] = "triangle",
    domain: str = "log",
    align: Optional[str] = None,
    deghost: bool = False,
    reference: Optional[int] = None,
    calibration: str = "debevec1997",
    progress: Optional[ProgressFn] = None,
) -> np.ndarray:
    """Merge an exposure bracket into relative scene radiance (float32 ``H×W×3``, linear, in the camera's
    primaries; units of ``g`` per second — divide by a reference to anchor it).

    Parameters
    ----------
    images : ``H×W×3`` uint8 or uint16 code values, or floats in [0, 1] (treated as 16-bit codes).
    times : exposure time of each image in seconds (or any consistent relative exposure).
    crf : the inverse camera response: a :class:`CRF`, a name (``linear``, ``srgb``, ``gamma2.2``,
        ``eilertsen2017``), a ``.json``/``.csv`` file, or ``None``/``"auto"`` to estimate it from this bracket
        with ``calibration`` (``debevec1997`` or ``robertson1999``).
    weight : ``triangle`` (default), ``hat``, ``debevec1997``, ``gaussian``, ``uniform`` or a callable.  On
        noisy 8-bit brackets the tent weights were measured more accurate than the flat-topped hat, which trusts
        dark codes (large relative quantisation and read noise) as much as mid-tones (docs/MERGE.md).
    domain : ``"log"`` (Debevec & Malik 1997) or ``"linear"``.
    align : ``None``, ``"mtb"`` (Ward 2003 translation) or ``"homography"`` (feature matches); see
        :mod:`hdrkit.merge.align`.
    deghost : drop pixels of each exposure that disagree with the reference exposure (see
        :mod:`hdrkit.merge.deghost`).
    reference : index of the reference exposure for alignment and deghosting (default: the middle one).
    """
    codes, t = check_bracket(images, times)
    if t is None:
        raise InputError("exposure times are required to merge a bracket")
    levels = code_levels(codes[0].dtype)
    ref = len(codes) // 2 if reference is None else int(reference)
    if not 0 <= ref < len(codes):
        raise InputError(f"reference exposure {ref} is out of range for {len(codes)} images")
    if align is not None:
        from hdrkit.merge.align import align_bracket

        codes = align_bracket(codes, method=align, reference=ref, progress=progress)
    if crf is None or (isinstance(crf, str) and crf.lower() == "auto"):
        from hdrkit.merge.calibrate import calibrate

        crf = calibrate(codes, t, method=calibration)
    else:
        crf = crf_from_spec(crf, size=levels)
    masks = None
    if deghost:
        from hdrkit.merge.deghost import ghost_masks

        masks = ghost_masks(codes, t, crf, reference=ref)
    return merge_codes(codes, t, crf, weight, domain, masks, progress)
