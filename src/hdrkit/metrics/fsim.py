"""FSIM and VSI, written from the papers, for numpy and torch, on 0–255-scaled values (or PU21 values).

Both follow the published algorithms and their published constants (which assume pixel values on a 0–255
scale); ``pu21_metric.m`` feeds them PU21 values directly, and so do :func:`pu_fsim` / :func:`pu_vsi`.

How this differs from the MATLAB code that ``gfxdisp/pu21`` bundles (``m_fsim.m``, ``m_vsi.m``):

* the arithmetic is the same (same constants, Kovesi phase congruency with the FSIM settings, SDSP saliency,
  ``F = max(1, round(min(H, W)/256))`` box downsampling, Scharr gradients), written from the papers rather than
  ported; MATLAB's ``imresize`` (bilinear, antialiased when shrinking, mirrored borders) is re-implemented as
  resampling matrices, so results agree with MATLAB to floating-point and median-tie level, not bit for bit
  (MATLAB's ``median`` and FFT ordering differ in the last digits);
* inputs may be batched ``(..., H, W, 3)`` and torch tensors (GPU, differentiable except through the median
  used for the noise threshold);
* ``piq`` (Apache-2.0) implements both too and agrees with ours (FSIM to 5 decimals; VSI to ~3e-4, its SDSP
  resizing is not MATLAB's), but it rejects values above its ``data_range``, which PU21 values (up to ≈596)
  exceed, and it needs torchvision; it serves as a test cross-check only.

References
----------
L. Zhang, L. Zhang, X. Mou, D. Zhang, "FSIM: a feature similarity index for image quality assessment",
IEEE TIP 20(8), 2011.
P. Kovesi, "Image features from phase congruency", Videre 1(3), 1999.
L. Zhang, Y. Shen, H. Li, "VSI: a visual saliency-induced index for perceptual image quality assessment",
IEEE TIP 23(10), 2014.
L. Zhang, Z. Gu, H. Li, "SDSP: a novel saliency detection method by combining simple priors", ICIP 2013.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

import numpy as np

from hdrkit.metrics._backend import Backend, backend_of, prepare_pair, resize_matrix
from hdrkit.metrics.pu21 import pu21_encode
from hdrkit.metrics.ssim import _result

def _quiet(fn):
    """Flat inputs make some normalisations 0/0 -> NaN by design (FSIM/VSI are undefined there); no warning."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        with np.errstate(divide="ignore", invalid="ignore"):
            return fn(*args, **kwargs)

    return wrapper


_SCHARR_X = np.array([[3, 0, -3], [10, 0, -10], [3, 0, -3]], dtype=np.float64) / 16
_SCHARR_Y = _SCHARR_X.T.copy()


def _downsample_factor(h: int, w: int) -> int:
    return max(1, int(math.floor(min(h, w) / 256 + 0.5)))


def _box_downsample(xp: Backend, x: Any, f: int) -> Any:
    """``conv2(X, ones(F)/F², 'same')`` (zero padding) then every F-th sample."""
    if f == 1:
        return x
    x = xp.filter2d(x, np.full((f, f), 1.0 / (f * f)))
    return x[..., ::f, ::f]


def _gradient(xp: Backend, x: Any) -> Any:
    # The kernels are antisymmetric, so correlation vs convolution only flips the sign.
    gx = xp.filter2d(x, _SCHARR_X)
    gy = xp.filter2d(x, _SCHARR_Y)
    return xp.sqrt(gx * gx + gy * gy)


def _centred_grid(n: int) -> np.ndarray:
    if n % 2:
        return np.arange(-(n - 1) / 2, (n - 1) / 2 + 1) / (n - 1)
    return np.arange(-n / 2, n / 2) / n


