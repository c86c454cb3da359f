"""Augmentations (make_params/apply), the Eilertsen 2017 virtual camera and the procedural scenes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hdrkit.data import (
    CameraParams,
    ExposureShift,
    ProceduralScene,
    RandomCrop,
    RandomFlip,
    RandomTMO,
    VirtualCamera,
    crf_eilertsen2017,
    virtual_camera,
)
from hdrkit.errors import InputError


def test_crop_flip_exposure():
    x = np.arange(6 * 8 * 3, dtype=np.float32).reshape(6, 8, 3)
    before = x.copy()
    crop = RandomCrop((4, 5))
    from hdrkit.data import CropParams, ExposureParams, FlipParams

    np.testing.assert_array_equal(crop.apply(x, CropParams(0.0, 0.0)), x[:4, :5])
    np.testing.assert_array_equal(crop.apply(x, CropParams(1.0, 1.0)), x[2:, 3:])
    p = crop.make_params(np.random.default_rng(1))
    assert p == crop.make_params(np.random.default_rng(1))
    with pytest.raises(InputError):
        RandomCrop(10).apply(x, p)
    flip = RandomFlip(1.0, 1.0)
    fp = flip.make_params(np.random.default_rng(0))
    assert fp == FlipParams(True, True)
    np.testing.assert_array_equal(flip.apply(flip.apply(x, fp), fp), x)
    np.testing.assert_array_equal(RandomFlip().apply(x, FlipParams(True, False)), x[:, ::-1])
    assert not RandomFlip(0.0).make_params(np.random.default_rng(0)).horizontal
    np.testing.assert_allclose(ExposureShift().apply(x, ExposureParams(-1.0)), x / 2)
    ev = [ExposureShift((-2, 3)).make_params(np.random.default_rng(s)).ev for s in range(200)]
    assert min(ev) >= -2 and max(ev) <= 3 and np.std(ev) > 1
    np.testing.assert_array_equal(x, before)  # nothing modified its input
    json.dumps([p.as_dict(), fp.as_dict()])


def test_random_tmo_draws_and_applies():
    rt = RandomTMO(("youtube", "bt2446a", "reinhard2002", "clip", "eilertsen2017"))
    x = (np.random.default_rng(0).random((24, 32, 3)) ** 3 * 1000).astype(np.float32)
    seen = set()
    for s in range(40):
        p = rt.make_params(np.random.default_rng(s))
        seen.add(p.method)
        assert p == rt.make_params(np.random.default_rng(s))
        json.dumps(p.as_dict())
        out = rt.apply(x, p)
        assert out.shape == x.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    assert seen == set(rt.methods)
    assert RandomTMO(("clip",), randomize=False).make_params(np.random.default_rng(0)).params == {}
    some = RandomTMO(("clip", "bt2446a"), randomize=("bt2446a",))  # only the named operators are randomised
    drawn = [some.make_params(np.random.default_rng(s)) for s in range(20)]
    assert {p.method for p in drawn} == {"clip", "bt2446a"}
    assert all((p.params == {}) == (p.method == "clip") for p in drawn)
    with pytest.raises(InputError):
        RandomTMO(("lut",))
    with pytest.raises(InputError):
        RandomTMO(("hable",))
    with pytest.raises(InputError):
        RandomTMO(("clip", "youtube"), weights=(1.0,))


def test_crf_closed_form():
    h = np.array([0.0, 0.25, 1.0, 4.0])
    n, s = 0.9, 0.6
    expected = np.clip((1 + s) * h ** n / (h ** n + s), 0, 1)
    np.testing.assert_allclose(crf_eilertsen2017(h, n, s), expected)
    assert crf_eilertsen2017(1.0, 1.7, 0.3) == pytest.approx(1.0)  # f(1) = 1 for any n, σ
    assert np.all(np.diff(crf_eilertsen2017(np.linspace(0, 1, 100), 1.2, 0.8)) > 0)


def test_camera_parameter_distribution():
    cam = VirtualCamera()
    ps = [cam.make_params(np.random.default_rng(s)) for s in range(3000)]
    n = np.array([p.n for p in ps])
    sig = np.array([p.sigma for p in ps])
    assert abs(n.mean() - 0.9) < 0.01 and abs(n.std() - 0.1) < 0.01
    assert abs(sig.mean() - 0.6) < 0.01 and abs(sig.std() - 0.1) < 0.01
    sat = np.array([p.saturated for p in ps])
    assert sat.min() >= 0.05 and sat.max() <= 0.15
    jpeg = [p.jpeg_quality for p in ps]
    assert 0.4 < np.mean([q is not None for q in jpeg]) < 0.6


def test_camera_auto_exposure_saturates_the_requested_fraction():
    # A smooth ramp of distinct luminances: exactly the top `saturated` fraction must reach code 255.
    ramp = np.geomspace(1.0, 5000.0, 200 * 300).reshape(200, 300)
    x = np.repeat(ramp[..., None], 3, -1).astype(np.float32)
    out = virtual_camera(x, CameraParams(n=0.9, sigma=0.6, saturated=0.10))
    assert out.dtype == np.float32
    np.testing.assert_allclose(out * 255, np.round(out * 255), atol=1e-4)  # 8-bit values
    assert abs((out[..., 1] >= 1.0).mean() - 0.10) < 0.005
    noisy = virtual_camera(x, CameraParams(noise=0.01, seed=3, jpeg_quality=70))
    assert noisy.shape == x.shape and 0 <= noisy.min() and noisy.max() <= 1
    np.testing.assert_array_equal(noisy, virtual_camera(x, CameraParams(noise=0.01, seed=3, jpeg_quality=70)))
    with pytest.raises(InputError):
        virtual_camera(np.full((4, 4, 3), np.nan))


def test_procedural_scenes_are_hdr_and_reproducible():
    gen = ProceduralScene()
    kinds = set()
    for s in range(12):
        p = gen.make_params(np.random.default_rng(s))
        kinds.add(p.kind)
        a = gen.render(p, (96, 128))
        b = gen.render(p, (96, 128))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (96, 128, 3) and a.dtype == np.float32
        assert np.isfinite(a).all() and a.min() >= 0
        lum = a @ np.array([0.2627, 0.6780, 0.0593])
        if p.sun or p.lamps:
            # light sources at least three orders of magnitude above the median surface
            assert lum.max() / np.median(lum) > 1e3
        json.dumps(p.as_dict())
    assert kinds == {"outdoor", "indoor", "night"}
    with pytest.raises(InputError):
        ProceduralScene(("space",))
    with pytest.raises(InputError):
        gen.render(gen.make_params(np.random.default_rng(0)), 4)


def test_random_colour_keeps_luminance_and_is_pure():
    from hdrkit.data.augment import ColourParams, RandomColour

    x = np.random.default_rng(0).uniform(0, 100, (5, 6, 3)).astype(np.float32)
    before = x.copy()
    rc = RandomColour(0.2)
    p = rc.make_params(np.random.default_rng(4))
    assert p == rc.make_params(np.random.default_rng(4))
    g = np.asarray(p.gains)
    # a grey pixel keeps its BT.2020 luminance (the scenes' primaries), ITU-R BT.2020 luma weights
    assert np.dot([0.2627, 0.6780, 0.0593], g) == pytest.approx(1.0, rel=1e-3)
    g709 = np.asarray(RandomColour(0.2, "bt709").make_params(np.random.default_rng(4)).gains)
    assert np.dot([0.2126, 0.7152, 0.0722], g709) == pytest.approx(1.0, rel=1e-3)
    assert np.ptp(g) > 0.01
    np.testing.assert_allclose(rc.apply(x, p), x * g.astype(np.float32), rtol=1e-6)
    np.testing.assert_array_equal(x, before)
    spread = np.std([np.log(RandomColour(0.2).make_params(np.random.default_rng(s)).gains[0]) for s in range(400)])
    assert 0.12 < spread < 0.25  # ≈ sigma (the luminance normalisation removes a little)
    np.testing.assert_array_equal(RandomColour(0.1).apply(x, ColourParams((1.0, 1.0, 1.0))), x)
    with pytest.raises(InputError):
        RandomColour(-0.1)
