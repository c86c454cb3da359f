"""Random augmentations for (SDR, HDR) pair synthesis, each split into ``make_params(rng)`` and
``apply(x, params)`` so that one random draw can be applied consistently (to both images of a pair) and logged
(every params object is a frozen dataclass with ``as_dict()``).

All ``apply`` functions are pure: they never modify their input.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional, Sequence

import numpy as np

from hdrkit.data.panorama import perspective_view
from hdrkit.errors import InputError


def _pair(size: Any, name: str) -> tuple[int, int]:
    h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(int(s) for s in size)
    if h < 1 or w < 1:
        raise InputError(f"{name} must be positive, got {size}")
    return int(h), int(w)


def _range(r: Any, name: str) -> tuple[float, float]:
    lo, hi = (float(r), float(r)) if np.isscalar(r) else (float(r[0]), float(r[1]))
    if not (np.isfinite(lo) and np.isfinite(hi) and lo <= hi):
        raise InputError(f"{name} must be a finite (low, high) range, got {r}")
    return lo, hi


class _Params:
    def as_dict(self) -> dict:
        return asdict(self)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------------- crop

@dataclass(frozen=True)
class CropParams(_Params):
    """Relative position of the crop's top-left corner, in [0, 1] of the free range."""

    top: float
    left: float


class RandomCrop:
    """Random ``size`` crop.  Images smaller than ``size`` raise :class:`InputError`."""

    def __init__(self, size: Any):
        self.size = _pair(size, "crop size")

    def make_params(self, rng: np.random.Generator) -> CropParams:
        return CropParams(float(rng.random()), float(rng.random()))

    def apply(self, x: np.ndarray, params: CropParams) -> np.ndarray:
        """``x``: ``H×W×C`` (or ``H×W``) → ``h×w×C``."""
        h, w = self.size
        H, W = x.shape[:2]
        if H < h or W < w:
            raise InputError(f"cannot crop {w}×{h} from a {W}×{H} image")
        t = int(round(params.top * (H - h)))
        left = int(round(params.left * (W - w)))
        return x[t:t + h, left:left + w].copy()


# ------------------------------------------------------------------------------------------------------- flip

@dataclass(frozen=True)
class FlipParams(_Params):
    horizontal: bool
    vertical: bool


class RandomFlip:
    """Mirror left-right with probability ``p_horizontal`` and upside-down with ``p_vertical``."""

    def __init__(self, p_horizontal: float = 0.5, p_vertical: float = 0.0):
        for p in (p_horizontal, p_vertical):
            if not 0.0 <= p <= 1.0:
                raise InputError(f"flip probabilities must be in [0, 1], got {p}")
        self.p_horizontal, self.p_vertical = float(p_horizontal), float(p_vertical)

    def make_params(self, rng: np.random.Generator) -> FlipParams:
        return FlipParams(bool(rng.random() < self.p_horizontal), bool(rng.random() < self.p_vertical))

    def apply(self, x: np.ndarray, params: FlipParams) -> np.ndarray:
        y = x
        if params.horizontal:
            y = y[:, ::-1]
        if params.vertical:
            y = y[::-1]
        return np.ascontiguousarray(y) if y is not x else x.copy()


# --------------------------------------------------------------------------------------------------- exposure

@dataclass(frozen=True)
class ExposureParams(_Params):
    ev: float


class ExposureShift:
    """Multiply linear light by ``2^ev``, ``ev ~ U(ev_range)`` (stops)."""

    def __init__(self, ev_range: Any = (-1.0, 1.0)):
        self.ev_range = _range(ev_range, "ev_range")

    def make_params(self, rng: np.random.Generator) -> ExposureParams:
        return ExposureParams(float(rng.uniform(*self.ev_range)))

    def apply(self, x: np.ndarray, params: ExposureParams) -> np.ndarray:
        return (np.asarray(x, dtype=np.float32) * np.float32(2.0 ** params.ev)).astype(np.float32)


