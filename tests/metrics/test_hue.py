"""ICtCp hue-angle error and neutrality (hdrkit.metrics.hue)."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.color import ictcp_to_rgb
from hdrkit.metrics import ictcp_hue_error, neutrality


def _rotated(deg: float):
    """Pixels built in ICtCp with a known chroma and hue, and the same pixels with the hue turned by ``deg``."""
    rng = np.random.default_rng(0)
    n = 64
    i = rng.uniform(0.3, 0.6, n)
    c = rng.uniform(0.03, 0.08, n)
    h = rng.uniform(-np.pi, np.pi, n)
    ref = np.stack([i, c * np.cos(h), c * np.sin(h)], -1)
    h2 = h + np.radians(deg)
    test = np.stack([i, c * np.cos(h2), c * np.sin(h2)], -1)
    return np.asarray(ictcp_to_rgb(ref)).reshape(8, 8, 3), np.asarray(ictcp_to_rgb(test)).reshape(8, 8, 3)


@pytest.mark.parametrize("deg", [0.0, 12.0, -30.0, 170.0])
def test_hue_error_of_a_known_rotation(deg):
    ref, test = _rotated(deg)
    err, n = ictcp_hue_error(ref, test, min_chroma=0.0)
    assert n == 64 and err == pytest.approx(abs(deg), abs=1e-3)


def test_hue_error_mask_and_neutral_pixels():
    ref, test = _rotated(20.0)
    mask = np.zeros((8, 8), bool)
    mask[:2] = True
    assert ictcp_hue_error(ref, test, mask)[1] == 16
    grey = np.full((4, 4, 3), 100.0)
    assert ictcp_hue_error(grey, grey * [1.0, 0.9, 1.1])[1] == 0  # a neutral reference has no hue


def test_neutrality():
    x = np.array([[10.0, 10.0, 10.0], [10.0, 5.0, 2.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert np.allclose(neutrality(x), [1.0, 0.2, 0.0, 0.0])
    assert np.allclose(neutrality(x * 37.0), neutrality(x))
