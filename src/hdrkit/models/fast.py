"""Fast, bounded-memory decoding of a whole image with the embedded SIREN.

Exactness: :func:`decode_pq` computes the same function as :func:`hdrkit.models.siren.forward` at every pixel
(differences are float32 rounding, ~1e-6); nothing is interpolated or precomputed on a coarse grid.  What makes
it fast:

* ``omega0`` is folded into the weights and biases once, so each sine layer is ``sin_(addmm(b, W, h))``.
* Feature-major layout (activations ``(features, N)``) with a constant row of ones under each layer's input so
  the bias rides in the GEMM; the branch outputs are written straight into the two halves of the merge input
  (no ``torch.cat``), every GEMM and sine runs in place in buffers allocated once, and chunks stay in cache.
* The first spatial layer is separable: its pre-activation is ``A[x] + B[y]`` (one term per column, one per
  row), and ``sin(A + B) = sin A cos B + cos A sin B``.  Only ``W + H`` sines are evaluated for that layer instead
  of ``W * H``; per pixel it costs two multiply-adds.  This is an identity, not an approximation.

Three CPU paths, fastest first: the fused whole-network kernel (:mod:`hdrkit.models._fusednet`, every layer on
L1-resident blocks of 32 pixels with bias and sine applied in registers; the default wherever llvmlite can
compile it), the layer-by-layer path (BLAS GEMMs + numba/LLVM sine passes on tiles), and plain torch (also the
CUDA path).

Memory (torch path): besides the input and the output, a decode holds ``~(2*64 + 64 + 3) * chunk`` floats (~6 MB at the
default chunk) plus the ``(W + H) * 64 * 2`` row/column tables.
"""

from __future__ import annotations

import mmap
import time
from typing import Optional

import numpy as np
import torch
from torch import Tensor

from hdrkit._array import resolve_device
from hdrkit.errors import InputError
from hdrkit.models import _fastsin, _fusednet, _simdsin
from hdrkit.models.siren import Params, SirenConfig, encode_coords
from hdrkit.progress import ProgressFn, report

#: Default number of pixels per chunk on the CPU (rounded to whole rows).
DEFAULT_CHUNK = 8192
#: Default chunk on a GPU: large enough to keep it busy, ~0.8 GB of activations.
GPU_CHUNK = 1 << 20
#: Pixels per tile of the numba path (a tile's activations stay in L2; tuned by measurement on 4K frames).
TILE = 1024


def forward_flops(cfg: SirenConfig = SirenConfig()) -> int:
    """Multiply-add FLOPs (2 per MAC) of one pixel's forward pass through all linear layers."""
    return sum(2 * fin * fout for _, fin, fout, _ in cfg.layer_shapes())


def _prepare(params: Params, cfg: SirenConfig, device, dtype=torch.float32) -> dict:
    """Fold omega0 into sine layers; return weights as contiguous tensors on ``device``."""
    w = {}
    for prefix, _, _, _ in cfg.layer_shapes():
        scale = cfg.omega0 if (cfg.activation == "sin" and prefix != "out") else 1.0
        w[prefix] = (
            (params[f"{prefix}.weight"].detach().to(device, dtype) * scale).contiguous(),
            (params[f"{prefix}.bias"].detach().to(device, dtype) * scale).contiguous()[:, None],
        )
    return w


def _act_(x: Tensor, cfg: SirenConfig) -> Tensor:
    return x.sin_() if cfg.activation == "sin" else x.relu_()


def decode_path(cfg: SirenConfig = SirenConfig(), device: str | torch.device | None = None) -> str:
    """Which path :func:`decode_pq` takes by default for ``cfg`` on ``device`` (compiles the fused kernel if
    that is the one): "fused LLVM kernel", "numba layers" or "torch"."""
    device = resolve_device(device)
    if device.type == "cpu" and _fused_kernel(cfg) is not None:
        return "fused LLVM kernel"
    if device.type == "cpu" and _fastsin.AVAILABLE and cfg.activation == "sin":
        return "numba layers"
    return "torch"


