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

Two paths: the fused whole-network CPU kernel (:mod:`hdrkit.models._fusednet`, every layer on L1-resident blocks
of 32 pixels with bias and sine applied in registers; numpy + llvmlite, no torch), the default for sine
networks on the CPU, and plain torch (ReLU networks, GPUs, and the fallback -- announced by a ``RuntimeWarning``
-- where the kernel cannot be built).  Torch is imported only when the torch path runs.

Memory (torch path): besides the input and the output, a decode holds ``~(2*64 + 64 + 3) * chunk`` floats (~6 MB at the
default chunk) plus the ``(W + H) * 64 * 2`` row/column tables.
"""

from __future__ import annotations

import time
from typing import Optional

import numpy as np

from hdrkit._array import is_torch
from hdrkit.errors import InputError
from hdrkit.models import _fusednet
from hdrkit.models.config import SirenConfig
from hdrkit.progress import ProgressFn, report

Params = dict  # name -> torch tensor or numpy array (canonical names, hdrkit.models.siren.param_names)

#: Default number of pixels per chunk on the CPU (rounded to whole rows).
DEFAULT_CHUNK = 8192
#: Default chunk on a GPU: large enough to keep it busy, ~0.8 GB of activations.
GPU_CHUNK = 1 << 20


def forward_flops(cfg: SirenConfig = SirenConfig()) -> int:
    """Multiply-add FLOPs (2 per MAC) of one pixel's forward pass through all linear layers."""
    return sum(2 * fin * fout for _, fin, fout, _ in cfg.layer_shapes())


def _prepare(params: Params, cfg: SirenConfig, device, dtype=None) -> dict:
    """Fold omega0 into sine layers; return weights as contiguous tensors on ``device``."""
    import torch

    dtype = dtype or torch.float32
    params = {k: torch.as_tensor(v) for k, v in params.items()}
    w = {}
    for prefix, _, _, _ in cfg.layer_shapes():
        scale = cfg.omega0 if (cfg.activation == "sin" and prefix != "out") else 1.0
        w[prefix] = (
            (params[f"{prefix}.weight"].detach().to(device, dtype) * scale).contiguous(),
            (params[f"{prefix}.bias"].detach().to(device, dtype) * scale).contiguous()[:, None],
        )
    return w


def _act_(x, cfg: SirenConfig):
    return x.sin_() if cfg.activation == "sin" else x.relu_()


def _is_cpu(device) -> bool:
    """True for the CPU (None, "cpu", a CPU ``torch.device``) without importing torch."""
    return device is None or str(device) == "cpu"


def decode_path(cfg: SirenConfig = SirenConfig(), device=None) -> str:
    """Which path :func:`decode_pq` takes for ``cfg`` on ``device`` (compiles the fused kernel if that is the
    one): "fused LLVM kernel" or "torch"."""
    if _is_cpu(device) and _fused_kernel(cfg) is not None:
        return "fused LLVM kernel"
    return "torch"


def decode_pq(
    params: Params,
    sdr,
    cfg: SirenConfig = SirenConfig(),
    *,
    chunk: Optional[int] = None,
    device=None,
    progress: Optional[ProgressFn] = None,
    threads: Optional[int] = None,
    use_torch: bool = False,
) -> np.ndarray:
    """Run the network on every pixel of ``sdr``.

    Sine networks on the CPU take the fused kernel (:mod:`hdrkit.models._fusednet`; rows split over ``threads``
    worker threads, default :func:`hdrkit.models._fusednet.default_threads`) without importing torch; everything
    else (or ``use_torch=True``) takes the torch path.  ``params``: torch tensors or numpy arrays.

    ``chunk``: pixels per chunk (rounded to whole rows; default :data:`DEFAULT_CHUNK` on the CPU,
    :data:`GPU_CHUNK` elsewhere, where the whole frame and output also live on the device).

    sdr: ``(H, W, 3)`` SDR code values in [0, 1] (float) or uint8 (divided by 255); numpy or torch.
    Returns ``(H, W, 3)`` float32 PQ code values, unclipped (numpy, on the host).
    """
    cpu = _is_cpu(device)
    if not cpu:
        from hdrkit._array import resolve_device

        device = resolve_device(device)
        cpu = device.type == "cpu"
    if chunk is None:
        chunk = DEFAULT_CHUNK if cpu else GPU_CHUNK
    if chunk < 1:
        raise InputError(f"chunk must be positive, got {chunk}")
    if is_torch(sdr):
        sdr = sdr.detach()
        if not cpu:
            return _decode_torch(params, sdr.float(), cfg, chunk, device, progress)
        sdr = sdr.cpu().numpy()
    sdr = np.asarray(sdr)
    if sdr.dtype == np.uint8:
        sdr = sdr.astype(np.float32) / np.float32(255.0)
    sdr = np.ascontiguousarray(sdr, dtype=np.float32)
    if sdr.ndim != 3 or sdr.shape[2] != 3:
        raise InputError(f"decode needs an H x W x 3 image, got shape {tuple(sdr.shape)}")
    kernel = None if (use_torch or not cpu) else _fused_kernel(cfg)
    if kernel is not None:
        weights = {k: (v.detach().cpu().numpy() if is_torch(v) else np.asarray(v)) for k, v in params.items()}
        return _fusednet.decode(kernel, weights, sdr, cfg, chunk, progress, threads)
    import torch

    return _decode_torch(params, torch.from_numpy(sdr), cfg, chunk, device or "cpu", progress)


def _decode_torch(params: Params, sdr_t, cfg: SirenConfig, chunk: int, device, progress) -> np.ndarray:
    """The torch path (any device, any activation)."""
    import torch

    from hdrkit._array import resolve_device

    device = resolve_device(device)
    if device.type == "cpu" and sdr_t.device.type != "cpu":
        sdr_t = sdr_t.cpu()
    with torch.no_grad():
        return _torch_layers(params, sdr_t, cfg, chunk, device, progress)


def _torch_layers(params: Params, sdr_t, cfg: SirenConfig, chunk: int, device, progress) -> np.ndarray:
    import torch

    from hdrkit.models.siren import encode_coords

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


def _fused_kernel(cfg: SirenConfig):
    """The compiled whole-network kernel for ``cfg`` (None where it cannot be built or ``cfg`` is not a sine
    network)."""
    if cfg.activation != "sin":
        return None
    return _fusednet.build(_fusednet.Shape(cfg.color, cfg.spatial, cfg.merge))


def measure_matmul_gflops(size: int = 1024, seconds: float = 0.5) -> float:
    """Measured fp32 square-GEMM throughput (GFLOP/s) with the current torch thread setting: the GEMM bound."""
    import torch

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
    import torch

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
