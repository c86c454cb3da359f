"""Transfer functions (EOTFs / OETFs) for numpy arrays and torch tensors.

All functions are element-wise (except the HLG EOTF, which needs RGB on the last axis), keep the input's kind
and floating dtype, and are differentiable in torch.  Branches are evaluated on clamped arguments so that the
branch *not* taken never produces NaN (which would poison torch gradients).

References
----------
- IEC 61966-2-1:1999, sRGB.
- ITU-R BT.1886 (03/2011), reference EOTF for flat-panel displays (here with L_B = 0: ``L = V**gamma``).
- SMPTE ST 2084:2014 / ITU-R BT.2100-2 Table 4, Perceptual Quantizer (PQ).
- ITU-R BT.2100-2 Table 5, Hybrid Log-Gamma (HLG) OETF, inverse OETF, OOTF and EOTF.
"""

from __future__ import annotations

import math
from typing import Any

from hdrkit import _array as A
from hdrkit.errors import InputError

#: Luminance of SDR reference white when SDR is placed in an HDR signal (ITU-R BT.2408).
SDR_WHITE_NITS = 203.0
#: Nominal peak luminance of an HLG display (ITU-R BT.2100 reference).
HLG_PEAK_NITS = 1000.0
#: Default meaning of linear files that cannot say (1.0 = 100 cd/m², as in ACES / OpenColorIO configs).
LINEAR_NITS_PER_UNIT = 100.0

TRANSFERS = ("linear", "srgb", "bt1886", "pq", "hlg")

# --------------------------------------------------------------------------------------------------- sRGB


def srgb_eotf(v: Any) -> Any:
    """sRGB code value ``V`` → relative linear light (IEC 61966-2-1). Negative values follow the linear segment."""
    v = A.as_float(v)
    lin = v / 12.92
    curve = ((A.clip(v, 0.04045, None) + 0.055) / 1.055) ** 2.4
    return A.where(v <= 0.04045, lin, curve)


def srgb_inverse_eotf(L: Any) -> Any:
    """Relative linear light → sRGB code value (the sRGB encoding, IEC 61966-2-1)."""
    L = A.as_float(L)
    lin = 12.92 * L
    curve = 1.055 * A.clip(L, 0.0031308, None) ** (1 / 2.4) - 0.055
    return A.where(L <= 0.0031308, lin, curve)


# ------------------------------------------------------------------------------------------------ BT.1886


def bt1886_eotf(v: Any, gamma: float = 2.4) -> Any:
    """BT.1886 EOTF with zero black level: ``L = max(V, 0) ** gamma`` (relative, 1.0 = white)."""
    v = A.as_float(v)
    return A.clip(v, 0.0, None) ** gamma


def bt1886_inverse_eotf(L: Any, gamma: float = 2.4) -> Any:
    """Inverse of :func:`bt1886_eotf`: ``V = max(L, 0) ** (1 / gamma)``."""
    L = A.as_float(L)
    return A.clip(L, 0.0, None) ** (1.0 / gamma)


# ---------------------------------------------------------------------------------------------------- PQ

PQ_M1 = 2610 / 16384
PQ_M2 = 2523 / 4096 * 128
PQ_C1 = 3424 / 4096
PQ_C2 = 2413 / 4096 * 32
PQ_C3 = 2392 / 4096 * 32
PQ_PEAK = 10000.0


def pq_eotf(e: Any) -> Any:
    """PQ code value ``E'`` in [0, 1] → absolute luminance in cd/m² (SMPTE ST 2084). Negative ``E'`` → 0."""
    e = A.as_float(e)
    ep = A.clip(e, 0.0, None) ** (1.0 / PQ_M2)
    num = A.clip(ep - PQ_C1, 0.0, None)
    den = PQ_C2 - PQ_C3 * ep
    return PQ_PEAK * (num / den) ** (1.0 / PQ_M1)


def pq_inverse_eotf(nits: Any) -> Any:
    """Absolute luminance in cd/m² → PQ code value (SMPTE ST 2084). Negative luminance is clamped to 0."""
    nits = A.as_float(nits)
    y = A.clip(nits / PQ_PEAK, 0.0, None) ** PQ_M1
    return ((PQ_C1 + PQ_C2 * y) / (1.0 + PQ_C3 * y)) ** PQ_M2


# --------------------------------------------------------------------------------------------------- HLG

HLG_A = 0.17883277
HLG_B = 1.0 - 4.0 * HLG_A
HLG_C = 0.5 - HLG_A * math.log(4.0 * HLG_A)


def hlg_oetf(E: Any) -> Any:
    """HLG OETF (BT.2100): scene linear ``E`` in [0, 1] → signal ``E'``."""
    E = A.as_float(E)
    low = A.sqrt(3.0 * A.clip(E, 0.0, 1.0 / 12.0))
    high = HLG_A * A.log(12.0 * A.clip(E, 1.0 / 12.0, None) - HLG_B) + HLG_C
    return A.where(E <= 1.0 / 12.0, low, high)


