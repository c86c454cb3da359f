"""Numba kernels between Y'CbCr planes and R'G'B' frames, and the fused per-frame 3D-LUT path.

Planes are what FFmpeg decodes to / encodes from: ``y`` ``H×W`` and ``cb``, ``cr`` ``(H>>sy)×(W>>sx)`` unsigned
integer codes (uint8 for 8-bit, uint16 for 10/12-bit).  A plane format is described by ``q = (y_off, y_scale,
c_off, c_scale)``: the full-range float values are ``Y' = (code − y_off)/y_scale``, ``C = (code − c_off)/c_scale``
(narrow range at ``n`` bits: ``y_off = 16·2^(n−8)``, ``y_scale = 219·2^(n−8)``, ``c_off = 128·2^(n−8)``,
``c_scale = 224·2^(n−8)``; full range: ``0, 2^n − 1, 2^(n−1), 2^n − 1``, ITU-T H.273).

Chroma is upsampled by sample replication (each chroma sample covers its ``2^sx × 2^sy`` block) and
downsampled to 4:2:0 by the mean of the 2×2 block; both are the simplest choices consistent with each other
(a round trip of a flat block is exact).  Every kernel runs on one thread.
"""

from __future__ import annotations

import numba
import numpy as np

_JIT = dict(nogil=True, cache=True)


def plane_quant(bits: int, full_range: bool) -> np.ndarray:
    """``(y_off, y_scale, c_off, c_scale)`` of a plane format (see the module docstring)."""
    s = float(2 ** (bits - 8))
    if full_range:
        m = float(2**bits - 1)
        return np.array([0.0, m, 2.0 ** (bits - 1), m])
    return np.array([16.0 * s, 219.0 * s, 128.0 * s, 224.0 * s])


@numba.njit(**_JIT)
def _to_rgb(yv, cbv, crv, q, m, out):
    y = (yv - q[0]) / q[1]
    cb = (cbv - q[2]) / q[3]
    cr = (crv - q[2]) / q[3]
    for k in range(3):
        v = m[k, 0] * y + m[k, 1] * cb + m[k, 2] * cr
        out[k] = min(max(v, 0.0), 1.0)


@numba.njit(**_JIT)
def _lut_tetra(lut, r, g, b, out):
    """Tetrahedral interpolation (Kasson et al. 1995) of ``lut`` (``N×N×N×3`` indexed [r, g, b]) at [0,1]³."""
    n1 = lut.shape[0] - 1
    fr = r * n1
    fg = g * n1
    fb = b * n1
    i = min(int(fr), n1 - 1)
    j = min(int(fg), n1 - 1)
    k = min(int(fb), n1 - 1)
    dr = fr - i
    dg = fg - j
    db = fb - k
    for c in range(3):
        c000 = lut[i, j, k, c]
        c111 = lut[i + 1, j + 1, k + 1, c]
        if dr >= dg:
            if dg >= db:  # r ≥ g ≥ b
                v = (1 - dr) * c000 + (dr - dg) * lut[i + 1, j, k, c] + (dg - db) * lut[i + 1, j + 1, k, c] \
                    + db * c111
            elif dr >= db:  # r ≥ b > g
                v = (1 - dr) * c000 + (dr - db) * lut[i + 1, j, k, c] + (db - dg) * lut[i + 1, j, k + 1, c] \
                    + dg * c111
            else:  # b > r ≥ g
                v = (1 - db) * c000 + (db - dr) * lut[i, j, k + 1, c] + (dr - dg) * lut[i + 1, j, k + 1, c] \
                    + dg * c111
        else:
            if db >= dg:  # b ≥ g > r
                v = (1 - db) * c000 + (db - dg) * lut[i, j, k + 1, c] + (dg - dr) * lut[i, j + 1, k + 1, c] \
                    + dr * c111
            elif db >= dr:  # g > b ≥ r
                v = (1 - dg) * c000 + (dg - db) * lut[i, j + 1, k, c] + (db - dr) * lut[i, j + 1, k + 1, c] \
                    + dr * c111
            else:  # g > r > b
                v = (1 - dg) * c000 + (dg - dr) * lut[i, j + 1, k, c] + (dr - db) * lut[i + 1, j + 1, k, c] \
                    + db * c111
        out[c] = v


@numba.njit(**_JIT)
def planes_to_rgb(y, cb, cr, sx, sy, q, m, out):
    """Y'CbCr planes → R'G'B' float32 ``H×W×3`` in [0, 1] (``m``: full-range Y'CbCr → R'G'B' 3×3)."""
    h, w = y.shape
    px = np.empty(3)
    for i in range(h):
        ci = i >> sy
        for j in range(w):
            cj = j >> sx
            _to_rgb(float(y[i, j]), float(cb[ci, cj]), float(cr[ci, cj]), q, m, px)
            out[i, j, 0] = px[0]
            out[i, j, 1] = px[1]
            out[i, j, 2] = px[2]


@numba.njit(**_JIT)
def _quant(v, off, scale, hi):
    x = np.floor(v * scale + off + 0.5)
    return min(max(x, 0.0), hi)


