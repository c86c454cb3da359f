"""``temporal-clues``: video SDR → HDR with clues from distant frames, CPU-sized.

After Ye, Xu, Jiang, Liu & Zhang 2024, "Deep Video Inverse Tone Mapping Based on Temporal Clues" (CVPR): a
region clipped in the current frame is often well exposed in a *distant* frame, because auto-exposure drifts
slowly.  Their strategy "global sampling, local propagation", with CPU parts in place of the GPU ones:

1. **Key frames and references.** A shot is cut into groups of pictures (GOPs) of ``gop`` frames (6, as in the
   paper); the centre of each GOP is a key frame.  References are sampled over the shot with a large stride
   (``ref_stride`` frames, within ``±window`` frames of the key, outside its GOP); the ``refs`` darkest of them
   (largest exposure ratio key/reference from their median luminances) are used.
2. **Alignment** (their Incremental Clue Aggregation Module, made light): OpenCV DIS flow between the key and
   each reference, computed at a work resolution (long side ≤ ``work`` pixels) on luminance brought to the same
   exposure, then refined by :class:`FlowFix`, a small CNN trained against DIS flow computed on the HDR masters
   (PQ, a global tone curve) — the paper's flow-correction target; a forward–backward check and the reference's
   own clipping make the validity weight; the exposure ratio is refined on the aligned mid-tones.  Each
   reference then gives an **extended radiance** ``X = s · warp(E_ref)`` in the key's linear SDR units (``E`` =
   BT.1886-linearised code values), which exceeds 1 where the key is clipped.
3. **Fusion.** The references' ``X`` are averaged in log (weights = validity); :class:`FuseNet`, a small U-Net,
   sees the SDR, the soft over-exposure mask ``α``, ``gcm``'s per-frame output (PQ), the clue gain
   ``G = log(Y_X / Y_E)`` and its confidence, and predicts a per-channel log gain ``Δ``; the output is the
   paper's Eq. 1 blend on top of ``gcm``: ``out = (1 − α) · gcm + α · gcm · exp(Δ)`` (``α`` = gcm's smoothstep
   over-exposure mask, τ = 0.88 … 0.98).
4. **Propagation** (their Feature and Clue Propagation Module, made light): every other frame takes as
   references the restored key frames of its own GOP and of the nearest neighbouring GOP (their extended radiance
   ``X = E · out / gcm``), aligned the same way, and goes through the same fusion.  ``Δ`` is computed at the
   work resolution and applied to the full-resolution frame (bilinear upsampling, full-resolution ``α``), so the
   cost of everything but ``gcm`` itself does not grow with the picture size.
5. **Steady gain** (``steady``, default on): each frame's ``Δ`` averaged with those of ``t ± 1`` (same shot)
   warped along the DIS flow, weighted by each frame's ``α`` — a one-step stand-in for the paper's recurrent
   refinement (on the held-out clips it brings the warping error from 1.5× to 1.06× the per-frame model's).

What is left out of the paper: deformable alignment, the global attention block, the bidirectional recurrent
refinement (BasicVSR-like; beyond step 5) and the perceptual / flow / 3D-PatchGAN losses (training: PQ L1 of
:func:`hdrkit.expand.gcm_train.gcm_loss`); references are limited to ``±window`` frames so memory stays bounded.
Shots come from :mod:`hdrkit.video.shots`; nothing crosses a cut.

Shapes: frames are ``H×W×3`` float32 SDR BT.709 code values in [0, 1]; outputs absolute BT.2020 cd/m².
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hdrkit.errors import FormatError, InputError

#: Soft over-exposure mask ramp (code values), the same as ``gcm``'s highlight branch.
TAU = (0.88, 0.98)
_Y709 = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: Code value above which a reference pixel is treated as clipped (its light is unknown).
CLIP = 0.95
#: Channels of :class:`FuseNet`'s input (see :func:`fuse_inputs`).
FUSE_IN = 13


@dataclass(frozen=True)
class TCConfig:
    """Inference settings.  ``gop``: frames per group of pictures (key = its centre); ``ref_stride``: stride of
    the global reference sampling; ``window``: references lie within ±``window`` frames of the key;
    ``refs``: references per key frame; ``work``: long side of the work resolution; ``flow_preset``: DIS preset;
    ``fix``: use the flow correction; ``fix_ch`` / ``fuse_ch``: network widths."""

    gop: int = 6
    ref_stride: int = 12
    window: int = 48
    refs: int = 4
    work: int = 480
    flow_preset: str = "medium"
    fix: bool = True
    fix_ch: int = 16
    fuse_ch: Tuple[int, int, int] = (16, 32, 48)


# ------------------------------------------------------------------------------------------------- networks
class FlowFix(nn.Module):
    """Flow correction: ``(key grey, warped reference grey, key clip mask, warped reference clip mask,
    flow / 8)`` (``B×6×H×W``) → a flow residual in pixels (``B×2×H×W``); the last layer starts at zero (the
    initial model is DIS itself).  Works at half resolution inside (H, W even)."""

    def __init__(self, ch: int = 16):
        super().__init__()
        self.inp = nn.Conv2d(6, ch, 3, 1, 1)
        self.down = nn.Conv2d(ch, ch, 3, 2, 1)
        self.mid = nn.ModuleList([nn.Conv2d(ch, ch, 3, 1, d, dilation=d) for d in (2, 4, 8)])
        self.up = nn.Conv2d(2 * ch, ch, 3, 1, 1)
        self.out = nn.Conv2d(ch, 2, 3, 1, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, x: Tensor) -> Tensor:
        a = F.leaky_relu(self.inp(x), 0.1)
        b = F.leaky_relu(self.down(a), 0.1)
        for conv in self.mid:
            b = F.leaky_relu(conv(b), 0.1) + b
        b = F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=False)
        c = F.leaky_relu(self.up(torch.cat([a, b], 1)), 0.1)
        return 4.0 * self.out(c)


class FuseNet(nn.Module):
    """Masked fusion U-Net: :func:`fuse_inputs` (``B×13×H×W``, H and W multiples of 4) → per-channel log gain
    ``Δ`` (``B×3×H×W``) = ``p · M`` (the measured gain, ``p`` learned, starts at 0) + a residual whose last
    layer starts at zero (the initial model is the per-frame model)."""

    def __init__(self, ch: Tuple[int, int, int] = (16, 32, 48)):
        super().__init__()
        c0, c1, c2 = ch
        self.e0 = nn.ModuleList([nn.Conv2d(FUSE_IN, c0, 3, 1, 1), nn.Conv2d(c0, c0, 3, 1, 1)])
        self.e1 = nn.ModuleList([nn.Conv2d(c0, c1, 3, 1, 1), nn.Conv2d(c1, c1, 3, 1, 1)])
        self.e2 = nn.ModuleList([nn.Conv2d(c1, c2, 3, 1, 1)] + [nn.Conv2d(c2, c2, 3, 1, d, dilation=d) for d in (2, 4)])
        self.d1 = nn.ModuleList([nn.Conv2d(c2 + c1, c1, 3, 1, 1), nn.Conv2d(c1, c1, 3, 1, 1)])
        self.d0 = nn.ModuleList([nn.Conv2d(c1 + c0, c0, 3, 1, 1), nn.Conv2d(c0, c0, 3, 1, 1)])
        self.head = nn.Conv2d(c0, 3, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)
        self.prior = nn.Parameter(torch.tensor(0.0))

    @staticmethod
    def _run(convs, x):
        for i, conv in enumerate(convs):
            y = F.leaky_relu(conv(x), 0.1)
            x = y + x if (i > 0 and y.shape == x.shape) else y
        return x

    def forward(self, x: Tensor) -> Tensor:
        a = self._run(self.e0, x)
        b = self._run(self.e1, F.avg_pool2d(a, 2))
        c = self._run(self.e2, F.avg_pool2d(b, 2))
        b = self._run(self.d1, torch.cat([F.interpolate(c, size=b.shape[-2:], mode="bilinear", align_corners=False), b], 1))
        a = self._run(self.d0, torch.cat([F.interpolate(b, size=a.shape[-2:], mode="bilinear", align_corners=False), a], 1))
        return self.prior * x[:, 12:13] + self.head(a)


# ------------------------------------------------------------------------------------------------- helpers
def linear(v: np.ndarray) -> np.ndarray:
    """BT.1886 linearisation (γ 2.4) of code values."""
    return np.clip(v, 0.0, 1.0).astype(np.float32) ** 2.4


def luminance(lin: np.ndarray) -> np.ndarray:
    return lin @ _Y709


def soft_mask(v: np.ndarray) -> np.ndarray:
    """``α = smoothstep((max(R', G', B') − τ₀)/(τ₁ − τ₀))`` (``H×W``), gcm's over-exposure mask."""
    x = np.clip((np.asarray(v, np.float32).max(-1) - TAU[0]) / (TAU[1] - TAU[0]), 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def work_size(width: int, height: int, work: int = 480) -> Tuple[int, int]:
    """``(w, h)`` of the work resolution: the frame scaled so its long side is ≤ ``work``, both even."""
    f = max(1.0, max(width, height) / float(work))
    return max(2, 2 * int(round(width / f / 2))), max(2, 2 * int(round(height / f / 2)))


def to_work(frame: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Area-downscale a frame to ``size`` = ``(w, h)`` (unchanged when it already has that size)."""
    import cv2

    f = np.ascontiguousarray(frame, dtype=np.float32)
    if (f.shape[1], f.shape[0]) == tuple(size):
        return f
    return cv2.resize(f, tuple(size), interpolation=cv2.INTER_AREA)


def _mid_log_median(v: np.ndarray) -> float:
    """Median log luminance of the mid-tones (no channel ≥ 0.9, luminance ≥ 1e-3); of everything if too few."""
    Y = luminance(linear(v))
    sel = (v.max(-1) < 0.9) & (Y > 1e-3)
    if sel.sum() < 16:
        sel = Y > 1e-6
    return float(np.median(np.log(Y[sel]))) if sel.any() else 0.0


def flow_greys(vk: np.ndarray, vr: np.ndarray, log_ratio: float) -> Tuple[np.ndarray, np.ndarray]:
    """Greys of the key and the reference brought to the darker of the two exposures (``log_ratio`` = ln of
    key exposure / reference exposure), BT.1886-encoded luminance in [0, 1]."""
    gk, gr = 1.0, 1.0
    if log_ratio > 0:
        gk = math.exp(-log_ratio)
    else:
        gr = math.exp(log_ratio)
    yk = np.clip(luminance(linear(vk)) * gk, 0, 1) ** (1 / 2.4)
    yr = np.clip(luminance(linear(vr)) * gr, 0, 1) ** (1 / 2.4)
    return yk.astype(np.float32), yr.astype(np.float32)


def _pad4(x: Tensor) -> Tuple[Tensor, int, int]:
    h, w = x.shape[-2:]
    ph, pw = (-h) % 4, (-w) % 4
    if ph or pw:
        x = F.pad(x, (0, pw, 0, ph), mode="replicate")
    return x, h, w


def _t(a: np.ndarray) -> Tensor:
    a = np.asarray(a, np.float32)
    if a.ndim == 2:
        a = a[..., None]
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]


def flowfix_input(gk, gr_w, ck, cr_w, flow) -> Tensor:
    """:class:`FlowFix` input ``1×6×H×W`` from numpy maps (greys, clip masks ``H×W``, flow ``H×W×2``)."""
    return torch.cat([_t(gk), _t(gr_w), _t(ck), _t(cr_w), _t(flow / 8.0)], 1)


@torch.no_grad()
def corrected_flow(fix: Optional[FlowFix], gk, gr, flow: np.ndarray) -> np.ndarray:
    """DIS ``flow`` (key → reference, ``H×W×2``) refined by ``fix`` (unchanged when ``fix`` is None)."""
    from hdrkit.metrics.temporal import warp

    if fix is None:
        return flow
    x, h, w = _pad4(flowfix_input(gk, warp(gr, flow), (gk >= 0.97), warp((gr >= 0.97).astype(np.float32), flow), flow))
    d = fix(x)[0, :, :h, :w].permute(1, 2, 0).numpy()
    return (flow + d).astype(np.float32)


@dataclass
class Clue:
    """One aligned reference: extended radiance ``X`` (``H×W×3``, the target's linear SDR units) and its
    weight ``w`` (``H×W`` in [0, 1])."""

    X: np.ndarray
    w: np.ndarray


def align(vk: np.ndarray, vr: np.ndarray, Xr: Optional[np.ndarray], fix: Optional[FlowFix], preset: str = "medium",
          log_ratio: Optional[float] = None) -> Clue:
    """Align a reference to the target frame ``vk`` (work-resolution code values).

    ``vr``: the reference's code values; ``Xr``: its extended radiance (a restored key frame) or None (an SDR
    reference: ``Xr = linear(vr)`` and its clipped pixels get no weight)."""
    from hdrkit.metrics.temporal import dis_flow, occlusion_mask, warp

    lr = _mid_log_median(vk) - _mid_log_median(vr) if log_ratio is None else log_ratio
    gk, gr = flow_greys(vk, vr, lr)
    fw = dis_flow(gk, gr, preset)
    bw = dis_flow(gr, gk, preset)
    fw = corrected_flow(fix, gk, gr, fw)
    bw = corrected_flow(fix, gr, gk, bw)
    valid = occlusion_mask(fw, bw).astype(np.float32)
    sdr_ref = Xr is None
    Er = linear(vr) if sdr_ref else np.asarray(Xr, np.float32)
    Er_w = warp(Er, fw)
    if sdr_ref:
        clip_w = np.clip((warp(vr.max(-1), fw) - TAU[0]) / (CLIP - TAU[0]), 0, 1)
        valid = valid * (1.0 - clip_w)
    # exposure ratio refined on aligned mid-tones of both
    Yk = luminance(linear(vk))
    Yr = luminance(linear(warp(vr, fw)))
    sel = (valid > 0.5) & (vk.max(-1) < 0.85) & (warp(vr, fw).max(-1) < 0.85) & (Yk > 1e-3) & (Yr > 1e-3)
    if sel.sum() >= 64:
        lr = float(np.median(np.log(Yk[sel]) - np.log(Yr[sel])))
    return Clue((Er_w * math.exp(lr)).astype(np.float32), valid.astype(np.float32))


def aggregate(vk: np.ndarray, clues: Sequence[Clue]) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weighted log-mean of the clues' radiance → ``(X, G, conf)``: ``X`` (``H×W×3``, the frame's own linear
    values where no clue), the clue gain ``G = max(0, ln Y_X − ln Y_E)`` and the confidence ``conf = min(1, Σw)``
    (``H×W``)."""
    E = linear(vk)
    if not clues:
        z = np.zeros(vk.shape[:2], np.float32)
        return E, z, z
    lw = np.zeros(vk.shape, np.float32)
    ws = np.zeros(vk.shape[:2], np.float32)
    for c in clues:
        lw += c.w[..., None] * np.log(np.maximum(c.X, 1e-5))
        ws += c.w
    conf = np.clip(ws, 0.0, 1.0)
    Xc = np.exp(lw / np.maximum(ws, 1e-6)[..., None])
    X = np.where(ws[..., None] > 1e-6, conf[..., None] * Xc + (1 - conf[..., None]) * E, E).astype(np.float32)
    G = np.maximum(0.0, np.log(np.maximum(luminance(X), 1e-5)) - np.log(np.maximum(luminance(E), 1e-5)))
    return X, (G * conf).astype(np.float32), conf.astype(np.float32)


def fuse_inputs(vk: np.ndarray, base: np.ndarray, X: np.ndarray, G: np.ndarray, conf: np.ndarray) -> Tensor:
    """:class:`FuseNet` input ``1×13×H×W``: code values (3), α (1), PQ of ``base`` (3), G (1), conf (1), the
    clue's appearance ``(X / max(1, max_c X))^(1/2.4)`` (3), and the measured gain
    ``M = conf · (ln(L · Y_X) − ln Y_base)`` (1) where ``L`` = the median of ``Y_base / Y_E`` over the frame's
    mid-tones (the per-frame model's own scale of SDR light): the clue's radiance put on the model's scale."""
    from hdrkit.color import pq_inverse_eotf

    pq = np.asarray(pq_inverse_eotf(np.clip(base, 0.0, 1e4)), np.float32)
    app = (X / np.maximum(1.0, X.max(-1, keepdims=True))) ** (1 / 2.4)
    Yb = np.maximum(luminance(np.asarray(base, np.float32)), 1e-4)
    YE = np.maximum(luminance(linear(vk)), 1e-5)
    mid = (vk.max(-1) < 0.8) & (YE > 1e-3)
    logL = float(np.median(np.log(Yb[mid] / YE[mid]))) if mid.sum() >= 16 else float(np.log(203.0))
    M = np.clip(conf * (logL + np.log(np.maximum(luminance(X), 1e-5)) - np.log(Yb)), -4.0, 4.0)
    return torch.cat([_t(vk), _t(soft_mask(vk)), _t(pq), _t(G), _t(conf), _t(app), _t(M.astype(np.float32))], 1)


@torch.no_grad()
def fuse(net: FuseNet, vk: np.ndarray, base: np.ndarray, clues: Sequence[Clue]) -> Tuple[np.ndarray, np.ndarray]:
    """``(Δ, X̂)``: the log gain (``H×W×3``) and the restored extended radiance ``X̂ = E · exp(α · Δ)``."""
    X, G, conf = aggregate(vk, clues)
    x, h, w = _pad4(fuse_inputs(vk, base, X, G, conf))
    d = net(x)[0, :, :h, :w].permute(1, 2, 0).numpy().astype(np.float32)
    d = np.clip(d, -4.0, 6.0)
    return d, linear(vk) * np.exp(soft_mask(vk)[..., None] * d)


def _axis(n_in: int, n_out: int, lo: int, hi: int) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bilinear taps of output samples ``lo … hi − 1`` resized from ``n_in`` to ``n_out`` samples: half-pixel
    centres, clamped at the edges (OpenCV ``INTER_LINEAR``'s geometry) → ``(i0, i1, f)``."""
    x = np.clip((np.arange(lo, hi, dtype=np.float64) + 0.5) * (n_in / n_out) - 0.5, 0.0, n_in - 1)
    i0 = np.floor(x).astype(np.intp)
    return i0, np.minimum(i0 + 1, n_in - 1), (x - i0).astype(np.float32)[:, None]


def upsample_rows(delta: np.ndarray, size: Tuple[int, int], r0: int, r1: int) -> np.ndarray:
    """Rows ``r0 … r1 − 1`` of ``delta`` (``h×w×C``) bilinearly resized to ``size`` = ``(W, H)`` →
    ``(r1 − r0)×W×C`` float32.  Each output row depends on its index only, so bands put together are the whole
    resize bit for bit (within ≈ 1e-6 of ``cv2.resize(…, INTER_LINEAR)``)."""
    h, w = delta.shape[:2]
    W, H = size
    d = np.asarray(delta, np.float32)
    if (h, w) == (H, W):
        return d[r0:r1]
    y0, y1, fy = _axis(h, H, r0, r1)
    x0, x1, fx = _axis(w, W, 0, W)
    rows = d[y0] * (1.0 - fy)[..., None] + d[y1] * fy[..., None]
    return rows[:, x0] * (1.0 - fx) + rows[:, x1] * fx


def apply_gain(base: np.ndarray, v: np.ndarray, delta: np.ndarray, peak: float = 1e4,
               band: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Eq. 1 on top of the per-frame model: ``(1 − α)·base + α·base·exp(Δ↑)`` with ``Δ`` (work resolution)
    upsampled bilinearly (:func:`upsample_rows`) and ``α`` from the full-resolution code values ``v``.

    ``band = (r0, H)``: ``base`` and ``v`` (``n×W×3``) are rows ``r0 … r0 + n − 1`` of a frame ``H`` rows high
    (default: the whole frame); the result is that band of the whole frame's result, bit for bit."""
    n, w = base.shape[:2]
    r0, H = (0, n) if band is None else (int(band[0]), int(band[1]))
    d = upsample_rows(delta, (w, H), r0, r0 + n)
    a = soft_mask(v)[..., None]
    out = base * (1.0 - a + a * np.exp(d))
    return np.clip(out, 0.0, peak).astype(np.float32)


# --------------------------------------------------------------------------------------- GOPs and references
def shot_bounds(n: int, cuts: Sequence[int]) -> List[Tuple[int, int]]:
    starts = sorted(set(int(c) for c in cuts if 0 <= int(c) < n) | {0}) if n > 0 else []
    return [(a, b) for a, b in zip(starts, starts[1:] + [n])]


def key_of(t: int, shot: Tuple[int, int], gop: int) -> int:
    """The key frame (GOP centre) of frame ``t`` in ``shot`` = ``(start, end)``."""
    a, b = shot
    g0 = a + ((t - a) // gop) * gop
    g1 = min(g0 + gop, b)
    return g0 + (g1 - g0) // 2


def neighbour_key(t: int, shot: Tuple[int, int], gop: int) -> Optional[int]:
    """The key of the nearest other GOP of the shot on ``t``'s side of its own key (None at the shot's ends)."""
    a, b = shot
    k = key_of(t, shot, gop)
    if t == k:
        return None
    g0 = a + ((t - a) // gop) * gop
    other = g0 - 1 if t < k else g0 + gop
    if not a <= other < b:
        return None
    return key_of(other, shot, gop)


def reference_candidates(k: int, shot: Tuple[int, int], cfg: TCConfig) -> List[int]:
    """Frames of the global sampling (every ``ref_stride``-th of the shot, from its start) within ``±window``
    of key ``k`` and outside its GOP."""
    a, b = shot
    g0 = a + ((k - a) // cfg.gop) * cfg.gop
    g1 = min(g0 + cfg.gop, b)
    return [c for c in range(a, b, max(1, cfg.ref_stride)) if abs(c - k) <= cfg.window and not g0 <= c < g1]


def choose_references(vk: np.ndarray, cands: Sequence[Tuple[int, np.ndarray]], n: int) -> List[Tuple[int, float]]:
    """The ``n`` darkest candidates relative to the key: ``[(index, ln exposure ratio key/ref)]``, largest first."""
    if n <= 0 or not cands:
        return []
    mk = _mid_log_median(vk)
    scored = sorted(((mk - _mid_log_median(v), i) for i, v in cands), key=lambda s: (-s[0], s[1]))
    return [(i, r) for r, i in scored[:n]]


# ------------------------------------------------------------------------------------------------ the model
@dataclass
class TemporalClues:
    """The two networks and the inference settings."""

    fix: FlowFix
    fuse: FuseNet
    cfg: TCConfig
    info: dict


def save_weights(path: str | Path, model: TemporalClues) -> None:
    from hdrkit.models._npz import save_npz

    state = {f"fix.{k}": v for k, v in model.fix.state_dict().items()}
    state.update({f"fuse.{k}": v for k, v in model.fuse.state_dict().items()})
    cfg = asdict(model.cfg)
    cfg["fuse_ch"] = list(cfg["fuse_ch"])
    save_npz(path, state, {"config": cfg, "info": model.info})


def load_weights(path: str | Path) -> TemporalClues:
    """Read :func:`save_weights` output (never unpickles)."""
    from hdrkit.models._npz import load_npz

    p = Path(path)
    state, meta = load_npz(p)
    try:
        c = dict(meta["config"])
        c["fuse_ch"] = tuple(c["fuse_ch"])
        cfg = TCConfig(**c)
        fix, fuse_net = FlowFix(cfg.fix_ch), FuseNet(cfg.fuse_ch)
        fix.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("fix.")})
        fuse_net.load_state_dict({k[5:]: v for k, v in state.items() if k.startswith("fuse.")})
    except (ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise FormatError(f"{p.name} is not an hdrkit temporal-clues weight file ({exc})") from None
    return TemporalClues(fix.eval(), fuse_net.eval(), cfg, meta.get("info", {}))


def model_path() -> Path:
    from hdrkit.video.models import weights_path

    return weights_path("temporal-clues")


def load_model(path: Optional[str | Path] = None) -> TemporalClues:
    from hdrkit.video.models import load_shipped

    return load_shipped("temporal-clues", load_weights, "hdrkit.video.models.tc_train", path)


def gcm_frame(v: np.ndarray) -> np.ndarray:
    """``gcm``'s per-frame output (1000 cd/m² grade, BT.2020 nits) — the per-frame model this method builds on."""
    from hdrkit.expand.learned import gcm

    return gcm(np.asarray(v, np.float32), peak=None)


# ----------------------------------------------------------------------------------------------- restoration
class Restorer:
    """Streams the work-resolution log gains ``Δ`` of a clip in frame order with bounded memory.

    ``thumbs``: an iterator of work-resolution code values (``h×w×3``), one per frame; ``n``: the number of
    frames; ``cuts``: shot starts (:func:`hdrkit.video.shots.detect_cuts`).  Holds the thumbnails within
    ``window + gop`` frames of the current one and the restored keys that can still be used."""

    def __init__(self, model: TemporalClues, thumbs: Iterable[np.ndarray], n: int, cuts: Sequence[int],
                 refs: Optional[int] = None, fix: Optional[bool] = None, propagate: bool = True,
                 steady: bool = True, base_fn: Optional[Callable[[int, np.ndarray], np.ndarray]] = None):
        self.m, self.cfg = model, model.cfg
        self.refs = self.cfg.refs if refs is None else int(refs)
        use_fix = self.cfg.fix if fix is None else bool(fix)
        self.fixnet = model.fix if use_fix else None
        self.propagate = propagate
        self.steady = bool(steady)
        self.raw: dict = {}  # t → Δ before the temporal filter
        self.it = iter(thumbs)
        self.n = int(n)
        self.shots = shot_bounds(self.n, cuts)
        self.base_fn = base_fn or (lambda t, v: gcm_frame(v))
        self.buf: "OrderedDict[int, np.ndarray]" = OrderedDict()
        self.read = 0
        self.keys: dict = {}  # key index → (Δ, X̂)
        self.bases: "OrderedDict[int, np.ndarray]" = OrderedDict()

    def _shot(self, t: int) -> Tuple[int, int]:
        for s in self.shots:
            if s[0] <= t < s[1]:
                return s
        raise InputError(f"frame {t} is outside the clip ({self.n} frames)")

    def _thumb(self, t: int) -> np.ndarray:
        while self.read <= t:
            try:
                f = next(self.it)
            except StopIteration:
                raise InputError(f"the clip ended after {self.read} of {self.n} frames") from None
            self.buf[self.read] = np.ascontiguousarray(f, dtype=np.float32)
            self.read += 1
        if t not in self.buf:
            raise RuntimeError(f"frame {t} was already dropped")  # pragma: no cover (a bug, not bad input)
        return self.buf[t]

    def _base(self, t: int) -> np.ndarray:
        if t not in self.bases:
            self.bases[t] = self.base_fn(t, self._thumb(t))
            while len(self.bases) > 4 * self.cfg.gop:
                self.bases.popitem(last=False)
        return self.bases[t]

    def _key(self, k: int) -> Tuple[np.ndarray, np.ndarray]:
        if k not in self.keys:
            shot = self._shot(k)
            vk = self._thumb(k)
            cands = [(c, self._thumb(c)) for c in reference_candidates(k, shot, self.cfg)]
            chosen = choose_references(vk, cands, self.refs)
            by = dict(cands)
            clues = [align(vk, by[i], None, self.fixnet, self.cfg.flow_preset) for i, _ in chosen]
            self.keys[k] = fuse(self.m.fuse, vk, self._base(k), clues)
        return self.keys[k]

    def thumb(self, t: int) -> np.ndarray:
        """Work-resolution code values of frame ``t`` (still held)."""
        return self._thumb(t)

    def base(self, t: int) -> np.ndarray:
        """The per-frame model's output for frame ``t`` at the work resolution."""
        return self._base(t)

    def _evict(self, t: int) -> None:
        lo = t - self.cfg.window - self.cfg.gop
        for i in [i for i in self.buf if i < lo]:
            del self.buf[i]
        for k in [k for k in self.keys if k < t - 2 * self.cfg.gop]:
            del self.keys[k]

    def _raw(self, t: int) -> np.ndarray:
        if t not in self.raw:
            shot = self._shot(t)
            k = key_of(t, shot, self.cfg.gop)
            if t == k:
                d = self._key(k)[0]
            elif not self.propagate:
                d = np.zeros(self._thumb(t).shape, np.float32)
            else:
                vt = self._thumb(t)
                ks = [k] + ([nk] if (nk := neighbour_key(t, shot, self.cfg.gop)) is not None else [])
                clues = [align(vt, self._thumb(j), self._key(j)[1], self.fixnet, self.cfg.flow_preset) for j in ks]
                d = fuse(self.m.fuse, vt, self._base(t), clues)[0]
            self.raw[t] = d
        return self.raw[t]

    def _steady(self, t: int) -> np.ndarray:
        """Δ of ``t`` averaged with its neighbours' ``t ± 1`` (same shot) warped along the DIS flow, each weighted
        by its own over-exposure mask α and the forward–backward check: ``Σ α_j Δ_j / Σ α_j``."""
        from hdrkit.metrics.temporal import dis_flow, occlusion_mask, warp

        vt, d = self._thumb(t), self._raw(t)
        a = soft_mask(vt)
        num, den = a[..., None] * d, a.copy()
        a0, a1 = self._shot(t)
        for j in (t - 1, t + 1):
            if not a0 <= j < a1:
                continue
            vj = self._thumb(j)
            aj = soft_mask(vj)
            if not (aj > 0).any():
                continue
            gt, gj = flow_greys(vt, vj, _mid_log_median(vt) - _mid_log_median(vj))
            fw, bw = dis_flow(gt, gj, self.cfg.flow_preset), dis_flow(gj, gt, self.cfg.flow_preset)
            ok = occlusion_mask(fw, bw).astype(np.float32)
            wj = warp(aj, fw) * ok
            num += wj[..., None] * warp(aj[..., None] * self._raw(j), fw).reshape(num.shape)
            den += wj
        return np.where(den[..., None] > 1e-3, num / np.maximum(den, 1e-3)[..., None], d).astype(np.float32)

    def frame(self, t: int) -> np.ndarray:
        """``Δ`` of frame ``t`` (call in increasing ``t``)."""
        d = self._steady(t) if self.steady else self._raw(t)
        for i in [i for i in self.raw if i < t]:
            del self.raw[i]
        self._evict(t)
        return d

    def __iter__(self) -> Iterator[np.ndarray]:
        for t in range(self.n):
            yield self.frame(t)


def options(refs: Optional[int] = None, fix: Optional[bool] = None, propagate: bool = True,
            steady: bool = True) -> dict:
    """The user-settable options of ``temporal-clues`` (``--param NAME=VALUE`` of ``hdrkit video expand``):
    ``refs`` references per key frame (default: the model's, 4), ``fix`` the learned flow correction (default
    on), ``propagate`` restored key frames as clues of the other frames (default on; off = non-key frames are
    the per-frame model's), ``steady`` the gain averaged with frames t ± 1 along the flow (default on).
    Returns them checked, as a dict."""
    if refs is not None and not 0 <= int(refs) <= 16:
        raise InputError(f"refs must lie in 0..16, got {refs}")
    return {"refs": None if refs is None else int(refs), "fix": fix, "propagate": bool(propagate),
            "steady": bool(steady)}


def expand_frames(frames: Sequence[np.ndarray], cuts: Optional[Sequence[int]] = None, peak: Optional[float] = None,
                  model: Optional[TemporalClues] = None, refs: Optional[int] = None, fix: Optional[bool] = None,
                  propagate: bool = True, steady: bool = True,
                  bases: Optional[Sequence[np.ndarray]] = None) -> List[np.ndarray]:
    """In-memory ``temporal-clues`` of a list of SDR frames (BT.709 code values ``H×W×3``) → nits frames.

    ``cuts``: shot starts (default: :mod:`hdrkit.video.shots` on the frames); ``refs``/``fix``/``propagate``
    override the model's settings (ablations); ``peak``: re-grade the 1000 cd/m² output (as ``gcm``);
    ``bases``: :func:`gcm_frame` of each frame when already computed (benchmarks)."""
    from hdrkit.expand.learned import GRADE_PEAK, _finish

    from hdrkit.video.models import clip_frames

    frames, cuts = clip_frames(frames, cuts)
    m = model or load_model()
    size = work_size(frames[0].shape[1], frames[0].shape[0], m.cfg.work)
    same = (frames[0].shape[1], frames[0].shape[0]) == size
    given = bases
    bases: dict = {}

    def full_base(t: int) -> np.ndarray:
        return np.asarray(given[t], np.float32) if given is not None else gcm_frame(frames[t])

    def base(t: int, v: np.ndarray) -> np.ndarray:  # at the work resolution (= the frame's: computed once)
        if not same:
            return gcm_frame(v)
        if t not in bases:
            bases[t] = full_base(t)
        return bases[t]

    r = Restorer(m, (to_work(f, size) for f in frames), len(frames), cuts, refs, fix, propagate, steady, base_fn=base)
    out = []
    for t, f in enumerate(frames):
        d = r.frame(t)
        full = base(t, f) if same else full_base(t)
        bases.pop(t, None)
        out.append(_finish(apply_gain(full, f, d), GRADE_PEAK if peak is None else peak))
    return out


def restorer(model: TemporalClues, thumbs, n: int, cuts: Sequence[int], base_fn=None, **opts) -> Restorer:
    """The streaming part of :func:`hdrkit.video.expand.expand_video` (:func:`options` as keywords)."""
    return Restorer(model, thumbs, n, cuts, base_fn=base_fn, **opts)


def apply_output(model: TemporalClues, base: np.ndarray, v: np.ndarray, delta: np.ndarray, **opts) -> np.ndarray:
    """The output of a frame: :func:`apply_gain` (the options act in the restorer)."""
    return apply_gain(base, v, delta)


def output_bands(model: Optional[TemporalClues], base: np.ndarray, v: np.ndarray, delta: np.ndarray, rows: int,
                 **opts) -> Iterator[Tuple[int, np.ndarray]]:
    """:func:`apply_output` of a full-resolution frame in bands of ``rows`` rows: ``(r0, cd/m² rows)``, the same
    numbers as the whole frame at once."""
    H = base.shape[0]
    for r0 in range(0, H, rows):
        r1 = min(H, r0 + rows)
        yield r0, apply_gain(base[r0:r1], v[r0:r1], delta, band=(r0, H))
