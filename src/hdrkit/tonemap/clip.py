"""The simplest tone mapping baseline: exposure, gamut mapping, clipping at SDR white, γ 2.4 encoding."""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit.color import SDR_WHITE_NITS
from hdrkit.errors import InputError
from hdrkit.tonemap._common import check_finite, check_hdr, check_positive, display_linear_to_sdr


def clip(hdr_nits: Any, exposure: float = 0.0, white: float = SDR_WHITE_NITS) -> np.ndarray:
    """``V = clip(nits · 2^exposure / white, 0, 1)^(1/2.4)`` in BT.709 (after gamut mapping from BT.2020).

    Parameters
    ----------
    hdr_nits : float ``(..., 3)`` absolute linear BT.2020 cd/m²; negatives clamp to 0, NaN/Inf → InputError.
    exposure : stops added before clipping.
    white : cd/m² that become SDR code value 1.0 (203, BT.2408 HDR reference white, matching how hdrkit reads
        8-bit SDR files), so that ``clip`` is the exact inverse of reading an SDR image for values below white.

    Returns
    -------
    float32 ``(..., 3)`` BT.709 γ2.4 code values in [0, 1].
    """
    white = check_positive(white, "white")
    ev = check_finite(exposure, "exposure")
    if abs(ev) > 100:
        raise InputError(f"exposure must be within ±100 stops, got {exposure}")
    scale = 2.0 ** ev / white
    x = check_hdr(hdr_nits)
    return display_linear_to_sdr(x * np.float32(scale))
