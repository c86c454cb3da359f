"""Hue and neutrality checks for highlight reconstruction (clipped regions of an SDR input).

* :func:`ictcp_hue_error` -- mean absolute difference of the ICtCp hue angle ``atan2(Cp, Ct)`` (BT.2100 ICtCp,
  :func:`hdrkit.color.rgb_to_ictcp`) between a reference and a test image over a mask, in degrees, ignoring pixels
  whose reference is nearly neutral (chroma ``√(Ct² + Cp²)`` below ``min_chroma``: their hue is undefined).
* :func:`neutrality` -- ``min(R, G, B) / max(R, G, B)`` of linear RGB (1 = neutral grey, 0 = a pure primary or
  secondary); it does not depend on the exposure, so an SDR pixel and its HDR expansion compare directly (in
  one set of primaries).
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np


def ictcp_hue_error(ref_nits: Any, test_nits: Any, mask: Optional[Any] = None, min_chroma: float = 0.01
                    ) -> tuple[float, int]:
    """``(mean |Δhue| in degrees, number of pixels)`` over ``mask`` (all pixels when ``None``) of BT.2020
    cd/m² images ``H×W×3``; ``(nan, 0)`` when no pixel qualifies."""
    from hdrkit.color import rgb_to_ictcp

    r = np.asarray(rgb_to_ictcp(np.clip(np.asarray(ref_nits, np.float64), 0.0, None)))
    t = np.asarray(rgb_to_ictcp(np.clip(np.asarray(test_nits, np.float64), 0.0, None)))
    sel = np.hypot(r[..., 1], r[..., 2]) >= min_chroma
    if mask is not None:
        sel &= np.asarray(mask, bool)
    n = int(sel.sum())
    if n == 0:
        return float("nan"), 0
    d = np.arctan2(t[..., 2], t[..., 1]) - np.arctan2(r[..., 2], r[..., 1])
    d = np.abs((d + np.pi) % (2 * np.pi) - np.pi)
    return float(np.degrees(d[sel]).mean()), n


def neutrality(rgb: Any) -> np.ndarray:
    """``min/max`` of the channels of linear RGB ``(..., 3)`` (0 for black pixels)."""
    x = np.asarray(rgb, np.float64)
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    return np.where(mx > 0, mn / np.where(mx > 0, mx, 1.0), 0.0)
