"""The gamma-map network (:mod:`hdrkit.models.gammanet`) as one fused CPU kernel, written as LLVM vector IR with
the generator of :mod:`hdrkit.models._fusednet` (llvmlite; no numba, no torch) and compiled for the host CPU at
first use.

A block of ``PB = LANES * NV`` pixels of one image row goes through the whole network:

* first layer, separable (the identity of :mod:`hdrkit.models.gammanet`): per pixel, the rows
  ``T_x[col] + T_y[row] + T_R[R] + T_G[G] + T_B[B]`` of the tables (``h0`` padded to whole vectors; the bias is
  folded into ``T_x``) are added as whole vectors -- five vector loads, no gathers -- and the ReLU applied; the
  block's ``PB x h0`` pixel-major activations are then transposed in registers (``log2(LANES)`` rounds of
  two-source interleaving shuffles per ``LANES x LANES`` tile) into feature-major rows;
* every further hidden layer: the register-blocked ``acc += broadcast(W[m, k]) * x[k]`` of ``_fusednet`` with a
  ReLU (``max(acc, 0)``) in registers; the last one fused with the 3-output linear layer;
* output ``H_c = clip(exp(g_c * L[code_c]) - offset, 0, 1)``: the log table ``L`` is read per pixel in the first
  pass, the exponential is a vector ``2^n * p(r)`` (Cody-Waite reduction by ln 2 in two parts, degree-6
  polynomial, relative error < 2e-7), its argument first clamped to [-20, 2] -- beyond that the clipped result
  cannot change for any offset in the container's range [1e-4, 0.5] (``exp(-20) < 1e-4``,
  ``exp(2) - 0.5 > 1``), and a non-finite ``g`` gives a value in [0, 1] instead of a NaN;
* re-interleaved into the ``(H, W, 3)`` float32 frame with shuffles (the scalar loop for a last partial block).

Same function as :func:`hdrkit.models.gammanet.forward_reference` up to float32 rounding (tested).
"""

from __future__ import annotations

import ctypes
import functools
import math
import warnings
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from hdrkit.models import _fusednet

#: exp(x) = 2^n * e^r, n = round(x / ln 2), r = x - n ln 2 (ln 2 in two float32 parts); e^r by a degree-6
#: polynomial (Taylor coefficients: on |r| <= ln2/2 the truncation error is < 2e-7 relative).
_EXP = {"LOG2E": 1.4426950408889634, "MAGIC": 12582912.0, "NLN2_HI": -0.693145751953125,
        "NLN2_LO": -1.4286068203094173e-06, "LO": -20.0, "HI": 2.0}
_EXP_POLY = (1.0, 1.0, 0.5, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720)


@dataclass(frozen=True)
class GammaLayout:
    """Offsets (in floats) of the packed weights and of the per-thread scratch of one compiled kernel."""

    lanes: int
    nv: int
    mr: int
    hidden: Tuple[int, ...]
    h0p: int  # first-layer width padded to whole vectors: the tables' row length
    dense: Tuple[Tuple[str, int, int, int, int, int], ...]  # (name, K, M, weight offset, bias offset, input row)
    out_w: int
    out_b: int
    offset_at: int  # the decoder's offset o (one float after the output bias)
    n_weights: int
    pm: int  # scratch: pixel-major first-layer activations, PB x h0p floats
    a0: int  # scratch row of the first feature-major row (rows of PB floats, counted from pm's end)
    bufs: Tuple[Tuple[str, int], ...]
    lrow: int  # 3 rows: L[code] of R, G, B per pixel
    oacc: int  # 3 rows: output accumulators, then the results
    n_scratch: int
    codes16: bool = False  # output: uint16 codes rint(H * 65535) instead of float32 H

    @property
    def pb(self) -> int:
        return self.lanes * self.nv