# ------------------------------------------------------------------------------------------ scene colour

@dataclass(frozen=True)
class ColourParams(_Params):
    """Per-channel gains (R, G, B) of the scene's linear light; their luminance (scene primaries) is 1."""

    gains: tuple


class RandomColour:
    """Tint a scene's linear light: ``x · g``, ``ln g_c ~ N(0, sigma)`` per channel, rescaled so that the luminance
    of ``g`` in ``primaries`` (the scene's: BT.2020 for :func:`hdrkit.data.load_hdr_nits`) is 1 (exposure unchanged
    for a neutral pixel).  Applied to the scene before it is mastered, so SDR and master change together (a
    different illuminant / surface colour, not a grading error)."""

    def __init__(self, sigma: float = 0.1, primaries: str = "bt2020"):
        from hdrkit.color import luminance_weights

        self.sigma = float(sigma)
        if not (np.isfinite(self.sigma) and self.sigma >= 0.0):
            raise InputError(f"colour sigma must be ≥ 0, got {sigma}")
        self.weights = luminance_weights(primaries)

    def make_params(self, rng: np.random.Generator) -> ColourParams:
        g = np.exp(rng.normal(0.0, self.sigma, 3))
        g = g / float(np.dot(self.weights, g))
        return ColourParams(tuple(float(v) for v in g))

    def apply(self, x: np.ndarray, params: ColourParams) -> np.ndarray:
        """``x``: ``H×W×3`` linear light → the same, tinted (float32)."""
        return (np.asarray(x, dtype=np.float32) * np.asarray(params.gains, np.float32)).astype(np.float32)


# -------------------------------------------------------------------------------------------- panorama views

@dataclass(frozen=True)
class ViewParams(_Params):
    """Angles in degrees (conventions of :mod:`hdrkit.data.panorama`)."""

    yaw: float
    pitch: float
    roll: float
    fov: float


class RandomView:
    """Random perspective view of an equirectangular panorama.

    yaw ~ U(yaw), pitch ~ U(pitch), roll ~ U(roll), horizontal field of view ~ U(fov), output ``size``.
    """

    def __init__(self, size: Any = 512, yaw: Any = (-180.0, 180.0), pitch: Any = (-30.0, 30.0),
                 roll: Any = (-10.0, 10.0), fov: Any = (50.0, 100.0)):
        self.size = _pair(size, "view size")
        self.yaw, self.pitch, self.roll = _range(yaw, "yaw"), _range(pitch, "pitch"), _range(roll, "roll")
        self.fov = _range(fov, "fov")
        if not (0 < self.fov[0] and self.fov[1] <= 170):
            raise InputError(f"fov range must lie in (0, 170] degrees, got {fov}")

    def make_params(self, rng: np.random.Generator) -> ViewParams:
        return ViewParams(float(rng.uniform(*self.yaw)), float(rng.uniform(*self.pitch)),
                          float(rng.uniform(*self.roll)), float(rng.uniform(*self.fov)))

    def apply(self, pano: np.ndarray, params: ViewParams) -> np.ndarray:
        return perspective_view(pano, params.yaw, params.pitch, params.roll, params.fov, self.size)


# ------------------------------------------------------------------------------------------------ random TMO

#: Operators :class:`RandomTMO` draws from by default (``"ocio"`` only when OpenColorIO is installed).
DEFAULT_TMOS = ("youtube", "bt2446a", "reinhard2002", "ocio", "clip")


def ocio_available() -> bool:
    try:
        import PyOpenColorIO  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class TMOParams(_Params):
    """A tone-mapping operator name and its keyword parameters (``"eilertsen2017"`` = the virtual camera)."""

    method: str
    params: dict = field(default_factory=dict)


