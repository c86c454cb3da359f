"""Colour science for HDR: transfer functions, primaries, luminance, ICtCp, Y'CbCr, image conversion.

Every array function accepts numpy arrays or torch tensors (differentiable) in float32/float64, channel last.
"""

from hdrkit.color.convert import convert, from_nits, to_nits
from hdrkit.color.ictcp import ictcp_to_rgb, rgb_to_ictcp
from hdrkit.color.primaries import (
    PRIMARIES,
    check_primaries,
    convert_primaries,
    luminance,
    luminance_weights,
    npm_from_chromaticities,
    rgb_to_rgb_matrix,
    rgb_to_xyz_matrix,
    xyz_to_rgb_matrix,
)
from hdrkit.color.transfer import (
    HLG_PEAK_NITS,
    LINEAR_NITS_PER_UNIT,
    SDR_WHITE_NITS,
    TRANSFERS,
    bt1886_eotf,
    bt1886_inverse_eotf,
    check_transfer,
    default_nits_per_unit,
    eotf,
    hlg_eotf,
    hlg_inverse_eotf,
    hlg_inverse_oetf,
    hlg_oetf,
    inverse_eotf,
    pq_eotf,
    pq_inverse_eotf,
    srgb_eotf,
    srgb_inverse_eotf,
)
from hdrkit.color.ycbcr import dequantise_ycbcr, quantise_ycbcr, rgb_to_ycbcr, ycbcr_to_rgb

__all__ = [
    "convert", "from_nits", "to_nits", "rgb_to_ictcp", "ictcp_to_rgb", "PRIMARIES", "check_primaries",
    "convert_primaries", "luminance", "luminance_weights", "npm_from_chromaticities", "rgb_to_rgb_matrix",
    "rgb_to_xyz_matrix", "xyz_to_rgb_matrix", "HLG_PEAK_NITS", "LINEAR_NITS_PER_UNIT", "SDR_WHITE_NITS",
    "TRANSFERS", "bt1886_eotf", "bt1886_inverse_eotf", "check_transfer", "default_nits_per_unit", "eotf",
    "hlg_eotf", "hlg_inverse_eotf", "hlg_inverse_oetf", "hlg_oetf", "inverse_eotf", "pq_eotf",
    "pq_inverse_eotf", "srgb_eotf", "srgb_inverse_eotf", "rgb_to_ycbcr", "ycbcr_to_rgb", "quantise_ycbcr",
    "dequantise_ycbcr",
]
