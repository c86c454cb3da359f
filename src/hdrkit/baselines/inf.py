"""INF-style codec (Liu et al., "Sampling-based Implicit Neural Function for ... Color Gamut Recovery/
Compression", CVPR 2023; code ``lly-louis/INF``), adapted from RAW / wide-gamut recovery to SDR -> HDR10.

The metadata are *pixels*, not weights: the HDR target (PQ code values, BT.2020) sampled on a uniform grid of
stride 8 (1.5625 % of the pixels), stored here as a 16-bit PNG (the bytes we count).  The decoder fits one large
SIREN per image patch to those samples (input: the SDR pixel and its position in the patch) and then evaluates
it on every pixel of the patch::

    colour branch  (R,G,B) 3 -> 256 -> 256 -> 128    spatial branch (x,y) 2 -> 256 -> 256 -> 128
    concat 256 -> 256 -> 256 -> 256 -> 3                                  (397,315 parameters, sin, ω0 = 30)

Fitting: Adam lr 1e-4, 500 full-batch steps (INF's defaults) -- all of it at *decode* time, so INF's decode is
slow and its encode is free.  The network is hdrkit's two-branch SIREN (:mod:`hdrkit.models.siren`) at INF's
widths; the decode pass uses the exact fast decoder :func:`hdrkit.models.fast.decode_pq`.
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from hdrkit.errors import InputError, MetadataError
from hdrkit.models.siren import SirenConfig, forward, init_params
from hdrkit.progress import ProgressFn, report

#: INF's network at full size (397,315 parameters).
INF_MODEL = SirenConfig(color=(256, 256, 128), spatial=(256, 256, 128), merge=(256, 256, 256))


@dataclass(frozen=True)
class InfConfig:
    stride: int = 8          # sample grid (1/64 of the pixels)
    patch: int = 512         # one network per patch x patch tile
    steps: int = 500
    lr: float = 1e-4
    model: SirenConfig = INF_MODEL
    seed: int = 0


def grid_samples(hdr_pq: np.ndarray, stride: int = 8) -> np.ndarray:
    """``(ceil(H/stride), ceil(W/stride), 3)`` uint16 PQ samples at rows/columns ``0, stride, 2*stride, ...``."""
    return np.round(np.clip(np.asarray(hdr_pq, np.float32)[::stride, ::stride], 0, 1) * 65535).astype(np.uint16)


def encode(hdr_pq: np.ndarray, stride: int = 8) -> bytes:
    """The metadata: the grid samples as a 16-bit RGB PNG."""
    import cv2

    s = grid_samples(hdr_pq, stride)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(s[..., ::-1]), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise InputError("could not encode the INF samples")
    return buf.tobytes()


def read_samples(blob: bytes) -> np.ndarray:
    import cv2

    arr = cv2.imdecode(np.frombuffer(blob, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None or arr.dtype != np.uint16 or arr.ndim != 3 or arr.shape[2] != 3:
        raise MetadataError("INF metadata is not a 16-bit RGB PNG")
    return arr[..., ::-1].astype(np.float32) / 65535.0


def _fit_patch(sdr: torch.Tensor, samples: torch.Tensor, r0: int, c0: int, h: int, w: int, cfg: InfConfig,
               gen: torch.Generator) -> dict:
    """Fit a SIREN to the grid samples inside one patch; coordinates normalised to the patch."""
    s = cfg.stride
    rows = torch.arange(((r0 + s - 1) // s) * s, r0 + h, s)
    cols = torch.arange(((c0 + s - 1) // s) * s, c0 + w, s)
    rr, cc = torch.meshgrid(rows, cols, indexing="ij")
    rgb = sdr[rr, cc].reshape(-1, 3)
    tgt = samples[rr // s, cc // s].reshape(-1, 3)
    xy = torch.stack([(cc - c0).float() / max(w - 1, 1), (rr - r0).float() / max(h - 1, 1)], -1).reshape(-1, 2)
    params = {k: v.requires_grad_(True) for k, v in init_params(cfg.model, gen).items()}
    opt = torch.optim.Adam(list(params.values()), lr=cfg.lr)
    for _ in range(cfg.steps):
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((forward(params, rgb, xy, cfg.model) - tgt) ** 2)
        loss.backward()
        opt.step()
    return {k: v.detach() for k, v in params.items()}


def decode(blob: bytes, sdr: np.ndarray, cfg: InfConfig = InfConfig(),
           progress: Optional[ProgressFn] = None) -> Tuple[np.ndarray, float]:
    """``(PQ (H, W, 3) in [0, 1], seconds)``: fit per patch on the samples in ``blob``, then run every pixel."""
    from hdrkit.models.fast import decode_pq

    t0 = time.perf_counter()
    x = np.asarray(sdr)
    x = x.astype(np.float32) / 255.0 if x.dtype == np.uint8 else np.asarray(x, np.float32)
    H, W, _ = x.shape
    samples = read_samples(blob)
    if samples.shape[:2] != (-(-H // cfg.stride), -(-W // cfg.stride)):
        raise MetadataError("INF samples do not match the picture size")
    sdr_t = torch.from_numpy(x)
    smp_t = torch.from_numpy(samples)
    gen = torch.Generator().manual_seed(cfg.seed)
    out = np.empty((H, W, 3), np.float32)
    tiles = [(r, c) for r in range(0, H, cfg.patch) for c in range(0, W, cfg.patch)]
    for i, (r0, c0) in enumerate(tiles):
        h, w = min(cfg.patch, H - r0), min(cfg.patch, W - c0)
        params = _fit_patch(sdr_t, smp_t, r0, c0, h, w, cfg, gen)
        out[r0:r0 + h, c0:c0 + w] = decode_pq(params, x[r0:r0 + h, c0:c0 + w], cfg.model)
        report(progress, i + 1, len(tiles), "INF fitting")
    return np.clip(out, 0, 1), time.perf_counter() - t0
