"""Weighting functions: how much to trust a normalised code value ``x`` in [0, 1] when merging exposures.

- ``hat``: ``1 − (2x − 1)¹²`` (Reinhard et al., *High Dynamic Range Imaging*, 2nd ed. 2010, §5.7; the
  "hat" of Banterle & Artusi's tutorial): flat in the middle, zero at both ends.
- ``triangle``: ``1 − |2x − 1|``, the tent of Debevec & Malik 1997 with the full code range.
- ``debevec1997``: Debevec & Malik 1997 (SIGGRAPH, "Recovering high dynamic range radiance maps from
  photographs", eq. 4) ``w(z) = z − z_min`` below the middle and ``z_max − z`` above, with
  ``z_min = 0.01`` and ``z_max = 0.99`` so that the extreme codes get no weight; normalised to peak 1.
- ``gaussian``: ``exp(−4·(2x − 1)²)``, the weighting of Robertson, Borman & Stevenson 1999 (ICIP, "Dynamic
  range improvement through multiple exposures").
- ``uniform``: 1 everywhere (for tests and linear data).

Every function maps an array of floats to weights of the same shape in [0, 1].
"""

from __future__ import annotations

from typing import Callable, Union

import numpy as np

from hdrkit.errors import InputError

WeightFn = Callable[[np.ndarray], np.ndarray]


def weight_hat(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.clip(1.0 - (2.0 * x - 1.0) ** 12, 0.0, 1.0)


def weight_triangle(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.clip(1.0 - np.abs(2.0 * x - 1.0), 0.0, 1.0)


def weight_debevec1997(x: np.ndarray, z_min: float = 0.01, z_max: float = 0.99) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    mid = 0.5 * (z_min + z_max)
    w = np.where(x <= mid, x - z_min, z_max - x)
    return np.clip(w / (mid - z_min), 0.0, 1.0)


def weight_gaussian(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-4.0 * (2.0 * x - 1.0) ** 2)


def weight_uniform(x: np.ndarray) -> np.ndarray:
    return np.ones(np.shape(x), dtype=np.float64)


#: The weighting functions by name.
WEIGHTS: dict[str, WeightFn] = {
    "hat": weight_hat,
    "triangle": weight_triangle,
    "debevec1997": weight_debevec1997,
    "gaussian": weight_gaussian,
    "uniform": weight_uniform,
}


def get_weight(weight: Union[str, WeightFn]) -> WeightFn:
    """The weighting function called ``weight`` (or ``weight`` itself when it is callable)."""
    if callable(weight):
        return weight
    try:
        return WEIGHTS[str(weight).lower()]
    except KeyError:
        raise InputError(f"unknown weighting {weight!r}; choose one of {', '.join(WEIGHTS)}") from None
