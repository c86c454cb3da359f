"""ColorVideoVDP (Mantiuk et al. 2024) through the optional ``cvvdp`` package (extra ``hdrkit[cvvdp]``).

ColorVideoVDP is the maintained successor of HDR-VDP-3.  We call its plain metric (no ML variants, none of its
file loaders) with the ``standard_hdr_pq`` display on PQ-encoded BT.2020 input, so nothing is downloaded.  The
package imports torchvision, which must match its torch: install it in a separate environment
(``docs/METRICS.md``).

References
----------
R. K. Mantiuk et al., "ColorVideoVDP: A visual difference predictor for image, video and display
distortions", ACM TOG 43(4), 2024; ``gfxdisp/ColorVideoVDP``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit.errors import InputError
from hdrkit.metrics._backend import prepare_pair


def cvvdp_available() -> bool:
    """True when ``pycvvdp`` imports (it needs torch + torchvision)."""
    try:
        import pycvvdp  # noqa: F401
    except Exception:  # ImportError, or torchvision/torch mismatch raising anything
        return False
    return True


def require_cvvdp():
    """Import and return ``pycvvdp``, or raise :class:`~hdrkit.errors.InputError` saying how to install it."""
    try:
        import pycvvdp
    except (ImportError, RuntimeError, AttributeError, OSError) as exc:  # missing, or torch/torchvision mismatch
        raise InputError(
            f"ColorVideoVDP is not available ({type(exc).__name__}: {exc}); install the cvvdp extra in an "
            "environment with a matching torchvision (see docs/METRICS.md)"
        ) from None
    return pycvvdp


def cvvdp_jod(ref_nits: Any, test_nits: Any, display: str = "standard_hdr_pq", device: str = "cpu") -> float:
    """ColorVideoVDP quality in JOD (10 = no visible difference) of one ``H×W×3`` BT.2020 nits pair.

    The images are PQ-encoded (``hdrkit.color.pq_inverse_eotf``) and passed to
    ``pycvvdp.cvvdp(display_name=display).predict(test, ref, dim_order="HWC")``.  The ``standard_hdr_pq``
    display clips above its 1,500 cd/m² peak, as a real display would.

    Raises :class:`~hdrkit.errors.InputError` when the ``cvvdp`` extra is not installed.
    """
    pycvvdp = require_cvvdp()
    import torch

    from hdrkit.color import pq_inverse_eotf

    xp, r, t = prepare_pair(ref_nits, test_nits)
    if r.ndim != 3:
        raise InputError("cvvdp_jod takes one H×W×3 image pair")
    r, t = xp.to_numpy(r), xp.to_numpy(t)
    rp = torch.as_tensor(np.clip(pq_inverse_eotf(r), 0, 1).astype(np.float32))
    tp = torch.as_tensor(np.clip(pq_inverse_eotf(t), 0, 1).astype(np.float32))
    metric = pycvvdp.cvvdp(display_name=display, device=torch.device(device))
    with torch.no_grad():
        jod, _ = metric.predict(tp, rp, dim_order="HWC")
    return float(jod)
