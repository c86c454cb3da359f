"""Exposure fusion: a displayable image straight from a bracket, with no radiance map or CRF.

:func:`mertens2007` -- Mertens, Kautz & Van Reeth 2007, "Exposure fusion", Pacific Graphics (and Computer
Graphics Forum 28(1), 2009).  Each pixel of each exposure gets the weight ``C^ωc · S^ωs · E^ωe``:

- contrast ``C``: absolute response of a 3×3 Laplacian filter on the grey image;
- saturation ``S``: standard deviation of R, G, B;
- well-exposedness ``E``: ``Π_c exp(−(I_c − 0.5)² / (2σ²))`` with σ = 0.2;

weights are normalised over the exposures and the images are blended with a Laplacian pyramid of the images
and a Gaussian pyramid of the weights (Burt & Adelson 1983), which avoids seams.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from hdrkit.errors import InputError
from hdrkit.merge.bracket import check_bracket, code_levels
from hdrkit.progress import ProgressFn, report

__all__ = ["mertens2007", "mertens2007_weights"]


def mertens2007_weights(
    img: np.ndarray, contrast: float = 1.0, saturation: float = 1.0, exposedness: float = 1.0, sigma: float = 0.2
) -> np.ndarray:
    """The unnormalised Mertens weight map (``H×W`` float32) of one ``H×W×3`` float image in [0, 1]."""
    import cv2

    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    c = np.abs(cv2.Laplacian(grey, cv2.CV_32F, ksize=1, borderType=cv2.BORDER_REFLECT_101))
    s = img.std(axis=-1)
    e = np.exp(-((img - 0.5) ** 2) / np.float32(2.0 * sigma * sigma)).prod(axis=-1)
    w = np.power(c, contrast) * np.power(s, saturation) * np.power(e, exposedness)
    return w.astype(np.float32) + np.float32(1e-12)


def _levels(shape: tuple[int, ...]) -> int:
    return max(1, int(np.log2(min(shape[0], shape[1]))))


def _gaussian_pyramid(a: np.ndarray, n: int) -> list[np.ndarray]:
    import cv2

    pyr = [a]
    for _ in range(n):
        pyr.append(cv2.pyrDown(pyr[-1]))
    return pyr


def mertens2007(
    images: Sequence[np.ndarray],
    contrast: float = 1.0,
    saturation: float = 1.0,
    exposedness: float = 1.0,
    sigma: float = 0.2,
    progress: Optional[ProgressFn] = None,
) -> np.ndarray:
    """Fuse a bracket (uint8/uint16 codes or floats in [0, 1], ``H×W×3``, no exposure times needed) into one
    display-referred float32 ``H×W×3`` image in [0, 1], in the code values (the same encoding) of the input."""
    import cv2

    for name, v in (("contrast", contrast), ("saturation", saturation), ("exposedness", exposedness), ("sigma", sigma)):
        if not np.isfinite(v) or v < 0 or (name == "sigma" and v == 0):
            raise InputError(f"{name} must be a {'positive' if name == 'sigma' else 'non-negative'} number, got {v}")
    codes, _ = check_bracket(images, None)
    scale = np.float32(1.0 / (code_levels(codes[0].dtype) - 1))
    imgs = [z.astype(np.float32) * scale for z in codes]
    weights = [mertens2007_weights(im, contrast, saturation, exposedness, sigma) for im in imgs]
    total = np.sum(weights, axis=0)
    n = _levels(imgs[0].shape)
    out: Optional[list[np.ndarray]] = None
    for k, (im, w) in enumerate(zip(imgs, weights)):
        report(progress, k, len(imgs), "fusing")
        gw = _gaussian_pyramid(w / total, n)
        gi = _gaussian_pyramid(im, n)
        lap = []
        for lev in range(n):
            up = cv2.pyrUp(gi[lev + 1], dstsize=(gi[lev].shape[1], gi[lev].shape[0]))
            lap.append(gi[lev] - up)
        lap.append(gi[n])
        blended = [l * g[..., None] for l, g in zip(lap, gw)]
        out = blended if out is None else [o + b for o, b in zip(out, blended)]
    assert out is not None
    res = out[n]
    for lev in range(n - 1, -1, -1):
        res = cv2.pyrUp(res, dstsize=(out[lev].shape[1], out[lev].shape[0])) + out[lev]
    report(progress, len(imgs), len(imgs), "fusing")
    return np.clip(res, 0.0, 1.0).astype(np.float32)
