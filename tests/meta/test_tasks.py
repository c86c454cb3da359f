"""Training-pair synthesis."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit import color
from hdrkit.errors import InputError
from hdrkit.meta import tasks


def test_procedural_scene_and_pair_ranges():
    rng = np.random.default_rng(0)
    nits = tasks.procedural_scene(rng, 32, 1000.0)
    assert nits.shape == (32, 32, 3) and nits.min() >= 0 and nits.max() <= 1000
    sdr, pq = tasks.make_pair(nits, "camera", rng, 1000.0)
    assert sdr.min() >= 0 and sdr.max() <= 1
    assert np.allclose(sdr * 255, np.round(sdr * 255), atol=1e-4)  # 8-bit levels
    np.testing.assert_allclose(color.pq_eotf(pq), nits, rtol=1e-3, atol=1e-3)


def test_views_of_a_synthetic_panorama_are_deterministic():
    pano = {"a": np.random.default_rng(1).random((64, 128, 3)).astype(np.float32) * 500}
    p1 = tasks.make_pool(pano, 5, 16, tmos=("camera",), procedural_share=0.4, seed=3)
    p2 = tasks.make_pool(pano, 5, 16, tmos=("camera",), procedural_share=0.4, seed=3)
    assert len(p1) == 5 and all(a[0].shape == (16, 16, 3) for a in p1)
    assert all(np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1]) for a, b in zip(p1, p2))


def test_view_wraps_around_horizontally():
    pano = {"a": np.arange(8, dtype=np.float32).reshape(1, 8, 1).repeat(4, 0).repeat(3, 2)}
    p = tasks.ViewParams("a", 0, 6, 4, 4, False, 1.0, 1000.0, "camera")
    v = tasks.apply_view(pano, p, 4)
    assert v[0, :, 0].tolist() == [6, 7, 0, 1]


def test_unknown_tmo():
    with pytest.raises(InputError):
        tasks.make_pool({}, 1, 8, tmos=("nope",))


def test_real_panoramas_load(shared_data):
    src = tasks.load_panoramas(shared_data / "hdr", names=("studio",))
    assert list(src) == ["studio"] and src["studio"].shape == (512, 1024, 3)