def layout(hidden: Tuple[int, ...], lanes: int, nv: int, mr: int, codes16: bool = False) -> GammaLayout:
    pb = lanes * nv
    h0 = hidden[0]
    h0p = -(-h0 // lanes) * lanes
    pm_floats = pb * h0p
    base = pm_floats // pb  # the feature-major rows follow the pixel-major block (pm_floats is a multiple of PB)
    rows = base
    a0 = rows
    bufs = [("l0", rows)]
    rows += h0p
    for i in range(1, len(hidden) - 1):  # the last hidden layer is fused with the output: never stored
        bufs.append((f"l{i}", rows))
        rows += hidden[i]
    lrow = rows
    rows += 3
    oacc = rows
    rows += 3
    where = dict(bufs)
    w = 0
    dense = []
    for i in range(1, len(hidden)):
        k, m = hidden[i - 1], hidden[i]
        nblk = -(-m // mr)
        dense.append((f"l{i}", k, m, w, w + nblk * mr * k, where[f"l{i - 1}"]))
        w += nblk * mr * k + nblk * mr
    out_w, out_b = w, w + 3 * hidden[-1]
    return GammaLayout(lanes, nv, mr, tuple(hidden), h0p, tuple(dense), out_w, out_b, out_b + 3, out_b + 4, 0, a0,
                       tuple(bufs), lrow, oacc, rows * pb, bool(codes16))


def pack_weights(lay: GammaLayout, weights: Dict[str, np.ndarray], offset: float) -> np.ndarray:
    """The dense layers (``l1`` ...) packed ``[row block][k][MR]`` + biases, the output layer transposed, then
    the output bias and the offset, float32."""
    out = np.zeros(lay.n_weights, np.float32)
    mr = lay.mr
    for name, k, m, wo, bo, _ in lay.dense:
        wm = np.asarray(weights[f"{name}.weight"], np.float32)
        nblk = -(-m // mr)
        pad = np.zeros((nblk * mr, k), np.float32)
        pad[:m] = wm
        out[wo:wo + nblk * mr * k] = pad.reshape(nblk, mr, k).transpose(0, 2, 1).reshape(-1)
        out[bo:bo + m] = np.asarray(weights[f"{name}.bias"], np.float32)
    wo = np.asarray(weights["out.weight"], np.float32)
    out[lay.out_w:lay.out_w + wo.size] = wo.T.reshape(-1)
    out[lay.out_b:lay.out_b + 3] = np.asarray(weights["out.bias"], np.float32)
    out[lay.offset_at] = np.float32(offset)
    return out


class _GammaGen(_fusednet._Gen):
    """IR of ``gamma_rows(sdr u8*, out f32*, width, row0, row1, tx, ty, trgb, lt, weights, scratch)``."""

    def __init__(self, lay: GammaLayout):  # noqa: D107 - the parent's helpers, another signature
        from llvmlite import ir

        self.ir = ir
        self.lay = lay
        self.L, self.NV, self.MR, self.PB = lay.lanes, lay.nv, lay.mr, lay.pb
        self.f32, self.i64, self.i32, self.i8 = ir.FloatType(), ir.IntType(64), ir.IntType(32), ir.IntType(8)
        self.vt = ir.VectorType(self.f32, self.L)
        self.it = ir.VectorType(self.i32, self.L)
        self.mod = ir.Module(name="hdrkit_fusedgamma")
        self.fma_fn = ir.Function(self.mod, ir.FunctionType(self.vt, [self.vt] * 3), name=f"llvm.fma.v{self.L}f32")
        fp, i64 = self.f32.as_pointer(), self.i64
        fnty = ir.FunctionType(ir.VoidType(), [self.i8.as_pointer(), fp, i64, i64, i64, fp, fp, fp, fp, fp, fp])
        self.fn = ir.Function(self.mod, fnty, name="gamma_rows")
        for a in self.fn.args:
            if isinstance(a.type, ir.PointerType):
                a.add_attribute("noalias")
        (self.sdr, self.out, self.width, self.row0, self.row1, self.tx, self.ty, self.trgb, self.lt, self.wts,
         self.scr) = self.fn.args
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        if lay.codes16:  # the same pointer argument, written as uint16
            self.i16 = ir.IntType(16)
            self.rint_fn = ir.Function(self.mod, ir.FunctionType(self.vt, [self.vt]), name=f"llvm.rint.v{self.L}f32")
            self.out = self.b.bitcast(self.out, self.i16.as_pointer())

    # ---- vector helpers ------------------------------------------------------------------------------------
    def vmax(self, a, c):
        """``a > c ? a : c`` (one ``max`` instruction; a NaN ``a`` gives ``c``)."""
        return self.b.select(self.b.fcmp_ordered(">", a, c), a, c)

    def vmin(self, a, c):
        return self.b.select(self.b.fcmp_ordered("<", a, c), a, c)

    def relu(self, a):
        return self.vmax(a, self.splat(0.0))

    def exp(self, x):
        b, c = self.b, {k: self.splat(v) for k, v in _EXP.items()}
        x = self.vmin(self.vmax(x, c["LO"]), c["HI"])
        t = self.fma(x, c["LOG2E"], c["MAGIC"])  # round(x / ln 2) + MAGIC
        n = b.fsub(t, c["MAGIC"])
        r = self.fma(n, c["NLN2_HI"], x)
        r = self.fma(n, c["NLN2_LO"], r)
        p = self.splat(_EXP_POLY[-1])
        for coef in _EXP_POLY[-2::-1]:
            p = self.fma(p, r, self.splat(coef))
        ni = b.fptosi(n, self.it)
        scale = b.bitcast(b.shl(b.add(ni, self.ir.Constant(self.it, [127] * self.L)),
                                self.ir.Constant(self.it, [23] * self.L)), self.vt)
        return b.fmul(p, scale)

    def transpose(self, rows):
        """``LANES`` vectors (rows) -> their transpose: ``log2(LANES)`` rounds of pairwise interleaving
        (``zip`` of row i with row i + LANES/2, low and high halves)."""
        b, ir, L = self.b, self.ir, self.L
        lo = ir.Constant(self.it, [(j // 2) + (j % 2) * L for j in range(L)])
        hi = ir.Constant(self.it, [L // 2 + (j // 2) + (j % 2) * L for j in range(L)])
        for _ in range(int(math.log2(L))):
            new = []
            for i in range(L // 2):
                new += [b.shuffle_vector(rows[i], rows[i + L // 2], lo),
                        b.shuffle_vector(rows[i], rows[i + L // 2], hi)]
            rows = new
        return rows

    # ---- the kernel ----------------------------------------------------------------------------------------
    def build_ir(self) -> str:
        lay, b, L, NV, PB = self.lay, self.b, self.L, self.NV, self.PB
        h0p, nchunk = lay.h0p, lay.h0p // self.L

        def row_setup(y):  # the row's T_y, added to every pixel of the row
            return [self.vload(self.ty, self.idx(b.mul(y, self.c64(h0p)), j * L)) for j in range(nchunk)]

        def block(y, x0, pix3, full, nvalid, tyv):
            npx = b.select(full, self.c64(PB), nvalid)

            def pixel(p, _):  # first layer of one pixel, pixel-major; its three L[code]
                at = b.add(pix3, b.mul(p, self.c64(3)))
                codes = [b.zext(b.load(self.ptr(self.sdr, self.idx(at, ch))), self.i64) for ch in range(3)]
                trow = [self.mul(b.add(c, self.c64(256 * ch)), h0p) for ch, c in enumerate(codes)]
                xrow = self.mul(b.add(x0, p), h0p)
                for j in range(nchunk):
                    v = b.fadd(self.vload(self.tx, self.idx(xrow, j * L)), tyv[j])
                    for t in trow:
                        v = b.fadd(v, self.vload(self.trgb, self.idx(t, j * L)))
                    self.vstore(self.relu(v), self.scr, self.idx(self.mul(p, h0p), lay.pm + j * L))
                for ch, c in enumerate(codes):
                    s = b.load(self.ptr(self.lt, c), align=4)
                    b.store(s, self.ptr(self.scr, self.idx(p, (lay.lrow + ch) * PB)), align=4)
                return []

            self.loop(npx, pixel)
            for j in range(nchunk):  # pixel-major (PB, h0p) -> feature-major rows, one L x L tile at a time
                for v in range(NV):
                    tile = [self.vload(self.scr, self.c64(lay.pm + (v * L + i) * h0p + j * L)) for i in range(L)]
                    for i, row in enumerate(self.transpose(tile)):
                        self.vstore(row, self.scr, self.c64((lay.a0 + j * L + i) * PB + v * L))

            for c in range(3):  # output accumulators start at the output bias
                ob = self.bcast(self.wts, self.c64(lay.out_b + c))
                for v in range(NV):
                    self.vstore(ob, self.scr, self.c64((lay.oacc + c) * PB + v * L))
            if lay.dense:
                bufs = dict(lay.bufs)
                for i, (name, k, m, wo, bo, src) in enumerate(lay.dense):
                    last = i == len(lay.dense) - 1
                    self.dense(src, k, m, wo, bo, None if last else bufs[name], last, act=self.relu)
            else:
                self.dense_out(lay.a0, lay.hidden[0])
            off = self.bcast(self.wts, self.c64(lay.offset_at))
            zero, one = self.splat(0.0), self.splat(1.0)
            for c in range(3):
                for v in range(NV):
                    at = self.c64((lay.oacc + c) * PB + v * L)
                    g = self.vload(self.scr, at)
                    lt = self.vload(self.scr, self.c64((lay.lrow + c) * PB + v * L))
                    h = self.vmin(self.vmax(b.fsub(self.exp(b.fmul(g, lt)), off), zero), one)
                    if lay.codes16:  # rint(h * 65535): numpy's float32 quantisation (round half to even)
                        h = b.call(self.rint_fn, [b.fmul(h, self.splat(65535.0))])
                    self.vstore(h, self.scr, at)

        return self.over_blocks(block, row_setup)

    def store_out(self, pix3, full, nvalid):
        """As the parent's, or for ``codes16`` the (already rounded) codes converted to uint16."""
        if not self.lay.codes16:
            return super().store_out(pix3, full, nvalid)
        lay, b, L, NV, PB, ir = self.lay, self.b, self.L, self.NV, self.PB, self.ir
        vt16 = ir.VectorType(self.i16, L)
        outv = [[b.fptoui(self.vload(self.scr, self.c64((lay.oacc + c) * PB + v * L)), vt16) for v in range(NV)]
                for c in range(3)]

        def store_vec():
            m2 = ir.Constant(ir.VectorType(self.i32, 2 * L), list(range(2 * L)))
            il = ir.Constant(ir.VectorType(self.i32, 3 * L), [(c * L + i) for i in range(L) for c in range(3)])
            v3 = ir.VectorType(self.i16, 3 * L)
            for v in range(NV):
                rg = b.shuffle_vector(outv[0][v], outv[1][v], m2)
                bb = b.shuffle_vector(outv[2][v], outv[2][v], m2)
                p = b.bitcast(self.ptr(self.out, self.idx(pix3, 3 * v * L)), v3.as_pointer())
                b.store(b.shuffle_vector(rg, bb, il), p, align=2)

        def store_scalar():
            def px(i, _):
                for c in range(3):
                    s = b.load(self.ptr(self.scr, b.add(i, self.c64((lay.oacc + c) * PB))), align=4)
                    b.store(b.fptoui(s, self.i16), self.ptr(self.out, b.add(pix3, b.add(b.mul(i, self.c64(3)),
                                                                                        self.c64(c)))), align=2)
                return []
            self.loop(nvalid, px)

        self.if_else(full, store_vec, store_scalar)


class GammaKernel(_fusednet.Kernel):
    """A compiled ``gamma_rows`` with its layout; :meth:`rows` may be called from any thread (no GIL held)."""

    def rows(self, sdr: np.ndarray, out: np.ndarray, row0: int, row1: int, tables, weights: np.ndarray,
             scratch: np.ndarray) -> None:
        """Decode rows ``row0 .. row1`` of ``sdr`` (``(H, W, 3)`` uint8) into ``out`` (``(H, W, 3)`` float32, or
        uint16 codes ``rint(H * 65535)`` for a ``codes16`` kernel);
        ``tables`` = (tx ``(W, h0p)``, ty ``(H, h0p)``, trgb ``(768, h0p)``, lt ``(256,)``), float32."""
        _check_rows(self.layout, sdr, out, row0, row1, tables, weights, scratch)
        if row1 <= row0 or sdr.shape[1] == 0:
            return
        tx, ty, trgb, lt = tables
        self._fn(sdr.ctypes.data, out.ctypes.data, sdr.shape[1], row0, row1, tx.ctypes.data, ty.ctypes.data,
                 trgb.ctypes.data, lt.ctypes.data, weights.ctypes.data, scratch.ctypes.data)


def _check_rows(lay: GammaLayout, sdr, out, row0: int, row1: int, tables, weights, scratch) -> None:
    """Every bound the compiled kernel relies on, checked before it touches raw memory (``ValueError``)."""

    def arr(name, a, dtype, shape, writable=False):
        if not (isinstance(a, np.ndarray) and a.dtype == dtype and a.flags.c_contiguous and a.shape == shape):
            raise ValueError(f"gamma kernel: {name} must be a C-contiguous {np.dtype(dtype).name} array of shape "
                             f"{shape}, got {getattr(a, 'dtype', type(a))} {getattr(a, 'shape', '')}")
        if writable and not a.flags.writeable:
            raise ValueError(f"gamma kernel: {name} must be writable")

    if not isinstance(sdr, np.ndarray) or sdr.ndim != 3:
        raise ValueError("gamma kernel: sdr must be an H x W x 3 uint8 array")
    H, W = sdr.shape[:2]
    arr("sdr", sdr, np.uint8, (H, W, 3))
    arr("out", out, np.uint16 if lay.codes16 else np.float32, (H, W, 3), writable=True)
    if not (0 <= row0 <= row1 <= H):
        raise ValueError(f"gamma kernel: rows {row0}..{row1} outside 0..{H}")
    if len(tables) != 4:
        raise ValueError("gamma kernel: tables must be (tx, ty, trgb, lt)")
    for name, t, shape in zip(("tx", "ty", "trgb", "lt"), tables,
                              ((W, lay.h0p), (H, lay.h0p), (768, lay.h0p), (256,))):
        arr(name, t, np.float32, shape)
    arr("weights", weights, np.float32, (lay.n_weights,))
    if not (isinstance(scratch, np.ndarray) and scratch.dtype == np.float32 and scratch.ndim == 1
            and scratch.flags.c_contiguous and scratch.flags.writeable and scratch.size >= lay.n_scratch):
        raise ValueError(f"gamma kernel: scratch must be a writable float32 vector of >= {lay.n_scratch} floats")


def compile_kernel(hidden: Tuple[int, ...], lanes: Optional[int] = None, nv: int = 2,
                   mr: Optional[int] = None, codes16: bool = False) -> GammaKernel:
    """Compile the kernel for hidden widths ``hidden``; raises whatever llvmlite raises (see :func:`build`)."""
    llvm, tm = _fusednet.init_llvm()
    lanes = lanes or _fusednet.host_lanes(llvm)
    mr = mr or (8 if lanes == 16 else 4)
    lay = layout(tuple(hidden), lanes, nv, mr, codes16)
    P, I = ctypes.c_void_p, ctypes.c_int64
    fn, keep = _fusednet.jit(llvm, tm, _GammaGen(lay).build_ir(), "gamma_rows", (P, P, I, I, I, P, P, P, P, P, P))
    return GammaKernel(lay, fn, keep)


@functools.lru_cache(maxsize=16)
def build(hidden: Tuple[int, ...], codes16: bool = False) -> Optional[GammaKernel]:
    """The compiled kernel for ``hidden``, or None with a ``RuntimeWarning`` (once per shape) naming the numpy
    fallback where llvmlite or the target is unavailable."""
    try:
        return compile_kernel(hidden, codes16=codes16)
    except Exception as exc:  # no llvmlite / unsupported target: the caller falls back, loudly
        warnings.warn(f"hdrkit: the fused LLVM gamma-map decode kernel could not be built ({type(exc).__name__}: "
                      f"{exc}); decoding falls back to the numpy forward pass, many times slower", RuntimeWarning,
                      stacklevel=2)
        return None


def padded_tables(tx: np.ndarray, ty: np.ndarray, trgb: np.ndarray, lt: np.ndarray, h0p: int):
    """The first-layer tables of :func:`hdrkit.models.gammanet.first_layer_tables` with rows zero-padded to
    ``h0p`` floats (``trgb`` flattened to ``(768, h0p)``) and the log table, float32 C-contiguous."""

    def pad(t):
        t = np.asarray(t, np.float32).reshape(-1, t.shape[-1])
        if t.shape[1] == h0p:
            return np.ascontiguousarray(t)
        o = np.zeros((t.shape[0], h0p), np.float32)
        o[:, :t.shape[1]] = t
        return o

    return pad(tx), pad(ty), pad(trgb), np.ascontiguousarray(lt, np.float32)