class RandomTMO:
    """Random operator with randomised parameters.

    ``randomize=False`` keeps each operator's defaults (only the choice is random); a collection of names
    randomises only those operators (the others keep their defaults).  Ranges (when randomised):
    ``bt2446a`` L_HDR ~ U(800, 1500); ``reinhard2002`` key ~ logU(0.09, 0.36), local ∈ {global, dodge_burn,
    bilateral}, Schlick/Mantiuk saturation ~ U(0.7, 1.1); ``ocio`` exposure ~ U(−1, 1); ``clip`` exposure
    ~ U(−1.5, 1); ``youtube`` has no parameter; ``eilertsen2017`` draws a :class:`VirtualCamera`.
    """

    def __init__(self, methods: Sequence[str] = DEFAULT_TMOS, randomize: bool | Sequence[str] = True,
                 weights: Optional[Sequence[float]] = None):
        from hdrkit.tonemap import get_operator

        methods = [m.lower() for m in methods]
        if not methods:
            raise InputError("RandomTMO needs at least one method")
        for m in methods:
            get_operator(m)
            if m == "lut":
                raise InputError("RandomTMO cannot draw 'lut' (it needs a file); use 'youtube' or tonemap(..., 'lut')")
        if weights is not None and len(weights) != len(methods):
            raise InputError("weights must be non-negative, one per method")
        if "ocio" in methods and not ocio_available():
            if len(methods) == 1:
                raise InputError("method 'ocio' needs OpenColorIO: pip install 'hdrkit[ocio]'")
            if weights is not None:
                weights = [w for m, w in zip(methods, weights) if m != "ocio"]
            methods = [m for m in methods if m != "ocio"]
        self.methods = tuple(methods)
        if isinstance(randomize, (bool, np.bool_)):
            self.randomize = frozenset(self.methods) if randomize else frozenset()
        else:
            self.randomize = frozenset(m.lower() for m in randomize)
        if weights is not None:
            w = np.asarray(weights, dtype=np.float64)
            if w.shape != (len(self.methods),) or (w < 0).any() or w.sum() <= 0:
                raise InputError("weights must be non-negative, one per method")
            self.weights = w / w.sum()
        else:
            self.weights = None

    def make_params(self, rng: np.random.Generator) -> TMOParams:
        m = self.methods[int(rng.choice(len(self.methods), p=self.weights))]
        if m not in self.randomize:
            return TMOParams(m, {})
        if m == "bt2446a":
            return TMOParams(m, {"l_hdr": float(rng.uniform(800.0, 1500.0))})
        if m == "reinhard2002":
            local = [False, "dodge_burn", "bilateral"][int(rng.integers(3))]
            return TMOParams(m, {"key": float(np.exp(rng.uniform(np.log(0.09), np.log(0.36)))), "local": local,
                                 "saturation": float(rng.uniform(0.7, 1.1)),
                                 "saturation_method": ["schlick1994", "mantiuk2009"][int(rng.integers(2))]})
        if m == "ocio":
            return TMOParams(m, {"exposure": float(rng.uniform(-1.0, 1.0))})
        if m == "clip":
            return TMOParams(m, {"exposure": float(rng.uniform(-1.5, 1.0))})
        if m == "eilertsen2017":
            from hdrkit.data.camera import VirtualCamera

            return TMOParams(m, VirtualCamera().make_params(rng).as_dict())
        return TMOParams(m, {})

    def apply(self, hdr_nits: np.ndarray, params: TMOParams) -> np.ndarray:
        return apply_tmo(hdr_nits, params.method, params.params)


def apply_tmo(hdr_nits: np.ndarray, method: str, params: Optional[dict] = None) -> np.ndarray:
    """:func:`hdrkit.tonemap.tonemap` (every operator of :data:`hdrkit.tonemap.OPERATORS`, the virtual camera
    ``"eilertsen2017"`` included) with a params dict."""
    from hdrkit.tonemap import tonemap

    return tonemap(hdr_nits, method, **dict(params or {}))
