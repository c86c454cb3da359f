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

- :func:`bt2446c` -- Report ITU-R BT.2446-1 (03/2021) §5 "Method C", inverse direction (SDR → HDR): SDR display
  light (BT.1886, 100 cd/m² white) in BT.2020, crosstalk matrix (α), Yxy, the inverse of the linear + log tone
  curve ``Y_SDR = k1·Y_HDR`` below ``Y_HIP = 58.5/k1`` and ``k2·ln(Y_HDR/Y_HIP − k3) + k4`` above it
  (k1 = 0.83802, k2 = 15.09968, k3 = 0.74204, k4 = 78.99439 for a 1000 cd/m² HDR peak, which meets SDR
  118.4 cd/m², the 109 % super-white), back to RGB, inverse crosstalk.  This one keeps chromaticity (xy) and
  changes luminance only; it does not use :func:`_finish`.

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
    "bt2446c",
    "bt2446c_curve",
    "bt2446c_inverse_curve",
    "image_key",
    "log_mean",
    "masia2009_gamma",
    "masia2017_gamma",
    "expand_luminance",
    "linearise",
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


def masia2009_gamma(k: float) -> float:
    """Masia et al. 2009 fit ``γ = 10.44·k − 6.282`` of the image key ``k``."""
    return 10.44 * float(k) - 6.282


def masia2017_gamma(L_H: float, k: float, p_ov: float) -> float:
    """Masia et al. 2017, eq. 5: ``γ = 2.4379 + 0.2319·ln L_H − 1.1228·k + 0.0085·p_ov`` (``p_ov`` in %)."""
    return 2.4379 + 0.2319 * float(np.log(L_H)) - 1.1228 * float(k) + 0.0085 * float(p_ov)