@torch.no_grad()
def decode_pq(
    params: Params,
    sdr: np.ndarray | Tensor,
    cfg: SirenConfig = SirenConfig(),
    *,
    chunk: Optional[int] = None,
    device: str | torch.device | None = None,
    progress: Optional[ProgressFn] = None,
    use_numba: Optional[bool] = None,
) -> np.ndarray:
    """Run the network on every pixel of ``sdr``.

    ``use_numba``: None picks, for sine networks on the CPU, the fused whole-network kernel
    (:mod:`hdrkit.models._fusednet`, rows split over torch's thread count), else the layer-by-layer numba
    kernels (:mod:`hdrkit.models._fastsin`) when numba imports, else the torch path; True forces the numba
    layer path, False the torch path.

    ``chunk``: pixels per chunk (rounded to whole rows; default :data:`DEFAULT_CHUNK` on the CPU,
    :data:`GPU_CHUNK` elsewhere, where the whole frame and output also live on the device).

    sdr: ``(H, W, 3)`` SDR code values in [0, 1] (float) or uint8 (divided by 255).
    Returns ``(H, W, 3)`` float32 PQ code values, unclipped (numpy, on the host).
    """
    if isinstance(sdr, np.ndarray):
        if sdr.dtype == np.uint8:
            sdr = sdr.astype(np.float32) / 255.0
        sdr_t = torch.from_numpy(np.ascontiguousarray(sdr, dtype=np.float32))
    else:
        sdr_t = sdr.detach().float()
    if sdr_t.ndim != 3 or sdr_t.shape[2] != 3:
        raise InputError(f"decode needs an H x W x 3 image, got shape {tuple(sdr_t.shape)}")
    device = resolve_device(device)
    if chunk is None:
        chunk = DEFAULT_CHUNK if device.type == "cpu" else GPU_CHUNK
    if device.type == "cpu" and sdr_t.device.type != "cpu":
        sdr_t = sdr_t.cpu()
    if chunk < 1:
        raise InputError(f"chunk must be positive, got {chunk}")
    path = decode_path(cfg, device) if use_numba is None else ("numba layers" if use_numba else "torch")
    if path == "fused LLVM kernel":
        return _decode_fused(params, sdr_t, cfg, chunk, progress)
    if path == "numba layers":
        return _decode_numba(params, sdr_t, cfg, chunk, progress)
    H, W, _ = sdr_t.shape
    w = _prepare(params, cfg, device)
    if device.type != "cpu":  # one copy each way instead of one per chunk
        sdr_t = sdr_t.to(device)
    out = torch.empty((H, W, 3), dtype=torch.float32, device=sdr_t.device)

    # Separable first spatial layer: pre-activation = A[:, x] + B[:, y] (feature-major).
    W0, b0 = w["spatial.0"]  # (F, coord_dim), (F, 1)
    xs = torch.linspace(0, 1, W, device=device)
    ys = torch.linspace(0, 1, H, device=device)
    zeros_x, zeros_y = torch.zeros_like(xs), torch.zeros_like(ys)
    fx = encode_coords(torch.stack([xs, zeros_x], -1), cfg)  # (W, D)
    fy = encode_coords(torch.stack([zeros_y, ys], -1), cfg)  # (H, D)
    D = cfg.coord_dim
    xmask = torch.zeros(D, device=device)
    if cfg.coord_octaves == 0:
        xmask[0] = 1
    else:
        xmask[: D // 2] = 1
    A = (W0 * xmask) @ fx.T + b0  # (F, W)
    B = (W0 * (1 - xmask)) @ fy.T  # (F, H)
    sinA, cosA, sinB, cosB = A.sin(), A.cos(), B.sin(), B.cos()

    rows = max(1, chunk // W)
    n_max = rows * W
    c_last, s_last = cfg.color[-1], cfg.spatial[-1]
    n_color, n_spatial, n_merge = len(cfg.color), len(cfg.spatial), len(cfg.merge)

    def aug(prefix):  # [W | b]: the bias rides on a constant row of ones at the end of each input buffer
        Wl, bl = w[prefix]
        return torch.cat([Wl, bl], 1).contiguous()

    def buffer(features):
        b = torch.empty((features + 1, n_max), device=device)
        b[features].fill_(1.0)
        return b

    # one buffer per layer output (+ ones row); the last layers of both branches write into the merge input
    cat = buffer(c_last + s_last)
    color_bufs = [buffer(f) for f in cfg.color[:-1]]
    spatial_bufs = [buffer(f) for f in cfg.spatial[:-1]]
    merge_bufs = [buffer(f) for f in cfg.merge]
    col_w = [aug(f"color.{i}") for i in range(1, n_color)]
    sp_w = [aug(f"spatial.{i}") for i in range(1, n_spatial)]
    mg_w = [aug(f"merge.{i}") for i in range(n_merge)]
    out_w = aug("out")
    W_c0, b_c0 = w["color.0"]
    res = torch.empty((3, n_max), device=device)
    F0 = cfg.spatial[0]

    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        n = (r1 - r0) * W
        rgb = sdr_t[r0:r1].reshape(n, 3)
        # colour branch
        dst = cat[:c_last, :n] if n_color == 1 else color_bufs[0][:-1, :n]
        torch.addmm(b_c0, W_c0, rgb.T, out=dst)
        _act_(dst, cfg)
        for i in range(1, n_color):
            src = color_bufs[i - 1][:, :n]
            dst = cat[:c_last, :n] if i == n_color - 1 else color_bufs[i][:-1, :n]
            torch.mm(col_w[i - 1], src, out=dst)
            _act_(dst, cfg)
        # spatial branch, first layer separable: sin(A[x] + B[y]) = sin A cos B + cos A sin B
        dst = cat[c_last:c_last + s_last, :n] if n_spatial == 1 else spatial_bufs[0][:-1, :n]
        d3 = dst.view(F0, r1 - r0, W)
        if cfg.activation == "sin":
            torch.mul(sinA[:, None, :], cosB[:, r0:r1, None], out=d3)
            d3.addcmul_(cosA[:, None, :], sinB[:, r0:r1, None])
        else:
            torch.add(A[:, None, :], B[:, r0:r1, None], out=d3)
            d3.relu_()
        for i in range(1, n_spatial):
            src = spatial_bufs[i - 1][:, :n]
            dst = cat[c_last:c_last + s_last, :n] if i == n_spatial - 1 else spatial_bufs[i][:-1, :n]
            torch.mm(sp_w[i - 1], src, out=dst)
            _act_(dst, cfg)
        # merge
        src = cat[:, :n]
        for i in range(n_merge):
            dst = merge_bufs[i][:-1, :n]
            torch.mm(mg_w[i], src, out=dst)
            _act_(dst, cfg)
            src = merge_bufs[i][:, :n]
        torch.mm(out_w, src, out=res[:, :n])
        out[r0:r1].view(n, 3).copy_(res[:, :n].T)
        report(progress, r1, H, "decoding")
    return out.cpu().numpy()


def _prefaulted_empty(shape) -> np.ndarray:
    """``np.empty(shape, float32)`` whose pages are mapped up front (``MAP_POPULATE``): a 4K frame's 100 MB
    output otherwise takes ~25,000 page faults while the tiles are written (measured ~0.15-0.25 s here, against
    ~0.03 s populated).  Falls back to ``np.empty`` where the flag is missing."""
    size = int(np.prod(shape)) * 4
    flags = getattr(mmap, "MAP_POPULATE", None)
    if flags is None or size < (1 << 22):
        return np.empty(shape, np.float32)
    try:
        buf = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | flags)
    except (OSError, ValueError, AttributeError):
        return np.empty(shape, np.float32)
    return np.frombuffer(buf, np.float32).reshape(shape)


def _separable_tables(w0: tuple, cfg: SirenConfig, height: int, width: int, pad_to: int = 1) -> tuple:
    """``(sinA, cosA, sinB, cosB)`` of the separable first spatial layer (omega0 folded into ``w0 = (W, b)``):
    its pre-activation at pixel (x, y) is ``A[:, x] + B[:, y]``.  float32, C-contiguous; the column tables
    are zero-padded to a multiple of ``pad_to`` columns."""
    W0, b0 = (torch.from_numpy(np.asarray(a)) for a in w0)
    xs, ys = torch.linspace(0, 1, width), torch.linspace(0, 1, height)
    fx = encode_coords(torch.stack([xs, torch.zeros_like(xs)], -1), cfg)
    fy = encode_coords(torch.stack([torch.zeros_like(ys), ys], -1), cfg)
    D = cfg.coord_dim
    xmask = torch.zeros(D)
    if cfg.coord_octaves == 0:
        xmask[0] = 1
    else:
        xmask[: D // 2] = 1
    A = (W0 * xmask) @ fx.T + b0.reshape(-1, 1)
    B = (W0 * (1 - xmask)) @ fy.T
    wp = -(-width // pad_to) * pad_to
    tabs = []
    for t, n in ((A.sin(), wp), (A.cos(), wp), (B.sin(), height), (B.cos(), height)):
        a = np.zeros((t.shape[0], n), np.float32)
        a[:, : t.shape[1]] = t.numpy()
        tabs.append(a)
    return tuple(tabs)


def _fused_kernel(cfg: SirenConfig):
    """The compiled whole-network kernel for ``cfg`` (None where it cannot be built or ``cfg`` is not a sine
    network)."""
    if cfg.activation != "sin":
        return None
    return _fusednet.build(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge))


def _decode_fused(params: Params, sdr_t: Tensor, cfg: SirenConfig, chunk: int, progress: Optional[ProgressFn],
                  kernel=None, threads: Optional[int] = None) -> np.ndarray:
    """Sine networks on the CPU through :mod:`hdrkit.models._fusednet`: one compiled kernel runs every layer on
    blocks of pixels held in L1.  Rows are split over ``threads`` (default: torch's intra-op thread count)
    worker threads, each with its own scratch (the kernel releases the GIL); progress per ``chunk`` pixels."""
    k = kernel or _fused_kernel(cfg)
    H, W, _ = sdr_t.shape
    w = {n: (a.numpy(), b.numpy()[:, 0].copy()) for n, (a, b) in _prepare(params, cfg, "cpu").items()}
    weights = _fusednet.pack_weights(k.layout, w)
    tables = _separable_tables(w["spatial.0"], cfg, H, W, pad_to=k.layout.pb)
    rgb = np.ascontiguousarray(sdr_t.numpy(), dtype=np.float32)
    out = _prefaulted_empty((H, W, 3))
    rows = max(1, chunk // W)
    threads = max(1, min(threads or torch.get_num_threads(), -(-H // rows)))
    if threads == 1:
        scratch = k.scratch()
        for r0 in range(0, H, rows):
            r1 = min(H, r0 + rows)
            k.rows(rgb, out, r0, r1, tables, weights, scratch)
            report(progress, r1, H, "decoding")
        return out
    from concurrent.futures import ThreadPoolExecutor
    import threading

    local = threading.local()

    def run(r0):
        if not hasattr(local, "scratch"):
            local.scratch = k.scratch()
        r1 = min(H, r0 + rows)
        k.rows(rgb, out, r0, r1, tables, weights, local.scratch)
        return r1

    done = 0
    with ThreadPoolExecutor(threads) as pool:
        for _ in pool.map(run, range(0, H, rows)):
            done += 1
            report(progress, min(H, done * rows), H, "decoding")
    return out


def _decode_numba(params: Params, sdr_t: Tensor, cfg: SirenConfig, chunk: int,
                  progress: Optional[ProgressFn], use_simd: Optional[bool] = None) -> np.ndarray:
    """Sine networks on the CPU: BLAS (torch.mm) for the layers with K >= 8 inputs, numba kernels for the sine
    (fused with the bias add), the colour input layer, the separable spatial input layer and the output layer.
    Tiles of :data:`TILE` pixels run through the whole network; ``chunk`` only sets the progress granularity."""
    k = _fastsin
    H, W, _ = sdr_t.shape
    w = {n: (a.numpy(), b.numpy()[:, 0].copy()) for n, (a, b) in _prepare(params, cfg, "cpu").items()}
    rgb = sdr_t.reshape(H * W, 3).numpy()
    out = _prefaulted_empty((H, W, 3))
    out_flat = out.reshape(H * W, 3)

    sinA, cosA, sinB, cosB = _separable_tables(w["spatial.0"], cfg, H, W)

    simd = _simdsin.KERNEL if use_simd is None or use_simd else None
    if _simdsin.COLOR_KERNEL is None:
        simd = None
    T = -(-TILE // _simdsin.LANES) * _simdsin.LANES  # whole vectors per row for the SIMD sine
    c_last, s_last = cfg.color[-1], cfg.spatial[-1]
    n_col, n_sp = len(cfg.color) - 1, len(cfg.spatial) - 1  # hidden layers after the input layer
    cat = np.empty((c_last + s_last, T), np.float32)
    col = [np.empty((f, T), np.float32) for f in cfg.color[:-1]] + [cat[:c_last]]
    spa = [np.empty((f, T), np.float32) for f in cfg.spatial[:-1]] + [cat[c_last:]]
    mrg = [np.empty((f, T), np.float32) for f in cfg.merge]
    planar = np.empty((3, T), np.float32)
    acc = np.empty((3, T), np.float32)
    # GEMMs of a tile in order, as (weight, input buffer, output buffer); then the output layer
    last = mrg[-1] if cfg.merge else cat
    gemms = ([(f"color.{i}", col[i - 1], col[i]) for i in range(1, n_col + 1)]
             + [(f"spatial.{i}", spa[i - 1], spa[i]) for i in range(1, n_sp + 1)]
             + [(f"merge.{i}", cat if i == 0 else mrg[i - 1], mrg[i]) for i in range(len(cfg.merge))]
             + [("out", last, acc)])
    gemms = [(torch.from_numpy(w[name][0]), src, dst) for name, src, dst in gemms]
    # sine + bias after the GEMMs: (buffer, bias); the last layers of both branches share one call on ``cat``
    sines = [(col[i], w[f"color.{i}"][1]) for i in range(1, n_col)]
    sines += [(spa[i], w[f"spatial.{i}"][1]) for i in range(1, n_sp)]
    if n_col and n_sp:
        sines.append((cat, np.concatenate([w[f"color.{n_col}"][1], w[f"spatial.{n_sp}"][1]])))
    elif n_col:
        sines.append((cat[:c_last], w[f"color.{n_col}"][1]))
    elif n_sp:
        sines.append((cat[c_last:], w[f"spatial.{n_sp}"][1]))
    sines += [(mrg[i], w[f"merge.{i}"][1]) for i in range(len(cfg.merge))]
    # a step is a GEMM (index into gemms) or a sine (index into sines), in dependency order
    steps = []
    for j in range(n_col):
        steps.append(("mm", j))
        if j < n_col - 1:
            steps.append(("sin", j))
    for j in range(n_sp):
        steps.append(("mm", n_col + j))
        if j < n_sp - 1:
            steps.append(("sin", n_col - 1 + j if n_col else j))
    n_branch_sines = len(sines) - len(cfg.merge)
    steps += [("sin", i) for i in range(max(0, n_col - 1) + max(0, n_sp - 1), n_branch_sines)]
    for i in range(len(cfg.merge)):
        steps += [("mm", n_col + n_sp + i), ("sin", n_branch_sines + i)]
    steps.append(("mm", len(gemms) - 1))
    assert sorted(i for s, i in steps if s == "mm") == list(range(len(gemms)))
    assert sorted(i for s, i in steps if s == "sin") == list(range(len(sines)))
    full = [(wt, torch.from_numpy(src), torch.from_numpy(dst)) for wt, src, dst in gemms]
    wc, bc = w["color.0"]
    b_out = w["out"][1]
    sin_bias_ = k.sin_bias_
    color_simd = _simdsin.COLOR_KERNEL
    col0_args = (planar.ctypes.data, planar.strides[0] // 4, wc.ctypes.data, bc.ctypes.data, col[0].ctypes.data,
                 col[0].shape[0], col[0].strides[0] // 4)
    sine_args = [(buf.ctypes.data, bias.ctypes.data, buf.shape[0], buf.strides[0] // 4) for buf, bias in sines]

    rows = max(1, chunk // W)  # progress is reported per block of ``rows`` rows; tiles run across row ends
    next_row = min(H, rows)
    for p0 in range(0, H * W, T):
        n = min(T, H * W - p0)
        views = full if n == T else [
            (wt, torch.from_numpy(src[:, :n]), torch.from_numpy(dst[:, :n])) for wt, src, dst in gemms]
        if simd is not None:
            k.planar_separable(rgb, p0, n, planar, sinA, cosA, sinB, cosB, W, spa[0])
            color_simd(*col0_args, n)
        else:
            k.first_layers(rgb, p0, n, wc, bc, planar, col[0], sinA, cosA, sinB, cosB, W, spa[0], True)
        for kind, i in steps:
            if kind == "mm":
                wt, src, dst = views[i]
                torch.mm(wt, src, out=dst)
            elif simd is not None:
                simd(*sine_args[i], n)
            else:
                buf, bias = sines[i]
                sin_bias_(buf, bias, n)
        k.interleave_bias(acc, n, b_out, out_flat, p0)
        while next_row * W <= p0 + n and progress is not None:
            report(progress, next_row, H, "decoding")
            if next_row == H:
                break
            next_row = min(H, next_row + rows)
    return out


def measure_matmul_gflops(size: int = 1024, seconds: float = 0.5) -> float:
    """Measured fp32 square-GEMM throughput (GFLOP/s) with the current torch thread setting: the GEMM bound."""
    a = torch.randn(size, size)
    b = torch.randn(size, size)
    c = torch.empty(size, size)
    torch.mm(a, b, out=c)  # warm-up
    n, t0 = 0, time.perf_counter()
    best = 0.0
    while True:
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        dt = time.perf_counter() - t
        best = max(best, 2 * size**3 / dt / 1e9)
        n += 1
        if time.perf_counter() - t0 > seconds and n >= 3:
            break
    return best


def sustained_gemm_seconds(flops: float, size: int = 1024) -> float:
    """Wall time of ``flops`` worth of back-to-back fp32 ``size``-square GEMMs (rounded to whole GEMMs, then
    scaled to ``flops``): the GEMM bound measured the way a decode is, over one long run rather than as the
    best short burst of :func:`measure_matmul_gflops`."""
    a, b, c = torch.randn(size, size), torch.randn(size, size), torch.empty(size, size)
    torch.mm(a, b, out=c)
    n = max(1, round(flops / (2 * size**3)))
    t = time.perf_counter()
    for _ in range(n):
        torch.mm(a, b, out=c)
    return (time.perf_counter() - t) * flops / (n * 2 * size**3)


def gemm_bound_seconds(height: int, width: int, cfg: SirenConfig = SirenConfig(),
                       gflops: Optional[float] = None) -> float:
    """FLOPs of a full-image forward pass divided by the measured matmul throughput."""
    g = gflops if gflops is not None else measure_matmul_gflops()
    return forward_flops(cfg) * height * width / (g * 1e9)
