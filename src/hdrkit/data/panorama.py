"""Perspective (pinhole) views of equirectangular panoramas.

Conventions
-----------
World axes: ``x`` right, ``y`` up, ``z`` forward (the centre column of the panorama).  A direction
``d = (x, y, z)`` has longitude ``φ = atan2(x, z)`` (0 at the panorama centre, positive to the right) and latitude
``θ = asin(y / |d|)`` (positive up).  Panorama pixel ``(row v, column u)`` (integer indices at pixel centres) sits at
``φ = 2π (u + 0.5) / W − π`` and ``θ = π/2 − π (v + 0.5) / H``.

A view with horizontal field of view ``F`` and size ``h×w`` has focal length ``f = (w/2) / tan(F/2)`` pixels and
square pixels; pixel ``(i, j)`` looks along ``R · ((j + 0.5 − w/2) / f, −(i + 0.5 − h/2) / f, 1)`` with
``R = R_y(yaw) · R_x(−pitch) · R_z(−roll)``: positive yaw turns right, positive pitch looks up, positive roll turns
the camera clockwise (the picture rotates anticlockwise).  A pinhole projection keeps straight lines straight.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hdrkit.errors import InputError


def rotation_matrix(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """Camera-to-world rotation (3×3 float64) for angles in degrees (see the module conventions)."""
    y, p, r = np.radians([yaw, pitch, roll])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), np.sin(p)], [0, -np.sin(p), np.cos(p)]])
    rz = np.array([[np.cos(r), np.sin(r), 0], [-np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return ry @ rx @ rz


def focal_length(width: int, fov: float) -> float:
    """Focal length in pixels of a view ``width`` pixels wide with horizontal field of view ``fov`` degrees."""
    return (width / 2.0) / np.tan(np.radians(fov) / 2.0)


def view_directions(height: int, width: int, fov: float, yaw: float = 0.0, pitch: float = 0.0,
                    roll: float = 0.0) -> np.ndarray:
    """Unit world directions ``h×w×3`` (float64) of the pixel centres of a perspective view."""
    f = focal_length(width, fov)
    j = (np.arange(width) + 0.5 - width / 2.0) / f
    i = -(np.arange(height) + 0.5 - height / 2.0) / f
    d = np.stack(np.broadcast_arrays(j[None, :], i[:, None], np.ones((1, 1))), axis=-1)
    d = d @ rotation_matrix(yaw, pitch, roll).T
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def directions_to_equirect(d: Any, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """World directions ``(..., 3)`` → panorama (column, row) coordinates (float64, pixel-centre indices)."""
    d = np.asarray(d, dtype=np.float64)
    lon = np.arctan2(d[..., 0], d[..., 2])
    lat = np.arcsin(np.clip(d[..., 1] / np.linalg.norm(d, axis=-1), -1.0, 1.0))
    u = (lon + np.pi) / (2 * np.pi) * width - 0.5
    v = (np.pi / 2 - lat) / np.pi * height - 0.5
    return u, v


def equirect_to_directions(u: Any, v: Any, height: int, width: int) -> np.ndarray:
    """Panorama (column, row) coordinates → unit world directions ``(..., 3)``; the inverse of the above."""
    lon = 2 * np.pi * (np.asarray(u, dtype=np.float64) + 0.5) / width - np.pi
    lat = np.pi / 2 - np.pi * (np.asarray(v, dtype=np.float64) + 0.5) / height
    return np.stack([np.cos(lat) * np.sin(lon), np.sin(lat), np.cos(lat) * np.cos(lon)], axis=-1)


def check_panorama(pano: Any) -> np.ndarray:
    """A float32 ``H×W×3`` array with ``W = 2H`` (±1 pixel), or :class:`InputError`."""
    x = np.asarray(pano)
    if x.ndim != 3 or x.shape[-1] != 3:
        raise InputError(f"a panorama must be H×W×3, got shape {x.shape}")
    h, w = x.shape[:2]
    if abs(w - 2 * h) > 1 or h < 2:
        raise InputError(f"an equirectangular panorama must be twice as wide as it is tall, got {w}×{h}")
    return x.astype(np.float32, copy=False)


def perspective_view(pano: Any, yaw: float = 0.0, pitch: float = 0.0, roll: float = 0.0, fov: float = 90.0,
                     size: tuple[int, int] | int = (512, 512), antialias: bool = True) -> np.ndarray:
    """Render a pinhole view of an equirectangular panorama (bilinear, seamless across the ±180° seam).

    Parameters
    ----------
    pano : float ``H×W×3`` equirectangular panorama (``W = 2H``), any units (e.g. linear nits).
    yaw, pitch, roll : degrees (module conventions).
    fov : horizontal field of view in degrees, in (0, 170].
    size : ``(height, width)`` of the view, or one int for a square view.
    antialias : when the view samples the panorama more sparsely than its pixels (small outputs), blur the
        panorama first with a Gaussian matched to the sampling step at the view centre.

    Returns
    -------
    float32 ``h×w×3``.
    """
    import cv2  # Gaussian prefilter only

    p = check_panorama(pano)
    h, w = (size, size) if isinstance(size, (int, np.integer)) else (int(size[0]), int(size[1]))
    if h < 1 or w < 1 or h * w > 1 << 26:
        raise InputError(f"view size must be positive and at most 64 Mpixel, got {w}×{h}")
    if not (0.0 < float(fov) <= 170.0):
        raise InputError(f"field of view must be in (0, 170] degrees, got {fov}")
    for name, val in (("yaw", yaw), ("pitch", pitch), ("roll", roll)):
        if not np.isfinite(float(val)):
            raise InputError(f"{name} must be a finite angle, got {val}")
    ph, pw = p.shape[:2]
    if antialias:
        # panorama pixels per view pixel at the view centre
        step = (pw / (2 * np.pi)) / focal_length(w, fov)
        if step > 1.25:
            sigma = 0.5 * np.sqrt(step * step - 1.0)
            p = cv2.GaussianBlur(p, (0, 0), sigmaX=sigma, sigmaY=sigma, borderType=cv2.BORDER_REPLICATE)
    u, v = directions_to_equirect(view_directions(h, w, fov, yaw, pitch, roll), ph, pw)
    return sample_equirect(p, u, v)


def sample_equirect(pano: np.ndarray, u: Any, v: Any) -> np.ndarray:
    """Bilinear samples of an equirectangular ``H×W×C`` image at (column ``u``, row ``v``) pixel coordinates.

    Columns wrap around (the ±180° seam is seamless), rows clamp at the poles.  Exact float arithmetic (no
    fixed-point weights), so very bright pixels (suns) interpolate without quantisation error.
    """
    p = np.asarray(pano)
    ph, pw = p.shape[:2]
    flat = p.reshape(ph * pw, -1)
    u = np.asarray(u, dtype=np.float64)
    v = np.clip(np.asarray(v, dtype=np.float64), 0.0, ph - 1.0)
    u0f = np.floor(u)
    v0f = np.minimum(np.floor(v), ph - 2.0) if ph > 1 else np.zeros_like(v)
    fu = (u - u0f).astype(np.float32).reshape(-1, 1)
    fv = (v - v0f).astype(np.float32).reshape(-1, 1)
    u0 = np.mod(u0f.astype(np.int64), pw).ravel()
    u1 = u0 + 1
    u1[u1 == pw] = 0
    r0 = v0f.astype(np.int64).ravel() * pw
    r1 = np.minimum(r0 + pw, (ph - 1) * pw)
    top = np.take(flat, r0 + u0, axis=0)
    top += (np.take(flat, r0 + u1, axis=0) - top) * fu
    bottom = np.take(flat, r1 + u0, axis=0)
    bottom += (np.take(flat, r1 + u1, axis=0) - bottom) * fu
    top += (bottom - top) * fv
    out = top.reshape(u.shape + flat.shape[1:])
    return np.ascontiguousarray(out, dtype=np.float32)
