"""Procedural HDR scenes: sky, sun, lamps, windows and specular highlights over textured surfaces.

The scenes are scene-referred linear BT.2020 light in relative units (1.0 ≈ a white diffuse surface under the
scene's main illuminant); master them with :func:`hdrkit.tonemap.master_hdr10` before tone mapping.  They widen the
training distribution with the features that make HDR hard — light sources several orders of magnitude above
the diffuse surfaces, saturated emitters outside BT.709, glare halos, textures in deep shadow — without any
data file.  One :class:`SceneParams` (a seed plus a few top-level choices) renders the same picture at any size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hdrkit import color
from hdrkit.errors import InputError

KINDS = ("outdoor", "indoor", "night")


@dataclass(frozen=True)
class SceneParams:
    """Top-level choices of a procedural scene; everything else is drawn from ``seed`` when rendering."""

    kind: str
    seed: int
    sun: bool
    lamps: int
    windows: int
    highlights: int
    horizon: float  # row of the horizon / floor line, as a fraction of the height
    light_level: float  # diffuse illuminance scale (relative units)

    def as_dict(self) -> dict:
        return asdict(self)


def _fractal_noise(rng: np.random.Generator, h: int, w: int, octaves: int = 5, base: int = 4,
                   persistence: float = 0.55) -> np.ndarray:
    """Value noise in [0, 1]: sum of bicubically upsampled random grids (``h×w`` float32)."""
    import cv2

    acc = np.zeros((h, w), np.float32)
    amp, total = 1.0, 0.0
    for o in range(octaves):
        gh, gw = base * 2 ** o, max(1, int(round(base * 2 ** o * w / max(h, 1))))
        grid = rng.random((gh + 3, gw + 3)).astype(np.float32)
        up = cv2.resize(grid, (w + int(np.ceil(3 * w / gw)), h + int(np.ceil(3 * h / gh))),
                        interpolation=cv2.INTER_CUBIC)
        acc += amp * up[:h, :w]
        total += amp
        amp *= persistence
    acc /= total
    lo, hi = float(acc.min()), float(acc.max())
    return (acc - lo) / (hi - lo + 1e-12)


def _random_colour(rng: np.random.Generator, saturation: float) -> np.ndarray:
    """A BT.2020 linear colour of luminance 1 with a random hue; ``saturation`` in [0, 1] (1 = BT.2020 edge)."""
    hue = rng.random() * 2 * np.pi
    # a hue circle in an opponent space, then into RGB, normalised to luminance 1
    c = np.array([1.0 + saturation * np.cos(hue), 1.0 + saturation * np.cos(hue - 2.094),
                  1.0 + saturation * np.cos(hue + 2.094)])
    c = np.maximum(c, 0.0) + 1e-3
    return c / float(color.luminance(c, "bt2020"))


def _blackbody_tint(kelvin: float) -> np.ndarray:
    """Approximate linear BT.2020 RGB (luminance 1) of a black body, via Planck's law on three wavelengths."""
    lam = np.array([630e-9, 532e-9, 467e-9])  # BT.2020 primaries' dominant wavelengths
    hc_k = 1.4388e-2
    rad = lam ** -5 / (np.exp(hc_k / (lam * kelvin)) - 1.0)
    ref = lam ** -5 / (np.exp(hc_k / (lam * 6504.0)) - 1.0)
    c = rad / ref
    return c / float(color.luminance(c, "bt2020"))


def _disc(yy: np.ndarray, xx: np.ndarray, cy: float, cx: float, r: float, soft: float = 1.0) -> np.ndarray:
    d = np.sqrt((yy - cy) ** 2 + (xx - cx) ** 2)
    return np.clip((r - d) / soft + 0.5, 0.0, 1.0)