@lru_cache(maxsize=8)
def _pc_filters(rows: int, cols: int, nscale=4, norient=4, min_wavelength=6.0, mult=2.0, sigma_onf=0.55,
                d_theta_on_sigma=1.2):
    """Log-Gabor filter bank of the FSIM phase congruency: ``(norient, nscale, rows, cols)`` plus
    the spatial filters' noise sums per orientation."""
    x, y = np.meshgrid(_centred_grid(cols), _centred_grid(rows))
    radius = np.fft.ifftshift(np.sqrt(x**2 + y**2))
    theta = np.fft.ifftshift(np.arctan2(-y, x))
    radius[0, 0] = 1.0
    lp = np.fft.ifftshift(1.0 / (1.0 + (np.sqrt(x**2 + y**2) / 0.45) ** 30))
    log_gabor = []
    for s in range(nscale):
        fo = 1.0 / (min_wavelength * mult**s)
        g = np.exp(-(np.log(radius / fo) ** 2) / (2 * math.log(sigma_onf) ** 2)) * lp
        g[0, 0] = 0.0
        log_gabor.append(g)
    theta_sigma = math.pi / norient / d_theta_on_sigma
    sin_t, cos_t = np.sin(theta), np.cos(theta)
    filters = np.empty((norient, nscale, rows, cols))
    em_n = np.empty(norient)
    noise_sums = np.empty((norient, 2))
    for o in range(norient):
        ang = o * math.pi / norient
        ds = sin_t * math.cos(ang) - cos_t * math.sin(ang)
        dc = cos_t * math.cos(ang) + sin_t * math.sin(ang)
        spread = np.exp(-(np.abs(np.arctan2(ds, dc)) ** 2) / (2 * theta_sigma**2))
        for s in range(nscale):
            filters[o, s] = log_gabor[s] * spread
        em_n[o] = np.sum(filters[o, 0] ** 2)
        # Σ_x s_i(x)·s_j(x) of the spatial filters s = real(ifft2(G))·√N, by Parseval without any FFT:
        # real(ifft2(G)) is the transform of the Hermitian part G_h(k) = (G(k) + G(-k))/2 (G is real).
        herm = [(g + np.roll(g[::-1, ::-1], 1, axis=(0, 1))) / 2 for g in filters[o]]
        sum_an2 = sum(np.sum(h * h) for h in herm)
        sum_aiaj = sum(np.sum(herm[i] * herm[j]) for i in range(nscale) for j in range(i + 1, nscale))
        noise_sums[o] = (sum_an2, sum_aiaj)
    return filters, em_n, noise_sums


@_quiet
def phase_congruency(img: Any, k: float = 2.0, eps: float = 1e-4) -> Any:
    """Kovesi phase congruency (PC_2 measure, FSIM settings: 4 scales, 4 orientations, minimum wavelength 6,
    ×2 per scale, σ_onf 0.55, noise threshold k = 2 scaled by 1/1.7).

    Parameters
    ----------
    img : ``(..., H, W)`` array/tensor.   Returns the same shape, values in [0, 1] (0 on flat areas; the
        denominator gets ``eps`` as in Kovesi's ``phasecong3``, where FSIM's copy of ``phasecong2`` has none).
    """
    xp = backend_of(img)
    img = xp.asarray(img)
    rows, cols = img.shape[-2], img.shape[-1]
    filters, em_n, noise_sums = _pc_filters(rows, cols)
    nscale = filters.shape[1]
    F = xp.fft2(img)
    energy_all = 0.0
    an_all = 0.0
    for o in range(filters.shape[0]):
        eo = [xp.ifft2(F * xp.from_numpy(filters[o, s], img)) for s in range(nscale)]
        E = [xp.real(z) for z in eo]
        O = [xp.imag(z) for z in eo]
        sum_e, sum_o = sum(E), sum(O)
        sum_an = sum(xp.sqrt(e * e + q * q) for e, q in zip(E, O))
        x_energy = xp.sqrt(sum_e * sum_e + sum_o * sum_o) + eps
        mean_e, mean_o = sum_e / x_energy, sum_o / x_energy
        energy = 0.0
        for e, q in zip(E, O):
            energy = energy + e * mean_e + q * mean_o - xp.abs(e * mean_o - q * mean_e)
        a2 = E[0] * E[0] + O[0] * O[0]
        median_e2n = xp.median(a2.reshape(a2.shape[:-2] + (-1,)), axis=-1)
        noise_power = (-median_e2n / math.log(0.5)) / em_n[o]
        est_noise_energy2 = 2 * noise_power * noise_sums[o, 0] + 4 * noise_power * noise_sums[o, 1]
        tau = xp.sqrt(est_noise_energy2 / 2)
        T = (tau * math.sqrt(math.pi / 2) + k * math.sqrt(2 - math.pi / 2) * tau) / 1.7
        energy = xp.maximum(energy - T[..., None, None], 0.0)
        energy_all = energy_all + energy
        an_all = an_all + sum_an
    # Kovesi's later phasecong3 adds eps here too: keeps flat regions at PC = 0 instead of 0/0.
    return energy_all / (an_all + eps)


_YIQ = np.array([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])
_LMN = np.array([[0.06, 0.63, 0.27], [0.30, 0.04, -0.35], [0.34, -0.60, 0.17]])


def _planes3(xp, rgb, matrix):
    """``(..., H, W, 3)`` → three ``(..., H, W)`` planes of ``matrix @ rgb``."""
    out = xp.matmul(rgb, xp.from_numpy(np.ascontiguousarray(matrix.T), rgb))
    return out[..., 0], out[..., 1], out[..., 2]


