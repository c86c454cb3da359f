"""The whole embedded SIREN as one fused CPU kernel, written as LLVM vector IR (llvmlite, numba's backend) and
compiled for the host CPU at first use.

Why: run layer by layer, each sine is a separate pass over a tile held in L2 and each small GEMM (K = 64)
leaves BLAS's packing and edge handling per call.  Here a block of ``PB = LANES * NV`` pixels of one image row goes
through the whole network while its activations stay in L1 (feature-major, ``(features, PB)``), and every
layer's bias and sine are applied to the accumulators in registers before they are stored:

* input: the interleaved RGB of the block, de-interleaved with vector shuffles;
* colour layer 0 (K = 3) and the separable first spatial layer (``sin A[x] cos B[y] + cos A[x] sin B[y]``, the
  identity used by :mod:`hdrkit.models.fast`);
* every dense layer with K inputs: a register block of ``MR`` output rows x ``NV`` vectors of pixels,
  ``acc += broadcast(W[m, k]) * x[k]`` over k (weights packed ``[row block][k][MR]``), then bias (the
  accumulators start at it) and sine in registers;
* the last hidden layer is fused with the linear output layer: its sines are multiplied into three output
  accumulators straight away and never stored;
* output: re-interleaved with shuffles and written to the ``(H, W, 3)`` frame.

Same function as :func:`hdrkit.models.siren.forward` up to float32 rounding.  The sine: Cody-Waite reduction by
pi in two parts (``float32(pi)`` and its float32 remainder; the FMA forms ``k * pi_hi`` exactly), an odd
degree-9 polynomial on [-pi/2, pi/2] (least squares on Chebyshev nodes), and the sign ``(-1)**k`` from the parity
bit of the rounded quotient xor-ed into the sign bit.  Weights are passed at call time, so one compiled kernel
serves every network of the same shape.

This module needs numpy and llvmlite only (no torch): :func:`decode` is the whole CPU decode of
``hdrkit decode``.  ``build`` warns (``RuntimeWarning`` naming the torch fallback) and returns None where
llvmlite or the target is missing; the kernel's tests fail, not skip, in that case.
"""

from __future__ import annotations

import ctypes
import functools
import math
import os
import warnings
from dataclasses import dataclass
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from hdrkit.models.config import SirenConfig

#: Constants of the vector sine (float32 values; reduction by -pi in two parts, odd polynomial coefficients).
_CONST = {
    "INV_PI": 0.31830988618379067, "MAGIC": 12582912.0, "NPI_A": -3.1415927410125732,
    "NPI_B": 8.742277657347586e-08, "C3": -0.16666665966597144, "C5": 0.008333242337326754,
    "C7": -0.00019822761328051785, "C9": 2.6348153720490343e-06,
}


def init_llvm():
    """llvmlite's binding layer, initialised for the host; returns ``(llvm, target_machine)``."""
    import llvmlite.binding as llvm

    try:
        llvm.initialize()
    except RuntimeError:  # newer llvmlite initialises itself
        pass
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    target = llvm.Target.from_default_triple()
    tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                      opt=3)
    return llvm, tm


@dataclass(frozen=True)
class Shape:
    """Layer widths of a sine SIREN (``coord_dim`` inputs of the spatial branch do not matter here: its first
    layer arrives as row/column tables)."""

    color: Tuple[int, ...]
    spatial: Tuple[int, ...]
    merge: Tuple[int, ...]


@dataclass(frozen=True)
class Layout:
    """Where everything lives: float offsets into the packed weight array and into the per-block scratch."""

    lanes: int
    nv: int
    mr: int
    shape: Shape
    # weights
    col0: int  # (c0, 4): w_r, w_g, w_b, bias per output row
    dense: Tuple[Tuple[str, int, int, int, int, int], ...]  # (name, K, M, weight offset, bias offset, input row)
    out_w: int  # (K_out, 3): output weights transposed
    out_b: int  # (3,)
    n_weights: int
    # scratch, rows of PB floats
    planar: int
    bufs: Tuple[Tuple[str, int], ...]  # (name, row offset) of each layer output kept in scratch
    oacc: int
    n_scratch: int

    @property
    def pb(self) -> int:
        return self.lanes * self.nv


def _dense_layers(shape: Shape):
    """The dense (K >= 1 hidden-input) layers after the branch inputs, in execution order: (name, K, M)."""
    out = []
    for i in range(1, len(shape.color)):
        out.append((f"color.{i}", shape.color[i - 1], shape.color[i]))
    for i in range(1, len(shape.spatial)):
        out.append((f"spatial.{i}", shape.spatial[i - 1], shape.spatial[i]))
    k = shape.color[-1] + shape.spatial[-1]
    for i, m in enumerate(shape.merge):
        out.append((f"merge.{i}", k, m))
        k = m
    return out


