"""Per-image transfer with spatial-aware online hard example mining (Algorithm 2 of "MLP Embedded Inverse Tone
Mapping", ACM MM 2024).

Start from ``theta_init``; fit the network on a sparse set of pixels (initially a regular grid holding
``sample_fraction`` of the image) with full-batch Adam on the MSE of PQ code values.  At the steps in
``resample_at`` decode the whole image, compute the L1 error map ``E`` (summed over channels) and draw a new
sample set of the same size: ``error_fraction`` of it drawn with probability proportional to ``E`` (without
replacement), the rest evenly spaced over the flat pixel index.  ``error_fraction = 0`` with no resampling is
plain uniform sampling.  A wall-clock ``time_budget`` stops early.

Robustness (hdrkit additions, docs/CODEC.md): every ``check_every`` steps (and after the last one) the loss on
the *initial* uniform grid is measured and the adaptation returns the best weights it saw by that measure, so a
late loss spike is never shipped; the learning rate decays as ``lr / (1 + step / lr_halflife)``, a schedule that
does not depend on the number of steps, so a longer run repeats a shorter one's trajectory and then goes on
(with best-weight selection, more steps can only lower the checked loss).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace
from typing import Dict, Optional, Tuple

import numpy as np
import torch
from torch import Tensor

from hdrkit._array import resolve_device
from hdrkit.errors import InputError
from hdrkit.models.fast import decode_pq
from hdrkit.models.siren import Params, SirenConfig, fold, folded_scale, forward, unfold
from hdrkit.progress import ProgressFn, report


@dataclass(frozen=True)
class AdaptConfig:
    """Settings of the per-image transfer (defaults chosen by measurement: docs/CODEC.md)."""

    steps: int = 200
    lr: float = 3e-4  # measured: 1e-4 / 3e-4 / 1e-3 / 3e-3 from the shipped theta_init, docs/CODEC.md
    sample_fraction: float = 0.01   # measured: 1 % with OHEM 0.5 matches 2 % with OHEM 0.2 at half the time
    resample_at: Tuple[int, ...] = (50, 101, 152)
    error_fraction: float = 0.5
    min_samples: int = 4096  # small pictures: sample at least this many pixels (1 % of 0.4 MP)
    time_budget: Optional[float] = None  # seconds of wall time for the whole adaptation (stops before overrunning)
    seed: int = 0
    lr_halflife: Optional[float] = None  # lr / (1 + step / halflife); None: constant
    clip: Optional[float] = None  # global gradient-norm clipping (folded parameters); None: off
    keep_best: bool = True  # return the weights with the lowest loss on the initial grid
    check_every: int = 10

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise InputError(f"steps must be >= 0, got {self.steps}")
        if not (0 < self.lr < 1):
            raise InputError(f"learning rate must be in (0, 1), got {self.lr}")
        if not (0 < self.sample_fraction <= 1):
            raise InputError(f"sample fraction must be in (0, 1], got {self.sample_fraction}")
        if self.min_samples < 0:
            raise InputError(f"min_samples must be >= 0, got {self.min_samples}")
        if not (0 <= self.error_fraction <= 1):
            raise InputError(f"error fraction must be in [0, 1], got {self.error_fraction}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise InputError(f"time budget must be positive, got {self.time_budget}")
        if self.lr_halflife is not None and not self.lr_halflife > 0:
            raise InputError(f"lr half-life must be positive, got {self.lr_halflife}")
        if self.clip is not None and not self.clip > 0:
            raise InputError(f"gradient clipping must be positive, got {self.clip}")
        if self.check_every < 1:
            raise InputError(f"check_every must be >= 1, got {self.check_every}")
        object.__setattr__(self, "resample_at", tuple(int(s) for s in self.resample_at))


@dataclass
class AdaptInfo:
    steps_run: int = 0
    seconds: float = 0.0
    loss: list = field(default_factory=list)  # (step, sample-set MSE)
    resampled_at: list = field(default_factory=list)
    checks: list = field(default_factory=list)  # (steps done, MSE on the initial grid)
    best_step: int = 0  # steps done when the returned weights were current


class _Adam:
    """Adam (Kingma & Ba 2015) with the update of ``torch.optim.Adam`` (no weight decay), written out with
    ``torch._foreach`` ops: ``torch.optim``'s first step imports the compiler stack (~5 s), which a CLI
    encode of a small picture should not pay."""

    def __init__(self, params: list, lr, betas=(0.9, 0.999), eps: float = 1e-8):
        """``lr``: one learning rate, or one per parameter tensor."""
        self.params, self.betas, self.eps, self.t = params, betas, eps, 0
        self.lr = list(lr) if isinstance(lr, (list, tuple)) else [lr] * len(params)
        self.m = [torch.zeros_like(p) for p in params]
        self.v = [torch.zeros_like(p) for p in params]

    @torch.no_grad()
    def step(self, grads, scale: float = 1.0) -> None:
        """One update; ``scale`` multiplies every learning rate (schedules)."""
        b1, b2 = self.betas
        self.t += 1
        torch._foreach_lerp_(self.m, list(grads), 1 - b1)
        torch._foreach_mul_(self.v, b2)
        torch._foreach_addcmul_(self.v, list(grads), list(grads), value=1 - b2)
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, math.sqrt(c2))
        torch._foreach_add_(denom, self.eps)
        torch._foreach_div_(denom, [-(lr * scale / c1) for lr in self.lr])  # denom <- -(sqrt(v_hat) + eps) * c1 / lr
        torch._foreach_addcdiv_(self.params, self.m, denom)


def grid_indices(height: int, width: int, fraction: float) -> Tensor:
    """Flat indices of a regular grid with stride ``round(1/sqrt(fraction))`` (0.02 -> every 7th row/column)."""
    stride = max(1, int(round(1.0 / math.sqrt(fraction))))
    rows = torch.arange(0, height, stride)
    cols = torch.arange(0, width, stride)
    return (rows[:, None] * width + cols[None, :]).reshape(-1)


def ohem_indices(err: Tensor, n: int, error_fraction: float, generator: torch.Generator) -> Tensor:
    """New sample set of ``n`` flat indices: ``error_fraction`` drawn ∝ ``err`` (no replacement), rest evenly spaced.

    err: ``(H*W,)`` non-negative error per pixel.
    """
    total = err.numel()
    n = min(n, total)
    n_err = int(round(error_fraction * n))
    n_uni = n - n_err
    parts = []
    if n_uni > 0:
        parts.append(torch.linspace(0, total - 1, n_uni).round().long())
    if n_err > 0:
        w = err.double().clamp_min(0)
        if not torch.isfinite(w).all() or float(w.sum()) <= 0:
            w = torch.ones_like(w)
        w = w + w.max() * 1e-12  # every pixel stays drawable
        parts.append(torch.multinomial(w, n_err, replacement=False, generator=generator))
    return torch.cat(parts)


def _gather(sdr: Tensor, hdr: Tensor, idx: Tensor, height: int, width: int) -> Tuple[Tensor, Tensor, Tensor]:
    rgb = sdr.reshape(-1, 3)[idx]
    tgt = hdr.reshape(-1, 3)[idx]
    r = torch.div(idx, width, rounding_mode="floor")
    c = idx - r * width
    xy = torch.stack([c.float() / max(width - 1, 1), r.float() / max(height - 1, 1)], dim=-1)
    return rgb, xy, tgt


def adapt(
    sdr: np.ndarray | Tensor,
    hdr_pq: np.ndarray | Tensor,
    theta_init: Params,
    model_cfg: SirenConfig = SirenConfig(),
    cfg: AdaptConfig = AdaptConfig(),
    *,
    device=None,
    progress: Optional[ProgressFn] = None,
) -> Tuple[Params, AdaptInfo]:
    """Fit the network to one (SDR, HDR) pair.

    sdr: ``(H, W, 3)`` SDR code values in [0, 1];  hdr_pq: ``(H, W, 3)`` target PQ code values (BT.2020).
    Returns the adapted parameters (detached, on the host) and an :class:`AdaptInfo`.
    """
    t0 = time.perf_counter()
    device = resolve_device(device)
    sdr_t = torch.as_tensor(np.asarray(sdr, dtype=np.float32) if not isinstance(sdr, Tensor) else sdr).float()
    hdr_t = torch.as_tensor(np.asarray(hdr_pq, dtype=np.float32) if not isinstance(hdr_pq, Tensor) else hdr_pq).float()
    if sdr_t.ndim != 3 or sdr_t.shape[-1] != 3 or sdr_t.shape != hdr_t.shape:
        raise InputError(f"SDR {tuple(sdr_t.shape)} and HDR {tuple(hdr_t.shape)} must be matching H x W x 3 images")
    H, W, _ = sdr_t.shape
    gen = torch.Generator().manual_seed(cfg.seed)
    # Train the omega0-folded parameters (no multiply by omega0 in the forward and backward passes) with Adam at
    # lr * omega0 for the folded ones: the same trajectory as Adam at lr on the stored parametrisation (Adam's
    # step is invariant to a constant rescaling of a parameter and its gradient, up to eps).
    folded = fold({k: v.detach().to(device) for k, v in theta_init.items()}, model_cfg)
    params = {k: v.clone().requires_grad_(True) for k, v in folded.items()}
    opt = _Adam(list(params.values()), lr=[cfg.lr * folded_scale(k, model_cfg) for k in params])
    fraction = max(cfg.sample_fraction, min(1.0, cfg.min_samples / (H * W)))
    idx = grid_indices(H, W, fraction)
    n_samples = max(1, int(round(fraction * H * W)))
    rgb, xy, tgt = (t.to(device) for t in _gather(sdr_t, hdr_t, idx, H, W))
    val = (rgb, xy, tgt)  # the initial uniform grid: the yardstick of best-weight selection
    info = AdaptInfo()
    resample = set(cfg.resample_at)
    best_loss, best = math.inf, None

    def check(done: int, loss_on_val: Optional[float] = None) -> None:
        nonlocal best_loss, best
        if loss_on_val is None:
            with torch.no_grad():
                loss_on_val = float(torch.mean((forward(params, *val[:2], model_cfg, folded=True) - val[2]) ** 2))
        info.checks.append((done, loss_on_val))
        if loss_on_val < best_loss:  # NaN never wins
            best_loss, info.best_step = loss_on_val, done
            best = {k: v.detach().clone() for k, v in params.items()}

    done = 0
    t_loop = time.perf_counter()
    for step in range(cfg.steps):
        if cfg.time_budget is not None and step > 0:  # stop when one more (average) step would overrun
            now = time.perf_counter()
            if now - t0 + (now - t_loop) / step > cfg.time_budget:
                break
        if step in resample and step > 0:
            pred = torch.from_numpy(decode_pq(unfold(params, model_cfg), sdr_t, model_cfg, device=device))
            err = (pred - hdr_t).abs().sum(-1).reshape(-1)
            idx = ohem_indices(err, n_samples, cfg.error_fraction, gen)
            rgb, xy, tgt = (t.to(device) for t in _gather(sdr_t, hdr_t, idx, H, W))
            info.resampled_at.append(step)
        loss = torch.mean((forward(params, rgb, xy, model_cfg, folded=True) - tgt) ** 2)
        if not torch.isfinite(loss):
            break  # diverged: the best weights seen so far are returned
        if cfg.keep_best and step % cfg.check_every == 0:
            check(step, float(loss.detach()) if rgb is val[0] else None)
        grads = torch.autograd.grad(loss, list(params.values()))
        if cfg.clip is not None:
            norm = torch.sqrt(sum(torch.sum(g * g) for g in grads))
            if float(norm) > cfg.clip:
                grads = [g * (cfg.clip / float(norm)) for g in grads]
        opt.step(grads, 1.0 if cfg.lr_halflife is None else 1.0 / (1.0 + step / cfg.lr_halflife))
        done = info.steps_run = step + 1
        if step % 10 == 0 or step == cfg.steps - 1:
            info.loss.append((step, float(loss.detach())))
            if cfg.time_budget is None:
                report(progress, step + 1, cfg.steps, "adapting")
            else:  # whichever ends first: the steps or the budget (per mille)
                frac = max((step + 1) / cfg.steps, (time.perf_counter() - t0) / cfg.time_budget)
                report(progress, min(1000, int(1000 * frac)), 1000, "adapting")
    if cfg.time_budget is not None:
        report(progress, 1000, 1000, "adapting")
    if cfg.keep_best:
        check(done)
        with torch.no_grad():
            for k in params:
                params[k].copy_(best[k])
    else:
        info.best_step = done
    info.seconds = time.perf_counter() - t0
    return {k: v.detach().cpu() for k, v in unfold(params, model_cfg).items()}, info
