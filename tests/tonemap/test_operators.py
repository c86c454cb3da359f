"""Every operator on adversarial input: finite, in [0, 1], float32, documented clamping, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hdrkit.errors import InputError
from hdrkit.tonemap import TONEMAP_METHODS, gamut_map_bt2020_to_bt709, tonemap, tonemap_image

try:
    import PyOpenColorIO  # noqa: F401

    HAVE_OCIO = True
except ImportError:  # pragma: no cover
    HAVE_OCIO = False

METHODS = [m for m in TONEMAP_METHODS if m != "lut" and (m != "ocio" or HAVE_OCIO)]
METHOD_PARAMS = [(m, {}) for m in METHODS] + [
    ("lut", {"lut": "youtube"}),
    ("reinhard2002", {"local": True}),
    ("reinhard2002", {"local": "bilateral", "saturation": 0.6, "saturation_method": "mantiuk2009"}),
    ("reinhard2002", {"white": float("inf"), "saturation": 1.3}),
    ("bt2446a", {"l_hdr": 4000.0}),
    ("clip", {"exposure": -2.0}),
]


def _call(img, method, params):
    if method == "lut":
        from hdrkit.tonemap import youtube_lut_path

        params = {"lut": youtube_lut_path()}
    return tonemap(img, method, **params)


ADVERSARIAL = np.array([
    [0, 0, 0], [10000, 10000, 10000], [1e7, 1e7, 1e7], [1e-9, 1e-9, 1e-9],
    [10000, 0, 0], [0, 10000, 0], [0, 0, 10000], [1, 0, 0], [0, 1, 0], [0, 0, 1],
    [1e6, 0, 0], [0, 0, 1e6], [203, 203, 203], [5000, 0, 5000], [0, 3, 1e4], [3e38, 0, 0],
], dtype=np.float32).reshape(4, 4, 3)


def _check(out, shape):
    assert out.dtype == np.float32
    assert out.shape == shape
    assert np.isfinite(out).all()
    assert out.min() >= 0.0 and out.max() <= 1.0


@pytest.mark.parametrize("method, params", METHOD_PARAMS)
def test_adversarial_values(method, params):
    _check(_call(ADVERSARIAL, method, params), ADVERSARIAL.shape)
    # all-zero and all-peak images
    _check(_call(np.zeros((3, 5, 3), np.float32), method, params), (3, 5, 3))
    _check(_call(np.full((3, 5, 3), 10000, np.float32), method, params), (3, 5, 3))
    # a 1×1 image
    _check(_call(np.full((1, 1, 3), 100.0), method, params), (1, 1, 3))


@pytest.mark.parametrize("method, params", METHOD_PARAMS)
def test_negative_input_is_clamped_to_zero(method, params):
    x = ADVERSARIAL.copy()
    neg = x.copy()
    neg[0, 0] = [-5, -1e6, -0.1]
    neg[1, 1] = [-3, 1, 0]
    clamped = np.maximum(neg, 0)
    np.testing.assert_allclose(_call(neg, method, params), _call(clamped, method, params), atol=1e-6)
    assert not np.shares_memory(neg, clamped)
    np.testing.assert_array_equal(neg[0, 0], np.float32([-5, -1e6, -0.1]))  # the input was not modified


@pytest.mark.parametrize("method, params", METHOD_PARAMS)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_raise_input_error(method, params, bad):
    x = ADVERSARIAL.copy()
    x[2, 3, 1] = bad
    with pytest.raises(InputError, match="NaN or Inf"):
        _call(x, method, params)


def test_bad_shapes_types_and_methods():
    with pytest.raises(InputError, match="3 channels"):
        tonemap(np.zeros((4, 4)), "clip")
    with pytest.raises(InputError, match="numeric"):
        tonemap(np.array([["a", "b", "c"]]), "clip")
    with pytest.raises(InputError, match="unknown tone mapping operator"):
        tonemap(np.zeros((2, 2, 3)), "hable")
    with pytest.raises(InputError, match="clip has no parameter 'key'; its parameters: exposure, white"):
        tonemap(np.zeros((2, 2, 3)), "clip", key=0.3)
    with pytest.raises(InputError):
        tonemap(np.zeros((2, 2, 3)), "reinhard2002", key=-1)
    with pytest.raises(InputError):
        tonemap(np.zeros((2, 2, 3)), "reinhard2002", local="sideways")
    with pytest.raises(InputError):
        tonemap(np.zeros((2, 2, 3)), "clip", exposure=float("nan"))


def test_integer_and_float64_inputs_work():
    a = tonemap(np.full((2, 2, 3), 100, dtype=np.uint16), "bt2446a")
    b = tonemap(np.full((2, 2, 3), 100.0, dtype=np.float64), "bt2446a")
    np.testing.assert_array_equal(a, b)


@settings(max_examples=25, deadline=None)
@given(arrays(np.float32, (3, 4, 3), elements=st.floats(-1e5, 1e7, width=32)),
       st.sampled_from(["bt2446a", "youtube", "clip", "reinhard2002"] + (["ocio"] if HAVE_OCIO else [])))
def test_property_outputs_always_valid(x, method):
    _check(tonemap(x, method), x.shape)


def test_gamut_mapping_has_no_negatives_and_keeps_luminance():
    colour = pytest.importorskip("colour")
    rng = np.random.default_rng(0)
    x = rng.random((5000, 3)).astype(np.float32) ** 3 * 10
    x[:3] = np.eye(3) * 5
    out = gamut_map_bt2020_to_bt709(x)
    assert out.min() >= 0 and np.isfinite(out).all()
    ref = colour.RGB_to_RGB(x.astype(np.float64), colour.RGB_COLOURSPACES["ITU-R BT.2020"],
                            colour.RGB_COLOURSPACES["ITU-R BT.709"])
    inside = (ref >= 0).all(axis=1)
    assert inside.sum() > 100 and (~inside).sum() > 100
    np.testing.assert_allclose(out[inside], ref[inside], rtol=1e-4, atol=1e-6)  # in gamut: plain matrix
    y709 = ref @ np.array([0.2126, 0.7152, 0.0722])
    np.testing.assert_allclose(out @ np.array([0.2126, 0.7152, 0.0722]), y709, rtol=1e-3, atol=1e-6)


def test_clip_is_the_inverse_of_reading_sdr():
    # 8-bit SDR read by hdrkit: code V → V^2.4 · 203 nits in BT.709.  clip() must send it back to V.
    from hdrkit import color

    v = np.linspace(0, 1, 256, dtype=np.float32)
    rgb709 = np.stack([v, v[::-1], np.full_like(v, 0.5)], -1)[None]
    nits2020 = color.convert_primaries(rgb709.astype(np.float64) ** 2.4 * 203.0, "bt709", "bt2020")
    out = tonemap(nits2020, "clip")
    np.testing.assert_allclose(out ** 2.4, rgb709 ** 2.4, atol=1e-6)  # linear light (γ amplifies 1e-8 at 0)
    np.testing.assert_allclose(out[rgb709 > 0.02], rgb709[rgb709 > 0.02], atol=2e-5)


def test_tonemap_image_convenience():
    from hdrkit.io import Image

    img = Image(np.full((4, 4, 3), 0.5, np.float32), primaries="bt2020", transfer="pq")
    sdr = tonemap_image(img, "bt2446a")
    assert sdr.primaries == "bt709" and sdr.transfer == "bt1886" and sdr.nits_per_unit == 203.0
    with pytest.raises(InputError):
        tonemap_image(np.zeros((2, 2, 3)))