def layout(shape: Shape, lanes: int, nv: int, mr: int) -> Layout:
    pb = lanes * nv
    # scratch rows: planar rgb, then each layer output that a later layer reads
    rows = 3
    bufs = []
    c_last, s_last = shape.color[-1], shape.spatial[-1]
    for i, f in enumerate(shape.color[:-1]):
        bufs.append((f"color.{i}", rows))
        rows += f
    for i, f in enumerate(shape.spatial[:-1]):
        bufs.append((f"spatial.{i}", rows))
        rows += f
    bufs.append((f"color.{len(shape.color) - 1}", rows))  # the concat: colour rows, then spatial rows
    bufs.append((f"spatial.{len(shape.spatial) - 1}", rows + c_last))
    rows += c_last + s_last
    for i, f in enumerate(shape.merge[:-1]):
        bufs.append((f"merge.{i}", rows))
        rows += f
    oacc = rows
    rows += 3
    # weights: colour layer 0, the dense layers (each reading the scratch rows of the layer before it), output
    where = dict(bufs)
    concat = where[f"color.{len(shape.color) - 1}"]
    w = 4 * shape.color[0]
    col0 = 0
    dense = []
    for name, k, m in _dense_layers(shape):
        kind, i = name.split(".")
        src = concat if name == "merge.0" else where[f"{kind}.{int(i) - 1}"]
        nblk = -(-m // mr)
        dense.append((name, k, m, w, w + nblk * mr * k, src))
        w += nblk * mr * k + nblk * mr
    k_out = shape.merge[-1] if shape.merge else shape.color[-1] + shape.spatial[-1]
    out_w, out_b = w, w + 3 * k_out
    n_weights = out_b + 3
    return Layout(lanes, nv, mr, shape, col0, tuple(dense), out_w, out_b, n_weights, 0, tuple(bufs), oacc,
                  rows * pb)


def pack_weights(lay: Layout, w: dict) -> np.ndarray:
    """Packed float32 weights for :func:`build`'s kernel; ``w[name] = (W (M, K), b (M,))`` with omega0 already
    folded into the sine layers (as :func:`folded_weights` returns them)."""
    out = np.zeros(lay.n_weights, np.float32)
    wc, bc = w["color.0"]
    c0 = lay.shape.color[0]
    out[lay.col0:lay.col0 + 4 * c0] = np.concatenate([wc, bc[:, None]], 1).reshape(-1)
    mr = lay.mr
    for name, k, m, wo, bo, _ in lay.dense:
        wm, bm = w[name]
        nblk = -(-m // mr)
        pad = np.zeros((nblk * mr, k), np.float32)
        pad[:m] = wm
        out[wo:wo + nblk * mr * k] = pad.reshape(nblk, mr, k).transpose(0, 2, 1).reshape(-1)
        out[bo:bo + m] = bm
    wo, bo = w["out"]
    out[lay.out_w:lay.out_w + wo.size] = wo.T.reshape(-1)
    out[lay.out_b:lay.out_b + 3] = bo
    return out


def host_lanes(llvm) -> int:
    """float32 lanes of the widest vector unit LLVM reports for this CPU (16 with AVX-512, 8 with AVX, else 4);
    ``llvm`` is the initialised binding layer from :func:`init_llvm`."""
    feats = llvm.get_host_cpu_features()
    if feats.get("avx512f", False):
        return 16
    if feats.get("avx", False):
        return 8
    return 4


class _Gen:
    """Builds the IR of one kernel ``net_rows`` for a :class:`Layout`."""

    def __init__(self, lay: Layout):
        from llvmlite import ir

        self.ir = ir
        self.lay = lay
        self.L, self.NV, self.MR, self.PB = lay.lanes, lay.nv, lay.mr, lay.pb
        self.f32, self.i64, self.i32 = ir.FloatType(), ir.IntType(64), ir.IntType(32)
        self.vt = ir.VectorType(self.f32, self.L)
        self.it = ir.VectorType(self.i32, self.L)
        self.mod = ir.Module(name="hdrkit_fusednet")
        self.fma_fn = ir.Function(self.mod, ir.FunctionType(self.vt, [self.vt] * 3), name=f"llvm.fma.v{self.L}f32")
        fp = self.f32.as_pointer()
        i64 = self.i64
        fnty = ir.FunctionType(ir.VoidType(), [fp, fp, i64, i64, i64, fp, fp, i64, fp, fp, i64, fp, fp])
        self.fn = ir.Function(self.mod, fnty, name="net_rows")
        for a in self.fn.args:
            if isinstance(a.type, ir.PointerType):
                a.add_attribute("noalias")
        (self.rgb, self.out, self.width, self.row0, self.row1, self.sin_a, self.cos_a, self.ld_a, self.sin_b,
         self.cos_b, self.ld_b, self.wts, self.scr) = self.fn.args
        self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))

    # ---- small helpers -------------------------------------------------------------------------------------
    def c64(self, v: int):
        return self.ir.Constant(self.i64, int(v))

    def splat(self, v: float):
        return self.ir.Constant(self.vt, [float(np.float32(v))] * self.L)

    def idx(self, *terms):
        """Sum of i64 values / ints."""
        b = self.b
        acc, const = None, 0
        for t in terms:
            if isinstance(t, (int, np.integer)):
                const += int(t)
            else:
                acc = t if acc is None else b.add(acc, t)
        if acc is None:
            return self.c64(const)
        return b.add(acc, self.c64(const)) if const else acc

    def mul(self, a, k: int):
        return self.b.mul(a, self.c64(k)) if k != 1 else a

    def ptr(self, base, index):
        return self.b.gep(base, [index])

    def vload(self, base, index):
        p = self.b.bitcast(self.ptr(base, index), self.vt.as_pointer())
        return self.b.load(p, align=4)

    def vstore(self, val, base, index):
        p = self.b.bitcast(self.ptr(base, index), self.vt.as_pointer())
        self.b.store(val, p, align=4)

    def bcast(self, base, index):
        ir, b = self.ir, self.b
        s = b.load(self.ptr(base, index), align=4)
        v = b.insert_element(ir.Constant(self.vt, ir.Undefined), s, ir.Constant(self.i32, 0))
        return b.shuffle_vector(v, ir.Constant(self.vt, ir.Undefined), ir.Constant(self.it, [0] * self.L))

    def fma(self, a, x, c):
        return self.b.call(self.fma_fn, [a, x, c])

    def sin(self, x):
        b, c = self.b, {k: self.splat(v) for k, v in _CONST.items()}
        t = self.fma(x, c["INV_PI"], c["MAGIC"])  # round(x / pi) + MAGIC
        k = b.fsub(t, c["MAGIC"])
        r = self.fma(k, c["NPI_A"], x)
        r = self.fma(k, c["NPI_B"], r)
        rr = b.fmul(r, r)
        q = self.fma(rr, c["C9"], c["C7"])
        q = self.fma(q, rr, c["C5"])
        q = self.fma(q, rr, c["C3"])
        s = self.fma(b.fmul(rr, r), q, r)
        sign = b.shl(b.bitcast(t, self.it), self.ir.Constant(self.it, [31] * self.L))
        return b.bitcast(b.xor(b.bitcast(s, self.it), sign), self.vt)

    def loop(self, count, body, init=()):
        """``for i in range(count)`` (count >= 1, an int or i64 value) carrying the values ``init``;
        ``body(i, carried) -> new carried``.  Returns the carried values after the last iteration."""
        b = self.b
        count = self.c64(count) if isinstance(count, int) else count
        pre = b.block
        head = self.fn.append_basic_block()
        b.branch(head)
        b.position_at_end(head)
        i = b.phi(self.i64)
        i.add_incoming(self.c64(0), pre)
        phis = []
        for v in init:
            p = b.phi(v.type)
            p.add_incoming(v, pre)
            phis.append(p)
        new = list(body(i, phis))
        i1 = b.add(i, self.c64(1))
        end = b.block
        i.add_incoming(i1, end)
        for p, v in zip(phis, new):
            p.add_incoming(v, end)
        after = self.fn.append_basic_block()
        b.cbranch(b.icmp_signed("<", i1, count), head, after)
        b.position_at_end(after)
        return new

    def if_else(self, cond, then_fn, else_fn):
        b = self.b
        t, e, j = (self.fn.append_basic_block() for _ in range(3))
        b.cbranch(cond, t, e)
        b.position_at_end(t)
        then_fn()
        b.branch(j)
        b.position_at_end(e)
        else_fn()
        b.branch(j)
        b.position_at_end(j)

    def row(self, r):  # float offset of scratch row r (int or i64)
        return self.mul(r, self.PB) if not isinstance(r, int) else self.c64(r * self.PB)

    # ---- layers -----------------------------------------------------------------------------------------
    def dense(self, src_row: int, k: int, m: int, wo: int, bo: int, dst_row: Optional[int], fuse_out: bool,
              act=None):
        """Rows ``dst_row .. dst_row + m`` = act(W @ rows ``src_row .. src_row + k`` + b) (``act`` a vector
        function of the IR builder, default :meth:`sin`); with ``fuse_out`` the activations go straight into the
        output accumulators (scratch rows ``oacc``) instead of being stored."""
        MR, NV, L = self.MR, self.NV, self.L
        nfull, rem = divmod(m, MR)

        def block(rb, mr):
            w_base = self.idx(self.mul(rb, MR * k), wo)
            b_base = self.idx(self.mul(rb, MR), bo)
            init = [self.bcast(self.wts, self.idx(b_base, j)) for j in range(mr) for _ in range(NV)]

            def kstep(kk, accs):
                xs = [self.vload(self.scr, self.idx(self.row(self.idx(kk, src_row)), v * L)) for v in range(NV)]
                wk = self.idx(w_base, self.mul(kk, MR))
                out = []
                for j in range(mr):
                    wj = self.bcast(self.wts, self.idx(wk, j))
                    out += [self.fma(wj, xs[v], accs[j * NV + v]) for v in range(NV)]
                return out

            accs = self.loop(k, kstep, init)
            accs = [(act or self.sin)(a) for a in accs]
            row0 = self.mul(rb, MR)
            if fuse_out:
                lay = self.lay
                oacc = [self.vload(self.scr, self.c64((lay.oacc + c) * self.PB + v * L)) for c in range(3) for v in range(NV)]
                for j in range(mr):
                    wrow = self.mul(self.idx(row0, j), 3)
                    for c in range(3):
                        wc = self.bcast(self.wts, self.idx(wrow, lay.out_w + c))
                        for v in range(NV):
                            oacc[c * NV + v] = self.fma(wc, accs[j * NV + v], oacc[c * NV + v])
                for c in range(3):
                    for v in range(NV):
                        self.vstore(oacc[c * NV + v], self.scr, self.c64((lay.oacc + c) * self.PB + v * L))
            else:
                for j in range(mr):
                    for v in range(NV):
                        self.vstore(accs[j * NV + v], self.scr, self.idx(self.row(self.idx(row0, dst_row + j)), v * L))

        if nfull:
            self.loop(nfull, lambda rb, _: (block(rb, MR), [])[1])
        if rem:
            block(self.c64(nfull), rem)

    def build_ir(self) -> str:
        lay, b, L, NV, PB = self.lay, self.b, self.L, self.NV, self.PB
        ir = self.ir
        shape = lay.shape
        bufs = dict(lay.bufs)

        def block(y, x0, pix3, full, nvalid, _):
            def load_vec():
                for v in range(NV):
                    a = [self.vload(self.rgb, self.idx(pix3, 3 * v * L + j * L)) for j in range(3)]
                    ab = b.shuffle_vector(a[0], a[1], ir.Constant(ir.VectorType(self.i32, 2 * L), list(range(2 * L))))
                    cc = b.shuffle_vector(a[2], a[2], ir.Constant(ir.VectorType(self.i32, 2 * L), list(range(2 * L))))
                    for c in range(3):
                        ch = b.shuffle_vector(ab, cc, ir.Constant(self.it, [3 * i + c for i in range(L)]))
                        self.vstore(ch, self.scr, self.c64((lay.planar + c) * PB + v * L))

            def load_scalar():
                def px(i, _):
                    for c in range(3):
                        s = b.load(self.ptr(self.rgb, b.add(pix3, b.add(b.mul(i, self.c64(3)), self.c64(c)))), align=4)
                        b.store(s, self.ptr(self.scr, b.add(i, self.c64((lay.planar + c) * PB))), align=4)
                    return []
                self.loop(nvalid, px)

            self.if_else(full, load_vec, load_scalar)

            # colour layer 0: rows of (w_r, w_g, w_b, bias), K = 3
            rgbv = [[self.vload(self.scr, self.c64((lay.planar + c) * PB + v * L)) for v in range(NV)]
                    for c in range(3)]
            dst0 = bufs["color.0"]

            def col0(f, _):
                base = b.add(b.mul(f, self.c64(4)), self.c64(lay.col0))
                wv = [self.bcast(self.wts, self.idx(base, j)) for j in range(4)]
                for v in range(NV):
                    a = self.fma(wv[0], rgbv[0][v], wv[3])
                    a = self.fma(wv[1], rgbv[1][v], a)
                    a = self.fma(wv[2], rgbv[2][v], a)
                    self.vstore(self.sin(a), self.scr, self.idx(self.row(self.idx(f, dst0)), v * L))
                return []

            self.loop(shape.color[0], col0)

            # spatial layer 0, separable: sin A[x] cos B[y] + cos A[x] sin B[y]
            dsts = bufs["spatial.0"]

            def sp0(f, _):
                yb = b.add(b.mul(f, self.ld_b), y)
                sb, cb = self.bcast(self.sin_b, yb), self.bcast(self.cos_b, yb)
                xa = b.add(b.mul(f, self.ld_a), x0)
                for v in range(NV):
                    sa = self.vload(self.sin_a, self.idx(xa, v * L))
                    ca = self.vload(self.cos_a, self.idx(xa, v * L))
                    self.vstore(self.fma(ca, sb, b.fmul(sa, cb)), self.scr,
                                self.idx(self.row(self.idx(f, dsts)), v * L))
                return []

            self.loop(shape.spatial[0], sp0)

            # dense layers; the last hidden one fused with the output layer
            if shape.merge:
                for c in range(3):
                    ob = self.bcast(self.wts, self.c64(lay.out_b + c))
                    for v in range(NV):
                        self.vstore(ob, self.scr, self.c64((lay.oacc + c) * PB + v * L))
            last_merge = f"merge.{len(shape.merge) - 1}"
            for name, k, m, wo, bo, src in lay.dense:
                last = name == last_merge  # fused with the output layer: its sines are never stored
                self.dense(src, k, m, wo, bo, None if last else bufs[name], last)
            if not shape.merge:  # output layer alone, reading the concat
                k_out = shape.color[-1] + shape.spatial[-1]
                self.dense_out(bufs["color." + str(len(shape.color) - 1)], k_out)

        return self.over_blocks(block)

    def over_blocks(self, block, row_setup=None) -> str:
        """The kernel's loops: for each image row ``y`` in ``row0 .. row1`` (``row_setup(y)`` -> per-row values),
        for each block of ``PB`` pixels from column ``x0``: ``block(y, x0, pix3, full, nvalid, row_values)``
        (``pix3``: float offset of the block's first pixel in the interleaved frame; ``full``: a whole block;
        ``nvalid``: pixels left in the row), then the block's output (:meth:`store_out`).  Returns the IR."""
        b, PB = self.b, self.PB
        nrows = b.sub(self.row1, self.row0)
        nblk = b.udiv(b.add(self.width, self.c64(PB - 1)), self.c64(PB))

        def pixel_rows(yi, _):
            y = b.add(self.row0, yi)
            ywid = b.mul(y, self.width)
            state = row_setup(y) if row_setup else None

            def one(xb, _):
                x0 = b.mul(xb, self.c64(PB))
                nvalid = b.sub(self.width, x0)
                full = b.icmp_signed(">=", nvalid, self.c64(PB))
                pix3 = b.mul(b.add(ywid, x0), self.c64(3))
                block(y, x0, pix3, full, nvalid, state)
                self.store_out(pix3, full, nvalid)
                return []

            self.loop(nblk, one)
            return []

        self.loop(nrows, pixel_rows)
        b.ret_void()
        return str(self.mod)

    def store_out(self, pix3, full, nvalid):
        """Scratch rows ``oacc`` (R, G, B planes of the block) -> the interleaved ``(H, W, 3)`` float32 output at
        float offset ``pix3``: vector shuffles for a full block, a scalar loop for the last partial one."""
        lay, b, L, NV, PB, ir = self.lay, self.b, self.L, self.NV, self.PB, self.ir
        outv = [[self.vload(self.scr, self.c64((lay.oacc + c) * PB + v * L)) for v in range(NV)]
                for c in range(3)]

        def store_vec():
            m2 = ir.Constant(ir.VectorType(self.i32, 2 * L), list(range(2 * L)))
            il = [(c * L + i) for i in range(L) for c in range(3)]  # r0 g0 b0 r1 ...
            v3 = ir.VectorType(self.f32, 3 * L)
            for v in range(NV):
                rg = b.shuffle_vector(outv[0][v], outv[1][v], m2)
                bb = b.shuffle_vector(outv[2][v], outv[2][v], m2)
                o = b.shuffle_vector(rg, bb, ir.Constant(ir.VectorType(self.i32, 3 * L), il))
                p = b.bitcast(self.ptr(self.out, self.idx(pix3, 3 * v * L)), v3.as_pointer())
                b.store(o, p, align=4)

        def store_scalar():
            def px(i, _):
                for c in range(3):
                    s = b.load(self.ptr(self.scr, b.add(i, self.c64((lay.oacc + c) * PB))), align=4)
                    b.store(s, self.ptr(self.out, b.add(pix3, b.add(b.mul(i, self.c64(3)), self.c64(c)))),
                            align=4)
                return []
            self.loop(nvalid, px)

        self.if_else(full, store_vec, store_scalar)

    def dense_out(self, src_row: int, k: int):
        """Output layer without a merge layer before it: rows oacc = W_out @ rows src + b_out (linear)."""
        lay, NV, L = self.lay, self.NV, self.L
        init = [self.bcast(self.wts, self.c64(lay.out_b + c)) for c in range(3) for _ in range(NV)]

        def kstep(kk, accs):
            xs = [self.vload(self.scr, self.idx(self.row(self.idx(kk, src_row)), v * L)) for v in range(NV)]
            out = []
            for c in range(3):
                wc = self.bcast(self.wts, self.idx(self.mul(kk, 3), lay.out_w + c))
                out += [self.fma(wc, xs[v], accs[c * NV + v]) for v in range(NV)]
            return out

        accs = self.loop(k, kstep, init)
        for c in range(3):
            for v in range(NV):
                self.vstore(accs[c * NV + v], self.scr, self.c64((lay.oacc + c) * self.PB + v * L))


