"""Tone mapping: HDR (absolute linear BT.2020 cd/m²) → SDR (BT.709, BT.1886 γ2.4 code values in [0, 1]).

One dispatcher, :func:`tonemap`, over the operator registry :data:`OPERATORS`
(:mod:`hdrkit.tonemap.operators`, the one vocabulary of every command), each operator also usable alone:

=================  ===========================================================================================
``bt2446a``        ITU-R BT.2446-1 Method A (:func:`bt2446a`)
``lut``            any 3D ``.cube`` LUT (or a zip holding one) on PQ/BT.2020 R'G'B', tetrahedral (:func:`tonemap_lut`)
``youtube``        the bundled YouTube HDR10→SDR emulation LUT (BSD-3, :func:`youtube`)
``reinhard2002``   Reinhard et al. 2002 global / local (:func:`reinhard2002`)
``ocio``           OpenColorIO ACES 1.0 SDR video view (optional extra ``ocio``, :func:`ocio_aces`)
``clip``           exposure + gamut mapping + clip + γ2.4 (:func:`clip`)
``eilertsen2017``  the virtual camera of Eilertsen et al. 2017 (:func:`eilertsen2017`, :mod:`hdrkit.data.camera`)
=================  ===========================================================================================

Also :func:`master_hdr10` (scene-referred linear → display-referred HDR10 master) and :func:`eetf_bt2390`.

Input checks shared by every operator: NaN/Inf raise :class:`hdrkit.errors.InputError`; negative light is
clamped to 0; every output is finite and in [0, 1].  BT.2020 colours outside BT.709 are gamut mapped by a
luminance-preserving desaturation (:func:`gamut_map_bt2020_to_bt709`), never producing negative code values.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from hdrkit.errors import InputError
from hdrkit.tonemap._common import (
    SDR_GAMMA,
    check_hdr,
    display_linear_to_sdr,
    encode_sdr,
    gamut_map_bt2020_to_bt709,
)
from hdrkit.tonemap.bt2446 import bt2446a, bt2446a_curve, bt2446a_knee, bt2446a_rho
from hdrkit.tonemap.clip import clip
from hdrkit.tonemap.lut import (
    Lut3D,
    cube_text,
    lut_tetrahedral,
    read_cube,
    tonemap_lut,
    youtube,
    youtube_lut,
    youtube_lut_path,
)
from hdrkit.tonemap.master import BT2408_GREY_NITS, auto_exposure, eetf_bt2390, master_hdr10, regrade_peak
from hdrkit.tonemap.ocio import ocio_aces
from hdrkit.tonemap.operators import DEFAULT_OPERATOR, OPERATORS, Operator, eilertsen2017, get_operator
from hdrkit.tonemap.reinhard import reinhard2002, saturation_mantiuk2009, saturation_schlick1994

#: The operators of :func:`tonemap`, by method name (the functions of :data:`OPERATORS`).
TONEMAP_METHODS: dict[str, Callable[..., np.ndarray]] = {name: op.fn for name, op in OPERATORS.items()}


def tonemap(hdr_nits: Any, method: str = DEFAULT_OPERATOR, **params: Any) -> np.ndarray:
    """Tone map absolute linear BT.2020 light (cd/m², float ``H×W×3``) to SDR.

    Parameters
    ----------
    hdr_nits : float ``H×W×3`` (or ``(..., 3)`` for the point-wise operators) in cd/m², BT.2020 primaries.
    method : one of :data:`OPERATORS` (``"youtube"`` by default, ``"bt2446a"``, ``"reinhard2002"``, ``"ocio"``,
        ``"clip"``, ``"lut"``, ``"eilertsen2017"``).
    **params : passed to the operator, e.g. ``lut=PATH`` for ``"lut"``, ``key=0.18, local="bilateral"`` for
        ``"reinhard2002"``, ``l_hdr=1000`` for ``"bt2446a"``, ``exposure=1`` for ``"clip"``/``"ocio"``; text
        values (from a command line) are converted to the parameter's type.  An unknown parameter raises
        :class:`InputError` naming the valid ones.

    Returns
    -------
    float32 ``H×W×3`` BT.709 BT.1886 (γ 2.4) code values in [0, 1].
    """
    op = get_operator(method)
    return op.fn(hdr_nits, **op.bind(params))


def tonemap_image(img: Any, method: str = DEFAULT_OPERATOR, **params: Any):
    """Image-level convenience: any :class:`hdrkit.io.Image` → 8-bit-ready SDR ``Image`` (BT.709, BT.1886).

    The result has ``nits_per_unit = SDR_WHITE_NITS`` (203), the convention hdrkit uses for SDR files.
    """
    from hdrkit import color
    from hdrkit.io.image import Image

    if not isinstance(img, Image):
        raise InputError(f"tonemap_image needs an hdrkit Image, got {type(img).__name__}")
    sdr = tonemap(color.to_nits(img, "bt2020"), method, **params)
    return Image(sdr, primaries="bt709", transfer="bt1886", nits_per_unit=color.SDR_WHITE_NITS,
                 meta={"tonemap": str(method)})


def tonemap_file(src: Any, out: Any, method: str = DEFAULT_OPERATOR, *, master: bool = False,
                 peak: float = 1000.0, mid: float = 26.0, primaries: Any = None, transfer: Any = None,
                 nits_per_unit: Any = None, **params: Any):
    """What ``hdrkit tonemap SRC -o OUT`` does: read the HDR file ``src`` (``primaries``/``transfer``/
    ``nits_per_unit`` override what it says), optionally master it (:func:`master_hdr10`, ``peak``/``mid``),
    tone map it with ``method`` and write the SDR picture ``out`` atomically (BT.709, BT.1886, white 203
    nits).  Returns the written ``Image``."""
    from hdrkit import color
    from hdrkit.io import Image, read_image, write_image

    img = read_image(src, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
    nits = color.to_nits(img, "bt2020")
    if master:
        nits = master_hdr10(nits, peak=peak, mid=mid)
    sdr = Image(tonemap(nits, method, **params), primaries="bt709", transfer="bt1886",
                nits_per_unit=color.SDR_WHITE_NITS)
    write_image(out, sdr)
    return sdr


__all__ = [
    "OPERATORS", "DEFAULT_OPERATOR", "Operator", "get_operator", "eilertsen2017",
    "TONEMAP_METHODS", "tonemap", "tonemap_image", "tonemap_file", "bt2446a", "bt2446a_curve", "bt2446a_knee", "bt2446a_rho",
    "clip", "Lut3D", "cube_text", "lut_tetrahedral", "read_cube", "tonemap_lut", "youtube", "youtube_lut",
    "youtube_lut_path", "reinhard2002", "saturation_schlick1994", "saturation_mantiuk2009", "ocio_aces",
    "master_hdr10", "regrade_peak", "auto_exposure", "eetf_bt2390", "BT2408_GREY_NITS", "SDR_GAMMA", "check_hdr",
    "display_linear_to_sdr", "encode_sdr", "gamut_map_bt2020_to_bt709",
]
