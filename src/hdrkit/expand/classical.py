"""Classical inverse tone mapping (expansion) operators.

Every operator takes SDR code values (float ``H×W×3`` in [0, 1], BT.709 primaries, BT.1886 γ 2.4) and returns
absolute linear light in cd/m² (float32 ``H×W×3``, BT.2020 primaries).  They work on the luminance ``L`` of the
linearised SDR image (``L = Y(V^2.4)``, BT.709 weights, 1 = SDR white) and keep colour ratios:
``RGB_out = RGB_lin · L_out / L`` (Schlick-style luminance change with saturation 1).

- :func:`linear` -- linear scaling: ``L_out = peak · L``.
- :func:`akyuz2007` -- Akyüz, Fleming, Riecke, Reinhard & Bülthoff 2007, "Do HDR displays support LDR
  content? A psychophysical evaluation", ACM TOG 26(3) (SIGGRAPH), eq. 1:
  ``L_out = k · ((L − L_min)/(L_max − L_min))^γ``, ``k`` = display peak, γ = 1 in their study.
- :func:`masia2009` -- Masia, Agustin, Fleming, Sorkine & Gutierrez 2009, "Evaluation of reverse tone mapping
  through varying exposure conditions", ACM TOG 28(5) (SIGGRAPH Asia): a gamma expansion ``L_out = peak · L^γ``
  with ``γ = 10.44·k − 6.282`` from the image key ``k = (ln L_H − ln L_min)/(ln L_max − ln L_min)``
  (``L_H`` log-average luminance; ``L_min``/``L_max`` the 1st/99th percentiles of the non-zero luminance, as in
  Akyüz & Reinhard 2006).
- :func:`masia2017` -- Masia, Serrano & Gutierrez 2017, "Dynamic range expansion based on image statistics",
  Multimedia Tools and Applications 76(1), eq. 5: ``γ = 2.4379 + 0.2319·ln L_H − 1.1228·k + 0.0085·p_ov``,
  ``p_ov`` the percentage of over-exposed pixels (``L ≥ 254/255``).
- :func:`huo2014` -- Huo, Yang, Dong & Brost 2014, "Physiological inverse tone mapping based on retina
  response", The Visual Computer 30(5): the inverse of a Naka–Rushton-type retina response,
  ``L_out = (L / L_max) · (L_s^n + σ^n)^(1/n)`` with ``σ = peak · L_H``, local adaptation
  ``L_s = peak · BF(BF(L))`` (two bilateral passes, σ_s = 16 then 10 px, σ_r = 0.3 then 0.1) and ``n = 0.86``
  (the formulation and parameters of Banterle's HDR Toolbox, ``HuoPhysEO``).
- :func:`kovaleski2014` -- Kovaleski & Oliveira 2014, "High-quality reverse tone mapping for a wide range of
  exposures", SIBGRAPI 2014: a brightness-enhancement map ``E = (3·B + 1)/4`` where ``B`` is the cross-bilateral
  filter (bilateral grid, σ_s = 150 px, σ_r = 25/255 on the γ-encoded image, guided by luminance) of the mask of
  pixels whose largest channel exceeds 254/255 (230/255 for video); ``L_out = (L·(peak − black) + black)·E``.

The SDR ``L`` here is BT.1886-linearised display light (the operators' "gamma removal" step with γ = 2.4).
"""

from __future__ import annotations

import numpy as np

from hdrkit.errors import InputError

__all__ = [
    "linear",
    "akyuz2007",
    "masia2009",
    "masia2017",
    "huo2014",
    "kovaleski2014",
    "image_key",
    "log_mean",
]

_BT709_Y = np.array([0.2126, 0.7152, 0.0722])
_LOG_DELTA = 1e-6


def _check_peak(peak: float, name: str = "peak") -> float:
    peak = float(peak)
    if not np.isfinite(peak) or peak <= 0:
        raise InputError(f"{name} must be a positive number of nits, got {peak}")
    return peak


