"""Reinhard et al. 2002 photographic tone reproduction, global and local, with colour-saturation correction.

References
----------
- E. Reinhard, M. Stark, P. Shirley, J. Ferwerda, "Photographic tone reproduction for digital images",
  ACM SIGGRAPH 2002 (Transactions on Graphics 21(3)): eq. 1 (log-average luminance), 2 (key scaling),
  3–4 (global operator with white point), 5–9 (local dodging-and-burning with a Gaussian centre-surround).
- F. Banterle, A. Artusi et al., *Advanced High Dynamic Range Imaging* and the HDR Toolbox: the local
  operator with an edge-aware (bilateral) adaptation luminance instead of the scale selection.
- C. Schlick, "Quantization techniques for visualization of high dynamic range pictures", 1994:
  ``C_out = (C_in / L_in)^s · L_out``.
- R. Mantiuk, R. Mantiuk, A. Tomaszewska, W. Heidrich, "Color correction for tone mapping", Eurographics 2009:
  ``C_out = ((C_in / L_in − 1) · s + 1) · L_out``.

Not to be confused with colour-hdri's and OpenCV's "Reinhard", which are Reinhard & Devlin 2005.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from hdrkit import color
from hdrkit.errors import InputError
from hdrkit.tonemap._common import check_finite, check_hdr, check_positive, display_linear_to_sdr

#: Gaussian ratio of Reinhard 2002 §3.3: α₁ = 1 / (2√2), α₂ = 1.6 α₁; scales s = 1.6^i.
ALPHA_1 = 1.0 / (2.0 * np.sqrt(2.0))
ALPHA_2 = 1.6 * ALPHA_1


def log_average(lum: np.ndarray, delta: float = 1e-4) -> float:
    """Reinhard 2002 eq. 1: ``exp(mean(log(δ + L)))`` over all pixels."""
    return float(np.exp(np.mean(np.log(delta + np.asarray(lum, dtype=np.float64)))))


def _gaussian(img: np.ndarray, sigma: float) -> np.ndarray:
    import cv2

    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), sigmaY=float(sigma), borderType=cv2.BORDER_REFLECT)


def adaptation_dodge_burn(L: np.ndarray, key: float, phi: float = 8.0, epsilon: float = 0.05,
                          num_scales: int = 8) -> np.ndarray:
    """Reinhard 2002 eqs. 5–9: per-pixel adaptation luminance ``V1(x, y, s_m)`` from the largest scale ``s_m``
    whose normalised centre-surround difference ``|V|`` stays below ``ε``.  ``L`` is ``H×W`` scaled luminance."""
    L = np.asarray(L, dtype=np.float32)
    result = None
    done = np.zeros(L.shape, dtype=bool)
    v1_prev = None
    for i in range(num_scales):
        s = 1.6 ** i
        # R_i(x, y, s) = 1/(π(α_i s)²) exp(−(x² + y²)/(α_i s)²) is a Gaussian of std α_i s / √2.
        v1 = _gaussian(L, max(ALPHA_1 * s / np.sqrt(2.0), 0.1))
        v2 = _gaussian(L, max(ALPHA_2 * s / np.sqrt(2.0), 0.1))
        v = (v1 - v2) / (2.0 ** phi * key / s ** 2 + v1)
        if result is None:
            result = v1.copy()
        stop = (~done) & (np.abs(v) >= epsilon)
        # At the first scale exceeding ε keep the previous scale's V1 (the largest scale below the threshold).
        if v1_prev is not None:
            result[stop] = v1_prev[stop]
        done |= stop
        keep = ~done
        result[keep] = v1[keep]
        v1_prev = v1
    return result


def adaptation_bilateral(L: np.ndarray, sigma_space: Optional[float] = None, sigma_range: float = 0.4) -> np.ndarray:
    """Edge-aware adaptation luminance: a bilateral filter of ``log10 L`` (range σ in log10 units), as in the
    HDR Toolbox's local Reinhard operator.  ``sigma_space`` defaults to 2 % of the larger image side."""
    import cv2

    L = np.asarray(L, dtype=np.float32)
    if sigma_space is None:
        sigma_space = max(1.0, 0.02 * max(L.shape))
    log_l = np.log10(np.maximum(L, 1e-8)).astype(np.float32)
    d = int(min(2 * np.ceil(2.0 * sigma_space) + 1, 31))
    filt = cv2.bilateralFilter(log_l, d, float(sigma_range), float(sigma_space), borderType=cv2.BORDER_REFLECT)
    return (10.0 ** filt).astype(np.float32)


