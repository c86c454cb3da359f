"""GamutMLP-style metadata codec (Le & Brown, "GamutMLP: A Lightweight MLP for Color Loss Recovery", CVPR 2023;
code ``hminle/gamut-mlp``), adapted from gamut recovery (sRGB -> ProPhoto) to SDR -> HDR10 as the MLP-iTM paper did.

Model (tiny-cuda-nn ``Frequency`` encoding + ``FullyFusedMLP`` in the original)::

    features  = [sin(2^k π v), cos(2^k π v)  for v in (x, y, R, G, B), k = 0..11]     (120-D)
    residual  = W3 · relu(W2 · relu(W1 · features))          2 hidden layers x 32, ReLU, no biases
    output    = base + residual

``base`` is the "clipped input" carried into the target domain: the SDR linearised to 203 cd/m², converted to
BT.2020 and PQ-encoded (:func:`hdrkit.baselines.naive.naive_pq`); the target is the HDR as PQ code values, MSE
loss (the same objective as our embedded MLP).  4,960 weights (the paper's "23 KB" is 5,632 fp32 values: tiny-cuda-nn
pads the input to 128 and the output to 16); stored in fp16 (9,920 bytes + 14 bytes of header and CRC).

Fitting: Adam lr 5e-3 on random batches (2^16 in the paper) drawn from a pool of every 5th *out-of-range* pixel
and every 50th other pixel (``og_sample = 5``, ``sample = 50``).  "Out of range" here: the pixels the SDR cannot
represent -- HDR brighter than SDR white on any channel, outside the BT.709 gamut, or SDR clipped (code >= 254).
Meta-initialisation: Reptile (Nichol et al. 2018), as GamutMLP's meta-init (:func:`reptile_init`).
"""

from __future__ import annotations

import math
import struct
import time
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from hdrkit.errors import InputError, MetadataError
from hdrkit.progress import ProgressFn, report

Params = Dict[str, Tensor]
MAGIC = b"GMLP"


@dataclass(frozen=True)
class GamutMLPConfig:
    octaves: int = 12
    hidden: Tuple[int, ...] = (32, 32)

    @property
    def in_dim(self) -> int:
        return 5 * 2 * self.octaves

    def shapes(self) -> List[Tuple[str, Tuple[int, int]]]:
        dims = [self.in_dim, *self.hidden, 3]
        return [(f"w{i}", (dims[i + 1], dims[i])) for i in range(len(dims) - 1)]


@dataclass(frozen=True)
class GamutAdaptConfig:
    """Per-image fitting (GamutMLP defaults: Adam 5e-3, 2^16 samples per step, 10k steps / 1,200 from meta-init)."""

    steps: int = 1200
    lr: float = 5e-3
    batch: int = 1 << 16
    oor_stride: int = 5
    other_stride: int = 50
    seed: int = 0
    time_budget: Optional[float] = None


@dataclass
class GamutInfo:
    steps_run: int = 0
    seconds: float = 0.0
    pool: int = 0
    loss: list = field(default_factory=list)


def param_count(cfg: GamutMLPConfig = GamutMLPConfig()) -> int:
    return sum(a * b for _, (a, b) in cfg.shapes())


def init_params(cfg: GamutMLPConfig = GamutMLPConfig(), generator: Optional[torch.Generator] = None) -> Params:
    """Kaiming-uniform ReLU weights; the last layer is zero so the initial output is the base (SDR) itself."""
    p = {}
    shapes = cfg.shapes()
    for i, (name, (o, n)) in enumerate(shapes):
        if i == len(shapes) - 1:
            p[name] = torch.zeros(o, n)
        else:
            b = math.sqrt(6.0 / n)
            p[name] = (torch.rand(o, n, generator=generator) * 2 - 1) * b
    return p


def features(xy: Tensor, rgb: Tensor, octaves: int) -> Tensor:
    """``(N, 2)`` coordinates and ``(N, 3)`` SDR code values in [0, 1] -> ``(N, 10 * octaves)`` frequency encoding."""
    v = torch.cat([xy, rgb], -1)  # (N, 5)
    f = (2.0 ** torch.arange(octaves, dtype=v.dtype)) * math.pi
    a = v[..., :, None] * f  # (N, 5, K)
    return torch.cat([torch.sin(a), torch.cos(a)], -1).flatten(-2)


