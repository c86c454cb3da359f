"""Gain-MLP and Gamma-MLP (Canham, Tedla, Murdoch & Brown, "Gain-MLP: Improving HDR Gain Map Encoding via a
Lightweight MLP", ICCV 2025; code ``trevorcanham/Gain-MLP``, MIT), re-implemented from the paper and the facts of
its code (our own code; the network and its blob are the GamutMLP baseline's, :mod:`hdrkit.baselines.gamutmlp`).

Both renditions are compared as BT.2020 PQ code values: the HDR target ``H`` as it is, the SDR ``S`` linearised
(BT.1886 γ2.4, BT.709 -> BT.2020) and PQ-encoded with SDR white at 100 cd/m² (the reference code's ``peakSDR``).
The network predicts, per pixel and channel, a residual map with ``o = 1/64``:

* gain:  ``g = (H + o) / (S + o)``,            decoded ``H = (S + o) g - o``;
* gamma: ``g = log(H + o) / log(S + o)``,      decoded ``H = (S + o)^g - o``.

The map is normalised to about [-1, 1] (``(g - mean) / (max - min) * 2``: three floats in the blob), so is the
network input ``S`` (from the SDR itself at decode time); coordinates span [-1, 1].  Input (R, G, B, x, y) ->
frequency encoding sin/cos(2^k π v), k < 12 (120-D) -> 2 x 16 ReLU, no biases -> 3 (2,224 weights, fp16 in the
blob: 4.5 KB).  Fitting: Adam lr 1e-2, MSE on the normalised map, 1,000 steps of 65,536 random pixels (the
paper's settings; ``batch`` and ``steps`` can be lowered for CPU runs).  Not implemented: the paper's
meta-initialisation (weights averaged over fits to 50 chromatic-noise images) -- we start from the GamutMLP
baseline's initialisation (Kaiming-uniform, last layer zero: the initial map is the mean map).
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np
import torch

from hdrkit.baselines import gamutmlp as G
from hdrkit.errors import InputError, MetadataError

OFFSET = 1.0 / 64
SDR_WHITE = 100.0
_MODES = {"gain": 0, "gamma": 1}


@dataclass(frozen=True)
class GainMLPConfig:
    mode: str = "gamma"
    hidden: Tuple[int, ...] = (16, 16)
    octaves: int = 12

    def __post_init__(self) -> None:
        if self.mode not in _MODES:
            raise InputError(f"Gain-MLP mode must be gain or gamma, got {self.mode!r}")

    @property
    def net(self) -> G.GamutMLPConfig:
        return G.GamutMLPConfig(self.octaves, tuple(self.hidden))


@dataclass(frozen=True)
class GainMLPFitConfig:
    steps: int = 1000
    lr: float = 1e-2
    batch: int = 1 << 16
    seed: int = 0


def sdr_pq(sdr: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` SDR code values (uint8 or [0, 1]) -> BT.2020 PQ code values with SDR white at 100 cd/m²."""
    from hdrkit import color
    from hdrkit.codec.gainmap import sdr_to_linear

    lin = sdr_to_linear(sdr, "bt2020", transfer="bt1886")
    return np.asarray(color.pq_inverse_eotf(np.clip(lin, 0, None) * SDR_WHITE), np.float32)


def residual_map(hdr_pq: np.ndarray, s_pq: np.ndarray, mode: str) -> np.ndarray:
    """The map ``g`` the network learns (module docstring); float64."""
    h = np.asarray(hdr_pq, np.float64) + OFFSET
    s = np.asarray(s_pq, np.float64) + OFFSET
    return h / s if mode == "gain" else np.log(h) / np.log(s)


def apply_map(s_pq: np.ndarray, g: np.ndarray, mode: str) -> np.ndarray:
    """HDR PQ code values from the SDR's and the map (inverse of :func:`residual_map`), clipped to [0, 1]."""
    s = np.asarray(s_pq, np.float64) + OFFSET
    h = s * g if mode == "gain" else np.power(s, g)
    return np.clip(h - OFFSET, 0, 1).astype(np.float32)


