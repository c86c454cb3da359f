"""HDR mastering: scene-referred linear HDR (any exposure) → display-referred HDR10 master in absolute nits.

Two steps:

1. **Exposure** — the scene is scaled so that its log-average luminance (Reinhard et al. 2002, eq. 1) lands on
   ``mid`` cd/m².  The default, 26 cd/m², is the BT.2408 level of an 18 % grey card in a PQ programme whose HDR
   reference white is 203 cd/m² (Report ITU-R BT.2408, Table 1), so an average scene is exposed like a typical
   broadcast master.  An explicit ``exposure`` (cd/m² per scene unit) bypasses the automatic choice.
2. **Highlight roll-off** — the ITU-R BT.2390 EETF (Report ITU-R BT.2390, §5.4.1 "EETF"): in the PQ domain
   normalised to the source range, identity below the knee ``KS = 1.5 · maxLum − 0.5`` and a Hermite spline
   ``P(B) = (2T³ − 3T² + 1) KS + (T³ − 2T² + T)(1 − KS) + (−2T³ + 3T²) maxLum`` above it, which meets the
   identity with equal value and slope at ``KS`` and lands exactly on the target peak.  It is applied to
   ``max(R, G, B)`` and the three channels are scaled by the same ratio, so hue and saturation are kept and no
   channel exceeds ``peak``.  Pixels whose largest channel exceeds 10,000 cd/m² (the PQ ceiling) are first scaled down to it, keeping
   their RGB ratios.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from hdrkit import color
from hdrkit.errors import InputError
from hdrkit.tonemap._common import check_hdr, check_positive

#: BT.2408 PQ level of an 18 % grey card (HDR reference white 203 cd/m²).
BT2408_GREY_NITS = 26.0
PQ_MAX_NITS = 10000.0


def eetf_bt2390(nits: Any, src_peak: float, dst_peak: float, src_black: float = 0.0,
                dst_black: float = 0.0) -> np.ndarray:
    """ITU-R BT.2390 EETF: map luminance in [src_black, src_peak] onto [dst_black, dst_peak] cd/m².

    Shapes: any; float64 out in cd/m².  Identity when ``dst_peak ≥ src_peak`` and both blacks are 0.
    """
    src_peak = check_positive(src_peak, "src_peak")
    dst_peak = check_positive(dst_peak, "dst_peak")
    if src_black < 0 or dst_black < 0 or src_black >= src_peak or dst_black >= dst_peak:
        raise InputError("EETF black levels must be ≥ 0 and below the peaks")
    pq = color.pq_inverse_eotf
    lb, lw = float(pq(np.float64(src_black))), float(pq(np.float64(min(src_peak, PQ_MAX_NITS))))
    span = lw - lb
    e1 = (np.asarray(pq(np.clip(np.asarray(nits, dtype=np.float64), 0.0, PQ_MAX_NITS))) - lb) / span
    e1 = np.clip(e1, 0.0, 1.0)
    min_lum = (float(pq(np.float64(dst_black))) - lb) / span
    max_lum = (float(pq(np.float64(min(dst_peak, PQ_MAX_NITS)))) - lb) / span
    ks = 1.5 * max_lum - 0.5
    if ks < 1.0:
        t = (e1 - ks) / (1.0 - ks)
        t2, t3 = t * t, t * t * t
        spline = (2 * t3 - 3 * t2 + 1) * ks + (t3 - 2 * t2 + t) * (1.0 - ks) + (-2 * t3 + 3 * t2) * max_lum
        e2 = np.where(e1 < ks, e1, spline)
    else:
        e2 = e1
    if min_lum > 0:
        e2 = e2 + min_lum * (1.0 - e2) ** 4
    return np.asarray(color.pq_eotf(e2 * span + lb), dtype=np.float64)


def auto_exposure(scene: Any, mid: float = BT2408_GREY_NITS) -> float:
    """cd/m² per scene unit that puts the log-average luminance (BT.2020) of ``scene`` at ``mid`` cd/m².

    The log-average ignores nothing but floors luminance at 10⁻⁷ of the maximum (so black pixels do not send it
    to zero); an all-black scene gets exposure 1.
    """
    mid = check_positive(mid, "mid")
    x = check_hdr(scene, "scene")
    y = np.asarray(color.luminance(x, "bt2020"), dtype=np.float64)
    ymax = float(y.max())
    if ymax <= 0:
        return 1.0
    lavg = float(np.exp(np.mean(np.log(np.maximum(y, ymax * 1e-7)))))
    return mid / lavg


def master_hdr10(scene: Any, peak: float = 1000.0, mid: Optional[float] = BT2408_GREY_NITS,
                 exposure: Optional[float] = None) -> np.ndarray:
    """Scene-referred linear BT.2020 → display-referred HDR10 master (absolute linear BT.2020 cd/m², ≤ ``peak``).

    Parameters
    ----------
    scene : float ``(..., 3)`` linear BT.2020, any scale (negatives clamp to 0, NaN/Inf → InputError).
    peak : mastering display peak in cd/m² (1000 by default, like HDRTV4K).
    mid : cd/m² for the scene's log-average luminance (default 26, BT.2408 18 % grey); ``None`` → the input is
        already in cd/m² (exposure 1) unless ``exposure`` is given.
    exposure : cd/m² per scene unit; overrides ``mid``.

    Returns
    -------
    float32 ``(..., 3)`` cd/m² in [0, ``peak``], to be encoded with ``hdrkit.color.pq_inverse_eotf``.
    """
    peak = check_positive(peak, "peak")
    if peak > PQ_MAX_NITS:
        raise InputError(f"peak must be at most {PQ_MAX_NITS:g} cd/m² (the PQ range), got {peak:g}")
    x = check_hdr(scene, "scene")
    if exposure is not None:
        k = check_positive(exposure, "exposure")
    elif mid is not None:
        k = auto_exposure(x, mid)
    else:
        k = 1.0
    with np.errstate(over="ignore"):
        nits = x * np.float32(k)  # a new float32 array (the input is never modified)
    if not np.isfinite(nits).all():  # float32 overflow of absurd inputs: saturate, then the PQ ceiling applies
        nits = np.minimum(np.nan_to_num(nits, posinf=np.finfo(np.float32).max), np.finfo(np.float32).max)
    m = nits.max(axis=-1)
    over = m > PQ_MAX_NITS  # beyond the PQ range: scale the pixel down, keeping its RGB ratios
    if over.any():
        nits[over] *= (np.float32(PQ_MAX_NITS) / m[over])[:, None]
        m = np.minimum(m, PQ_MAX_NITS)
    src_peak = min(max(float(m.max()) if m.size else 0.0, peak), PQ_MAX_NITS)
    if src_peak <= peak:
        return nits.astype(np.float32)
    m_out = eetf_bt2390(m, src_peak, peak)  # float64 on one channel
    ratio = np.where(m > 0, m_out / np.maximum(m, 1e-30), 0.0).astype(np.float32)
    out = np.minimum(nits * ratio[..., None], np.float32(peak))
    return out.astype(np.float32, copy=False)


def regrade_peak(nits: Any, peak: float, grade_peak: float = 1000.0) -> np.ndarray:
    """Re-grade an HDR10 picture mastered for ``grade_peak`` to a display of ``peak`` cd/m².

    Our masters are ``EETF(scene, src → grade_peak)`` (:func:`master_hdr10`); this inverts the BT.2390 EETF on
    ``max(R, G, B)`` (taking the source range as the whole PQ range, 10,000 cd/m²) and applies it again towards
    ``peak``, scaling the three channels by one ratio (hue kept).  Light below the EETF knee of both grades (≈ 384
    cd/m² for 1000, more for higher peaks) is unchanged; highlights near ``grade_peak`` spread up to ``peak``
    (a 1000-nit grade's 950 cd/m² → ≈ 2,900 cd/m² for ``peak = 4000``).  ``peak == grade_peak`` only limits
    ``max(R, G, B)`` to the peak.  float32 ``(..., 3)`` cd/m² out.
    """
    peak = check_positive(peak, "peak")
    grade_peak = check_positive(grade_peak, "grade_peak")
    if peak > PQ_MAX_NITS or grade_peak > PQ_MAX_NITS:
        raise InputError(f"peaks must be at most {PQ_MAX_NITS:g} cd/m² (the PQ range)")
    x = np.clip(np.nan_to_num(np.asarray(nits, dtype=np.float64), nan=0.0, posinf=PQ_MAX_NITS), 0.0, None)
    m = x.max(axis=-1)
    if peak == grade_peak:
        ratio = np.where(m > peak, peak / np.maximum(m, 1e-30), 1.0)
        return (x * ratio[..., None]).astype(np.float32)
    e = np.linspace(0.0, 1.0, 16385)
    src = np.asarray(color.pq_eotf(e), dtype=np.float64)
    graded = eetf_bt2390(src, PQ_MAX_NITS, grade_peak)
    keep = np.concatenate([[True], np.diff(graded) > 0])  # strictly increasing table for the inverse
    scene = np.interp(np.minimum(m, grade_peak), graded[keep], src[keep])
    scene = np.where(m >= graded[keep][-1], PQ_MAX_NITS, scene)
    m_out = eetf_bt2390(scene, PQ_MAX_NITS, peak)
    ratio = np.where(m > 0, m_out / np.maximum(m, 1e-30), 0.0)
    return np.minimum(x * ratio[..., None], peak).astype(np.float32)
