"""A 16-lane float32 ``x = sin(x + b[row])`` kernel written as explicit LLVM vector IR and compiled with
llvmlite (numba's backend) for the host CPU.  Numba's auto-vectoriser stops at 256-bit vectors on AVX-512
machines (LLVM's ``prefer-256-bit`` tuning); written with ``<16 x float>`` the same sine runs at full width.

Same algorithm as :func:`hdrkit.models._fastsin._sin`, except that the reduction by pi needs only two parts
(``float32(pi)`` and the float32 remainder): the FMA forms ``k * pi_hi`` exactly.  Odd degree-9 polynomial, sign from the parity of the rounded quotient).  ``color_sin_rows`` is the colour branch's input layer
(3 inputs, planar) fused with its sine.  Rows are processed in whole 16-lane
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
    def sine(x: str, tag: str) -> str:  # IR computing %res{tag} = sin(x)
        return f"""
  %t{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} {x}, {vt} {c['INV_PI']}, {vt} {c['MAGIC']})
  %k{tag} = fsub {vt} %t{tag}, {c['MAGIC']}
  %r1{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %k{tag}, {vt} {c['NPI_A']}, {vt} {x})
  %r{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %k{tag}, {vt} {c['NPI_B']}, {vt} %r1{tag})
  %rr{tag} = fmul {vt} %r{tag}, %r{tag}
  %q1{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %rr{tag}, {vt} {c['C9']}, {vt} {c['C7']})
  %q2{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %q1{tag}, {vt} %rr{tag}, {vt} {c['C5']})
  %q3{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %q2{tag}, {vt} %rr{tag}, {vt} {c['C3']})
  %r3{tag} = fmul {vt} %rr{tag}, %r{tag}
  %s{tag} = call {vt} @llvm.fma.v{LANES}f32({vt} %r3{tag}, {vt} %q3{tag}, {vt} %r{tag})
  %ti{tag} = bitcast {vt} %t{tag} to {it}
  %sg{tag} = shl {it} %ti{tag}, {s31}
  %si{tag} = bitcast {vt} %s{tag} to {it}
  %ri{tag} = xor {it} %si{tag}, %sg{tag}
  %res{tag} = bitcast {it} %ri{tag} to {vt}
"""

    def splat_load(ptr: str, idx: str, tag: str) -> str:  # IR: %{tag} = <LANES x float> of ptr[idx]
        return f"""
  %{tag}p = getelementptr float, float* {ptr}, i64 {idx}
  %{tag}s = load float, float* %{tag}p
  %{tag}i = insertelement {vt} undef, float %{tag}s, i32 0
  %{tag} = shufflevector {vt} %{tag}i, {vt} undef, <{LANES} x i32> zeroinitializer
"""

    def row_ptr(base: str, tag: str) -> str:  # IR: %{tag} = row %f of base (row stride %stride) as vectors
        return f"""
  %{tag}off = mul i64 %f, %stride
  %{tag}p = getelementptr float, float* {base}, i64 %{tag}off
  %{tag} = bitcast float* %{tag}p to {vt}*
"""

    # shared by both kernels: the vector count of a row, and the end of the vector and row loops
    head = f"""  %nv = add i64 %n, {LANES - 1}
  %nvec = lshr i64 %nv, {LANES.bit_length() - 1}
  %anyrow = icmp sgt i64 %rows, 0
  %anyvec = icmp sgt i64 %nvec, 0
  %go = and i1 %anyrow, %anyvec"""
    tail = """  %j1 = add i64 %j, 1
  %jd = icmp eq i64 %j1, %nvec
  br i1 %jd, label %rowend, label %vec
rowend:
  %f1 = add i64 %f, 1
  %fd = icmp eq i64 %f1, %rows
  br i1 %fd, label %done, label %row
done:
  ret void"""

    return f"""
declare {vt} @llvm.fma.v{LANES}f32({vt}, {vt}, {vt})

define void @sin_bias_rows(float* %x, float* %b, i64 %rows, i64 %stride, i64 %n) #0 {{
entry:
{head}
  br i1 %go, label %row, label %done
