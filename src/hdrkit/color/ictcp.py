"""ICtCp (ITU-R BT.2100-2, PQ variant) for absolute linear BT.2020 light in cd/m².

References: ITU-R BT.2100-2 Table 7 (LMS and ICtCp matrices, defined with integer coefficients / 4096);
ITU-R BT.2124 (ΔE_ITP uses this ICtCp).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit import _array as A
from hdrkit.color.transfer import pq_eotf, pq_inverse_eotf

RGB_TO_LMS = np.array([[1688, 2146, 262], [683, 2951, 462], [99, 309, 3688]], dtype=np.float64) / 4096
LMS_P_TO_ICTCP = np.array([[2048, 2048, 0], [6610, -13613, 7003], [17933, -17390, -543]],
                          dtype=np.float64) / 4096
LMS_TO_RGB = np.linalg.inv(RGB_TO_LMS)
ICTCP_TO_LMS_P = np.linalg.inv(LMS_P_TO_ICTCP)


def rgb_to_ictcp(rgb_nits: Any) -> Any:
    """Linear BT.2020 RGB in cd/m² ``(..., 3)`` → ICtCp ``(..., 3)`` (PQ variant, BT.2100)."""
    A.check_channels(rgb_nits)
    lms = A.matvec(A.as_float(rgb_nits), RGB_TO_LMS)
    return A.matvec(pq_inverse_eotf(lms), LMS_P_TO_ICTCP)


def ictcp_to_rgb(ictcp: Any) -> Any:
    """ICtCp ``(..., 3)`` → linear BT.2020 RGB in cd/m² (inverse of :func:`rgb_to_ictcp`)."""
    A.check_channels(ictcp, "ICtCp")
    lms_p = A.matvec(A.as_float(ictcp), ICTCP_TO_LMS_P)
    return A.matvec(pq_eotf(lms_p), LMS_TO_RGB)
