"""Aligning hand-held brackets.

- :func:`mtb_ward2003` -- Ward 2003, "Fast, robust image registration for compositing high dynamic range
  photographs from hand-held exposures", Journal of Graphics Tools 8(2): median threshold bitmaps (MTB), which do
  not change with exposure, compared with XOR on an image pyramid, masked by exclusion bitmaps that drop pixels
  within ±4/255 of the median; the best of 9 one-pixel shifts per level, from coarse to fine.  Translation only.
- :func:`homography_orb` -- a projective warp from ORB feature matches (Rublee et al. 2011) on
  histogram-equalised grey images, fitted with RANSAC (OpenCV); for rotation or perspective between frames.

:func:`align_bracket` applies either to every exposure against a reference exposure.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report

__all__ = ["grey_ward2003", "mtb_ward2003", "homography_orb", "shift_image", "align_bracket", "ALIGN_METHODS"]

ALIGN_METHODS = ("mtb", "homography")


def grey_ward2003(img: np.ndarray) -> np.ndarray:
    """Ward's grey ``(54·R + 183·G + 19·B)/256`` as float32 in [0, 1] (integer codes are normalised)."""
    a = np.asarray(img)
    scale = 1.0
    if a.dtype.kind in "ui":
        scale = 1.0 / (255.0 if a.dtype == np.uint8 else 65535.0)
    a = a.astype(np.float32) * np.float32(scale)
    if a.ndim == 2:
        return a
    return (54.0 * a[..., 0] + 183.0 * a[..., 1] + 19.0 * a[..., 2]) / np.float32(256.0)


def _bitmaps(grey: np.ndarray, exclusion: float) -> tuple[np.ndarray, np.ndarray]:
    med = np.median(grey)
    return grey > med, np.abs(grey - med) > exclusion


def _shift_bits(b: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Shift a bitmap by (dx, dy) pixels (content moves right/down for positive values), zero fill."""
    out = np.zeros_like(b)
    h, w = b.shape
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[yd, xd] = b[ys, xs]
    return out


def mtb_ward2003(reference: np.ndarray, image: np.ndarray, max_bits: int = 6, exclusion: float = 4.0 / 255.0) -> tuple[int, int]:
    """The translation ``(dx, dy)`` that moves ``image`` onto ``reference`` (both ``H×W`` grey or ``H×W×3``).

    Searches offsets up to ``±(2**max_bits − 1)`` pixels.  Shifting ``image`` by the result with
    :func:`shift_image` aligns it.
    """
    import cv2

    ref = grey_ward2003(reference)
    img = grey_ward2003(image)
    if ref.shape != img.shape:
        raise InputError(f"cannot align images of different sizes {ref.shape} and {img.shape}")
    levels = int(max(0, min(max_bits, np.floor(np.log2(max(1, min(ref.shape) // 8))))))
    pyr_r, pyr_i = [ref], [img]
    for _ in range(levels):
        pyr_r.append(cv2.resize(pyr_r[-1], (pyr_r[-1].shape[1] // 2, pyr_r[-1].shape[0] // 2), interpolation=cv2.INTER_AREA))
        pyr_i.append(cv2.resize(pyr_i[-1], (pyr_i[-1].shape[1] // 2, pyr_i[-1].shape[0] // 2), interpolation=cv2.INTER_AREA))
    dx = dy = 0
    for lev in range(levels, -1, -1):
        tb_r, eb_r = _bitmaps(pyr_r[lev], exclusion)
        tb_i, eb_i = _bitmaps(pyr_i[lev], exclusion)
        dx, dy = 2 * dx, 2 * dy
        best = None
        for sy in (-1, 0, 1):
            for sx in (-1, 0, 1):
                cx, cy = dx + sx, dy + sy
                diff = (tb_r ^ _shift_bits(tb_i, cx, cy)) & eb_r & _shift_bits(eb_i, cx, cy)
                err = int(np.count_nonzero(diff))
                if best is None or err < best[0]:
                    best = (err, cx, cy)
        _, dx, dy = best
    return int(dx), int(dy)


def shift_image(img: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """Translate an image by whole pixels, repeating the edge into the uncovered border (same dtype)."""
    import cv2

    a = np.ascontiguousarray(img)
    m = np.array([[1, 0, dx], [0, 1, dy]], dtype=np.float64)
    out = cv2.warpAffine(a, m, (a.shape[1], a.shape[0]), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(a.shape)


def _equalised_u8(img: np.ndarray) -> np.ndarray:
    import cv2

    g = grey_ward2003(img)
    return cv2.equalizeHist(np.clip(np.rint(g * 255.0), 0, 255).astype(np.uint8))


def homography_orb(reference: np.ndarray, image: np.ndarray, features: int = 4000, min_matches: int = 12) -> np.ndarray:
    """3×3 homography mapping pixel coordinates of ``image`` onto ``reference`` (ORB matches + RANSAC).

    Raises :class:`InputError` when too few consistent matches are found (flat or unrelated images).
    """
    import cv2

    a, b = _equalised_u8(reference), _equalised_u8(image)
    orb = cv2.ORB_create(nfeatures=features)
    ka, da = orb.detectAndCompute(a, None)
    kb, db = orb.detectAndCompute(b, None)
    if da is None or db is None or len(ka) < min_matches or len(kb) < min_matches:
        raise InputError("cannot align with a homography: too few image features (try --align mtb)")
    matches = cv2.BFMatcher(cv2.NORM_HAMMING, crossCheck=True).match(db, da)
    if len(matches) < min_matches:
        raise InputError(f"cannot align with a homography: only {len(matches)} feature matches (try --align mtb)")
    src = np.float32([kb[m.queryIdx].pt for m in matches]).reshape(-1, 1, 2)
    dst = np.float32([ka[m.trainIdx].pt for m in matches]).reshape(-1, 1, 2)
    h, inliers = cv2.findHomography(src, dst, cv2.RANSAC, 3.0)
    if h is None or inliers is None or int(inliers.sum()) < min_matches:
        raise InputError("cannot align with a homography: no consistent set of feature matches (try --align mtb)")
    return h


def align_bracket(
    codes: Sequence[np.ndarray],
    method: str = "mtb",
    reference: Optional[int] = None,
    progress: Optional[ProgressFn] = None,
) -> list[np.ndarray]:
    """Align every exposure to ``codes[reference]`` (default: the middle one) by ``"mtb"`` or ``"homography"``."""
    import cv2

    if method not in ALIGN_METHODS:
        raise InputError(f"unknown alignment {method!r}; choose {' or '.join(ALIGN_METHODS)}")
    ref = len(codes) // 2 if reference is None else int(reference)
    out = []
    for k, z in enumerate(codes):
        report(progress, k, len(codes), f"aligning ({method})")
        if k == ref:
            out.append(z)
        elif method == "mtb":
            dx, dy = mtb_ward2003(codes[ref], z)
            out.append(shift_image(z, dx, dy))
        else:
            h = homography_orb(codes[ref], z)
            w = cv2.warpPerspective(np.ascontiguousarray(z), h, (z.shape[1], z.shape[0]), flags=cv2.INTER_LINEAR,
                                    borderMode=cv2.BORDER_REPLICATE)
            out.append(w.reshape(z.shape))
    report(progress, len(codes), len(codes), f"aligning ({method})")
    return out
