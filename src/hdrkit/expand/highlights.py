"""Highlight expansion for a display brighter than the grade a model predicts (``expand --peak``).

A blind model predicts a 1000 cd/m² grade; :func:`hdrkit.tonemap.regrade_peak` re-grades it to a brighter
``peak`` by inverting the BT.2390 EETF.  That re-grade only lifts what the model already put near 1000 cd/m², and
where the SDR is clipped the model cannot know whether the light was 1,100 or 50,000 cd/m², so it predicts the
cautious middle and the re-grade stays far below the display's peak (docs/EXPAND.md, round 5 part 1).

:func:`highlight_dome` gives the display's headroom to the one clipped region the model grades brightest: a smooth
brightness-enhancement dome, the idea of Rempel et al. 2007, here confined to that region (its rim keeps the
re-grade, its centre reaches ``target · peak``).  Everything else keeps the re-grade, colour is scaled by one ratio
per pixel (hue kept), and nothing changes when ``peak`` is not above the grade's peak.

References: A. G. Rempel, M. Trentacoste, H. Seetzen, H. D. Young, W. Heidrich, L. Whitehead, G. Ward,
"Ldr2Hdr: on-the-fly reverse tone mapping of legacy video and photographs", ACM TOG 26(3), 2007 (the brightness
enhancement function: a smooth boost grown from the saturated pixels).
"""

from __future__ import annotations

import numpy as np

from hdrkit.errors import InputError

#: SDR code value (largest channel) from which a pixel counts as clipped (the benchmark's clipping mask).
CLIP_CODE = 254.0 / 255.0


def _smoothstep(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def highlight_dome(nits: np.ndarray, sdr: np.ndarray, peak: float, grade: np.ndarray | None = None,
                   grade_peak: float = 1000.0, target: float = 0.9, clip: float = CLIP_CODE) -> np.ndarray:
    """Lift the brightest clipped region of ``nits`` (a picture already re-graded to ``peak``) towards
    ``target · peak`` cd/m².

    Parameters
    ----------
    nits : float ``H×W×3`` cd/m², the re-graded picture (e.g. :func:`hdrkit.tonemap.regrade_peak` of ``grade``).
    sdr : float ``H×W×3`` SDR code values in [0, 1] the picture was expanded from.
    peak : the display peak, cd/m².  ``peak ≤ grade_peak`` returns ``nits`` unchanged (as float32).
    grade : float ``H×W×3`` cd/m², the model's ``grade_peak`` grade; picks the region (the connected set of SDR
        pixels whose largest code value is ≥ ``clip`` with the largest ``max(R, G, B)`` of ``grade``; ties: the
        larger region).  ``None``: ``nits`` is used.
    target : the dome's top as a share of ``peak``.

    Returns float32 ``H×W×3``.  Per pixel ``m = max(R, G, B)`` of ``nits`` becomes
    ``m · (target·peak / m)^w`` where that is larger, all three channels scaled by the same ratio;
    ``w = smoothstep(d / d_max)`` inside the region (``d``: Euclidean distance to the nearest pixel outside it,
    ``d_max`` its largest value there), 0 elsewhere.
    """
    from scipy import ndimage

    x = np.asarray(nits, dtype=np.float32)
    s = np.asarray(sdr)
    if x.ndim != 3 or x.shape[-1] != 3 or s.shape != x.shape:
        raise InputError(f"highlight_dome needs two H×W×3 pictures of one size, got {x.shape} and {s.shape}")
    g = x if grade is None else np.asarray(grade, dtype=np.float32)
    if g.shape != x.shape:
        raise InputError(f"grade must have the picture's shape {x.shape}, got {g.shape}")
    if not float(peak) > float(grade_peak):
        return x.copy()
    mask = np.nan_to_num(s.max(-1), nan=0.0) >= clip
    lab, n = ndimage.label(mask)
    if n == 0:
        return x.copy()
    idx = np.arange(1, n + 1)
    top = np.asarray(ndimage.maximum(np.nan_to_num(g.max(-1)), lab, idx), dtype=np.float64)
    size = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    best = int(np.lexsort((-size, -top))[0])  # brightest region; among equals the largest
    sl = ndimage.find_objects(lab)[best]
    sl = tuple(slice(max(a.start - 1, 0), a.stop + 1) for a in sl)
    region = lab[sl] == best + 1
    d = ndimage.distance_transform_edt(region)
    w = np.where(region, _smoothstep(d / max(float(d.max()), 1e-6)), 0.0)
    out = x.copy()
    part = out[sl].astype(np.float64)
    m = part.max(-1)
    t = float(target) * float(peak)
    lift = (w > 0) & (m > 0) & (m < t)
    ratio = np.ones_like(m)
    ratio[lift] = (t / m[lift]) ** w[lift]
    out[sl] = (part * ratio[..., None]).astype(np.float32)
    return out
