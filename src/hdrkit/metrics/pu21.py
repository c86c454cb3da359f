"""PU21 perceptually uniform encoding of absolute luminance.

References
----------
R. K. Mantiuk and M. Azimi, "PU21: A novel perceptually uniform encoding for adapting existing quality metrics
for HDR", Picture Coding Symposium 2021.  Reference code: ``gfxdisp/pu21`` (``matlab/pu21_encoder.m``; parameter
sets updated 06/02/2020).
"""

from __future__ import annotations

from typing import Any

from hdrkit.errors import InputError
from hdrkit.metrics._backend import backend_of

#: The four fitted parameter sets ``(p1, ..., p7)`` of PU21 (``pu21_encoder.m``).
PU21_PARAMETERS: dict[str, tuple[float, ...]] = {
    "banding": (1.070275272, 0.4088273932, 0.153224308, 0.2520326168, 1.063512885, 1.14115047, 521.4527484),
    "banding_glare": (
        0.353487901, 0.3734658629, 8.277049286e-05, 0.9062562627, 0.09150303166, 0.9099517204, 596.3148142,
    ),
    "peaks": (1.043882782, 0.6459495343, 0.3194584211, 0.374025247, 1.114783422, 1.095360363, 384.9217577),
    "peaks_glare": (816.885024, 1479.463946, 0.001253215609, 0.9329636822, 0.06746643971, 1.573435413, 419.6006374),
}

#: Range of absolute luminance (cd/m²) that PU21 encodes; inputs are clamped to it.
PU21_L_MIN = 0.005
PU21_L_MAX = 10000.0


def _params(params: str | tuple[float, ...]) -> tuple[float, ...]:
    if isinstance(params, str):
        try:
            return PU21_PARAMETERS[params]
        except KeyError:
            raise InputError(
                f"unknown PU21 parameter set {params!r}; choose one of {', '.join(PU21_PARAMETERS)}"
            ) from None
    p = tuple(float(v) for v in params)
    if len(p) != 7:
        raise InputError(f"PU21 needs 7 parameters, got {len(p)}")
    return p


def pu21_encode(Y: Any, params: str | tuple[float, ...] = "banding_glare") -> Any:
    """Absolute linear luminance (cd/m²) → PU21 values (about 0–600; 100 cd/m² ↦ ≈256).

    ``V = max(p7·(((p1 + p2·Y^p4)/(1 + p3·Y^p4))^p5 − p6), 0)`` with ``Y`` clamped to [0.005, 10000].

    Parameters
    ----------
    Y : numpy array or torch tensor, any shape
        Absolute luminance or linear RGB in cd/m² (each value is encoded on its own).
    params : str or 7-tuple
        ``"banding_glare"`` (default, recommended by the authors), ``"banding"``, ``"peaks"``, ``"peaks_glare"``.

    Returns
    -------
    Same kind, shape (and for torch dtype/device) as ``Y``; numpy inputs are returned as float64.  NaN stays NaN.

    References
    ----------
    Mantiuk & Azimi 2021; ``gfxdisp/pu21:matlab/pu21_encoder.m``.
    """
    p = _params(params)
    xp = backend_of(Y)
    Y = xp.asarray(Y)
    Yc = xp.clip(Y, PU21_L_MIN, PU21_L_MAX)
    Yp = Yc ** p[3]
    return xp.maximum(p[6] * (((p[0] + p[1] * Yp) / (1 + p[2] * Yp)) ** p[4] - p[5]), 0.0)


def pu21_decode(V: Any, params: str | tuple[float, ...] = "banding_glare") -> Any:
    """PU21 values → absolute linear luminance (cd/m²); the inverse of :func:`pu21_encode` on its range.

    ``V' = max(V/p7 + p6, 0)^(1/p5)``;  ``Y = (max(V' − p1, 0)/(p2 − p3·V'))^(1/p4)``.

    Parameters and returns as :func:`pu21_encode` (shape preserved).

    References
    ----------
    ``gfxdisp/pu21:matlab/pu21_encoder.m`` (``decode``).
    """
    p = _params(params)
    xp = backend_of(V)
    V = xp.asarray(V)
    Vp = xp.maximum(V / p[6] + p[5], 0.0) ** (1.0 / p[4])
    return (xp.maximum(Vp - p[0], 0.0) / (p[1] - p[2] * Vp)) ** (1.0 / p[3])
