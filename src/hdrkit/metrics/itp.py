"""ΔE_ITP colour difference (ITU-R BT.2124) for absolute linear BT.2020 light.

References
----------
ITU-R BT.2124-0 (2019), "Objective metric for the assessment of the potential visibility of colour differences
in television": ΔE_ITP = 720·√(ΔI² + ΔT² + ΔP²) with T = 0.5·Ct, P = Cp of ICtCp (BT.2100, PQ).
"""

from __future__ import annotations

from typing import Any

from hdrkit.color import rgb_to_ictcp
from hdrkit.metrics._backend import prepare_pair
from hdrkit.metrics.ssim import _result


def delta_e_itp_map(ref_nits: Any, test_nits: Any) -> Any:
    """Per-pixel ΔE_ITP, shape ``(..., H, W)`` (or ``(...)`` for any ``(..., 3)`` input).

    Parameters
    ----------
    ref_nits, test_nits : ``(..., 3)`` absolute linear BT.2020 RGB in cd/m² (numpy or torch)
    """
    xp, r, t = prepare_pair(ref_nits, test_nits, channels=None)
    if r.shape[-1] != 3:
        from hdrkit.errors import InputError

        raise InputError(f"expected RGB values of shape (..., 3), got {tuple(r.shape)}")
    d = rgb_to_ictcp(r) - rgb_to_ictcp(t)
    return 720.0 * xp.sqrt(d[..., 0] ** 2 + (0.5 * d[..., 1]) ** 2 + d[..., 2] ** 2)


def delta_e_itp(ref_nits: Any, test_nits: Any) -> Any:
    """Mean ΔE_ITP over the pixels of ``(..., H, W, 3)`` images (BT.2124); see :func:`delta_e_itp_map`.

    One just-noticeable difference is about ΔE_ITP = 1.  Returns a float for one numpy image.
    """
    xp, r, t = prepare_pair(ref_nits, test_nits)
    return _result(xp, xp.mean(delta_e_itp_map(r, t), axis=(-2, -1)))