class ProceduralScene:
    """Procedural HDR scene generator: ``make_params(rng)`` → :class:`SceneParams`; ``render(params, size)``.

    Parameters
    ----------
    kinds : which scene kinds to draw from (``"outdoor"``, ``"indoor"``, ``"night"``).
    """

    def __init__(self, kinds: tuple[str, ...] = KINDS):
        bad = [k for k in kinds if k not in KINDS]
        if bad or not kinds:
            raise InputError(f"scene kinds must be among {KINDS}, got {kinds}")
        self.kinds = tuple(kinds)

    def make_params(self, rng: np.random.Generator) -> SceneParams:
        kind = self.kinds[int(rng.integers(len(self.kinds)))]
        sun = kind == "outdoor" and bool(rng.random() < 0.7)
        lamps = int(rng.integers(0, 3)) if kind == "outdoor" else int(rng.integers(1, 7))
        windows = int(rng.integers(1, 4)) if kind == "indoor" else int(rng.integers(0, 6))
        return SceneParams(kind=kind, seed=int(rng.integers(0, 2**31 - 1)), sun=sun, lamps=lamps,
                           windows=windows, highlights=int(rng.integers(2, 12)),
                           horizon=float(rng.uniform(0.3, 0.65)),
                           light_level=float(np.exp(rng.uniform(np.log(0.5), np.log(2.0)))))

    def apply(self, size: Any, params: SceneParams) -> np.ndarray:
        """Alias of :meth:`render` in the ``apply(x, params)`` shape (``x`` is the output size)."""
        return self.render(params, size)

    def render(self, params: SceneParams, size: Any = 512) -> np.ndarray:
        """Render ``params`` at ``size`` (int or ``(h, w)``) → float32 ``h×w×3`` linear BT.2020, relative units."""
        import cv2

        h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
        if h < 8 or w < 8 or h * w > 1 << 26:
            raise InputError(f"scene size must be between 8×8 and 64 Mpixel, got {w}×{h}")
        if params.kind not in KINDS:
            raise InputError(f"unknown scene kind {params.kind!r}")
        rng = np.random.default_rng(params.seed)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        scale = min(h, w)
        horizon = params.horizon * h
        level = params.light_level
        img = np.zeros((h, w, 3), np.float32)

        # ---- background: sky (outdoor/night) or back wall (indoor)
        above = (yy < horizon)[..., None]
        t = np.clip(yy / max(horizon, 1.0), 0.0, 1.0)[..., None]
        if params.kind == "indoor":
            wall_tint = _random_colour(rng, 0.15)
            wall = (0.25 + 0.5 * _fractal_noise(rng, h, w, base=3))[..., None] * wall_tint * 0.6 * level
            shade = (0.4 + 0.6 * np.exp(-((xx - rng.uniform(0, w)) / (0.8 * w)) ** 2))[..., None]
            background = wall * shade
        else:
            zenith = np.array([0.18, 0.32, 1.0]) if params.kind == "outdoor" else np.array([0.02, 0.03, 0.08])
            horizon_c = np.array([0.9, 0.95, 1.0]) if params.kind == "outdoor" else np.array([0.10, 0.07, 0.05])
            if params.kind == "outdoor" and rng.random() < 0.3:  # sunset sky
                horizon_c = np.array([1.0, 0.55, 0.25])
            sky_lum = (5.0 if params.kind == "outdoor" else 0.01) * level
            sky = ((1 - t) * zenith + t * horizon_c) * sky_lum
            clouds = _fractal_noise(rng, h, w, base=3, persistence=0.6)
            cover = np.clip((clouds - rng.uniform(0.45, 0.75)) * 3.0, 0.0, 1.0)[..., None]
            background = sky * (1 - cover) + cover * sky_lum * 0.9 * np.array([1.0, 1.0, 1.0])
        img += np.where(above, background, 0.0).astype(np.float32)

        # ---- ground / floor: textured surfaces under the illuminant
        ground_tint = _random_colour(rng, rng.uniform(0.05, 0.5))
        tex = _fractal_noise(rng, h, w, base=6, persistence=0.6)
        albedo = (0.05 + 0.6 * tex)[..., None] * ground_tint
        depth = np.clip((yy - horizon) / max(h - horizon, 1.0), 0.0, 1.0)[..., None]
        illum = {"outdoor": 1.0, "indoor": 0.35, "night": 0.02}[params.kind] * level
        ground = albedo * illum * (0.5 + 0.5 * depth)
        img = np.where(above, img, ground).astype(np.float32)

        # ---- objects: boxes (buildings / furniture) with their own textures and a shaded side
        for _ in range(int(rng.integers(2, 7))):
            bw, bh = rng.uniform(0.08, 0.35) * w, rng.uniform(0.15, 0.6) * h
            x0 = rng.uniform(-0.1 * w, w)
            y1 = horizon + rng.uniform(0, 0.25) * (h - horizon)
            y0 = y1 - bh
            mask = (xx >= x0) & (xx < x0 + bw) & (yy >= y0) & (yy < y1)
            if not mask.any():
                continue
            tint = _random_colour(rng, rng.uniform(0.0, 0.7))
            tex = _fractal_noise(rng, h, w, base=int(rng.integers(4, 16)), persistence=0.5)
            stripes = 0.5 + 0.5 * np.sin(yy * rng.uniform(0.05, 0.6) + xx * rng.uniform(0.0, 0.1))
            surface = (0.04 + 0.7 * (0.6 * tex + 0.4 * stripes * rng.uniform(0, 1)))[..., None] * tint
            side = np.where(xx < x0 + bw * rng.uniform(0.5, 0.9), 1.0, rng.uniform(0.1, 0.5))[..., None]
            img = np.where(mask[..., None], surface * illum * side, img).astype(np.float32)

        # ---- windows: bright rectangles (daylight seen from inside, or lit windows at night)
        for _ in range(params.windows):
            ww, wh = rng.uniform(0.04, 0.2) * w, rng.uniform(0.06, 0.3) * h
            x0, y0 = rng.uniform(0, w - ww), rng.uniform(0, max(horizon - wh, 1.0))
            mask = (xx >= x0) & (xx < x0 + ww) & (yy >= y0) & (yy < y0 + wh)
            lum = {"outdoor": rng.uniform(2, 20), "indoor": rng.uniform(8, 60), "night": rng.uniform(0.5, 5)}[
                params.kind] * level
            tint = _blackbody_tint(rng.uniform(2700, 7500))
            glass = (0.7 + 0.3 * _fractal_noise(rng, h, w, base=2))[..., None]
            # window frame: dark bars
            bars = ((np.abs(xx - (x0 + ww / 2)) < 0.01 * w) | (np.abs(yy - (y0 + wh / 2)) < 0.01 * h))
            val = np.where(bars[..., None], img * 0.2, glass * lum * tint)
            img = np.where(mask[..., None], val, img).astype(np.float32)

        # ---- sun: a disc of huge luminance and a glare halo
        if params.sun:
            cy, cx = rng.uniform(0.05, 0.8) * horizon, rng.uniform(0.05, 0.95) * w
            r = max(1.5, rng.uniform(0.008, 0.02) * scale)
            sun_lum = rng.uniform(2e3, 5e4) * level
            tint = _blackbody_tint(rng.uniform(3500, 6000))
            d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (scale * scale)
            halo = (0.6 * np.exp(-d2 / 0.002) + 0.15 * np.exp(-d2 / 0.03))[..., None] * 5.0 * level * tint
            img = img + np.where(above, halo, 0.0).astype(np.float32)
            img = img + (_disc(yy, xx, cy, cx, r)[..., None] * sun_lum * tint).astype(np.float32)

        # ---- lamps: small emitters with glow, some saturated (coloured LEDs beyond BT.709)
        for _ in range(params.lamps):
            cy, cx = rng.uniform(0.05, 0.95) * h, rng.uniform(0.02, 0.98) * w
            r = max(1.0, rng.uniform(0.004, 0.02) * scale)
            lum = float(np.exp(rng.uniform(np.log(50.0), np.log(5e3)))) * (level if params.kind != "night" else 1)
            tint = _blackbody_tint(rng.uniform(2200, 4500)) if rng.random() < 0.7 else _random_colour(rng, 0.95)
            d2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (r * r)
            glow = (np.exp(-d2 / 8.0) * 0.01 + np.exp(-d2 / 80.0) * 0.0005)[..., None] * lum * tint
            img = img + (glow + _disc(yy, xx, cy, cx, r)[..., None] * lum * tint).astype(np.float32)

        # ---- specular highlights on surfaces: small bright ellipses tinted by the illuminant
        for _ in range(params.highlights):
            cy, cx = rng.uniform(0.3, 1.0) * h, rng.uniform(0, 1) * w
            ry, rx = max(0.7, rng.uniform(0.002, 0.012) * scale), max(0.7, rng.uniform(0.002, 0.03) * scale)
            d2 = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2
            lum = rng.uniform(5.0, 60.0) * illum * (1 if params.kind != "night" else 20)
            img = img + (np.exp(-d2)[..., None] * lum).astype(np.float32)

        # ---- a touch of optical blur so that edges are not perfectly aliased
        img = cv2.GaussianBlur(img, (0, 0), sigmaX=0.6, sigmaY=0.6)
        return np.maximum(img, 0.0).astype(np.float32)


def procedural_scene(rng: np.random.Generator, size: Any = 512, kinds: tuple[str, ...] = KINDS
                     ) -> tuple[np.ndarray, SceneParams]:
    """Draw and render one scene: ``(scene_linear_bt2020, params)``."""
    gen = ProceduralScene(kinds)
    p = gen.make_params(rng)
    return gen.render(p, size), p
