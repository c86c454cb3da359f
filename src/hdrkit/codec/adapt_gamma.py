"""Per-image fitting of the gamma-map family (:mod:`hdrkit.models.gammanet`).

Adam on random pixel batches (a fresh uniform draw of ``batch`` pixels each step: the cost of a step does not
depend on the picture's size), learning rate ``lr / (1 + step / lr_halflife)``, loss in a perceptual domain:
``pq`` = MSE of the BT.2020 PQ code values, ``itp`` = MSE of ICtCp with T = Ct / 2 (the ΔE_ITP space of ITU-R
BT.2124, whose colour error the benchmark reports), ``mix`` = their sum.  Every ``check_every`` steps (and after
the last) the ``pq`` + ``itp`` loss on a fixed validation grid is measured and the best weights seen are
returned, so a late spike is never shipped and more steps never end worse on that grid.  ``time_budget`` stops
before a step would overrun it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np
import torch

from hdrkit.codec.adapt import AdaptInfo, _Adam
from hdrkit.errors import InputError
from hdrkit.models.gammanet import LOSSES, GammaConfig, TorchConsts, forward_torch, loss_torch, pq_to_itp
from hdrkit.progress import ProgressFn, report



@dataclass(frozen=True)
class GammaAdaptConfig:
    """Settings of the gamma-family fitting (defaults chosen by measurement on the dev split: docs/CODEC.md)."""

    steps: int = 1000
    lr: float = 1e-2
    batch: int = 2048  # measured: 2,048 x 1,000 steps beats 8,192 x 500 at less CPU time (docs/CODEC.md)
    lr_halflife: Optional[float] = None
    loss: str = "mix"
    itp_share: float = 0.25  # the ITP term of "mix" on this leading share of each batch (a random subset)
    time_budget: Optional[float] = None
    seed: int = 0
    keep_best: bool = True
    check_every: int = 50
    val_pixels: int = 16384
    ohem: float = 0.0  # share of each batch drawn from the hard set (adapt_gamma_samples); 0 = uniform draws
    ohem_every: int = 50
    ohem_pool: int = 32768

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise InputError(f"steps must be >= 0, got {self.steps}")
        if not (0 < self.lr < 1):
            raise InputError(f"learning rate must be in (0, 1), got {self.lr}")
        if not 0 < self.itp_share <= 1:
            raise InputError(f"itp_share must be in (0, 1], got {self.itp_share}")
        if self.batch < 1 or self.val_pixels < 1:
            raise InputError(f"batch and val_pixels must be positive, got {self.batch}, {self.val_pixels}")
        if self.loss not in LOSSES:
            raise InputError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if self.time_budget is not None and not self.time_budget > 0:
            raise InputError(f"time budget must be positive, got {self.time_budget}")
        if self.lr_halflife is not None and not self.lr_halflife > 0:
            raise InputError(f"lr half-life must be positive, got {self.lr_halflife}")
        if not 0 <= self.ohem < 1 or self.ohem_every < 1 or self.ohem_pool < 4:
            raise InputError(f"ohem share must be in [0, 1), got {self.ohem}")
        if self.check_every < 1:
            raise InputError(f"check_every must be >= 1, got {self.check_every}")


def adapt_gamma(sdr_u8: np.ndarray, hdr_pq: np.ndarray, theta_init: Dict[str, np.ndarray],
                cfg: GammaConfig = GammaConfig(), acfg: GammaAdaptConfig = GammaAdaptConfig(), *,
                progress: Optional[ProgressFn] = None) -> Tuple[Dict[str, np.ndarray], AdaptInfo]:
    """Fit to one pair: ``sdr_u8`` ``(H, W, 3)`` uint8 SDR codes, ``hdr_pq`` ``(H, W, 3)`` BT.2020 PQ code values.
    Returns the best weights seen (numpy float32) and an :class:`AdaptInfo` (``checks`` = validation losses)."""
    sdr_u8 = np.asarray(sdr_u8)
    if sdr_u8.dtype != np.uint8:
        raise InputError("the gamma family adapts on 8-bit SDR codes")
    if sdr_u8.ndim != 3 or sdr_u8.shape[2] != 3 or sdr_u8.shape != np.shape(hdr_pq):
        raise InputError(f"SDR {sdr_u8.shape} and HDR {np.shape(hdr_pq)} must be matching H x W x 3 images")
    H, W, _ = sdr_u8.shape
    n = H * W
    stride = max(1, int(math.floor(math.sqrt(n / acfg.val_pixels))))
    val_idx = (torch.arange(0, H, stride)[:, None] * W + torch.arange(0, W, stride)[None, :]).reshape(-1)
    return adapt_gamma_samples(sdr_u8.reshape(-1, 3), hdr_pq, None, H, W, theta_init, cfg, acfg,
                               val_idx=val_idx, progress=progress)


def adapt_gamma_samples(codes: np.ndarray, pq: np.ndarray, rc: Optional[np.ndarray], height: int, width: int,
                        theta_init: Dict[str, np.ndarray], cfg: GammaConfig = GammaConfig(),
                        acfg: GammaAdaptConfig = GammaAdaptConfig(), *, val_idx=None,
                        progress: Optional[ProgressFn] = None) -> Tuple[Dict[str, np.ndarray], AdaptInfo]:
    """Fit to a pool of ``N`` sampled pixels of a ``height`` × ``width`` picture (or of several frames of one
    shot of a video): ``codes`` ``(N, 3)`` uint8 SDR codes, ``pq`` ``(N, 3)`` target PQ code values, ``rc``
    ``(N, 2)`` integer (row, column) of each sample (None: the pool is the whole picture in raster order).
    ``val_idx``: the validation samples (default every ``N / val_pixels``-th).

    With ``acfg.ohem > 0`` (online hard example mining) every ``acfg.ohem_every`` steps the PQ error of
    ``acfg.ohem_pool`` random pool samples is measured and the worst quarter becomes the *hard set*; that share
    of each batch is then drawn from it (the rest uniformly from the pool)."""
    t0 = time.perf_counter()
    codes = np.asarray(codes)
    if codes.dtype != np.uint8 or codes.ndim != 2 or codes.shape[1] != 3:
        raise InputError("the gamma family adapts on 8-bit SDR codes (N x 3)")
    n = codes.shape[0]
    if n == 0 or np.size(pq) != 3 * n or (rc is not None and np.shape(rc) != (n, 2)):
        raise InputError(f"{n} samples need matching N x 3 targets and N x 2 positions")
    H, W = int(height), int(width)
    consts = TorchConsts(cfg, H, W)
    codes_all = torch.from_numpy(np.array(codes))  # a writable copy (the input may be read-only)
    tgt_all = torch.from_numpy(np.ascontiguousarray(pq, np.float32).reshape(-1, 3))
    rc_all = None if rc is None else torch.from_numpy(np.ascontiguousarray(rc, np.int64))
    gen = torch.Generator().manual_seed(acfg.seed)

    share = acfg.itp_share if acfg.loss == "mix" else 1.0

    def batch_of(idx):  # index_select: the same values as advanced indexing, several times faster
        tgt = tgt_all.index_select(0, idx)
        with torch.no_grad():
            itp = pq_to_itp(tgt[:max(1, int(round(share * len(idx))))]) if acfg.loss != "pq" else None
        if rc_all is None:
            r, c = idx // W, idx % W
        else:
            rc = rc_all.index_select(0, idx)
            r, c = rc[:, 0], rc[:, 1]
        return r, c, codes_all.index_select(0, idx).long(), tgt, itp

    if val_idx is None:
        val_idx = torch.arange(0, n, max(1, n // acfg.val_pixels))
    vr, vc, vcodes, vtgt, _ = batch_of(val_idx)
    with torch.no_grad():
        vitp = pq_to_itp(vtgt)
    params = {k: torch.tensor(np.asarray(v, np.float32), requires_grad=True) for k, v in theta_init.items()}
    opt = _Adam(list(params.values()), lr=acfg.lr)
    info = AdaptInfo()
    best_loss, best = math.inf, None
    hard = None
    n_hard = int(round(acfg.ohem * min(acfg.batch, n)))

    def check(done: int) -> None:
        nonlocal best_loss, best
        with torch.no_grad():
            loss = float(loss_torch(forward_torch(params, vr, vc, vcodes, consts, cfg, clip=True), vtgt, vitp, "mix"))
        info.checks.append((done, loss))
        if loss < best_loss:  # NaN never wins
            best_loss, info.best_step = loss, done
            best = {k: v.detach().clone() for k, v in params.items()}

    def mine() -> torch.Tensor:
        cand = torch.randint(0, n, (min(acfg.ohem_pool, n),), generator=gen)
        r, c, cc, tgt, _ = batch_of(cand)
        with torch.no_grad():
            err = ((forward_torch(params, r, c, cc, consts, cfg, clip=True) - tgt) ** 2).sum(dim=1)
        k = max(1, len(cand) // 4)
        return cand[torch.topk(err, k).indices]

    if acfg.keep_best:
        check(0)
    t_loop = time.perf_counter()
    done = 0
    for step in range(acfg.steps):
        if acfg.time_budget is not None and step > 0:
            now = time.perf_counter()
            if now - t0 + (now - t_loop) / step > acfg.time_budget:
                break
        if n_hard and step % acfg.ohem_every == 0 and step >= acfg.ohem_every:
            hard = mine()
        idx = torch.randint(0, n, (min(acfg.batch, n),), generator=gen)
        if hard is not None:
            idx[:n_hard] = hard[torch.randint(0, len(hard), (n_hard,), generator=gen)]
        r, c, codes_b, tgt, itp = batch_of(idx)
        loss = loss_torch(forward_torch(params, r, c, codes_b, consts, cfg), tgt, itp, acfg.loss)
        if not torch.isfinite(loss):
            break  # diverged: the best weights seen so far are returned
        grads = torch.autograd.grad(loss, list(params.values()))
        opt.step(grads, 1.0 if acfg.lr_halflife is None else 1.0 / (1.0 + step / acfg.lr_halflife))
        done = info.steps_run = step + 1
        if acfg.keep_best and done % acfg.check_every == 0:
            check(done)
        if step % 10 == 0 or done == acfg.steps:
            info.loss.append((step, float(loss.detach())))
            if acfg.time_budget is None:
                report(progress, done, acfg.steps, "adapting")
            else:
                frac = max(done / max(acfg.steps, 1), (time.perf_counter() - t0) / acfg.time_budget)
                report(progress, min(1000, int(1000 * frac)), 1000, "adapting")
    if acfg.time_budget is not None:
        report(progress, 1000, 1000, "adapting")
    if acfg.keep_best:
        if not info.checks or info.checks[-1][0] != done:
            check(done)
        final = best
    else:
        final, info.best_step = {k: v.detach() for k, v in params.items()}, done
    info.seconds = time.perf_counter() - t0
    return {k: v.detach().numpy().astype(np.float32) for k, v in final.items()}, info