class Kernel:
    """A compiled ``net_rows`` with its layout; call :meth:`rows` from any thread (the GIL is released)."""

    def __init__(self, lay: Layout, fn, keep):
        self.layout = lay
        self._fn = fn
        self._keep = keep

    def scratch(self) -> np.ndarray:
        """A zeroed, 64-byte aligned scratch block for one thread."""
        raw = np.zeros(self.layout.n_scratch + 16, np.float32)
        off = (-raw.ctypes.data // 4) % 16
        return raw[off:off + self.layout.n_scratch]

    def rows(self, rgb: np.ndarray, out: np.ndarray, row0: int, row1: int, tables: Sequence[np.ndarray],
             weights: np.ndarray, scratch: np.ndarray) -> None:
        """Decode image rows ``row0 .. row1`` of ``rgb`` (``(H, W, 3)`` float32, C-contiguous) into ``out``.
        ``tables`` = (sinA, cosA, sinB, cosB) with sinA/cosA ``(F0, >= W rounded up to PB)`` and sinB/cosB
        ``(F0, H)``, float32, C-contiguous."""
        _check_rows(self.layout, rgb, out, row0, row1, tables, weights, scratch)
        if row1 <= row0:
            return
        W = rgb.shape[1]
        sa, ca, sb, cb = tables
        self._fn(rgb.ctypes.data, out.ctypes.data, W, row0, row1, sa.ctypes.data, ca.ctypes.data, sa.shape[1],
                 sb.ctypes.data, cb.ctypes.data, sb.shape[1], weights.ctypes.data, scratch.ctypes.data)


def _check_rows(lay: Layout, rgb, out, row0: int, row1: int, tables, weights, scratch) -> None:
    """Every bound the compiled kernel relies on, checked before it touches raw memory (``ValueError``; never
    ``assert``, which ``python -O`` strips)."""

    def f32c(name, a, ndim, writable=False):
        if not (isinstance(a, np.ndarray) and a.dtype == np.float32 and a.ndim == ndim and a.flags.c_contiguous):
            raise ValueError(f"fused kernel: {name} must be a C-contiguous float32 array with {ndim} dimensions")
        if writable and not a.flags.writeable:
            raise ValueError(f"fused kernel: {name} must be writable")

    f32c("rgb", rgb, 3)
    f32c("out", out, 3, writable=True)
    H, W, C = rgb.shape
    if C != 3 or out.shape != rgb.shape:
        raise ValueError(f"fused kernel: rgb {rgb.shape} and out {out.shape} must be the same H x W x 3")
    if not (0 <= row0 <= row1 <= H):
        raise ValueError(f"fused kernel: rows {row0}..{row1} outside 0..{H}")
    if len(tables) != 4:
        raise ValueError("fused kernel: tables must be (sinA, cosA, sinB, cosB)")
    f0 = lay.shape.spatial[0]
    wp = -(-W // lay.pb) * lay.pb
    for name, t, (rows, cols) in zip(("sinA", "cosA", "sinB", "cosB"), tables,
                                     ((f0, wp), (f0, wp), (f0, H), (f0, H))):
        f32c(name, t, 2)
        if t.shape[0] != f0 or t.shape[1] < cols:
            raise ValueError(f"fused kernel: {name} is {t.shape}, needs ({rows}, >= {cols})")
    if tables[0].shape != tables[1].shape or tables[2].shape != tables[3].shape:
        raise ValueError("fused kernel: sin and cos tables differ in shape")
    f32c("weights", weights, 1)
    if weights.size != lay.n_weights:
        raise ValueError(f"fused kernel: {weights.size} packed weights, layout needs {lay.n_weights}")
    f32c("scratch", scratch, 1, writable=True)
    if scratch.size < lay.n_scratch:
        raise ValueError(f"fused kernel: scratch of {scratch.size} floats, needs {lay.n_scratch}")


@functools.lru_cache(maxsize=16)
def build(shape: Shape, lanes: Optional[int] = None, nv: int = 2, mr: Optional[int] = None) -> Optional[Kernel]:
    """Compile the fused kernel for ``shape``; where llvmlite or the target is unavailable, warn (once per
    shape, naming the fallback) and return None.  The IR is handed straight to the code generator: an IR-level
    -O3 pipeline first was measured to gain nothing (the IR is already what we want) and doubled the compile
    time."""
    try:
        return compile_kernel(shape, lanes, nv, mr)
    except Exception as exc:  # no llvmlite / unsupported target: the caller falls back, loudly
        warnings.warn(f"hdrkit: the fused LLVM decode kernel could not be built ({type(exc).__name__}: {exc}); "
                      "decoding falls back to the torch path, several times slower", RuntimeWarning, stacklevel=2)
        return None


def compile_kernel(shape: Shape, lanes: Optional[int] = None, nv: int = 2, mr: Optional[int] = None) -> Kernel:
    """:func:`build` without the fallback: raises whatever llvmlite raises (the tests call this one)."""
    llvm, tm = init_llvm()
    lanes = lanes or host_lanes(llvm)
    mr = mr or (8 if lanes == 16 else 4)
    lay = layout(shape, lanes, nv, mr)
    P, I = ctypes.c_void_p, ctypes.c_int64
    fn, keep = jit(llvm, tm, _Gen(lay).build_ir(), "net_rows", (P, P, I, I, I, P, P, I, P, P, I, P, P))
    return Kernel(lay, fn, keep)


def jit(llvm, tm, ir_text: str, name: str, argtypes):
    """Machine code of the function ``name`` in ``ir_text`` as a ctypes function (C calling convention: the GIL
    is released during calls), and the objects that must stay alive with it."""
    mod = llvm.parse_assembly(ir_text)
    mod.verify()
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    return ctypes.CFUNCTYPE(None, *argtypes)(engine.get_function_address(name)), (engine, mod, tm)


# ---- the whole CPU decode, numpy + the kernel (no torch) ------------------------------------------------------

def folded_weights(weights: Dict[str, np.ndarray], cfg: SirenConfig) -> Dict[str, Tuple[np.ndarray, np.ndarray]]:
    """``{layer: (W (M, K), b (M,))}`` float32 with omega0 folded into every sine layer (the output layer is
    linear): ``sin(omega0 (W h + b)) = sin(W' h + b')``."""
    out = {}
    for prefix, _, _, _ in cfg.layer_shapes():
        scale = np.float32(cfg.omega0 if (cfg.activation == "sin" and prefix != "out") else 1.0)
        w = np.asarray(weights[f"{prefix}.weight"], np.float32)
        b = np.asarray(weights[f"{prefix}.bias"], np.float32).reshape(-1)
        out[prefix] = (np.ascontiguousarray(w * scale), np.ascontiguousarray(b * scale))
    return out


def coord_features(t: np.ndarray, cfg: SirenConfig) -> np.ndarray:
    """``(n,)`` coordinates in [0, 1] of one axis -> ``(n, coord_dim / 2)`` spatial-branch inputs of that axis
    (``t`` itself, or sin/cos(2^k pi t) for k < ``coord_octaves``, the layout of
    :func:`hdrkit.models.siren.encode_coords`), float64."""
    t = np.asarray(t, np.float64)
    if cfg.coord_octaves == 0:
        return t[:, None]
    ang = t[:, None] * (2.0 ** np.arange(cfg.coord_octaves) * math.pi)
    return np.concatenate([np.sin(ang), np.cos(ang)], axis=1)


def separable_tables(w0: Tuple[np.ndarray, np.ndarray], cfg: SirenConfig, height: int, width: int,
                     pad_to: int = 1) -> Tuple[np.ndarray, ...]:
    """``(sinA, cosA, sinB, cosB)`` of the separable first spatial layer (omega0 folded into ``w0 = (W, b)``):
    its pre-activation at pixel (x, y) is ``A[:, x] + B[:, y]`` with ``x = linspace(0, 1, width)``,
    ``y = linspace(0, 1, height)``.  Computed in float64, stored float32 C-contiguous; the column tables are
    zero-padded to a multiple of ``pad_to`` columns."""
    W0 = np.asarray(w0[0], np.float64)
    b0 = np.asarray(w0[1], np.float64).reshape(-1)
    half = W0.shape[1] // 2 if cfg.coord_octaves else 1  # x inputs first, then y inputs
    A = W0[:, :half] @ coord_features(np.linspace(0, 1, width), cfg).T + b0[:, None]
    B = W0[:, half:] @ coord_features(np.linspace(0, 1, height), cfg).T
    wp = -(-width // pad_to) * pad_to
    tabs = []
    for t, n in ((np.sin(A), wp), (np.cos(A), wp), (np.sin(B), height), (np.cos(B), height)):
        a = np.zeros((t.shape[0], n), np.float32)
        a[:, : t.shape[1]] = t
        tabs.append(a)
    return tuple(tabs)


def default_threads() -> int:
    """Worker threads of a decode when the caller does not say: torch's intra-op count when torch is already
    loaded (so ``torch.set_num_threads`` keeps its meaning), else ``OMP_NUM_THREADS``, else the usable cores."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, torch.get_num_threads())
    env = os.environ.get("OMP_NUM_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def prefaulted_empty(shape) -> np.ndarray:
    """``np.empty(shape, float32)`` for a large output frame, cheap to fill: where transparent huge pages are
    on (numpy asks for them on large arrays), a plain ``np.empty`` -- a 4K frame's 100 MB then takes ~50 page
    faults of 2 MB, taken by the worker threads as they write (~0.01 s less CPU than mapping it up front);
    elsewhere its pages are mapped up front (``MAP_POPULATE``): ~25,000 faults of 4 KB while the tiles are
    written cost ~0.15-0.25 s here, against ~0.03 s populated."""
    import mmap

    size = int(np.prod(shape)) * 4
    flags = getattr(mmap, "MAP_POPULATE", None)
    if flags is None or size < (1 << 22) or _huge_pages():
        return np.empty(shape, np.float32)
    try:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)
    except (OSError, ValueError, AttributeError):
        return np.empty(shape, np.float32)
    return np.frombuffer(buf, np.float32).reshape(shape)


@functools.lru_cache(maxsize=1)
def _huge_pages() -> bool:
    """Whether numpy's large arrays get transparent huge pages (Linux THP "always" or "madvise", and numpy's
    ``madvise(MADV_HUGEPAGE)`` on)."""
    try:
        mode = open("/sys/kernel/mm/transparent_hugepage/enabled").read()
        core = getattr(np, "_core", None) or np.core  # numpy 2 / 1.x
        return ("[always]" in mode or "[madvise]" in mode) and bool(core.multiarray._get_madvise_hugepage())
    except (OSError, AttributeError):
        return False


def decode(kernel: Kernel, weights: Dict[str, np.ndarray], rgb: np.ndarray, cfg: SirenConfig, chunk: int,
           progress=None, threads: Optional[int] = None) -> np.ndarray:
    """Run the network on every pixel: ``rgb`` ``(H, W, 3)`` float32 SDR code values in [0, 1] -> ``(H, W, 3)``
    float32 PQ code values (unclipped).  Rows are split over ``threads`` (default :func:`default_threads`)
    worker threads, each with its own scratch (the kernel releases the GIL); progress per ``chunk`` pixels."""
    H, W, _ = rgb.shape
    w = folded_weights(weights, cfg)
    packed = pack_weights(kernel.layout, w)
    tables = separable_tables(w["spatial.0"], cfg, H, W, pad_to=kernel.layout.pb)
    rgb = np.ascontiguousarray(rgb, dtype=np.float32)
    out = prefaulted_empty((H, W, 3))
    return run_rows(kernel, rgb, out, tables, packed, max(1, chunk // W), threads, progress)


def run_rows(kernel, src: np.ndarray, out: np.ndarray, tables, packed: np.ndarray, rows: int,
             threads: Optional[int] = None, progress=None) -> np.ndarray:
    """Drive a fused row kernel (``kernel.rows(src, out, r0, r1, tables, packed, scratch)``) over all rows of
    ``out``, ``rows`` at a time, on ``threads`` worker threads (default :func:`default_threads`; the kernel
    releases the GIL), each with its own ``kernel.scratch()``; progress once per block.  Returns ``out``."""
    from hdrkit.progress import report

    H = out.shape[0]
    threads = max(1, min(threads or default_threads(), -(-H // rows)))
    if threads == 1:
        scratch = kernel.scratch()
        for r0 in range(0, H, rows):
            r1 = min(H, r0 + rows)
            kernel.rows(src, out, r0, r1, tables, packed, scratch)
            report(progress, r1, H, "decoding")
        return out
    import threading
    from concurrent.futures import ThreadPoolExecutor

    local = threading.local()

    def run(r0: int) -> None:
        if not hasattr(local, "scratch"):
            local.scratch = kernel.scratch()
        kernel.rows(src, out, r0, min(H, r0 + rows), tables, packed, local.scratch)

    done = 0
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(run, range(0, H, rows)):
            done += 1
            report(progress, min(H, done * rows), H, "decoding")
    return out