def _yiq(xp, rgb, chromatic=True):
    if not chromatic:
        return (xp.matmul(rgb, xp.from_numpy(_YIQ[0], rgb)),)
    return _planes3(xp, rgb, _YIQ)


def _real_pow(xp, base, lam):
    """``real(base ** lam)`` for possibly negative ``base`` (MATLAB's complex power)."""
    mag = xp.abs(base) ** lam
    return xp.where(base < 0, mag * math.cos(lam * math.pi), mag)


@_quiet
def fsim(ref: Any, test: Any, chromatic: bool = False) -> Any:
    """FSIM (or FSIMc with ``chromatic=True``) of ``(..., H, W, 3)`` images on a 0–255 scale.

    FSIM = Σ S_PC·S_G·PC_m / Σ PC_m with T1 = 0.85, T2 = 160 (FSIMc adds (S_I·S_Q)^0.03, T3 = T4 = 200).
    Luminance Y of YIQ; images are first box-filtered and subsampled by ``max(1, round(min(H, W)/256))``.
    """
    xp, r, t = prepare_pair(ref, test)
    f = _downsample_factor(r.shape[-3], r.shape[-2])
    c1 = [_box_downsample(xp, c, f) for c in _yiq(xp, r, chromatic)]
    c2 = [_box_downsample(xp, c, f) for c in _yiq(xp, t, chromatic)]
    y1, y2 = c1[0], c2[0]
    pc1, pc2 = phase_congruency(y1), phase_congruency(y2)
    g1, g2 = _gradient(xp, y1), _gradient(xp, y2)
    s_pc = (2 * pc1 * pc2 + 0.85) / (pc1 * pc1 + pc2 * pc2 + 0.85)
    s_g = (2 * g1 * g2 + 160.0) / (g1 * g1 + g2 * g2 + 160.0)
    pcm = xp.maximum(pc1, pc2)
    sim = s_g * s_pc
    if chromatic:
        (_, i1, q1), (_, i2, q2) = c1, c2
        s_i = (2 * i1 * i2 + 200.0) / (i1 * i1 + i2 * i2 + 200.0)
        s_q = (2 * q1 * q2 + 200.0) / (q1 * q1 + q2 * q2 + 200.0)
        sim = sim * _real_pow(xp, s_i * s_q, 0.03)
    return _result(xp, xp.sum(sim * pcm, axis=(-2, -1)) / xp.sum(pcm, axis=(-2, -1)))