def forward(params: Params, feats: Tensor, cfg: GamutMLPConfig = GamutMLPConfig()) -> Tensor:
    """``(N, in_dim)`` features -> ``(N, 3)`` residual (PQ units)."""
    h = feats
    names = [n for n, _ in cfg.shapes()]
    for n in names[:-1]:
        h = torch.relu(h @ params[n].T)
    return h @ params[names[-1]].T


def _coords(idx: Tensor, H: int, W: int) -> Tensor:
    r = torch.div(idx, W, rounding_mode="floor")
    c = idx - r * W
    return torch.stack([c.float() / max(W - 1, 1), r.float() / max(H - 1, 1)], -1)


def out_of_range_mask(sdr: np.ndarray, hdr_pq: np.ndarray) -> np.ndarray:
    """``(H, W)`` bool: pixels the SDR cannot represent (HDR > SDR white, outside BT.709, or SDR clipped)."""
    from hdrkit import color

    nits = np.asarray(color.pq_eotf(np.asarray(hdr_pq, np.float32)), np.float32)
    lin709 = np.asarray(color.convert_primaries(nits, "bt2020", "bt709"), np.float32)
    return (lin709.max(-1) > 203.0) | (lin709.min(-1) < -1e-3 * np.maximum(lin709.max(-1), 1)) | \
        (_as01(sdr).max(-1) >= 254 / 255)


def sample_pool(sdr: np.ndarray, hdr_pq: np.ndarray, cfg: GamutAdaptConfig) -> Tensor:
    """Flat indices: every ``oor_stride``-th out-of-range pixel and every ``other_stride``-th other pixel."""
    m = out_of_range_mask(sdr, hdr_pq).reshape(-1)
    oor = np.flatnonzero(m)[:: cfg.oor_stride]
    other = np.flatnonzero(~m)[:: cfg.other_stride]
    return torch.from_numpy(np.concatenate([oor, other]).astype(np.int64))


def _as01(sdr: np.ndarray) -> np.ndarray:
    x = np.asarray(sdr)
    return x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else np.asarray(x, np.float32)


def adapt(sdr: np.ndarray, hdr_pq: np.ndarray, theta: Optional[Params] = None,
          cfg: GamutMLPConfig = GamutMLPConfig(), acfg: GamutAdaptConfig = GamutAdaptConfig(),
          progress: Optional[ProgressFn] = None) -> Tuple[Params, GamutInfo]:
    """Fit the residual MLP to one pair: sdr ``(H, W, 3)`` code values, hdr_pq ``(H, W, 3)`` PQ (BT.2020)."""
    from hdrkit.baselines.naive import naive_pq

    t0 = time.perf_counter()
    sdr = _as01(sdr)
    hdr_pq = np.asarray(hdr_pq, np.float32)
    if sdr.shape != hdr_pq.shape or sdr.ndim != 3 or sdr.shape[2] != 3:
        raise InputError(f"SDR {sdr.shape} and HDR {hdr_pq.shape} must be matching H x W x 3 images")
    H, W, _ = sdr.shape
    gen = torch.Generator().manual_seed(acfg.seed)
    theta = theta if theta is not None else init_params(cfg, gen)
    params = {k: v.detach().clone().requires_grad_(True) for k, v in theta.items()}
    pool = sample_pool(sdr, hdr_pq, acfg)
    rgb_all = torch.from_numpy(sdr.reshape(-1, 3))
    tgt_all = torch.from_numpy(hdr_pq.reshape(-1, 3) - naive_pq(sdr).reshape(-1, 3))  # residual target
    feats = features(_coords(pool, H, W), rgb_all[pool], cfg.octaves)
    tgt = tgt_all[pool]
    opt = torch.optim.Adam(list(params.values()), lr=acfg.lr)
    info = GamutInfo(pool=int(pool.numel()))
    n = feats.shape[0]
    for step in range(acfg.steps):
        if acfg.time_budget is not None and time.perf_counter() - t0 > acfg.time_budget:
            break
        sel = torch.randint(0, n, (min(acfg.batch, n),), generator=gen) if acfg.batch < n else slice(None)
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((forward(params, feats[sel], cfg) - tgt[sel]) ** 2)
        loss.backward()
        opt.step()
        info.steps_run = step + 1
        if step % 50 == 0 or step == acfg.steps - 1:
            info.loss.append((step, float(loss.detach())))
            report(progress, step + 1, acfg.steps, "GamutMLP fitting")
    info.seconds = time.perf_counter() - t0
    return {k: v.detach() for k, v in params.items()}, info


