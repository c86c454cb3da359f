"""A (cross-)bilateral filter on a bilateral grid.

Chen, Paris & Durand 2007, "Real-time edge-aware image processing with the bilateral grid", ACM TOG 26(3), and
Paris & Durand 2006: values are splatted into a coarse 3-D grid (x / σ_s, y / σ_s, guide / σ_r) in homogeneous
form (value·1, 1), the grid is blurred with a Gaussian of one cell, and the result is read back by trilinear
interpolation at each pixel's (x, y, guide) position and divided by the interpolated weight.  The cost does not
depend on σ_s, which matters for the wide filters of the expansion operators (Kovaleski & Oliveira use
σ_s = 150 px).
"""

from __future__ import annotations

import numpy as np

from hdrkit.errors import InputError

__all__ = ["bilateral_grid"]


def bilateral_grid(values: np.ndarray, guide: np.ndarray, sigma_s: float, sigma_r: float) -> np.ndarray:
    """Filter ``values`` (``H×W``) with spatial σ ``sigma_s`` (pixels) and range σ ``sigma_r`` (units of ``guide``,
    ``H×W``), the range kernel measured on ``guide`` (pass ``guide = values`` for a plain bilateral filter).

    Returns float64 ``H×W``.
    """
    from scipy import ndimage

    v = np.asarray(values, dtype=np.float64)
    g = np.asarray(guide, dtype=np.float64)
    if v.ndim != 2 or g.shape != v.shape:
        raise InputError(f"bilateral_grid needs two H×W arrays of the same shape, got {v.shape} and {g.shape}")
    if not (sigma_s > 0 and sigma_r > 0):
        raise InputError(f"bilateral sigmas must be positive, got sigma_s={sigma_s}, sigma_r={sigma_r}")
    h, w = v.shape
    gmin = float(g.min())
    pad = 2
    yy, xx = np.mgrid[0:h, 0:w]
    cy = yy / sigma_s + pad
    cx = xx / sigma_s + pad
    cz = (g - gmin) / sigma_r + pad
    dims = (int(np.ceil(cy.max())) + pad + 1, int(np.ceil(cx.max())) + pad + 1, int(np.ceil(cz.max())) + pad + 1)
    iy, ix, iz = np.rint(cy).astype(np.int64), np.rint(cx).astype(np.int64), np.rint(cz).astype(np.int64)
    flat = np.ravel_multi_index((iy.ravel(), ix.ravel(), iz.ravel()), dims)
    size = dims[0] * dims[1] * dims[2]
    data = np.bincount(flat, weights=v.ravel(), minlength=size).reshape(dims)
    weight = np.bincount(flat, minlength=size).astype(np.float64).reshape(dims)
    data = ndimage.gaussian_filter(data, 1.0, mode="constant")
    weight = ndimage.gaussian_filter(weight, 1.0, mode="constant")
    coords = np.stack([cy.ravel(), cx.ravel(), cz.ravel()])
    num = ndimage.map_coordinates(data, coords, order=1, mode="nearest")
    den = ndimage.map_coordinates(weight, coords, order=1, mode="nearest")
    out = num / np.maximum(den, 1e-12)
    return out.reshape(h, w)
