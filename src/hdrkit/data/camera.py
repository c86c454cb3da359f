"""Virtual camera of Eilertsen et al. 2017: random exposure, sigmoid camera response, clipping, 8 bits, JPEG, noise.

Reference: G. Eilertsen, J. Kronander, G. Denes, R. K. Mantiuk, J. Unger, "HDR image reconstruction from a single
exposure using deep CNNs", ACM TOG 36(6) (SIGGRAPH Asia 2017), §4.1 (training data): the camera curve
``f(H) = (1 + σ) Hⁿ / (Hⁿ + σ)`` with ``n ~ N(0.9, 0.1)`` (clipped to [0.2, 2.5]) and ``σ ~ N(0.6, 0.1)`` (clipped to
[0, 5]), fitted to a database of real camera curves; the exposure is chosen so that a random 5–15 % of the pixels
saturate; outputs are quantised to 8 bits and, in part of the data, JPEG-compressed.  ``f(1) = 1`` so the
saturation point of the sensor maps to code value 1.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Optional

import numpy as np

from hdrkit.errors import InputError
from hdrkit.tonemap import check_hdr, gamut_map_bt2020_to_bt709


def crf_eilertsen2017(h: Any, n: float = 0.9, sigma: float = 0.6) -> np.ndarray:
    """Camera response ``f(H) = (1 + σ) Hⁿ / (Hⁿ + σ)`` on sensor exposure ``H ≥ 0`` (clipped to [0, 1] after)."""
    if not (n > 0 and sigma >= 0):
        raise InputError(f"camera curve needs n > 0 and σ ≥ 0, got n={n}, σ={sigma}")
    hn = np.maximum(np.asarray(h, dtype=np.float64), 0.0) ** n
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(hn + sigma > 0, (1.0 + sigma) * hn / (hn + sigma), 0.0)
    return np.clip(out, 0.0, 1.0)


@dataclass(frozen=True)
class CameraParams:
    """One draw of the virtual camera (all that is needed to reproduce its output)."""

    n: float = 0.9
    sigma: float = 0.6
    saturated: float = 0.10  # fraction of pixels clipped by the auto-exposure
    noise: float = 0.0  # std of Gaussian sensor noise, relative to the saturation level
    jpeg_quality: Optional[int] = None  # None = no JPEG
    seed: int = 0  # noise seed
    ev: float = 0.0  # exposure relative to the auto-exposure, in stops (brackets: one camera, several ev)

    def as_dict(self) -> dict:
        return asdict(self)


class VirtualCamera:
    """Random virtual camera (Eilertsen et al. 2017): ``make_params(rng)`` then ``apply(hdr_nits, params)``.

    Parameters
    ----------
    saturated : range of the fraction of pixels that saturate (5–15 % in the paper).
    noise : range of the sensor-noise std (relative to saturation); 0 disables noise.
    jpeg_probability : probability of JPEG compression; ``jpeg_quality`` its quality range.
    """

    def __init__(self, saturated: tuple[float, float] = (0.05, 0.15), noise: tuple[float, float] = (0.0, 0.01),
                 jpeg_probability: float = 0.5, jpeg_quality: tuple[int, int] = (60, 95)):
        lo, hi = saturated
        if not 0.0 <= lo <= hi < 1.0:
            raise InputError(f"saturated fraction range must lie in [0, 1), got {saturated}")
        if not 0.0 <= jpeg_probability <= 1.0:
            raise InputError(f"jpeg_probability must be in [0, 1], got {jpeg_probability}")
        if not 1 <= jpeg_quality[0] <= jpeg_quality[1] <= 100:
            raise InputError(f"jpeg_quality range must lie in [1, 100], got {jpeg_quality}")
        self.saturated = (float(lo), float(hi))
        self.noise = (float(noise[0]), float(noise[1]))
        self.jpeg_probability = float(jpeg_probability)
        self.jpeg_quality = (int(jpeg_quality[0]), int(jpeg_quality[1]))

    def make_params(self, rng: np.random.Generator) -> CameraParams:
        n = float(np.clip(rng.normal(0.9, 0.1), 0.2, 2.5))
        sigma = float(np.clip(rng.normal(0.6, 0.1), 0.0, 5.0))
        sat = float(rng.uniform(*self.saturated))
        noise = float(rng.uniform(*self.noise))
        q = int(rng.integers(self.jpeg_quality[0], self.jpeg_quality[1] + 1)) \
            if rng.random() < self.jpeg_probability else None
        return CameraParams(n, sigma, sat, noise, q, int(rng.integers(0, 2**31 - 1)))

    def apply(self, hdr_nits: Any, params: CameraParams) -> np.ndarray:
        return virtual_camera(hdr_nits, params)


def exposure_time(hdr_nits: Any, params: CameraParams = CameraParams()) -> float:
    """Sensor exposure per cd/m² of the shot :func:`virtual_camera` takes: ``2^ev / level``, ``level`` the
    auto-exposure's saturation level (the ``1 − saturated`` quantile of the largest BT.709 channel)."""
    x = check_hdr(hdr_nits)
    peak = gamut_map_bt2020_to_bt709(x).astype(np.float64).max(axis=-1)
    return float(2.0 ** params.ev) / _level(peak, params.saturated)


def _level(peak: np.ndarray, saturated: float) -> float:
    level = float(np.quantile(peak, 1.0 - saturated)) if saturated > 0 else float(peak.max())
    if level <= 0:
        level = float(peak.max()) if peak.max() > 0 else 1.0
    return level


def virtual_camera(hdr_nits: Any, params: CameraParams = CameraParams()) -> np.ndarray:
    """Photograph linear BT.2020 light with the virtual camera.

    Steps: BT.2020 → BT.709 (gamut mapped); auto-exposure so that a fraction ``params.saturated`` of the pixels
    has its largest channel at or above saturation, then ``params.ev`` stops more (brackets); optional Gaussian noise; ``f(H)``; clip; 8-bit quantisation;
    optional JPEG (OpenCV, 4:2:0).  Input ``H×W×3`` cd/m² (negatives clamp to 0, NaN/Inf → InputError).

    Returns
    -------
    float32 ``H×W×3`` 8-bit code values / 255 (BT.709 primaries, the camera's own response curve).
    """
    x = check_hdr(hdr_nits)
    if x.ndim != 3:
        raise InputError(f"the virtual camera needs an H×W×3 image, got shape {x.shape}")
    lin = gamut_map_bt2020_to_bt709(x).astype(np.float64)
    h = lin / _level(lin.max(axis=-1), params.saturated)
    if params.ev:
        h = h * float(2.0 ** params.ev)
    if params.noise > 0:
        rng = np.random.default_rng(params.seed)
        h = h + rng.normal(0.0, params.noise, h.shape)
    code = crf_eilertsen2017(h, params.n, params.sigma)
    q = np.round(code * 255.0).astype(np.uint8)
    if params.jpeg_quality is not None:
        import cv2

        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(q[..., ::-1]),
                               [int(cv2.IMWRITE_JPEG_QUALITY), int(params.jpeg_quality)])
        if not ok:  # pragma: no cover - OpenCV always encodes uint8 BGR
            raise InputError("JPEG encoding failed")
        q = cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1]
    return (q.astype(np.float32) / 255.0)
