"""RGB colour primaries, RGB↔XYZ and RGB↔RGB matrices derived from chromaticities, luminance.

Matrices are derived from the xy chromaticities of the primaries and white point (SMPTE RP 177-1993), so that
``rgb_to_rgb_matrix("bt709", "bt2020")`` equals ITU-R BT.2087 Eq. (the well-known 0.6274 / 0.3293 / 0.0433 row).

References: ITU-R BT.709-6 (Table 1), ITU-R BT.2020-2 (Table 3), SMPTE EG 432-1 (P3-D65), SMPTE RP 177.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from hdrkit import _array as A
from hdrkit.errors import InputError

D65 = (0.3127, 0.3290)

#: xy chromaticities: (R, G, B, white).
PRIMARIES: dict[str, tuple[tuple[float, float], ...]] = {
    "bt709": ((0.640, 0.330), (0.300, 0.600), (0.150, 0.060), D65),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046), D65),
    "p3d65": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060), D65),
}

_ALIASES = {"rec709": "bt709", "srgb": "bt709", "709": "bt709", "rec2020": "bt2020", "2020": "bt2020",
            "bt2100": "bt2020", "p3": "p3d65", "displayp3": "p3d65", "dcip3d65": "p3d65"}


def check_primaries(name: str) -> str:
    """Normalise a primaries name (``"BT.2020"`` → ``"bt2020"``) or raise ``InputError``."""
    n = str(name).lower().replace("-", "").replace("_", "").replace(".", "").replace(" ", "")
    n = _ALIASES.get(n, n)
    if n not in PRIMARIES:
        raise InputError(f"unknown primaries {name!r}; choose one of {', '.join(PRIMARIES)}")
    return n


def _xy_to_XYZ(xy: tuple[float, float]) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def npm_from_chromaticities(r, g, b, w) -> np.ndarray:
    """Normalised primary matrix (RGB → XYZ, Y of white = 1) from xy chromaticities (SMPTE RP 177)."""
    P = np.stack([_xy_to_XYZ(r), _xy_to_XYZ(g), _xy_to_XYZ(b)], axis=1)
    S = np.linalg.solve(P, _xy_to_XYZ(w))
    return P * S[None, :]


@lru_cache(maxsize=None)
def _rgb_to_xyz(name: str) -> np.ndarray:
    return npm_from_chromaticities(*PRIMARIES[name])


def rgb_to_xyz_matrix(primaries: str) -> np.ndarray:
    """3×3 float64 matrix taking linear RGB in ``primaries`` to CIE XYZ (white Y = 1)."""
    return _rgb_to_xyz(check_primaries(primaries)).copy()


def xyz_to_rgb_matrix(primaries: str) -> np.ndarray:
    return np.linalg.inv(rgb_to_xyz_matrix(primaries))


def rgb_to_rgb_matrix(src: str, dst: str) -> np.ndarray:
    """3×3 float64 matrix converting linear RGB from ``src`` to ``dst`` primaries (same D65 white, no CAT)."""
    return xyz_to_rgb_matrix(dst) @ rgb_to_xyz_matrix(src)


def convert_primaries(rgb: Any, src: str, dst: str) -> Any:
    """Convert linear RGB ``(..., 3)`` between primaries. Out-of-gamut results may be negative."""
    A.check_channels(rgb)
    s, d = check_primaries(src), check_primaries(dst)
    if s == d:
        return A.as_float(rgb)
    return A.matvec(rgb, rgb_to_rgb_matrix(s, d))


def luminance_weights(primaries: str = "bt2020") -> np.ndarray:
    """The Y row of the RGB→XYZ matrix (e.g. BT.709: 0.2126, 0.7152, 0.0722; BT.2020: 0.2627, 0.6780, 0.0593)."""
    return rgb_to_xyz_matrix(primaries)[1].copy()


def luminance(rgb: Any, primaries: str = "bt2020") -> Any:
    """Relative luminance Y of linear RGB ``(..., 3)`` → ``(...)``."""
    A.check_channels(rgb)
    w = luminance_weights(primaries)
    rgb = A.as_float(rgb)
    return rgb[..., 0] * float(w[0]) + rgb[..., 1] * float(w[1]) + rgb[..., 2] * float(w[2])
