"""Perspective views of equirectangular panoramas: analytic projections and straight lines."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.data import (
    RandomView,
    directions_to_equirect,
    equirect_to_directions,
    load_hdr_nits,
    perspective_view,
    view_directions,
)
from hdrkit.errors import InputError

scipy_ndimage = pytest.importorskip("scipy.ndimage")


def _bilinear_reference(pano, u, v):
    """Independent bilinear sampling (scipy) with a wrapped column padding."""
    padded = np.concatenate([pano[:, -1:], pano, pano[:, :1]], axis=1).astype(np.float64)
    out = [scipy_ndimage.map_coordinates(padded[..., c], [np.clip(v, 0, pano.shape[0] - 1), u + 1.0], order=1,
                                         mode="nearest") for c in range(3)]
    return np.stack(out, -1)


@pytest.fixture(scope="module")
def city(shared_data):
    path = shared_data / "hdr" / "city.exr"
    if not path.exists():
        pytest.skip("city.exr not available")
    return load_hdr_nits(path)


def test_direction_round_trip():
    rng = np.random.default_rng(0)
    u = rng.uniform(-0.5, 1023.5, 1000)
    v = rng.uniform(0, 511, 1000)
    uu, vv = directions_to_equirect(equirect_to_directions(u, v, 512, 1024), 512, 1024)
    np.testing.assert_allclose(uu, u, atol=1e-9)
    np.testing.assert_allclose(vv, v, atol=1e-9)


def test_view_centre_axes_and_angles():
    # The centre of a yaw=0, pitch=0 view looks along +z (panorama centre); yaw turns right, pitch looks up.
    d = view_directions(2, 2, 90.0)
    np.testing.assert_allclose(d.mean(axis=(0, 1)) / np.linalg.norm(d.mean(axis=(0, 1))), [0, 0, 1], atol=1e-12)
    d = view_directions(1, 1, 60.0, yaw=90.0)[0, 0]
    np.testing.assert_allclose(d, [1, 0, 0], atol=1e-12)
    d = view_directions(1, 1, 60.0, pitch=30.0)[0, 0]
    np.testing.assert_allclose(d, [0, 0.5, np.sqrt(3) / 2], atol=1e-12)
    # 90° field of view: the left and right image edges are ±45° of longitude
    d = view_directions(1, 2000, 90.0)[0]
    lon = np.degrees(np.arctan2(d[:, 0], d[:, 2]))
    assert lon[0] == pytest.approx(-45.0, abs=0.05) and lon[-1] == pytest.approx(45.0, abs=0.05)


def test_city_view_matches_analytic_projection(city):
    """yaw=0, pitch=0, 90° view of city.exr: each view pixel (i, j) must show the panorama at the direction
    (x, y, 1) with x = (j + ½ − w/2)/f, y = −(i + ½ − h/2)/f, f = w/2 — longitude atan2(x, 1), latitude
    atan2(y, √(x² + 1)) — sampled bilinearly by an independent implementation (scipy)."""
    h = w = 256
    view = perspective_view(city, 0.0, 0.0, 0.0, 90.0, (h, w), antialias=False)
    f = w / 2.0
    jj, ii = np.meshgrid(np.arange(w), np.arange(h))
    x = (jj + 0.5 - w / 2) / f
    y = -(ii + 0.5 - h / 2) / f
    lon = np.arctan2(x, 1.0)
    lat = np.arctan2(y, np.sqrt(x * x + 1.0))
    H, W = city.shape[:2]
    u = (lon + np.pi) / (2 * np.pi) * W - 0.5
    v = (np.pi / 2 - lat) / np.pi * H - 0.5
    ref = _bilinear_reference(city, u, v)
    np.testing.assert_allclose(view, ref, rtol=1e-5, atol=1e-4)


def _great_circle_profile(normal, H, W, width=0.8):
    """An anti-aliased great circle: exp(−(d/width)²) of the angular distance d to the plane, in pixels."""
    vv, uu = np.mgrid[0:H, 0:W]
    d = equirect_to_directions(uu, vv, H, W)
    n = np.asarray(normal, float) / np.linalg.norm(normal)
    dist_px = np.abs(d @ n) / (np.pi / H)  # π/H radians per panorama row
    return np.exp(-(dist_px / width) ** 2)


@pytest.mark.parametrize("normal", [(0, 1, 0), (1, 0, 0.2), (0.3, 1, -0.4), (1, 0.5, 0.3)])
def test_great_circles_in_city_become_straight_lines(city, normal):
    """Great circles (3D straight lines seen from the centre) painted on city.exr must be straight in a pinhole
    view with yaw=0, pitch=0, 90° field of view.  The line is isolated by subtracting the view of the plain
    panorama (projection is linear), its sub-pixel centre is taken per row or column, and a total-least-squares
    line through those centres must leave residuals below a quarter of a pixel."""
    H, W = city.shape[:2]
    line = (_great_circle_profile(normal, H, W)[..., None] * 1e7).astype(np.float32)
    size = 256  # 90° over 256 pixels: one view pixel ≈ one panorama pixel at the centre
    plain = perspective_view(city, 0.0, 0.0, 0.0, 90.0, size, antialias=False)
    painted = perspective_view(city + line, 0.0, 0.0, 0.0, 90.0, size, antialias=False)
    sig = (painted - plain)[..., 1].astype(np.float64)
    sig[sig < 1e5] = 0.0
    assert (sig > 0).sum() > 100, "the line should cross the view"
    ys, xs = np.nonzero(sig)
    steep = np.ptp(ys) > np.ptp(xs)
    pts = []
    if steep:  # centre per row
        for r in np.unique(ys):
            wgt = sig[r]
            pts.append(((wgt * np.arange(size)).sum() / wgt.sum(), r))
    else:  # centre per column
        for c in np.unique(xs):
            wgt = sig[:, c]
            pts.append((c, (wgt * np.arange(size)).sum() / wgt.sum()))
    pts = np.array(pts)[2:-2]  # drop the ends where the line leaves the frame
    c = pts - pts.mean(0)
    _, _, vt = np.linalg.svd(c, full_matrices=False)
    residual = np.abs(c @ vt[1])
    assert residual.max() < 0.25
    if normal == (0, 1, 0):  # the horizon is the middle of the frame
        assert abs(pts[:, 1].mean() - (size / 2 - 0.5)) < 0.1


def test_seam_is_continuous_and_bad_arguments():
    H, W = 32, 64
    vv, uu = np.mgrid[0:H, 0:W]
    d = equirect_to_directions(uu, vv, H, W)
    pano = np.repeat((d[..., :1] + 2.0), 3, -1).astype(np.float32)  # smooth function of direction (x + 2)
    view = perspective_view(pano, 180.0, 0.0, 0.0, 60.0, (64, 64), antialias=False)  # looks across the seam
    expected = view_directions(64, 64, 60.0, yaw=180.0)[..., 0] + 2.0
    assert np.abs(view[..., 0] - expected).max() < 0.02  # bilinear error of a 5.6°-per-pixel panorama
    with pytest.raises(InputError):
        perspective_view(np.zeros((10, 10, 3)), fov=90)
    with pytest.raises(InputError):
        perspective_view(pano, fov=0)
    with pytest.raises(InputError):
        perspective_view(pano, yaw=float("nan"))
    with pytest.raises(InputError):
        RandomView(64, fov=(10, 200))


def test_random_view_params_are_reproducible():
    rv = RandomView(32)
    a = rv.make_params(np.random.default_rng(5))
    b = rv.make_params(np.random.default_rng(5))
    assert a == b and -180 <= a.yaw <= 180 and 50 <= a.fov <= 100
    pano = np.random.default_rng(0).random((32, 64, 3)).astype(np.float32)
    np.testing.assert_array_equal(rv.apply(pano, a), rv.apply(pano, b))
    assert rv.apply(pano, a).shape == (32, 32, 3)