row:
  %f = phi i64 [0, %entry], [%f1, %rowend]
{splat_load('%b', '%f', 'bv')}
{row_ptr('%x', 'rv')}
  br label %vec
vec:
  %j = phi i64 [0, %row], [%j1, %vec]
  %p = getelementptr {vt}, {vt}* %rv, i64 %j
  %x0 = load {vt}, {vt}* %p, align 4
  %xa = fadd {vt} %x0, %bv
{sine('%xa', '')}  store {vt} %res, {vt}* %p, align 4
{tail}
}}

; out[f, i] = sin(w[f,0] r[i] + w[f,1] g[i] + w[f,2] b[i] + bias[f]), rgb planar with row stride %ldi
define void @color_sin_rows(float* %rgb, i64 %ldi, float* %w, float* %bias, float* %out, i64 %rows, i64 %stride,
                            i64 %n) #0 {{
entry:
{head}
  %gp = getelementptr float, float* %rgb, i64 %ldi
  %ldi2 = mul i64 %ldi, 2
  %bp = getelementptr float, float* %rgb, i64 %ldi2
  %rv = bitcast float* %rgb to {vt}*
  %gv = bitcast float* %gp to {vt}*
  %bv = bitcast float* %bp to {vt}*
  br i1 %go, label %row, label %done
row:
  %f = phi i64 [0, %entry], [%f1, %rowend]
  %f3 = mul i64 %f, 3
  %f31 = add i64 %f3, 1
  %f32 = add i64 %f3, 2
{splat_load('%w', '%f3', 'w0')}
{splat_load('%w', '%f31', 'w1')}
{splat_load('%w', '%f32', 'w2')}
{splat_load('%bias', '%f', 'bb')}
{row_ptr('%out', 'ov')}
  br label %vec
vec:
  %j = phi i64 [0, %row], [%j1, %vec]
  %pr = getelementptr {vt}, {vt}* %rv, i64 %j
  %pg = getelementptr {vt}, {vt}* %gv, i64 %j
  %pb = getelementptr {vt}, {vt}* %bv, i64 %j
  %xr = load {vt}, {vt}* %pr, align 4
  %xg = load {vt}, {vt}* %pg, align 4
  %xb = load {vt}, {vt}* %pb, align 4
  %a0 = call {vt} @llvm.fma.v{LANES}f32({vt} %w0, {vt} %xr, {vt} %bb)
  %a1 = call {vt} @llvm.fma.v{LANES}f32({vt} %w1, {vt} %xg, {vt} %a0)
  %xa = call {vt} @llvm.fma.v{LANES}f32({vt} %w2, {vt} %xb, {vt} %a1)
{sine('%xa', '')}
  %po = getelementptr {vt}, {vt}* %ov, i64 %j
  store {vt} %res, {vt}* %po, align 4
{tail}
}}

attributes #0 = {{ nounwind }}
"""


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


def _build():
    llvm, tm = init_llvm()
    mod = llvm.parse_assembly(_ir())
    mod.verify()
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    P, I = ctypes.c_void_p, ctypes.c_int64
    fn = ctypes.CFUNCTYPE(None, P, P, I, I, I)(engine.get_function_address("sin_bias_rows"))
    color = ctypes.CFUNCTYPE(None, P, I, P, P, P, I, I, I)(engine.get_function_address("color_sin_rows"))
    return fn, color, (engine, mod, tm)


try:
    KERNEL, COLOR_KERNEL, _KEEP = _build()
except Exception:  # pragma: no cover - no llvmlite or an unsupported target: the numba kernel is used
    KERNEL, COLOR_KERNEL, _KEEP = None, None, None


def sin_bias_(x: np.ndarray, b: np.ndarray, n: int) -> None:
    """In place ``x[f, :n] = sin(x[f, :n] + b[f])`` (float32, rows contiguous, room for whole vectors)."""
    assert x.dtype == np.float32 and b.dtype == np.float32 and x.strides[1] == 4 and b.shape[0] >= x.shape[0]
    assert -(-n // LANES) * LANES <= x.strides[0] // 4 or x.shape[0] <= 1
    KERNEL(x.ctypes.data, b.ctypes.data, x.shape[0], x.strides[0] // 4, n)
