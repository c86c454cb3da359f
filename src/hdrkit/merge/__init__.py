"""Classical HDR from exposure brackets: camera responses, response estimation, merging, alignment,
deghosting and exposure fusion.

    from hdrkit.merge import merge, calibrate, mertens2007
    crf = calibrate(images, times)                     # Debevec & Malik 1997 (or method="robertson1999")
    radiance = merge(images, times, crf=crf)           # relative linear radiance, float32 H×W×3
    ldr = mertens2007(images)                          # exposure fusion, display-referred [0, 1]
"""

from hdrkit.merge.bracket import check_bracket, parse_times, simulate_bracket
from hdrkit.merge.calibrate import CALIBRATION_METHODS, calibrate, debevec1997, robertson1999, samples_grossberg2003
from hdrkit.merge.crf import (
    CRF,
    crf_eilertsen2017,
    crf_from_spec,
    crf_gamma,
    crf_linear,
    crf_srgb,
    load_crf,
    save_crf,
)
from hdrkit.merge.radiance import merge, merge_codes, merge_tables
from hdrkit.merge.weights import WEIGHTS, get_weight

__all__ = [
    "CRF",
    "crf_linear",
    "crf_gamma",
    "crf_srgb",
    "crf_eilertsen2017",
    "crf_from_spec",
    "save_crf",
    "load_crf",
    "WEIGHTS",
    "get_weight",
    "check_bracket",
    "parse_times",
    "simulate_bracket",
    "samples_grossberg2003",
    "debevec1997",
    "robertson1999",
    "calibrate",
    "CALIBRATION_METHODS",
    "merge",
    "merge_codes",
    "merge_tables",
]
