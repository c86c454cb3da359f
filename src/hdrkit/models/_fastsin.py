"""Numba kernels of the fast SIREN decoder (:mod:`hdrkit.models.fast`): a vectorisable float32 sine fused with
the bias add and the small layers that BLAS runs poorly (K = 3 colour input, the separable spatial layer, the
64 -> 3 output layer).  Import fails cleanly (``AVAILABLE = False``) where numba is missing.

The sine: Cody-Waite reduction by pi in three parts (``k * PI_A`` is exact for ``|k| < 2**16``, i.e.
``|x| < 2e5``), then an odd degree-9 polynomial on [-pi/2, pi/2] (least-squares on Chebyshev nodes, 2.7e-8 max error
in exact arithmetic); the sign ``(-1)**k`` is the parity bit of the rounded ``x / pi`` xor-ed into the sign bit.  Measured against ``torch.sin`` in float32: within a few
float32 ulps for ``|x| <= 1e3`` (see tests/models/test_fast.py).  Fastmath flags exclude ``reassoc`` so that the
compiler keeps the reduction's order of operations (it may still contract into FMAs, which only helps).
"""

from __future__ import annotations

import numpy as np

try:
    from llvmlite import ir
    from numba import njit, types
    from numba.extending import intrinsic

    AVAILABLE = True
except ImportError:  # pragma: no cover - exercised only without numba
    AVAILABLE = False

_F = np.float32
INV_PI = _F(0.31830988618379067)
HALF = _F(0.5)
ONE = _F(1.0)
FOUR = _F(4.0)
PI_A = _F(3.140625)
PI_B = _F(9.67502593994140625e-4)
PI_C = _F(1.509957990978376432e-7)
MAGIC = _F(12582912.0)  # 1.5 * 2**23: adding it rounds to an integer kept in the low mantissa bits
C3 = _F(-0.16666665966597144)
C5 = _F(0.008333242337326754)
C7 = _F(-0.00019822761328051785)
C9 = _F(2.6348153720490343e-06)

_CACHE = True
_FM = {"nnan", "ninf", "nsz", "contract", "arcp"}

if AVAILABLE:

    @intrinsic
    def _as_int(typingctx, x):
        sig = types.int32(types.float32)
        return sig, lambda context, builder, signature, args: builder.bitcast(args[0], ir.IntType(32))

    @intrinsic
    def _as_float(typingctx, x):
        sig = types.float32(types.int32)
        return sig, lambda context, builder, signature, args: builder.bitcast(args[0], ir.FloatType())

    @njit(inline="always", fastmath=_FM, cache=_CACHE)
    def _sin(x):
        t = x * INV_PI + MAGIC  # round(x / pi) + MAGIC, exactly (|x / pi| < 2**22)
        k = t - MAGIC
        r = x - k * PI_A
        r = r - k * PI_B
        r = r - k * PI_C
        r2 = r * r
        p = C9
        p = p * r2 + C7
        p = p * r2 + C5
        p = p * r2 + C3
        s = r + r * r2 * p
        # (-1)**k: the parity of k is the lowest mantissa bit of t
        return _as_float(_as_int(s) ^ (_as_int(t) << 31))

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def sin_vec(x, out):
        """``out[i] = sin(x[i])`` for float32 1-D arrays (for tests)."""
        for i in range(x.shape[0]):
            out[i] = _sin(x[i])

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def sin_bias_(x, b, n):
        """In place: ``x[f, :n] = sin(x[f, :n] + b[f])``."""
        for f in range(x.shape[0]):
            bf = b[f]
            row = x[f]
            for i in range(n):
                row[i] = _sin(row[i] + bf)

    @njit(fastmath=_FM, cache=_CACHE, nogil=True, inline="always")
    def _to_planar(rgb, p0, n, planar):
        """``planar[c, i] = rgb[p0 + i, c]`` for ``i < n``."""
        src = rgb[p0:p0 + n]
        r = planar[0, :n]
        g = planar[1, :n]
        bl = planar[2, :n]
        for i in range(n):
            r[i] = src[i, 0]
            g[i] = src[i, 1]
            bl[i] = src[i, 2]

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def color_first(rgb, p0, n, w, b, planar, out, apply_sin=True):
        """``out[f, i] = sin(w[f] . rgb[p0 + i] + b[f])`` for ``i < n``; ``rgb`` is ``(N, 3)``, ``planar`` a
        ``(3, >= n)`` scratch buffer."""
        _to_planar(rgb, p0, n, planar)
        r = planar[0, :n]
        g = planar[1, :n]
        bl = planar[2, :n]
        for f in range(out.shape[0]):
            w0 = w[f, 0]
            w1 = w[f, 1]
            w2 = w[f, 2]
            bf = b[f]
            row = out[f, :n]
            if apply_sin:
                for i in range(n):
                    row[i] = _sin(w0 * r[i] + w1 * g[i] + w2 * bl[i] + bf)
            else:
                for i in range(n):
                    row[i] = w0 * r[i] + w1 * g[i] + w2 * bl[i] + bf

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def separable_first(sin_a, cos_a, sin_b, cos_b, p0, n, width, out):
        """``out[f, i] = sin(A[f, x] + B[f, y])`` for flat pixel ``p0 + i = y * width + x``, ``i < n``, as
        ``sinA cosB + cosA sinB`` from the per-column (``A``) and per-row (``B``) tables."""
        i = 0
        while i < n:
            p = p0 + i
            y = p // width
            x0 = p - y * width
            m = min(width - x0, n - i)
            for f in range(out.shape[0]):
                sb = sin_b[f, y]
                cb = cos_b[f, y]
                sa = sin_a[f, x0:x0 + m]
                ca = cos_a[f, x0:x0 + m]
                row = out[f, i:i + m]
                for j in range(m):
                    row[j] = sa[j] * cb + ca[j] * sb
            i += m

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def first_layers(rgb, p0, n, wc, bc, planar, col0, sin_a, cos_a, sin_b, cos_b, width, spa0, apply_sin):
        """The two input layers of a tile: :func:`color_first` and :func:`separable_first` in one call
        (``apply_sin=False``: the colour layer's pre-activations, for a separate sine kernel)."""
        color_first(rgb, p0, n, wc, bc, planar, col0, apply_sin)
        separable_first(sin_a, cos_a, sin_b, cos_b, p0, n, width, spa0)

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def planar_separable(rgb, p0, n, planar, sin_a, cos_a, sin_b, cos_b, width, spa0):
        """``planar[:, :n]`` = the tile's RGB, channel-first (for a separate colour kernel), and
        :func:`separable_first` into ``spa0``."""
        _to_planar(rgb, p0, n, planar)
        separable_first(sin_a, cos_a, sin_b, cos_b, p0, n, width, spa0)

    @njit(fastmath=_FM, cache=_CACHE, nogil=True)
    def interleave_bias(acc, n, b, dst, p0):
        """``dst[p0 + i, c] = acc[c, i] + b[c]`` for ``i < n`` (channel-last output of a tile)."""
        d = dst[p0:p0 + n]
        if acc.shape[0] == 3:
            b0 = b[0]
            b1 = b[1]
            b2 = b[2]
            a0 = acc[0, :n]
            a1 = acc[1, :n]
            a2 = acc[2, :n]
            for i in range(n):
                d[i, 0] = a0[i] + b0
                d[i, 1] = a1[i] + b1
                d[i, 2] = a2[i] + b2
        else:
            for c in range(acc.shape[0]):
                bc = b[c]
                a = acc[c, :n]
                for i in range(n):
                    d[i, c] = a[i] + bc
