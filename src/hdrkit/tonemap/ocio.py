"""OpenColorIO ACES output transform as a tone-mapping operator (optional extra ``ocio``).

Uses the studio config built into OpenColorIO ≥ 2.4 (``ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4``; the
wheel ships it, nothing downloads): colour space ``Linear Rec.2020`` → display ``Rec.1886 Rec.709 - Display``,
view ``ACES 1.0 - SDR Video``.  The scene-linear input is the HDR in cd/m² divided by 100 (1.0 = 100 nits), and
the output is clipped to [0, 1].  This is the "OCIO" operator the MLP-iTM paper uses to test generalisation.
PyOpenColorIO is imported lazily; without it the operator raises a one-line :class:`HdrkitError`.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from hdrkit.errors import HdrkitError, InputError
from hdrkit.tonemap._common import check_finite, check_hdr, check_positive

OCIO_CONFIG = "ocio://studio-config-v2.2.0_aces-v1.3_ocio-v2.4"
OCIO_SOURCE = "Linear Rec.2020"
OCIO_DISPLAY = "Rec.1886 Rec.709 - Display"
OCIO_VIEW = "ACES 1.0 - SDR Video"
#: cd/m² of scene-linear 1.0 fed to the ACES view.
OCIO_NITS_PER_UNIT = 100.0


def _ocio():
    try:
        import PyOpenColorIO as ocio  # noqa: N813
    except ImportError:
        raise HdrkitError("method 'ocio' needs OpenColorIO: pip install 'hdrkit[ocio]' (opencolorio>=2.4)") from None
    return ocio


@functools.lru_cache(maxsize=8)
def ocio_processor(config: str = OCIO_CONFIG, source: str = OCIO_SOURCE, display: str = OCIO_DISPLAY,
                   view: str = OCIO_VIEW):
    """The cached default-precision CPU processor for ``source`` → (``display``, ``view``) in ``config``."""
    ocio = _ocio()
    try:
        cfg = ocio.Config.CreateFromFile(config)
    except ocio.Exception as exc:  # OCIO's own exception type (a config file that is missing or invalid)
        raise InputError(f"cannot open OCIO config {config!r}: {exc}") from None
    try:
        proc = cfg.getProcessor(source, display, view, ocio.TRANSFORM_DIR_FORWARD)
    except ocio.Exception as exc:
        raise InputError(f"OCIO config {config!r} cannot convert {source!r} to {display!r}/{view!r}: {exc}") from None
    return proc.getDefaultCPUProcessor()


def ocio_aces(hdr_nits: Any, exposure: float = 0.0, nits_per_unit: float = OCIO_NITS_PER_UNIT,
              config: str = OCIO_CONFIG, display: str = OCIO_DISPLAY, view: str = OCIO_VIEW) -> np.ndarray:
    """ACES 1.0 SDR video output transform through OpenColorIO.

    Parameters
    ----------
    hdr_nits : float ``(..., 3)`` absolute linear BT.2020 cd/m²; negatives clamp to 0, NaN/Inf → InputError.
    exposure : extra exposure in stops applied before the transform (0 = the reference mapping).
    nits_per_unit : cd/m² of scene-linear 1.0 (100).
    config, display, view : the OCIO config (a path or an ``ocio://`` built-in) and its display/view.

    Returns
    -------
    float32 ``(..., 3)`` BT.709 BT.1886 code values clipped to [0, 1].
    """
    nits_per_unit = check_positive(nits_per_unit, "nits_per_unit")
    x = check_hdr(hdr_nits)
    ev = check_finite(exposure, "exposure")
    if abs(ev) > 100:
        raise InputError(f"exposure must be within ±100 stops, got {exposure}")
    scale = 2.0 ** ev / nits_per_unit
    proc = ocio_processor(config, OCIO_SOURCE, display, view)
    shape = x.shape
    buf = np.ascontiguousarray((x * np.float32(scale)).reshape(-1, 3), dtype=np.float32)
    proc.applyRGB(buf)  # in place
    out = np.nan_to_num(buf.reshape(shape), nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(out, 0.0, 1.0)
