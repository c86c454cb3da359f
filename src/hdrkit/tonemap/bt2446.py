"""ITU-R BT.2446-1 Method A: HDR → SDR conversion (the broadcast standard tone mapping).

Reference: Report ITU-R BT.2446-1 (03/2021), *Methods for conversion of high dynamic range content to standard
dynamic range content and vice-versa*, §4.1 "Conversion Method A — HDR to SDR conversion".  Written from the
equations of the report:

1. HDR display light normalised by the HDR peak ``L_HDR`` is gamma-encoded, ``R' = R^(1/2.4)`` (BT.2020), and the
   luma ``Y' = 0.2627 R' + 0.6780 G' + 0.0593 B'`` is formed.
2. Tone mapping of the luma (three steps):
   ``ρ_HDR = 1 + 32 (L_HDR / 10000)^(1/2.4)``, ``Y'_p = log(1 + (ρ_HDR − 1) Y') / log(ρ_HDR)``;
   knee ``Y'_c = 1.0770 Y'_p`` (``Y'_p ≤ 0.7399``), ``−1.1510 Y'_p² + 2.7811 Y'_p − 0.6302`` (``0.7399 < Y'_p <
   0.9909``), ``0.5 Y'_p + 0.5`` (``Y'_p ≥ 0.9909``);
   ``ρ_SDR = 1 + 32 (L_SDR / 10000)^(1/2.4)``, ``Y'_SDR = (ρ_SDR^Y'_c − 1) / (ρ_SDR − 1)``.
3. Colour correction: ``f = Y'_SDR / (1.1 Y')``, ``C'b,tmo = f C'b``, ``C'r,tmo = f C'r`` with
   ``C'b = (B' − Y') / 1.8814`` and ``C'r = (R' − Y') / 1.4746``; ``Y'_tmo = Y'_SDR − max(0.1 C'r,tmo, 0)``.
4. ``Y'_tmo C'b,tmo C'r,tmo`` → SDR R'G'B' (BT.2020 primaries, γ 2.4 code values).

The report's output is SDR in BT.2020 primaries; for BT.709 output we linearise (γ 2.4), convert the primaries
with the gamut mapping of :func:`hdrkit.tonemap._common.gamut_map_bt2020_to_bt709`, and re-encode.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit.errors import InputError
from hdrkit.tonemap._common import (
    SDR_GAMMA,
    check_hdr,
    check_positive,
    encode_sdr,
    gamut_map_bt2020_to_bt709,
)

#: BT.2020 luma coefficients (ITU-R BT.2020 Table 4).
KR, KG, KB = 0.2627, 0.6780, 0.0593
#: Y'CbCr scale factors of BT.2020: 2(1 − K_B) and 2(1 − K_R).
CB_SCALE, CR_SCALE = 1.8814, 1.4746

#: Knee of BT.2446-1 Method A, step 2 (break points and coefficients exactly as printed in the report).
KNEE_LOW, KNEE_HIGH = 0.7399, 0.9909
KNEE_SLOPE = 1.0770
KNEE_QUAD = (-1.1510, 2.7811, -0.6302)


def _as_float(x: Any) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype in (np.float32, np.float64) else x.astype(np.float64)


def bt2446a_rho(peak_nits: float) -> float:
    """``ρ = 1 + 32 (L / 10000)^(1/2.4)`` of BT.2446-1 Method A for a peak luminance ``L`` in cd/m²."""
    return 1.0 + 32.0 * (float(peak_nits) / 10000.0) ** (1.0 / 2.4)


def bt2446a_knee(y_p: Any) -> np.ndarray:
    """Step 2 of Method A: the knee function ``Y'_p → Y'_c`` on perceptually linearised luma in [0, 1]."""
    y = _as_float(y_p)
    a, b, c = KNEE_QUAD
    out = np.where(y <= KNEE_LOW, KNEE_SLOPE * y, (a * y + b) * y + c)
    return np.where(y >= KNEE_HIGH, 0.5 * y + 0.5, out)


def bt2446a_curve(y_hdr: Any, l_hdr: float = 1000.0, l_sdr: float = 100.0) -> np.ndarray:
    """Luma tone curve of Method A: HDR luma ``Y'`` (γ-encoded, in [0, 1]) → SDR luma ``Y'_SDR`` in [0, 1].

    Shapes: any; float32 in → float32 out, otherwise float64.  ``Y'`` outside [0, 1] is clipped.
    """
    y = np.clip(_as_float(y_hdr), 0.0, 1.0)
    rho_h, rho_s = bt2446a_rho(l_hdr), bt2446a_rho(l_sdr)
    y_p = np.log1p((rho_h - 1.0) * y) / np.log(rho_h)
    y_c = bt2446a_knee(y_p)
    return (rho_s ** y_c - 1.0) / (rho_s - 1.0)


def bt2446a(hdr_nits: Any, l_hdr: float = 1000.0, l_sdr: float = 100.0, primaries: str = "bt709") -> np.ndarray:
    """ITU-R BT.2446-1 Method A tone mapping.

    Parameters
    ----------
    hdr_nits : float ``(..., 3)`` absolute linear BT.2020 light in cd/m².  Negative values are clamped to 0;
        values above ``l_hdr`` are clipped to ``l_hdr`` (the method maps [0, L_HDR]); NaN/Inf → InputError.
    l_hdr : HDR peak luminance ``L_HDR`` in cd/m² (the report uses 1000).
    l_sdr : SDR peak luminance ``L_SDR`` in cd/m² (the report uses 100).
    primaries : ``"bt709"`` (default: gamut-mapped to BT.709) or ``"bt2020"`` (the report's own output,
        SDR R'G'B' in BT.2020 primaries, clipped to [0, 1]).

    Returns
    -------
    float32 ``(..., 3)`` γ 2.4 code values in [0, 1].
    """
    l_hdr = check_positive(l_hdr, "l_hdr")
    l_sdr = check_positive(l_sdr, "l_sdr")
    if primaries not in ("bt709", "bt2020"):
        raise InputError(f"primaries must be 'bt709' or 'bt2020', got {primaries!r}")
    x = check_hdr(hdr_nits)  # float32; the whole pipeline runs in float32 (≤ 1e-6 from a float64 version)
    rgb = np.minimum(x / np.float32(l_hdr), np.float32(1.0))
    rgb_p = rgb ** np.float32(1.0 / SDR_GAMMA)
    r, g, b = rgb_p[..., 0], rgb_p[..., 1], rgb_p[..., 2]
    y = KR * r + KG * g + KB * b
    y_sdr = bt2446a_curve(y, l_hdr, l_sdr)
    cb = (b - y) / CB_SCALE
    cr = (r - y) / CR_SCALE
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(y > 0.0, y_sdr / (np.float32(1.1) * y), np.float32(0.0))
    cb_t, cr_t = f * cb, f * cr
    y_t = y_sdr - np.maximum(np.float32(0.1) * cr_t, np.float32(0.0))
    r_o = y_t + CR_SCALE * cr_t
    b_o = y_t + CB_SCALE * cb_t
    g_o = (y_t - KR * r_o - KB * b_o) / KG
    out_p = np.stack([r_o, g_o, b_o], axis=-1)
    if primaries == "bt2020":
        return np.clip(out_p, 0.0, 1.0).astype(np.float32)
    # Linearise with a sign-preserving power so that out-of-range components reach the gamut mapper.
    lin = np.sign(out_p) * np.abs(out_p) ** np.float32(SDR_GAMMA)
    return encode_sdr(gamut_map_bt2020_to_bt709(lin.astype(np.float32, copy=False)))
