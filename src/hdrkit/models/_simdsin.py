"""A 16-lane float32 ``x = sin(x + b[row])`` kernel written as explicit LLVM vector IR and compiled with
llvmlite (numba's backend) for the host CPU.  Numba's auto-vectoriser stops at 256-bit vectors on AVX-512
machines (LLVM's ``prefer-256-bit`` tuning); written with ``<16 x float>`` the same sine runs at full width.

Same algorithm as :func:`hdrkit.models._fastsin._sin`, except that the reduction by pi needs only two parts
(``float32(pi)`` and the float32 remainder): the FMA forms ``k * pi_hi`` exactly.  Odd degree-9 polynomial, sign from the parity of the rounded quotient).  Rows are processed in whole 16-lane
vectors, so up to 15 values past ``n`` in each row are overwritten with garbage: callers pass buffers whose rows
have room (the decoder's tiles are a multiple of 16 wide).  ``KERNEL`` is None where anything fails (no
llvmlite, an unknown target); the numba kernel is used then.
"""

from __future__ import annotations

import ctypes
import struct

import numpy as np

LANES = 16

_CONST = {
    "INV_PI": 0.31830988618379067, "MAGIC": 12582912.0, "NPI_A": -3.1415927410125732, "NPI_B": 8.742277657347586e-08, "C3": -0.16666665966597144, "C5": 0.008333242337326754,
    "C7": -0.00019822761328051785, "C9": 2.6348153720490343e-06,
}


def _f32_hex(v: float) -> str:  # LLVM spells float constants as the hex of the equal double
    f = struct.unpack("<f", struct.pack("<f", v))[0]
    return "0x%016X" % struct.unpack("<Q", struct.pack("<d", f))[0]


def _ir() -> str:
    vt = f"<{LANES} x float>"
    it = f"<{LANES} x i32>"

    def splat(v: float) -> str:
        return f"<{', '.join(['float ' + _f32_hex(v)] * LANES)}>"

    c = {k: splat(v) for k, v in _CONST.items()}
    s31 = f"<{', '.join(['i32 31'] * LANES)}>"
    return f"""
declare {vt} @llvm.fma.v{LANES}f32({vt}, {vt}, {vt})

define void @sin_bias_rows(float* %x, float* %b, i64 %rows, i64 %stride, i64 %n) #0 {{
entry:
  %nv = add i64 %n, {LANES - 1}
  %nvec = lshr i64 %nv, {LANES.bit_length() - 1}
  %anyrow = icmp sgt i64 %rows, 0
  %anyvec = icmp sgt i64 %nvec, 0
  %go = and i1 %anyrow, %anyvec
  br i1 %go, label %row, label %done
row:
  %f = phi i64 [0, %entry], [%f1, %rowend]
  %bp = getelementptr float, float* %b, i64 %f
  %bs = load float, float* %bp
  %bi = insertelement {vt} undef, float %bs, i32 0
  %bv = shufflevector {vt} %bi, {vt} undef, <{LANES} x i32> zeroinitializer
  %off = mul i64 %f, %stride
  %rp = getelementptr float, float* %x, i64 %off
  %rv = bitcast float* %rp to {vt}*
  br label %vec
vec:
  %j = phi i64 [0, %row], [%j1, %vec]
  %p = getelementptr {vt}, {vt}* %rv, i64 %j
  %x0 = load {vt}, {vt}* %p, align 4
  %xa = fadd {vt} %x0, %bv
  %t = call {vt} @llvm.fma.v{LANES}f32({vt} %xa, {vt} {c['INV_PI']}, {vt} {c['MAGIC']})
  %k = fsub {vt} %t, {c['MAGIC']}
  %r1 = call {vt} @llvm.fma.v{LANES}f32({vt} %k, {vt} {c['NPI_A']}, {vt} %xa)
  %r = call {vt} @llvm.fma.v{LANES}f32({vt} %k, {vt} {c['NPI_B']}, {vt} %r1)
  %rr = fmul {vt} %r, %r
  %q1 = call {vt} @llvm.fma.v{LANES}f32({vt} %rr, {vt} {c['C9']}, {vt} {c['C7']})
  %q2 = call {vt} @llvm.fma.v{LANES}f32({vt} %q1, {vt} %rr, {vt} {c['C5']})
  %q3 = call {vt} @llvm.fma.v{LANES}f32({vt} %q2, {vt} %rr, {vt} {c['C3']})
  %r3 = fmul {vt} %rr, %r
  %s = call {vt} @llvm.fma.v{LANES}f32({vt} %r3, {vt} %q3, {vt} %r)
  %ti = bitcast {vt} %t to {it}
  %sg = shl {it} %ti, {s31}
  %si = bitcast {vt} %s to {it}
  %ri = xor {it} %si, %sg
  %res = bitcast {it} %ri to {vt}
  store {vt} %res, {vt}* %p, align 4
  %j1 = add i64 %j, 1
  %jd = icmp eq i64 %j1, %nvec
  br i1 %jd, label %rowend, label %vec
rowend:
  %f1 = add i64 %f, 1
  %fd = icmp eq i64 %f1, %rows
  br i1 %fd, label %done, label %row
done:
  ret void
}}

attributes #0 = {{ nounwind }}
"""


def _build():
    import llvmlite.binding as llvm

    try:
        llvm.initialize()
    except RuntimeError:  # newer llvmlite initialises itself
        pass
    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    mod = llvm.parse_assembly(_ir())
    mod.verify()
    target = llvm.Target.from_default_triple()
    tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                      opt=3)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    addr = engine.get_function_address("sin_bias_rows")
    fn = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                          ctypes.c_int64)(addr)
    return fn, (engine, mod, tm)


try:
    KERNEL, _KEEP = _build()
except Exception:  # pragma: no cover - no llvmlite or an unsupported target: the numba kernel is used
    KERNEL, _KEEP = None, None


def sin_bias_(x: np.ndarray, b: np.ndarray, n: int) -> None:
    """In place ``x[f, :n] = sin(x[f, :n] + b[f])`` (float32, rows contiguous, room for whole vectors)."""
    assert x.dtype == np.float32 and b.dtype == np.float32 and x.strides[1] == 4 and b.shape[0] >= x.shape[0]
    assert -(-n // LANES) * LANES <= x.strides[0] // 4 or x.shape[0] <= 1
    KERNEL(x.ctypes.data, b.ctypes.data, x.shape[0], x.strides[0] // 4, n)