def hlg_inverse_oetf(Ep: Any) -> Any:
    """Inverse HLG OETF (BT.2100): signal ``E'`` → scene linear ``E``."""
    Ep = A.as_float(Ep)
    low = A.clip(Ep, 0.0, 0.5) ** 2 / 3.0
    high = (A.exp((A.clip(Ep, 0.5, None) - HLG_C) / HLG_A) + HLG_B) / 12.0
    return A.where(Ep <= 0.5, low, high)


def hlg_system_gamma(peak: float = HLG_PEAK_NITS) -> float:
    """HLG system gamma for a display of nominal peak ``peak`` cd/m² (BT.2100 note 5f: 1.2 + 0.42 log10(Lw/1000))."""
    return 1.2 + 0.42 * math.log10(peak / 1000.0)


_BT2020_Y = (0.2627, 0.6780, 0.0593)


def hlg_eotf(Ep: Any, peak: float = HLG_PEAK_NITS) -> Any:
    """HLG EOTF (BT.2100, black level 0): R'G'B' signal (..., 3) → display light in cd/m² (..., 3).

    ``F_D = α Y_S^(γ-1) E`` with ``E`` the inverse OETF, ``Y_S`` its BT.2020 luminance, ``α = peak``.
    """
    A.check_channels(Ep, "HLG signal")
    E = hlg_inverse_oetf(Ep)
    gamma = hlg_system_gamma(peak)
    Ys = E[..., 0] * _BT2020_Y[0] + E[..., 1] * _BT2020_Y[1] + E[..., 2] * _BT2020_Y[2]
    scale = peak * A.clip(Ys, 1e-12, None) ** (gamma - 1.0)
    return E * scale[..., None]


def hlg_inverse_eotf(nits: Any, peak: float = HLG_PEAK_NITS) -> Any:
    """Inverse HLG EOTF: display light in cd/m² (..., 3) → R'G'B' signal, inverting the OOTF then the OETF."""
    A.check_channels(nits, "display light")
    gamma = hlg_system_gamma(peak)
    F = A.clip(A.as_float(nits), 0.0, None) / peak
    Yd = F[..., 0] * _BT2020_Y[0] + F[..., 1] * _BT2020_Y[1] + F[..., 2] * _BT2020_Y[2]
    scale = A.clip(Yd, 1e-12, None) ** ((1.0 - gamma) / gamma)
    return hlg_oetf(F * scale[..., None])


# ----------------------------------------------------------------------------------------------- generic


def check_transfer(transfer: str) -> str:
    t = str(transfer).lower().replace("-", "").replace("_", "").replace(".", "")
    aliases = {"st2084": "pq", "smpte2084": "pq", "gamma24": "bt1886",
               "rec1886": "bt1886", "lin": "linear", "scenelinear": "linear"}
    t = aliases.get(t, t)
    if t not in TRANSFERS:
        raise InputError(f"unknown transfer {transfer!r}; choose one of {', '.join(TRANSFERS)}")
    return t


def default_nits_per_unit(transfer: str) -> float:
    """Meaning of code value / linear value 1.0 when nothing says otherwise (see docs/ARCHITECTURE.md)."""
    t = check_transfer(transfer)
    return {"linear": LINEAR_NITS_PER_UNIT, "srgb": SDR_WHITE_NITS, "bt1886": SDR_WHITE_NITS,
            "hlg": HLG_PEAK_NITS, "pq": 1.0}[t]


def eotf(v: Any, transfer: str, nits_per_unit: float | None = None) -> Any:
    """Encoded values → absolute linear light in cd/m² for any supported ``transfer``.

    ``nits_per_unit``: nits of linear 1.0 (``linear``), of code value 1.0 (``srgb``, ``bt1886``) or the HLG
    nominal peak (``hlg``); ignored for ``pq``. ``None`` takes :func:`default_nits_per_unit`.
    """
    t = check_transfer(transfer)
    k = default_nits_per_unit(t) if nits_per_unit is None else float(nits_per_unit)
    if t == "linear":
        return A.as_float(v) * k
    if t == "srgb":
        return srgb_eotf(v) * k
    if t == "bt1886":
        return bt1886_eotf(v) * k
    if t == "pq":
        return pq_eotf(v)
    return hlg_eotf(v, peak=k)


def inverse_eotf(nits: Any, transfer: str, nits_per_unit: float | None = None) -> Any:
    """Absolute linear light in cd/m² → encoded values; the inverse of :func:`eotf`."""
    t = check_transfer(transfer)
    k = default_nits_per_unit(t) if nits_per_unit is None else float(nits_per_unit)
    if t == "linear":
        return A.as_float(nits) / k
    if t == "srgb":
        return srgb_inverse_eotf(A.as_float(nits) / k)
    if t == "bt1886":
        return bt1886_inverse_eotf(A.as_float(nits) / k)
    if t == "pq":
        return pq_inverse_eotf(nits)
    return hlg_inverse_eotf(nits, peak=k)