def _linearise(sdr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BT.1886 code values → (linear BT.709 RGB relative to white, BT.709 luminance), float64."""
    from hdrkit.color import bt1886_eotf

    lin = np.asarray(bt1886_eotf(np.asarray(sdr, dtype=np.float64)), dtype=np.float64)
    return lin, lin @ _BT709_Y


def _finish(lin: np.ndarray, L: np.ndarray, L_out: np.ndarray) -> np.ndarray:
    """Change the luminance of ``lin`` from ``L`` to ``L_out`` (nits), convert BT.709 → BT.2020, float32."""
    from hdrkit.color import convert_primaries

    ratio = np.where(L > 0, L_out / np.where(L > 0, L, 1.0), 0.0)
    rgb = lin * ratio[..., None]
    # pixels of zero luminance but non-zero target (offsets such as a display black level): neutral grey
    grey = (L <= 0) & (L_out > 0)
    if np.any(grey):
        rgb[grey] = L_out[grey][:, None]
    out = convert_primaries(rgb, "bt709", "bt2020")
    return np.clip(np.asarray(out, dtype=np.float64), 0.0, None).astype(np.float32)


def log_mean(L: np.ndarray, delta: float = _LOG_DELTA) -> float:
    """Log-average (geometric mean) luminance ``exp(mean(ln(L + δ)))``."""
    return float(np.exp(np.mean(np.log(L + delta))))


def image_key(L: np.ndarray, robust: float = 0.01) -> tuple[float, float]:
    """Image key ``k = (ln L_H − ln L_min)/(ln L_max − ln L_min)`` and ``L_H`` (Akyüz & Reinhard 2006).

    ``L_min``/``L_max`` are the ``robust`` and ``1 − robust`` quantiles of the non-zero luminance.  A flat or black
    image has no defined key: 0.5 is returned.
    """
    L_H = log_mean(L)
    pos = L[L > 0]
    if pos.size == 0:
        return 0.5, L_H
    lo, hi = np.quantile(pos, [robust, 1.0 - robust])
    if hi <= lo:
        return 0.5, L_H
    k = (np.log(L_H) - np.log(lo)) / (np.log(hi) - np.log(lo))
    return float(np.clip(k, 0.0, 1.0)), L_H


def linear(sdr: np.ndarray, peak: float = 1000.0) -> np.ndarray:
    """Linear scaling: SDR white becomes ``peak`` nits (``L_out = peak · L``)."""
    peak = _check_peak(peak)
    lin, L = _linearise(sdr)
    return _finish(lin, L, peak * L)


def akyuz2007(sdr: np.ndarray, peak: float = 1000.0, gamma: float = 1.0) -> np.ndarray:
    """Akyüz et al. 2007, eq. 1: ``L_out = peak · ((L − L_min)/(L_max − L_min))^γ`` (γ = 1: their linear
    contrast stretch).  A flat image (``L_max = L_min``) is scaled as ``peak · L^γ``."""
    peak = _check_peak(peak)
    if not np.isfinite(gamma) or gamma <= 0:
        raise InputError(f"gamma must be a positive number, got {gamma}")
    lin, L = _linearise(sdr)
    lo, hi = float(L.min()), float(L.max())
    norm = (L - lo) / (hi - lo) if hi > lo else L
    return _finish(lin, L, peak * norm**gamma)


def _gamma_expand(lin: np.ndarray, L: np.ndarray, gamma: float, peak: float, min_gamma: float) -> np.ndarray:
    g = max(float(gamma), float(min_gamma))
    return _finish(lin, L, peak * L**g)


def masia2009(sdr: np.ndarray, peak: float = 1000.0, min_gamma: float = 0.1) -> np.ndarray:
    """Masia et al. 2009: ``L_out = peak · L^γ``, ``γ = 10.44·k − 6.282`` from the image key ``k``.

    The fit gives γ ≤ 0 for dark images (k < 0.60); γ is clamped to ``min_gamma`` so the result stays finite
    and monotone (Masia et al. 2017 replaced the fit for that reason).
    """
    peak = _check_peak(peak)
    lin, L = _linearise(sdr)
    k, _ = image_key(L)
    return _gamma_expand(lin, L, 10.44 * k - 6.282, peak, min_gamma)


def masia2017(sdr: np.ndarray, peak: float = 1000.0, min_gamma: float = 0.1) -> np.ndarray:
    """Masia et al. 2017, eq. 5: ``γ = 2.4379 + 0.2319·ln L_H − 1.1228·k + 0.0085·p_ov``; ``L_out = peak·L^γ``.

    ``p_ov``: percentage of pixels with ``L ≥ 254/255``; γ clamped to ``min_gamma`` as in :func:`masia2009`.
    """
    peak = _check_peak(peak)
    lin, L = _linearise(sdr)
    k, L_H = image_key(L)
    p_ov = 100.0 * float(np.mean(L >= 254.0 / 255.0))
    gamma = 2.4379 + 0.2319 * np.log(L_H) - 1.1228 * k + 0.0085 * p_ov
    return _gamma_expand(lin, L, gamma, peak, min_gamma)


def huo2014(sdr: np.ndarray, peak: float = 1000.0, n: float = 0.86) -> np.ndarray:
    """Huo et al. 2014: ``L_out = (L/L_max)·(L_s^n + σ^n)^(1/n)``, ``σ = peak·L_H``, ``L_s = peak·BF(BF(L))``.

    ``peak`` scales the operator (the toolbox's ``maxOutput``); it is not a ceiling: a flat white image maps to
    ``peak·2^(1/n)`` (2.24 × peak for n = 0.86).
    """
    from hdrkit.expand.bilateral import bilateral_grid

    peak = _check_peak(peak)
    if not np.isfinite(n) or n <= 0:
        raise InputError(f"n must be a positive number, got {n}")
    lin, L = _linearise(sdr)
    L_max = float(L.max())
    if L_max <= 0:
        return _finish(lin, L, np.zeros_like(L))
    L_s = bilateral_grid(L, L, 16.0, 0.3)
    L_s = bilateral_grid(L_s, L_s, 10.0, 0.1)
    sigma = peak * log_mean(L)
    L_out = (L / L_max) * ((peak * np.clip(L_s, 0.0, None)) ** n + sigma**n) ** (1.0 / n)
    return _finish(lin, L, L_out)


def kovaleski2014(
    sdr: np.ndarray,
    peak: float = 1200.0,
    black: float = 0.3,
    sigma_s: float = 150.0,
    sigma_r: float = 25.0 / 255.0,
    threshold: float = 254.0 / 255.0,
) -> np.ndarray:
    """Kovaleski & Oliveira 2014: ``L_out = (L·(peak − black) + black)·(3·B + 1)/4``, ``B`` the cross-bilateral
    filtered mask of pixels with ``max(R', G', B') > threshold`` (use 230/255 for video).

    The mask, threshold and σ_r live on the γ-encoded (code value) image, the guide is its luma; σ_s is in pixels
    (150 in the paper for HD frames).
    """
    from hdrkit.expand.bilateral import bilateral_grid

    peak = _check_peak(peak)
    black = float(black)
    if not np.isfinite(black) or black < 0 or black >= peak:
        raise InputError(f"black must be a number of nits in [0, peak), got {black}")
    if not 0 < threshold < 1:
        raise InputError(f"threshold must lie in (0, 1), got {threshold}")
    v = np.asarray(sdr, dtype=np.float64)
    lin, L = _linearise(v)
    mask = (v.max(axis=-1) > threshold).astype(np.float64)
    if mask.any():
        guide = v @ _BT709_Y
        B = np.clip(bilateral_grid(mask, guide, sigma_s, sigma_r), 0.0, 1.0)
    else:
        B = mask
    E = (3.0 * B + 1.0) / 4.0
    return _finish(lin, L, (L * (peak - black) + black) * E)
