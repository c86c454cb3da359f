"""Acceptance of issue 7 on synthetic brackets from real HDR panoramas: merge accuracy, CRF accuracy, 16-bit,
many brackets, clipped pixels, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.merge import (
    calibrate,
    crf_eilertsen2017,
    crf_gamma,
    debevec1997,
    merge,
    parse_times,
    robertson1999,
    simulate_bracket,
)

from merge_testlib import READ, SHOT, load_radiance, log2_error, well_exposed

TIMES = [1 / 16, 1 / 4, 1, 4, 16]


def crf_rel_rms(est, true, lo=0.05, hi=0.95):
    """RMS relative error of the inverse response over codes [lo, hi], both normalised at code 0.5."""
    a, b = est.normalized().resampled(true.size).table, true.normalized().table
    i = slice(int(np.ceil(lo * (true.size - 1))), int(hi * (true.size - 1)) + 1)
    return float(np.sqrt(np.mean((a[i] / b[i] - 1) ** 2)))


@pytest.mark.parametrize("name", ["forest", "city", "interior"])
def test_merge_known_crf_within_002_log2(shared_data, name):
    e = load_radiance(shared_data, name)
    crf = crf_eilertsen2017(0.9, 0.6)
    b = simulate_bracket(e, TIMES, crf, 8, SHOT, READ, np.random.default_rng(1))
    r = merge(b, TIMES, crf=crf)
    m = well_exposed(b)
    assert m.mean() > 0.5
    err = log2_error(r, e, m)
    assert err < 0.02, err
    assert np.all(np.isfinite(r)) and np.all(r > 0)


@pytest.mark.parametrize("name,true", [("forest", crf_eilertsen2017(0.9, 0.6)), ("city", crf_gamma(2.2))])
def test_debevec_crf_within_2pct_and_merge(shared_data, name, true):
    e = load_radiance(shared_data, name)
    b = simulate_bracket(e, TIMES, true, 8, SHOT, READ, np.random.default_rng(2))
    est = debevec1997(b, TIMES)
    assert crf_rel_rms(est, true) < 0.02
    r = merge(b, TIMES, crf=est)
    # an estimated CRF is known up to a scale per channel (g(0.5) = 1): compare after removing it
    assert log2_error(r, e, well_exposed(b), per_channel_scale=True) < 0.02


@pytest.mark.parametrize("times,true", [([1 / 15, 1 / 4, 1, 3, 10], crf_eilertsen2017(0.9, 0.6)),
                                        ([1 / 16, 1 / 4, 1, 4, 16], crf_gamma(2.2))])
def test_robertson_crf_within_2pct(forest, times, true):
    b = simulate_bracket(forest[::2, ::2], times, true, 8, SHOT, READ, np.random.default_rng(3))
    est = robertson1999(b, times)
    assert crf_rel_rms(est, true) < 0.02


def test_robertson_from_linear_start_is_worse(forest):
    # the paper's linear start with all codes weighted: noisy shadows flatten the curve (documents the default)
    times = [1 / 16, 1 / 4, 1, 4, 16]
    true = crf_gamma(2.2)
    b = simulate_bracket(forest[::2, ::2], times, true, 8, SHOT, READ, np.random.default_rng(3))
    assert crf_rel_rms(robertson1999(b, times, init="linear", clip=(0.0, 1.0), max_iter=20), true) > 0.1


def test_16bit_bracket(forest):
    true = crf_gamma(2.2, 65536)
    b = simulate_bracket(forest, TIMES[1:4], true, 16, SHOT, READ, np.random.default_rng(4))
    assert b[0].dtype == np.uint16
    est = calibrate(b, TIMES[1:4])  # debevec1997 on 1024 nodes
    assert est.size == 65536
    assert crf_rel_rms(est, true) < 0.02
    r = merge(b, TIMES[1:4], crf=true)
    assert log2_error(r, forest, well_exposed(b)) < 0.02


def test_one_crf_from_many_brackets(shared_data):
    true = crf_eilertsen2017(0.9, 0.6)
    rng = np.random.default_rng(5)
    brackets, times = [], []
    for name, t in (("forest", [1 / 8, 1, 8]), ("sunset", [1 / 4, 1, 4, 16])):
        e = load_radiance(shared_data, name)[::2, ::2]
        brackets.append(simulate_bracket(e, t, true, 8, SHOT, READ, rng))
        times.append(t)
    est = debevec1997(brackets, times)
    assert est.info["brackets"] == 2
    assert crf_rel_rms(est, true) < 0.02


def test_linear_domain_and_float_input(forest):
    crf = crf_gamma(2.2)
    b = simulate_bracket(forest[::2, ::2], TIMES, crf, 8, SHOT, READ, np.random.default_rng(6))
    m = well_exposed(b)
    r_lin = merge(b, TIMES, crf=crf, domain="linear")
    assert log2_error(r_lin, forest[::2, ::2], m) < 0.02
    # the same codes as floats in [0, 1] go through the 16-bit path and agree
    r_f = merge([z / 255.0 for z in b], TIMES, crf=crf)
    assert log2_error(r_f, merge(b, TIMES, crf=crf), m) < 1e-3


def test_pixels_clipped_everywhere_get_bounds_not_nan():
    crf = crf_gamma(2.2)
    times = [0.5, 1.0, 2.0]
    white = [np.full((4, 4, 3), 255, np.uint8)] * 3
    black = [np.zeros((4, 4, 3), np.uint8)] * 3
    r_w = merge(white, times, crf=crf)
    assert np.allclose(r_w, 1.0 / 0.5)  # g(max) / t_min: the best lower bound
    r_b = merge(black, times, crf=crf)
    assert np.all(np.isfinite(r_b)) and np.all(r_b > 0)
    assert np.all(r_b < crf.table[1, 0] / 2.0)  # below what the longest exposure could have seen
    # a pixel clipped in some exposures only uses the others
    mixed = [np.full((1, 1, 3), 64, np.uint8), np.full((1, 1, 3), 255, np.uint8), np.full((1, 1, 3), 255, np.uint8)]
    assert np.allclose(merge(mixed, times, crf=crf), (64 / 255) ** 2.2 / 0.5, rtol=1e-5)


def test_bad_brackets():
    a = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(InputError, match="at least 2"):
        merge([a], [1.0])
    with pytest.raises(InputError, match="same size"):
        merge([a, np.zeros((8, 9, 3), np.uint8)], [1.0, 2.0], crf="gamma2.2")
    with pytest.raises(InputError, match="times"):
        merge([a, a], [1.0], crf="gamma2.2")
    with pytest.raises(InputError):
        merge([a, a], [1.0, -2.0], crf="gamma2.2")
    with pytest.raises(InputError):
        merge([a, a], None, crf="gamma2.2")
    with pytest.raises(InputError, match="NaN"):
        merge([np.full((2, 2, 3), np.nan), np.zeros((2, 2, 3))], [1.0, 2.0], crf="gamma2.2")
    with pytest.raises(InputError, match="different exposure times"):
        debevec1997([a, a], [1.0, 1.0])


def test_parse_times():
    assert parse_times("1/60, 1/15,0.25,4") == pytest.approx([1 / 60, 1 / 15, 0.25, 4.0])
    for bad in ("", "1/0", "abc", "1,-2", "1,,2"):
        with pytest.raises(InputError):
            parse_times(bad)