def saturation_schlick1994(rgb: np.ndarray, lum_in: np.ndarray, lum_out: np.ndarray, s: float) -> np.ndarray:
    """Schlick 1994 colour correction ``C_out = (C_in / L_in)^s · L_out`` (``(..., 3)``, ``(...)``, ``(...)``)."""
    ratio = np.where(lum_in[..., None] > 0, rgb / np.maximum(lum_in[..., None], 1e-30), 0.0)
    return np.maximum(ratio, 0.0) ** s * lum_out[..., None]


def saturation_mantiuk2009(rgb: np.ndarray, lum_in: np.ndarray, lum_out: np.ndarray, s: float) -> np.ndarray:
    """Mantiuk et al. 2009 colour correction ``C_out = ((C_in / L_in − 1) s + 1) · L_out``."""
    ratio = np.where(lum_in[..., None] > 0, rgb / np.maximum(lum_in[..., None], 1e-30), 1.0)
    return ((ratio - 1.0) * s + 1.0) * lum_out[..., None]


def reinhard2002(hdr_nits: Any, key: float = 0.18, white: Optional[float] = None, local: Any = False,
                 saturation: float = 1.0, saturation_method: str = "schlick1994", phi: float = 8.0,
                 epsilon: float = 0.05, num_scales: int = 8, sigma_space: Optional[float] = None,
                 sigma_range: float = 0.4, delta: float = 1e-4) -> np.ndarray:
    """Reinhard et al. 2002 photographic tone reproduction.

    Parameters
    ----------
    hdr_nits : float ``H×W×3`` absolute linear BT.2020 cd/m² (``(..., 3)`` for the global operator).
        Negatives clamp to 0; NaN/Inf → InputError.
    key : the key value ``a`` (0.18 = normal key; eq. 2 ``L = a / L̄_w · L_w``).
    white : ``L_white`` in scaled-luminance units (eq. 4).  ``None`` → the largest scaled luminance (the
        paper's default), ``inf`` → eq. 3 ``L / (1 + L)``.
    local : ``False`` (global), ``True`` / ``"dodge_burn"`` (eqs. 5–9) or ``"bilateral"`` (edge-aware).
    saturation : ``s`` of the colour correction (1 = keep the RGB ratios).
    saturation_method : ``"schlick1994"`` or ``"mantiuk2009"``.
    phi, epsilon, num_scales : dodging-and-burning parameters (sharpening φ, threshold ε, number of scales).
    sigma_space, sigma_range : bilateral filter σ in pixels and in log10 luminance.
    delta : δ of the log-average (cd/m²).

    Returns
    -------
    float32 BT.709 γ2.4 code values in [0, 1] (display white = ``L_d = 1``).
    """
    key = check_positive(key, "key")
    saturation = check_finite(saturation, "saturation")
    if saturation < 0:
        raise InputError(f"saturation must be ≥ 0, got {saturation}")
    if saturation_method not in ("schlick1994", "mantiuk2009"):
        raise InputError(f"saturation_method must be 'schlick1994' or 'mantiuk2009', got {saturation_method!r}")
    mode = {False: "global", None: "global", "global": "global", True: "dodge_burn", "dodge_burn": "dodge_burn",
            "local": "dodge_burn", "bilateral": "bilateral"}.get(local if not isinstance(local, str) else local.lower())
    if mode is None:
        raise InputError(f"local must be False, True, 'dodge_burn' or 'bilateral', got {local!r}")
    x = check_hdr(hdr_nits).astype(np.float64)
    if mode != "global" and x.ndim != 3:
        raise InputError(f"the local Reinhard operator needs an H×W×3 image, got shape {x.shape}")
    lw = np.maximum(np.asarray(color.luminance(x, "bt2020")), 0.0)
    lavg = log_average(lw, check_positive(delta, "delta"))
    L = key / lavg * lw
    if white is None:
        lwhite = float(L.max()) if L.size else 1.0
    elif isinstance(white, (int, float)) and white == float("inf"):
        lwhite = float("inf")
    else:
        lwhite = check_positive(white, "white")
    lwhite = max(lwhite, 1e-12)
    num = L * (1.0 + L / lwhite ** 2) if np.isfinite(lwhite) else L
    if mode == "global":
        ld = num / (1.0 + L)
    elif mode == "dodge_burn":
        ld = num / (1.0 + adaptation_dodge_burn(L.astype(np.float32), key, phi, epsilon, int(num_scales)))
    else:
        ld = num / (1.0 + adaptation_bilateral(L.astype(np.float32), sigma_space, sigma_range))
    ld = np.clip(ld, 0.0, 1.0)
    if saturation_method == "schlick1994":
        out = saturation_schlick1994(x, lw, ld, saturation)
    else:
        out = saturation_mantiuk2009(x, lw, ld, saturation)
    return display_linear_to_sdr(np.nan_to_num(out, nan=0.0, posinf=1.0, neginf=0.0).astype(np.float32))