@torch.no_grad()
def decode(params: Params, sdr: np.ndarray, cfg: GamutMLPConfig = GamutMLPConfig(), chunk: int = 1 << 15) -> np.ndarray:
    """PQ code values ``(H, W, 3)`` in [0, 1] from the SDR and the fitted residual MLP."""
    from hdrkit.baselines.naive import naive_pq

    sdr = _as01(sdr)
    H, W, _ = sdr.shape
    out = naive_pq(sdr).reshape(-1, 3).copy()
    rgb = torch.from_numpy(sdr.reshape(-1, 3))
    for s in range(0, H * W, chunk):
        idx = torch.arange(s, min(H * W, s + chunk))
        out[s:s + len(idx)] += forward(params, features(_coords(idx, H, W), rgb[idx], cfg.octaves), cfg).numpy()
    return np.clip(out.reshape(H, W, 3), 0, 1)


# ------------------------------------------------------------------------------------------- metadata blob
def pack(params: Params, cfg: GamutMLPConfig = GamutMLPConfig()) -> bytes:
    """``MAGIC, u8 octaves, u8 n_hidden, u16 widths..., fp16 weights, CRC-32``: the bytes we count."""
    head = MAGIC + struct.pack("<BB", cfg.octaves, len(cfg.hidden)) + struct.pack(f"<{len(cfg.hidden)}H", *cfg.hidden)
    body = b"".join(params[n].numpy().astype("<f2").tobytes() for n, _ in cfg.shapes())
    blob = head + body
    return blob + struct.pack("<I", zlib.crc32(blob))


def unpack(blob: bytes) -> Tuple[GamutMLPConfig, Params]:
    """Inverse of :func:`pack` (bounds-checked, CRC verified)."""
    if len(blob) < 10 or blob[:4] != MAGIC:
        raise MetadataError("not a GamutMLP blob")
    if struct.unpack("<I", blob[-4:])[0] != zlib.crc32(blob[:-4]):
        raise MetadataError("GamutMLP blob fails its CRC")
    octaves, nh = struct.unpack("<BB", blob[4:6])
    if not (1 <= octaves <= 16 and 1 <= nh <= 8) or len(blob) < 6 + 2 * nh + 4:
        raise MetadataError("GamutMLP blob header is invalid")
    hidden = struct.unpack(f"<{nh}H", blob[6:6 + 2 * nh])
    if any(not 1 <= w <= 1024 for w in hidden):
        raise MetadataError("GamutMLP blob widths are invalid")
    cfg = GamutMLPConfig(octaves, tuple(hidden))
    pos, params = 6 + 2 * nh, {}
    for n, (o, i) in cfg.shapes():
        size = o * i * 2
        if pos + size > len(blob) - 4:
            raise MetadataError("GamutMLP blob is truncated")
        params[n] = torch.from_numpy(np.frombuffer(blob[pos:pos + size], "<f2").astype(np.float32).reshape(o, i))
        pos += size
    if pos != len(blob) - 4:
        raise MetadataError("GamutMLP blob has trailing bytes")
    return cfg, params


# ------------------------------------------------------------------------------------------- meta-init
def reptile_init(pairs: Sequence[Tuple[np.ndarray, np.ndarray]], cfg: GamutMLPConfig = GamutMLPConfig(), *,
                 iterations: int = 200, inner_steps: int = 20, inner_lr: float = 5e-3, meta_lr: float = 1e-3,
                 batch: int = 4096, seed: int = 0, time_budget: Optional[float] = None,
                 progress: Optional[ProgressFn] = None) -> Tuple[Params, list]:
    """Reptile meta-initialisation as in GamutMLP: per iteration adapt a copy of theta to one random pair with
    ``inner_steps`` Adam steps, then move theta with an outer Adam step along ``theta - theta_inner``.

    pairs: ``(sdr (h, w, 3) in [0, 1], hdr_pq (h, w, 3))``.  Returns ``(theta, [(iteration, inner loss)])``.
    """
    if not pairs:
        raise InputError("Reptile needs at least one training pair")
    gen = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    theta = {k: v.clone().requires_grad_(True) for k, v in init_params(cfg, gen).items()}
    outer = torch.optim.Adam(list(theta.values()), lr=meta_lr)
    acfg = GamutAdaptConfig(steps=inner_steps, lr=inner_lr, batch=batch, seed=seed)
    log, t0 = [], time.perf_counter()
    for it in range(iterations):
        if time_budget is not None and time.perf_counter() - t0 > time_budget:
            break
        sdr, pq = pairs[int(rng.integers(len(pairs)))]
        inner, info = adapt(sdr, pq, {k: v.detach() for k, v in theta.items()}, cfg,
                            GamutAdaptConfig(**{**acfg.__dict__, "seed": int(rng.integers(1 << 30))}))
        outer.zero_grad(set_to_none=True)
        for k in theta:
            theta[k].grad = (theta[k].detach() - inner[k])
        outer.step()
        if info.loss:
            log.append((it, info.loss[-1][1]))
        report(progress, it + 1, iterations, "Reptile meta-init (GamutMLP)")
    return {k: v.detach() for k, v in theta.items()}, log