def expand_luminance(sdr: np.ndarray, curve, linearised: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """The common frame of these operators: ``L_out = curve(L)`` (nits) on the BT.1886-linearised luminance ``L``
    of SDR code values ``(..., 3)``, colour ratios kept, BT.2020 nits out (float32).  Used by the video
    baseline (:mod:`hdrkit.video.expand`) to bake per-frame curves into 3D LUTs; ``linearised`` = the
    ``(lin, L)`` of ``sdr`` from an earlier call of :func:`linearise` (a LUT lattice is the same every frame)."""
    lin, L = _linearise(sdr) if linearised is None else linearised
    return _finish(lin, L, np.asarray(curve(L), dtype=np.float64))


def linearise(sdr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """BT.1886 code values → (linear BT.709 RGB relative to white, BT.709 luminance), float64."""
    return _linearise(sdr)


def masia2009(sdr: np.ndarray, peak: float = 1000.0, min_gamma: float = 0.1) -> np.ndarray:
    """Masia et al. 2009: ``L_out = peak · L^γ``, ``γ = 10.44·k − 6.282`` from the image key ``k``.

    The fit gives γ ≤ 0 for dark images (k < 0.60); γ is clamped to ``min_gamma`` so the result stays finite
    and monotone (Masia et al. 2017 replaced the fit for that reason).
    """
    peak = _check_peak(peak)
    lin, L = _linearise(sdr)
    k, _ = image_key(L)
    return _gamma_expand(lin, L, masia2009_gamma(k), peak, min_gamma)


def masia2017(sdr: np.ndarray, peak: float = 1000.0, min_gamma: float = 0.1) -> np.ndarray:
    """Masia et al. 2017, eq. 5: ``γ = 2.4379 + 0.2319·ln L_H − 1.1228·k + 0.0085·p_ov``; ``L_out = peak·L^γ``.

    ``p_ov``: percentage of pixels with ``L ≥ 254/255``; γ clamped to ``min_gamma`` as in :func:`masia2009`.
    """
    peak = _check_peak(peak)
    lin, L = _linearise(sdr)
    k, L_H = image_key(L)
    p_ov = 100.0 * float(np.mean(L >= 254.0 / 255.0))
    return _gamma_expand(lin, L, masia2017_gamma(L_H, k, p_ov), peak, min_gamma)


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


# ------------------------------------------------------------------------------------- BT.2446-1 method C
#: Report ITU-R BT.2446-1 §5 (method C) tone-curve constants for a 1000 cd/m² HDR peak.
BT2446C_K = (0.83802, 15.09968, 0.74204, 78.99439)
#: SDR luminance (cd/m²) at the knee of the method C curve (80 % SDR signal: 100·0.8^2.4 ≈ 58.5).
BT2446C_IP = 58.5


def _bt2446c_constants(peak: float) -> tuple[float, float, float, float, float]:
    """``(k1, k2, k3, k4, Y_HIP)`` for HDR peak ``peak``: the report's constants at 1000 cd/m²; for another peak
    ``k3`` is solved so that ``peak`` meets the same SDR super-white (118.39 cd/m²) with ``k2``, ``k4`` from
    continuity of value and slope at the knee (``k2 = ip·(1 − k3)``, ``k4 = ip − k2·ln(1 − k3)``)."""
    k1, k2, k3, k4 = BT2446C_K
    y_hip = BT2446C_IP / k1
    if abs(peak - 1000.0) < 1e-9:
        return k1, k2, k3, k4, y_hip
    target = k2 * np.log(1000.0 / y_hip - k3) + k4
    if peak <= y_hip * 1.01:
        raise InputError(f"bt2446c needs a peak above {y_hip * 1.01:.0f} cd/m², got {peak:g}")

    def top(c3: float) -> float:
        c2 = BT2446C_IP * (1.0 - c3)
        return c2 * np.log(peak / y_hip - c3) + BT2446C_IP - c2 * np.log(1.0 - c3)

    lo, hi = 0.0, 1.0 - 1e-12  # top() decreases with k3 for peak > y_hip
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if top(mid) > target else (lo, mid)
    c3 = 0.5 * (lo + hi)
    c2 = BT2446C_IP * (1.0 - c3)
    return k1, c2, c3, BT2446C_IP - c2 * np.log(1.0 - c3), y_hip


def bt2446c_curve(y_hdr, peak: float = 1000.0) -> np.ndarray:
    """Method C forward tone curve: HDR luminance (cd/m²) → SDR luminance (cd/m², 100 = SDR white)."""
    k1, k2, k3, k4, y_hip = _bt2446c_constants(_check_peak(peak))
    y = np.maximum(np.asarray(y_hdr, dtype=np.float64), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_part = k2 * np.log(np.maximum(y / y_hip - k3, 1e-300)) + k4
    return np.where(y < y_hip, k1 * y, log_part)


def bt2446c_inverse_curve(y_sdr, peak: float = 1000.0) -> np.ndarray:
    """Inverse of :func:`bt2446c_curve`: SDR luminance (cd/m²) → HDR luminance (cd/m²)."""
    k1, k2, k3, k4, y_hip = _bt2446c_constants(_check_peak(peak))
    y = np.maximum(np.asarray(y_sdr, dtype=np.float64), 0.0)
    lin = y / k1
    return np.where(lin < y_hip, lin, y_hip * (np.exp((y - k4) / k2) + k3))


def bt2446c(sdr: np.ndarray, peak: float = 1000.0, alpha: float = 0.0, sdr_white: float = 100.0) -> np.ndarray:
    """ITU-R BT.2446-1 method C, inverse (SDR → HDR): crosstalk ``α`` (0 ≤ α ≤ 0.33), Yxy, inverse tone curve
    on ``Y``, inverse crosstalk.  ``peak``: the HDR level of the SDR super-white 118.4 cd/m² (the curve's design
    point), so SDR white (100 %) reaches about a third of it (333 cd/m² for ``peak = 1000``); ``sdr_white``: the
    cd/m² of SDR code value 1 (the report's 100)."""
    from hdrkit.color import bt1886_eotf, convert_primaries, rgb_to_xyz_matrix, xyz_to_rgb_matrix

    peak = _check_peak(peak)
    if not 0.0 <= alpha <= 0.33:
        raise InputError(f"alpha must lie in [0, 0.33], got {alpha}")
    sdr_white = _check_peak(sdr_white, "sdr_white")
    lin = np.asarray(bt1886_eotf(np.asarray(sdr, dtype=np.float64)), dtype=np.float64) * sdr_white
    rgb = np.asarray(convert_primaries(lin, "bt709", "bt2020"), dtype=np.float64)
    ct = np.full((3, 3), alpha) + np.eye(3) * (1.0 - 3.0 * alpha)
    rgb = rgb @ ct.T
    xyz = rgb @ np.asarray(rgb_to_xyz_matrix("bt2020")).T
    Y = xyz[..., 1]
    s = xyz.sum(-1)
    ok = (s > 1e-12) & (Y > 1e-12)
    ratio = np.where(ok, bt2446c_inverse_curve(Y, peak) / np.where(ok, Y, 1.0), 0.0)
    out = (xyz * ratio[..., None]) @ np.asarray(xyz_to_rgb_matrix("bt2020")).T  # same xy, new Y
    out = out @ np.linalg.inv(ct).T
    return np.clip(out, 0.0, None).astype(np.float32)
