"""The tone-mapping operator registry: one vocabulary for every HDR → SDR operator in hdrkit.

:data:`OPERATORS` maps a name to an :class:`Operator` (function, one-line summary, reference, optional extra).
:func:`hdrkit.tonemap.tonemap`, ``hdrkit tonemap -m``, ``hdrkit encode --tmo``, ``hdrkit pairs --tmo``, the
training-pair augmentations (:class:`hdrkit.data.augment.RandomTMO`) and later commands all take these names and
nothing else; ``hdrkit tonemap --list`` prints each operator's parameters from its signature and docstring.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import numpy as np

from hdrkit._params import Param, bind, parameters
from hdrkit.errors import InputError
from hdrkit.tonemap.bt2446 import bt2446a
from hdrkit.tonemap.clip import clip
from hdrkit.tonemap.lut import tonemap_lut, youtube
from hdrkit.tonemap.ocio import ocio_aces
from hdrkit.tonemap.reinhard import reinhard2002


def eilertsen2017(hdr_nits: Any, n: float = 0.9, sigma: float = 0.6, saturated: float = 0.10, noise: float = 0.0,
                  jpeg_quality: Optional[int] = None, seed: int = 0, ev: float = 0.0) -> np.ndarray:
    """Virtual camera of Eilertsen et al. 2017 (:func:`hdrkit.data.camera.virtual_camera`) as an operator.

    Parameters
    ----------
    hdr_nits : float ``H×W×3`` absolute linear BT.2020 cd/m².
    n : exponent of the camera curve f(H) = (1 + sigma) H^n / (H^n + sigma) (paper: N(0.9, 0.1)).
    sigma : sigma of the camera curve (paper: N(0.6, 0.1)).
    saturated : fraction of pixels the auto-exposure puts at saturation (paper: 5-15 %).
    noise : std of Gaussian sensor noise relative to saturation (0 = none).
    jpeg_quality : JPEG-compress the 8-bit result at this quality (none = no JPEG).
    seed : seed of the sensor noise.
    ev : exposure relative to the auto-exposure, in stops.

    Returns
    -------
    float32 ``H×W×3`` 8-bit code values / 255 (BT.709 primaries, the camera's own response).
    """
    from hdrkit.data.camera import CameraParams, virtual_camera

    return virtual_camera(hdr_nits, CameraParams(n=n, sigma=sigma, saturated=saturated, noise=noise,
                                                 jpeg_quality=jpeg_quality, seed=seed, ev=ev))


@dataclass(frozen=True)
class Operator:
    """A tone-mapping operator: ``fn(hdr_nits, **params) -> SDR code values``."""

    name: str
    fn: Callable[..., np.ndarray]
    summary: str
    extra: Optional[str] = None  # the pip extra it needs, if any
    required: tuple[str, ...] = ()  # parameters that must be given (their default None means "missing")

    def parameters(self) -> list[Param]:
        """Its keyword parameters (name, default, kind, doc)."""
        return parameters(self.fn)

    def bind(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Validated keyword arguments (text values from the command line converted); one-line
        :class:`InputError` naming the valid parameters otherwise."""
        out = bind(self.fn, self.name, params)
        missing = [r for r in self.required if out.get(r) is None]
        if missing:
            raise InputError(f"operator {self.name!r} needs parameter {missing[0]} (e.g. -p {missing[0]}=FILE)")
        return out

    def describe(self) -> str:
        """The ``hdrkit tonemap --list`` entry: name, summary, one line per parameter."""
        extra = f" (needs: pip install 'hdrkit[{self.extra}]')" if self.extra else ""
        lines = [f"{self.name}: {self.summary}{extra}"]
        lines += [f"    {p.describe(p.name in self.required)}" for p in self.parameters()] or ["    (no parameters)"]
        return "\n".join(lines)


#: Every tone-mapping operator, by name (the order of listings).
OPERATORS: dict[str, Operator] = {op.name: op for op in (
    Operator("youtube", youtube, "the bundled YouTube HDR10->SDR emulation LUT (BSD-3), tetrahedral"),
    Operator("bt2446a", bt2446a, "ITU-R BT.2446-1 Method A"),
    Operator("reinhard2002", reinhard2002, "Reinhard et al. 2002 photographic tone reproduction, global or local"),
    Operator("ocio", ocio_aces, "OpenColorIO ACES 1.0 SDR video output transform", extra="ocio"),
    Operator("clip", clip, "exposure, BT.2020->BT.709 gamut mapping, clip at SDR white, gamma 2.4"),
    Operator("lut", tonemap_lut, "any 3D .cube LUT (or a .zip holding one) on PQ BT.2020 R'G'B'",
             required=("lut",)),
    Operator("eilertsen2017", eilertsen2017, "virtual camera of Eilertsen et al. 2017 (sigmoid camera curve, "
             "auto-exposure, 8 bits)"),
)}

#: The operator every command uses when none is named.
DEFAULT_OPERATOR = "youtube"


def get_operator(name: str) -> Operator:
    """The operator called ``name`` (case-insensitive); one-line :class:`InputError` with the valid names (and a
    close match) otherwise."""
    op = OPERATORS.get(str(name).strip().lower())
    if op is None:
        close = difflib.get_close_matches(str(name).lower(), list(OPERATORS), n=1, cutoff=0.5)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError(f"unknown tone mapping operator {name!r}{hint}; choose from {', '.join(OPERATORS)}")
    return op


def operator_names(exclude: tuple[str, ...] = ()) -> str:
    """``"youtube, bt2446a, ..."`` for help texts."""
    return ", ".join(n for n in OPERATORS if n not in exclude)