def _normalise(a: np.ndarray) -> Tuple[np.ndarray, Tuple[float, float, float]]:
    """(a - mean) / (max - min) * 2 with ``(mean, max - mean, min - mean)``, as the reference code's ``sNorm``."""
    mean = float(np.mean(a))
    c = a - mean
    lo, hi = float(np.min(c)), float(np.max(c))
    rng = hi - lo if hi > lo else 1.0
    return (c / rng * 2).astype(np.float32), (mean, hi, lo)


def _inputs(s_pq: np.ndarray, idx: torch.Tensor, H: int, W: int, s_norm: np.ndarray) -> torch.Tensor:
    r = torch.div(idx, W, rounding_mode="floor")
    c = idx - r * W
    xy = torch.stack([r.float() / max(H - 1, 1) * 2 - 1, c.float() / max(W - 1, 1) * 2 - 1], -1)
    return torch.from_numpy(s_norm.reshape(-1, 3))[idx], xy


def fit(sdr: np.ndarray, hdr_pq: np.ndarray, cfg: GainMLPConfig = GainMLPConfig(),
        fcfg: GainMLPFitConfig = GainMLPFitConfig()) -> Tuple[bytes, float]:
    """Fit one (SDR, HDR PQ) pair; returns ``(blob, seconds)``."""
    t0 = time.perf_counter()
    s = sdr_pq(sdr)
    hdr_pq = np.asarray(hdr_pq, np.float32)
    if s.shape != hdr_pq.shape or s.ndim != 3:
        raise InputError(f"SDR {s.shape} and HDR {hdr_pq.shape} must be matching H x W x 3 images")
    H, W, _ = s.shape
    target, norm = _normalise(residual_map(hdr_pq, s, cfg.mode))
    s_norm, _ = _normalise(s)
    tgt = torch.from_numpy(target.reshape(-1, 3))
    gen = torch.Generator().manual_seed(fcfg.seed)
    params = {k: v.requires_grad_(True) for k, v in G.init_params(cfg.net, gen).items()}
    opt = torch.optim.Adam(list(params.values()), lr=fcfg.lr)
    n = H * W
    for _ in range(fcfg.steps):
        idx = torch.randint(0, n, (min(fcfg.batch, n),), generator=gen)
        rgb, xy = _inputs(s, idx, H, W, s_norm)
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((G.forward(params, G.features(xy, rgb, cfg.octaves), cfg.net) - tgt[idx]) ** 2)
        loss.backward()
        opt.step()
    return pack({k: v.detach() for k, v in params.items()}, cfg, norm), time.perf_counter() - t0


@torch.no_grad()
def decode(blob: bytes, sdr: np.ndarray, chunk: int = 1 << 15) -> np.ndarray:
    """PQ code values ``(H, W, 3)`` in [0, 1] from the SDR and a blob of :func:`fit`."""
    cfg, params, (mean, hi, lo) = unpack(blob)
    s = sdr_pq(sdr)
    H, W, _ = s.shape
    s_norm, _ = _normalise(s)
    out = np.empty((H * W, 3), np.float32)
    for a in range(0, H * W, chunk):
        idx = torch.arange(a, min(H * W, a + chunk))
        rgb, xy = _inputs(s, idx, H, W, s_norm)
        out[a:a + len(idx)] = G.forward(params, G.features(xy, rgb, cfg.octaves), cfg.net).numpy()
    g = out.reshape(H, W, 3).astype(np.float64) / 2 * (hi - lo) + mean
    return apply_map(s, g, cfg.mode)


def pack(params, cfg: GainMLPConfig, norm: Tuple[float, float, float]) -> bytes:
    """``u8 mode, 3 x f32 normalisation`` + the GamutMLP blob of the network (fp16 weights, CRC)."""
    return struct.pack("<B3f", _MODES[cfg.mode], *norm) + G.pack(params, cfg.net)


def unpack(blob: bytes):
    """Inverse of :func:`pack`: ``(cfg, params, (mean, max, min))``."""
    if len(blob) < 13:
        raise MetadataError("Gain-MLP blob is truncated")
    mode, *norm = struct.unpack("<B3f", blob[:13])
    if mode not in _MODES.values() or not all(np.isfinite(norm)):
        raise MetadataError("Gain-MLP blob header is invalid")
    net, params = G.unpack(blob[13:])
    name = {v: k for k, v in _MODES.items()}[mode]
    return GainMLPConfig(name, net.hidden, net.octaves), params, tuple(norm)