@lru_cache(maxsize=8)
def _sdsp_log_gabor(rows: int, cols: int, omega0: float = 0.021, sigma_f: float = 1.34) -> np.ndarray:
    u1 = (np.arange(1, cols + 1) - (cols // 2 + 1)) / (cols - cols % 2)
    u2 = (np.arange(1, rows + 1) - (rows // 2 + 1)) / (rows - rows % 2)
    u1, u2 = np.meshgrid(u1, u2)
    mask = (u1**2 + u2**2) <= 0.25
    u1, u2 = np.fft.ifftshift(u1 * mask), np.fft.ifftshift(u2 * mask)
    radius = np.sqrt(u1**2 + u2**2)
    radius[0, 0] = 1.0
    with np.errstate(divide="ignore"):
        lg = np.exp(-(np.log(radius / omega0) ** 2) / (2 * sigma_f**2))
    lg[0, 0] = 0.0
    return lg


def _rgb255_to_lab(xp, rgb):
    """sRGB (0–255) → CIE L*a*b* as the SDSP reference does it (sRGB matrix, white (0.9642, 1, 0.8251))."""
    c = rgb / 255.0
    lin = xp.where(c <= 0.04045, c / 12.92, xp.maximum((c + 0.055) / 1.055, 0.0) ** 2.4)
    r, g, b = lin[..., 0], lin[..., 1], lin[..., 2]
    X = (r * 0.4124564 + g * 0.3575761 + b * 0.1804375) / 0.9642
    Y = r * 0.2126729 + g * 0.7151522 + b * 0.0721750
    Z = (r * 0.0193339 + g * 0.1191920 + b * 0.9503041) / 0.8251

    def f(v):
        return xp.where(v > 0.008856, xp.maximum(v, 0.0) ** (1 / 3), (903.3 * v + 16) / 116)

    fx, fy, fz = f(X), f(Y), f(Z)
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


@_quiet
def sdsp_saliency(rgb: Any, sigma_f: float = 1.34, omega0: float = 0.021, sigma_d: float = 145.0,
                  sigma_c: float = 0.001) -> Any:
    """SDSP visual saliency (Zhang et al. 2013) of ``(..., H, W, 3)`` 0–255 images → ``(..., H, W)`` in [0, 1].

    Frequency prior (log-Gabor on L*a*b* at 256×256), location prior (Gaussian around the centre), colour
    prior (warm colours), product, resized back, min–max normalised.
    """
    xp = backend_of(rgb)
    rgb = xp.asarray(rgb)
    h, w = rgb.shape[-3], rgb.shape[-2]
    rh = xp.from_numpy(resize_matrix(h, 256), rgb)
    rw = xp.from_numpy(resize_matrix(w, 256).T.copy(), rgb)
    ds = [xp.matmul(xp.matmul(rh, rgb[..., c]), rw) for c in range(3)]
    ds = xp.stack(ds, axis=-1)
    L, a, b = _rgb255_to_lab(xp, ds)
    lg = _sdsp_log_gabor(256, 256, omega0, sigma_f)
    lgt = xp.from_numpy(lg, L)
    sf2 = 0.0
    for ch in (L, a, b):
        resp = xp.real(xp.ifft2(xp.fft2(ch) * lgt))
        sf2 = sf2 + resp * resp
    sf = xp.sqrt(sf2)
    rr, cc = np.meshgrid(np.arange(1, 257), np.arange(1, 257), indexing="ij")
    sd = xp.from_numpy(np.exp(-((rr - 128.0) ** 2 + (cc - 128.0) ** 2) / sigma_d**2), L)

    def norm(v):
        lo = xp.amin(v, axis=(-2, -1))[..., None, None]
        hi = xp.amax(v, axis=(-2, -1))[..., None, None]
        return (v - lo) / (hi - lo)

    an, bn = norm(a), norm(b)
    sc = 1 - xp.exp(-(an * an + bn * bn) / sigma_c**2)
    vs = sf * sd * sc
    uh = xp.from_numpy(resize_matrix(256, h), vs)
    uw = xp.from_numpy(resize_matrix(256, w).T.copy(), vs)
    vs = xp.matmul(xp.matmul(uh, vs), uw)
    lo = xp.amin(vs, axis=(-2, -1))[..., None, None]
    hi = xp.amax(vs, axis=(-2, -1))[..., None, None]
    return (vs - lo) / (hi - lo)


@_quiet
def vsi(ref: Any, test: Any) -> Any:
    """VSI (Zhang et al. 2014) of ``(..., H, W, 3)`` images on a 0–255 scale.

    VSI = Σ S_VS·S_G^0.4·(S_M·S_N)^0.02·VS_m / Σ VS_m with C1 = 1.27, C2 = 386, C3 = 130; saliency by SDSP;
    gradient (Scharr) of the opponent channel L = 0.06R + 0.63G + 0.27B; same F-fold box downsampling as FSIM.
    """
    xp, r, t = prepare_pair(ref, test)
    vs1, vs2 = sdsp_saliency(r), sdsp_saliency(t)
    f = _downsample_factor(r.shape[-3], r.shape[-2])

    l1, m1, n1 = (_box_downsample(xp, c, f) for c in _planes3(xp, r, _LMN))
    l2, m2, n2 = (_box_downsample(xp, c, f) for c in _planes3(xp, t, _LMN))
    vs1, vs2 = _box_downsample(xp, vs1, f), _box_downsample(xp, vs2, f)
    g1, g2 = _gradient(xp, l1), _gradient(xp, l2)
    s_vs = (2 * vs1 * vs2 + 1.27) / (vs1 * vs1 + vs2 * vs2 + 1.27)
    s_g = (2 * g1 * g2 + 386.0) / (g1 * g1 + g2 * g2 + 386.0)
    s_m = (2 * m1 * m2 + 130.0) / (m1 * m1 + m2 * m2 + 130.0)
    s_n = (2 * n1 * n2 + 130.0) / (n1 * n1 + n2 * n2 + 130.0)
    weight = xp.maximum(vs1, vs2)
    sim = (s_g**0.4) * s_vs * _real_pow(xp, s_m * s_n, 0.02) * weight
    return _result(xp, xp.sum(sim, axis=(-2, -1)) / xp.sum(weight, axis=(-2, -1)))


def pu_fsim(ref_nits: Any, test_nits: Any, params: str = "banding_glare") -> Any:
    """PU21-FSIM: :func:`fsim` (luminance FSIM, the first output of ``m_fsim.m``) on PU21-encoded RGB, as
    ``pu21_metric(..., 'FSIM')`` computes it.  ``(..., H, W, 3)`` cd/m²."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return fsim(pu21_encode(t, params), pu21_encode(r, params))


def pu_vsi(ref_nits: Any, test_nits: Any, params: str = "banding_glare") -> Any:
    """PU21-VSI: :func:`vsi` on PU21-encoded RGB, as ``pu21_metric(..., 'VSI')`` computes it."""
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return vsi(pu21_encode(t, params), pu21_encode(r, params))
