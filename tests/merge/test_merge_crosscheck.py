"""Cross-checks against OpenCV (CalibrateDebevec, MergeDebevec, MergeMertens) and colour-hdri on the same
synthetic brackets.

Tolerance: the three implementations differ in weighting and sampling, so we require ours to disagree with each
reference by no more than the two references disagree with each other (measured here on the same data), and to
be at least as close to the known truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from hdrkit.merge import crf_gamma, debevec1997, merge, simulate_bracket
from hdrkit.merge.fusion import mertens2007

from merge_testlib import READ, SHOT, well_exposed

TIMES = [1 / 16, 1 / 4, 1, 4, 16]

cv2 = pytest.importorskip("cv2")


def _colour_hdri():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pytest.importorskip("colour_hdri")


def _stack(ch, bracket, times):
    st = ch.ImageStack()
    for z, t in zip(bracket, times):
        st.append(ch.Image(data=z.astype(np.float64) / 255.0, metadata=ch.Metadata(1.0, t, 100.0)))
    return st


@pytest.fixture(scope="module")
def bracket(forest):
    true = crf_gamma(2.2)
    return true, simulate_bracket(forest, TIMES, true, 8, SHOT, READ, np.random.default_rng(11))


def test_debevec_crf_agrees_with_opencv_and_colour_hdri(bracket):
    ch = _colour_hdri()
    true, b = bracket
    ours = debevec1997(b, TIMES).table
    cv = cv2.createCalibrateDebevec().process(b, np.float32(TIMES))[:, 0, :].astype(np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # 300 samples instead of its default 1000: its dense solver with Python loops takes ~10 s otherwise
        chr_ = ch.camera_response_functions_Debevec1997(_stack(ch, b, TIMES), sampling_function_kwargs={"samples": 300})
    norm = [c / c[128] for c in (ours, cv, chr_, true.table)]
    i = slice(13, 243)  # codes 0.05..0.95: below, read noise swamps the darkest codes of this bracket

    def d(a, c):
        return float(np.sqrt(np.mean((np.log2(a[i]) - np.log2(c[i])) ** 2)))

    o, c, h, t = norm
    assert d(o, c) <= d(c, h) and d(o, h) <= d(c, h)  # measured: 0.026, 0.024 vs 0.040 (log2 RMS)
    assert d(o, t) <= min(d(c, t), d(h, t))  # measured: 0.004 vs 0.025, 0.026


def test_merge_agrees_with_opencv_and_colour_hdri(bracket, forest):
    ch = _colour_hdri()
    true, b = bracket
    m = well_exposed(b)
    ours = merge(b, TIMES, crf=true)
    resp = np.maximum(true.table, 1e-6).astype(np.float32).reshape(256, 1, 3)
    cv = cv2.createMergeDebevec().process(b, np.float32(TIMES), resp)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hr = ch.image_stack_to_HDRI(_stack(ch, b, TIMES), camera_response_functions=true.table)

    def d(a, c):  # mean |log2| after removing the global scale (colour-hdri's exposure normalisation)
        r = np.log2(np.maximum(a[m], 1e-30)) - np.log2(np.maximum(c[m], 1e-30))
        return float(np.abs(r - np.median(r)).mean())

    assert d(ours, cv) <= d(cv, hr) and d(ours, hr) <= d(cv, hr)  # measured: 0.017, 0.001 vs 0.018
    assert d(ours, forest) <= min(d(cv, forest), d(hr, forest)) * 1.05  # measured: 0.013 vs 0.026, 0.012


def test_mertens_matches_opencv(bracket):
    _, b = bracket
    ours = mertens2007(b[1:4])
    # OpenCV's default exposure weight is 0: ask for the paper's (1, 1, 1); its output is not clipped
    ref = np.clip(cv2.createMergeMertens(1.0, 1.0, 1.0).process(b[1:4]), 0, 1)
    d = np.abs(ours - ref)
    # measured: mean 1.7e-5, 99 % within 3.5e-5, 99.9 % within 1.3e-4 (float32 summation order); ~0.01 % of
    # pixels, where the contrast weight is exactly 0 in every exposure (all weights 1e-12, a tie), differ by up
    # to 0.1 because float rounding of the grey image breaks the tie differently.
    assert np.quantile(d, 0.99) < 1e-4
    assert np.quantile(d, 0.999) < 5e-4
    assert d.mean() < 5e-5