def save_init(path, params: Params, cfg: GamutMLPConfig = GamutMLPConfig()) -> None:
    """Store an initialisation as an (fp32-exact) blob: same format as :func:`pack` but float32 payload."""
    from hdrkit.io.atomic import atomic_write_bytes

    np_params = {k: v.numpy().astype("<f4") for k, v in params.items()}
    head = MAGIC + b"F32\x00" + struct.pack("<BB", cfg.octaves, len(cfg.hidden)) + \
        struct.pack(f"<{len(cfg.hidden)}H", *cfg.hidden)
    body = b"".join(np_params[n].tobytes() for n, _ in cfg.shapes())
    blob = head + body
    atomic_write_bytes(path, blob + struct.pack("<I", zlib.crc32(blob)))


#: File name of the shipped Reptile initialisation inside ``hdrkit/assets/models`` (made by :func:`train_init`).
SHIPPED_INIT = "gamutmlp_reptile.bin"


def load_init(path) -> Tuple[GamutMLPConfig, Params]:
    """Load an initialisation written by :func:`save_init`; ``"shipped"`` -> the packaged Reptile init."""
    from importlib import resources
    from pathlib import Path

    if str(path) == "shipped":
        path = Path(str(resources.files("hdrkit") / "assets" / "models" / SHIPPED_INIT))
    if not Path(path).is_file():
        raise InputError(f"no GamutMLP initialisation file {path}")
    blob = Path(path).read_bytes()
    if len(blob) < 14 or blob[:8] != MAGIC + b"F32\x00" or struct.unpack("<I", blob[-4:])[0] != zlib.crc32(blob[:-4]):
        raise MetadataError(f"{path} is not a GamutMLP initialisation")
    octaves, nh = struct.unpack("<BB", blob[8:10])
    if not (1 <= octaves <= 16 and 1 <= nh <= 8):
        raise MetadataError("GamutMLP initialisation header is invalid")
    hidden = struct.unpack(f"<{nh}H", blob[10:10 + 2 * nh])
    cfg = GamutMLPConfig(octaves, tuple(hidden))
    pos, params = 10 + 2 * nh, {}
    for n, (o, i) in cfg.shapes():
        size = o * i * 4
        if pos + size > len(blob) - 4:
            raise MetadataError("GamutMLP initialisation is truncated")
        params[n] = torch.from_numpy(np.frombuffer(blob[pos:pos + size], "<f4").copy().reshape(o, i))
        pos += size
    return cfg, params


def train_init(data: str, out: str, *, pairs: int = 200, size: int = 128, iterations: int = 400,
               inner_steps: int = 20, time_budget: Optional[float] = None, seed: int = 0,
               exclude: Sequence[str] = ("night", "sunset"), progress: Optional[ProgressFn] = None) -> list:
    """Reptile meta-init on pairs synthesised like the embedded MLP's (:func:`hdrkit.meta.tasks.make_pool`: views
    of the panoramas in ``data`` minus ``exclude``, procedural scenes, four TMOs); writes ``out``."""
    from hdrkit.meta.tasks import load_panoramas, make_pool

    sources = load_panoramas(data, exclude=exclude)
    pool = make_pool(sources, pairs, size, seed=seed)
    theta, log = reptile_init(pool, iterations=iterations, inner_steps=inner_steps, seed=seed,
                              time_budget=time_budget, progress=progress)
    save_init(out, theta)
    return log


if __name__ == "__main__":  # python -m hdrkit.baselines.gamutmlp DATA OUT [iterations]
    import sys

    torch.set_num_threads(1)
    t = time.perf_counter()
    lg = train_init(sys.argv[1], sys.argv[2], iterations=int(sys.argv[3]) if len(sys.argv) > 3 else 400)
    print(f"Reptile init written to {sys.argv[2]} in {time.perf_counter() - t:.0f} s; "  # noqa: T201 (script)
          f"inner loss first/last: {lg[0][1]:.3g} / {lg[-1][1]:.3g}")
