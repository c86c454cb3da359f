"""CRF models, weighting functions, CRF files: closed forms and round trips."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hdrkit.errors import FormatError, InputError
from hdrkit.merge import CRF, crf_eilertsen2017, crf_from_spec, crf_gamma, crf_linear, crf_srgb, load_crf, save_crf
from hdrkit.merge.weights import WEIGHTS, get_weight


def test_gamma_and_linear_tables():
    c = crf_gamma(2.2)
    assert c.size == 256
    assert c.table[128, 0] == pytest.approx((128 / 255) ** 2.2, rel=1e-12)
    assert np.allclose(crf_linear(1024).table[:, 1], np.linspace(0, 1, 1024))


def test_srgb_matches_colour_science():
    colour = pytest.importorskip("colour")
    z = np.linspace(0, 1, 256)
    assert np.allclose(crf_srgb().table[:, 2], colour.models.eotf_sRGB(z), atol=1e-12)


def test_eilertsen2017_closed_form():
    # f(X) = (1 + σ)·Xⁿ/(Xⁿ + σ) with n = 0.9, σ = 0.6 at X = 0.5: by hand 1.6·0.53589/(0.53589 + 0.6) = 0.75484
    n, s = 0.9, 0.6
    x = 0.5
    f_hand = 1.6 * 0.5**0.9 / (0.5**0.9 + 0.6)
    assert f_hand == pytest.approx(0.754844, abs=1e-5)
    c = crf_eilertsen2017(n, s, size=65536)
    z = c.respond(np.full((1, 3), x))
    assert z[0, 0] == pytest.approx(f_hand, abs=1e-5)
    assert c.table[-1, 0] == pytest.approx(1.0)  # f(1) = 1


def test_respond_inverts_linearize():
    c = crf_gamma(2.2, 65536)
    z = np.random.default_rng(0).random((50, 3))
    assert np.allclose(c.respond(c.linearize(z)), z, atol=1e-4)
    assert np.all(c.respond(np.full((1, 3), 5.0)) == 1.0)  # saturation


def test_linearize_integer_lookup():
    c = crf_gamma(2.0)
    z = np.array([[[0, 128, 255]]], np.uint8)
    assert np.allclose(c.linearize(z)[0, 0], [0, (128 / 255) ** 2, 1], atol=1e-7)
    # 16-bit codes on a 256-entry table are interpolated
    z16 = np.array([[[0, 32896, 65535]]], np.uint16)  # 32896/65535 = 128/255
    assert np.allclose(c.linearize(z16)[0, 0], [0, (128 / 255) ** 2, 1], atol=1e-6)


@pytest.mark.parametrize("ext", [".json", ".csv"])
def test_save_load_round_trip(tmp_path, ext):
    c = crf_eilertsen2017(0.8, 0.5, size=1024).normalized()
    p = tmp_path / f"crf{ext}"
    save_crf(p, c)
    back = load_crf(p)
    assert back.size == 1024
    assert np.array_equal(back.table, c.table)
    assert not list(tmp_path.glob(".*tmp*"))


def test_crf_files_bad_input(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{not json")
    with pytest.raises(FormatError):
        load_crf(p)
    p.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(FormatError):
        load_crf(p)
    q = tmp_path / "bad.csv"
    q.write_text("code,r,g,b\n0,0,0,0\n1,1,x,1\n")
    with pytest.raises(FormatError):
        load_crf(q)
    with pytest.raises(InputError):
        load_crf(tmp_path / "missing.json")
    with pytest.raises(InputError):
        save_crf(tmp_path / "crf.txt", crf_linear())


def test_crf_table_must_be_monotone_and_finite():
    with pytest.raises(InputError):
        CRF(np.array([0.0, 0.5, 0.4, 1.0]))
    with pytest.raises(InputError):
        CRF(np.array([0.0, np.nan, 1.0]))


def test_crf_from_spec():
    assert crf_from_spec("gamma2.2").table[100, 0] == pytest.approx((100 / 255) ** 2.2)
    assert crf_from_spec("sRGB", size=1024).size == 1024
    assert crf_from_spec("linear").name == "linear"
    with pytest.raises(InputError):
        crf_from_spec("gamma")
    with pytest.raises(InputError):
        crf_from_spec("banana")


def test_weights_closed_forms():
    x = np.array([0.0, 0.25, 0.5, 0.75, 1.0])
    assert np.allclose(get_weight("hat")(x), 1 - (2 * x - 1) ** 12)
    assert np.allclose(get_weight("triangle")(x), [0, 0.5, 1, 0.5, 0])
    assert np.allclose(get_weight("gaussian")(x), np.exp(-4 * (2 * x - 1) ** 2))
    # Debevec 1997 with z_min = 0.01, z_max = 0.99, normalised to 1 at the middle
    assert np.allclose(get_weight("debevec1997")(x), [0, 0.24 / 0.49, 1, 0.24 / 0.49, 0])
    assert set(WEIGHTS) >= {"hat", "triangle", "gaussian", "debevec1997"}
    with pytest.raises(InputError):
        get_weight("nope")