@numba.njit(**_JIT)
def rgb_to_planes(rgb, sub, q, m, hi, y, cb, cr):
    """R'G'B' ``H×W×3`` → Y'CbCr planes (``m``: R'G'B' → full-range Y'CbCr; ``sub`` 1 = 4:2:0, 0 = 4:4:4)."""
    h, w = y.shape
    for i in range(h):
        for j in range(w):
            r = rgb[i, j, 0]
            g = rgb[i, j, 1]
            b = rgb[i, j, 2]
            y[i, j] = _quant(m[0, 0] * r + m[0, 1] * g + m[0, 2] * b, q[0], q[1], hi)
    if sub == 0:
        for i in range(h):
            for j in range(w):
                r = rgb[i, j, 0]
                g = rgb[i, j, 1]
                b = rgb[i, j, 2]
                cb[i, j] = _quant(m[1, 0] * r + m[1, 1] * g + m[1, 2] * b, q[2], q[3], hi)
                cr[i, j] = _quant(m[2, 0] * r + m[2, 1] * g + m[2, 2] * b, q[2], q[3], hi)
        return
    for i in range(h // 2):
        for j in range(w // 2):
            sb = 0.0
            sr = 0.0
            for di in range(2):
                for dj in range(2):
                    r = rgb[2 * i + di, 2 * j + dj, 0]
                    g = rgb[2 * i + di, 2 * j + dj, 1]
                    b = rgb[2 * i + di, 2 * j + dj, 2]
                    sb += m[1, 0] * r + m[1, 1] * g + m[1, 2] * b
                    sr += m[2, 0] * r + m[2, 1] * g + m[2, 2] * b
            cb[i, j] = _quant(0.25 * sb, q[2], q[3], hi)
            cr[i, j] = _quant(0.25 * sr, q[2], q[3], hi)


@numba.njit(**_JIT)
def planes_lut_planes(y, cb, cr, sx, sy, q_in, m_in, lut, sub, q_out, m_out, hi, oy, ocb, ocr):
    """Fused ``planes_to_rgb`` → 3D LUT (tetrahedral) → ``rgb_to_planes``, without an ``H×W×3`` temporary."""
    h, w = y.shape
    px = np.empty(3)
    o = np.empty(3)
    for i in range(0, h, 2):
        for j in range(0, w, 2):
            sb = 0.0
            sr = 0.0
            for di in range(2):
                for dj in range(2):
                    ii = i + di
                    jj = j + dj
                    if ii >= h or jj >= w:
                        continue
                    _to_rgb(float(y[ii, jj]), float(cb[ii >> sy, jj >> sx]), float(cr[ii >> sy, jj >> sx]),
                            q_in, m_in, px)
                    _lut_tetra(lut, px[0], px[1], px[2], o)
                    oy[ii, jj] = _quant(m_out[0, 0] * o[0] + m_out[0, 1] * o[1] + m_out[0, 2] * o[2],
                                        q_out[0], q_out[1], hi)
                    vb = m_out[1, 0] * o[0] + m_out[1, 1] * o[1] + m_out[1, 2] * o[2]
                    vr = m_out[2, 0] * o[0] + m_out[2, 1] * o[1] + m_out[2, 2] * o[2]
                    if sub == 0:
                        ocb[ii, jj] = _quant(vb, q_out[2], q_out[3], hi)
                        ocr[ii, jj] = _quant(vr, q_out[2], q_out[3], hi)
                    else:
                        sb += vb
                        sr += vr
            if sub == 1:
                ocb[i // 2, j // 2] = _quant(0.25 * sb, q_out[2], q_out[3], hi)
                ocr[i // 2, j // 2] = _quant(0.25 * sr, q_out[2], q_out[3], hi)


@numba.njit(**_JIT)
def apply_lut(rgb, lut, out):
    """3D LUT (tetrahedral) on a float ``H×W×3`` image in [0, 1] (values outside are clamped)."""
    h, w = rgb.shape[0], rgb.shape[1]
    o = np.empty(3)
    for i in range(h):
        for j in range(w):
            r = min(max(rgb[i, j, 0], 0.0), 1.0)
            g = min(max(rgb[i, j, 1], 0.0), 1.0)
            b = min(max(rgb[i, j, 2], 0.0), 1.0)
            _lut_tetra(lut, r, g, b, o)
            out[i, j, 0] = o[0]
            out[i, j, 1] = o[1]
            out[i, j, 2] = o[2]


@numba.njit(**_JIT)
def lut_light(rgb, lut, eotf):
    """(max, mean) over pixels of the largest output channel of ``lut`` at ``rgb``, in the units of ``eotf``
    (a table of the output transfer's EOTF on [0, 1], linearly interpolated): MaxCLL / MaxFALL of one frame."""
    h, w = rgb.shape[0], rgb.shape[1]
    n1 = eotf.shape[0] - 1
    o = np.empty(3)
    top = 0.0
    total = 0.0
    for i in range(h):
        for j in range(w):
            _lut_tetra(lut, min(max(rgb[i, j, 0], 0.0), 1.0), min(max(rgb[i, j, 1], 0.0), 1.0),
                       min(max(rgb[i, j, 2], 0.0), 1.0), o)
            v = min(max(max(o[0], max(o[1], o[2])), 0.0), 1.0) * n1
            k = min(int(v), n1 - 1)
            f = v - k
            nits = (1.0 - f) * eotf[k] + f * eotf[k + 1]
            total += nits
            if nits > top:
                top = nits
    return top, total / max(h * w, 1)
