"""Inverse tone mapping: SDR (BT.709, BT.1886 γ 2.4 code values) → HDR (absolute linear BT.2020 nits).

    from hdrkit.expand import expand, METHODS
    nits = expand(sdr, method="akyuz2007", peak=1000)     # float32 H×W×3 cd/m², BT.2020

:data:`METHODS` is the registry of operators (name → ``fn(sdr, **params) -> nits``); learned operators add
themselves with :func:`register_method`.  The classical operators and their papers are listed in
:mod:`hdrkit.expand.classical`.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hdrkit._params import bind
from hdrkit.errors import InputError
from hdrkit.expand import classical

ExpandFn = Callable[..., np.ndarray]

#: Expansion operators by name.  Each maps SDR code values (H×W×3 float in [0, 1], BT.709 / BT.1886) to
#: absolute linear BT.2020 nits (float32 H×W×3).
METHODS: dict[str, ExpandFn] = {
    "linear": classical.linear,
    "akyuz2007": classical.akyuz2007,
    "masia2009": classical.masia2009,
    "masia2017": classical.masia2017,
    "huo2014": classical.huo2014,
    "kovaleski2014": classical.kovaleski2014,
    "bt2446c": classical.bt2446c,
}


# learned operators (U-Net, MetaHDR): torch is imported only when one of them runs
from hdrkit.expand import learned as _learned  # noqa: E402

METHODS.update(_learned.METHODS)


def register_method(name: str, fn: ExpandFn) -> None:
    """Add an operator to :data:`METHODS` (used by the learned methods)."""
    if not callable(fn):
        raise TypeError("an expansion method must be callable")
    METHODS[str(name)] = fn


def check_sdr(sdr) -> np.ndarray:
    """Validate SDR input: ``H×W×3`` floats in [0, 1] (uint8/uint16 code values are normalised)."""
    a = np.asarray(sdr)
    if a.ndim != 3 or a.shape[-1] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputError(f"SDR input must be H×W×3, got shape {a.shape}")
    if a.dtype == np.uint8:
        return a.astype(np.float64) / 255.0
    if a.dtype == np.uint16:
        return a.astype(np.float64) / 65535.0
    if a.dtype.kind != "f":
        raise InputError(f"SDR input must be float code values in [0, 1] (or uint8/uint16), got {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise InputError("SDR input contains NaN or Inf")
    if a.min() < -1e-6 or a.max() > 1 + 1e-6:
        raise InputError(f"SDR code values must lie in [0, 1], got [{a.min():.4g}, {a.max():.4g}]")
    return np.clip(a.astype(np.float64), 0.0, 1.0)


def expand(sdr, method: str = "gcm", **params) -> np.ndarray:
    """Expand an SDR image to HDR with ``method`` (see :data:`METHODS`); ``params`` go to the operator.

    The default, ``"gcm"``, is the best blind operator we measured on held-out scenes (docs/EXPAND.md).

    Returns float32 ``H×W×3`` absolute linear light in cd/m², BT.2020 primaries.
    """
    try:
        fn = METHODS[method]
    except KeyError:
        raise InputError(f"unknown expansion method {method!r}; choose one of {', '.join(METHODS)}") from None
    params = bind(fn, method, params)  # unknown names → one-line InputError naming the valid parameters
    x = check_sdr(sdr)
    return np.asarray(fn(x, **params), dtype=np.float32)


__all__ = ["expand", "METHODS", "register_method", "check_sdr", "classical"]
