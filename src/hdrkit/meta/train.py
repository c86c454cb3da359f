"""Meta-training the initialisation theta_init of the embedded MLP, with ``torch.func``.

Algorithms (``MetaConfig.algorithm``):

* ``"maml"`` -- Algorithm 1 of "MLP Embedded Inverse Tone Mapping" (ACM MM 2024).  A task is a support set of
  3 pairs and a query set of 1 pair.  Inner update theta -> theta' by ``inner_steps`` SGD steps on the pooled
  support samples; *fast adaptation* theta' -> theta'' by ``fast_steps`` Adam steps on a sparse grid of the query
  pixels (what the per-image transfer does); outer update of theta from the query loss at theta'' measured on
  other query pixels.  ``second_order=True`` differentiates through every inner and fast step
  (``torch.func.grad`` of the whole unrolled computation); ``False`` is first-order (the gradient at theta'').
* ``"reptile"`` -- GamutMLP-style Reptile (Nichol et al. 2018): adapt to the task's images for
  ``inner_steps`` Adam steps and move theta towards the adapted weights (outer Adam on theta - theta'); no
  fast-adaptation step.
* ``"naive"`` -- joint training: plain Adam on random pixels of random pairs, loss at theta itself.
* ``"none"`` -- the SIREN random initialisation (no training).

Runs are described by a typed :class:`MetaConfig`; :data:`RECIPES` is the explicit registry used by
``hdrkit train meta --recipe NAME``.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor
from torch.func import grad

from hdrkit.errors import InputError
from hdrkit.meta.tasks import Pair
from hdrkit.models.siren import Params, SirenConfig, coord_grid, forward, init_params
from hdrkit.progress import ProgressFn, report

ALGORITHMS = ("maml", "reptile", "naive", "none")


@dataclass(frozen=True)
class MetaConfig:
    """One meta-training run (see the module docstring for the algorithms)."""

    algorithm: str = "maml"
    second_order: bool = False
    iterations: int = 2000          # outer updates
    meta_batch: int = 2             # tasks per outer update
    meta_lr: float = 1e-4           # outer Adam learning rate
    support: int = 3                # pairs in the support set
    inner_steps: int = 3            # SGD steps on the support (reptile: Adam steps on the task)
    inner_lr: float = 1e-3
    fast_steps: int = 20            # Adam steps on the query (the per-image transfer, shortened)
    fast_lr: float = 1e-3
    grid_stride: int = 4            # training samples: every n-th row/column of a pair
    eval_samples: int = 2048        # query pixels scoring the outer loss
    patch: int = 128                # pair size (pixels per side)
    pool: int = 1500                # pairs synthesised before training
    procedural_share: float = 0.25
    tmos: Tuple[str, ...] = ("youtube", "bt2446a", "reinhard", "camera")
    exclude: Tuple[str, ...] = ("night", "sunset")  # panoramas kept out of training (held-out check)
    val_every: int = 100
    val_pairs: int = 6
    val_steps: int = 50
    time_budget: Optional[float] = None  # seconds
    seed: int = 0
    model: SirenConfig = field(default_factory=SirenConfig)

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise InputError(f"algorithm must be one of {ALGORITHMS}, got {self.algorithm!r}")
        for name in ("iterations", "meta_batch", "support", "grid_stride", "eval_samples", "patch", "pool"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be >= 1")
        object.__setattr__(self, "tmos", tuple(self.tmos))
        object.__setattr__(self, "exclude", tuple(self.exclude))


#: Explicit registry of training recipes (``hdrkit train meta --recipe NAME``).
RECIPES: Dict[str, MetaConfig] = {
    # The shipped theta_init: Reptile won the held-out comparison (docs/CODEC.md); 761 outer iterations is where
    # the 11-minute run that produced the shipped file stopped (iterations make the run reproducible).
    "default": MetaConfig(algorithm="reptile", inner_steps=20, meta_lr=1e-4, iterations=761),
    "maml1": MetaConfig(),
    "maml2": MetaConfig(second_order=True, fast_steps=10, meta_lr=3e-5),
    "reptile": MetaConfig(algorithm="reptile", inner_steps=20, meta_lr=1e-4),
    "naive": MetaConfig(algorithm="naive", meta_batch=8),
    "none": MetaConfig(algorithm="none", iterations=1),
    "smoke": MetaConfig(iterations=6, pool=12, patch=32, val_every=3, val_pairs=2, val_steps=3, fast_steps=2,
                        eval_samples=128, grid_stride=2),
}


# ------------------------------------------------------------------------------------- functional pieces
Batch = Tuple[Tensor, Tensor, Tensor]  # rgb (N,3), xy (N,2), target (N,3)


def mse_loss(params: Params, batch: Batch, cfg: SirenConfig) -> Tensor:
    rgb, xy, tgt = batch
    return torch.mean((forward(params, rgb, xy, cfg) - tgt) ** 2)


def sgd_steps(params: Params, batch: Batch, cfg: SirenConfig, steps: int, lr: float,
              differentiable: bool) -> Params:
    """``steps`` of plain gradient descent (differentiable when asked: for second-order meta-gradients)."""
    g = grad(mse_loss)
    for _ in range(steps):
        gr = g(params, batch, cfg)
        params = {k: params[k] - lr * gr[k] for k in params}
        if not differentiable:
            params = {k: v.detach() for k, v in params.items()}
    return params


def adam_steps(params: Params, batch: Batch, cfg: SirenConfig, steps: int, lr: float,
               differentiable: bool, betas=(0.9, 0.999), eps: float = 1e-8) -> Params:
    """``steps`` of Adam written functionally (same update as ``torch.optim.Adam``; differentiable if asked)."""
    g = grad(mse_loss)
    m = {k: torch.zeros_like(v) for k, v in params.items()}
    v2 = {k: torch.zeros_like(v) for k, v in params.items()}
    b1, b2 = betas
    for t in range(1, steps + 1):
        gr = g(params, batch, cfg)
        m = {k: b1 * m[k] + (1 - b1) * gr[k] for k in params}
        v2 = {k: b2 * v2[k] + (1 - b2) * gr[k] * gr[k] for k in params}
        c1, c2 = 1 - b1 ** t, 1 - b2 ** t
        # sqrt(v + tiny) keeps the second-order graph finite where v == 0
        params = {k: params[k] - lr * (m[k] / c1) / (torch.sqrt(v2[k] / c2 + 1e-30) + eps) for k in params}
        if not differentiable:
            params = {k: p.detach() for k, p in params.items()}
            m = {k: x.detach() for k, x in m.items()}
            v2 = {k: x.detach() for k, x in v2.items()}
    return params


def pair_grid_batch(pair: Pair, stride: int, offset: int = 0) -> Batch:
    """Samples on a regular grid (every ``stride``-th row/column from ``offset``) of one pair."""
    sdr, pq = pair
    h, w, _ = sdr.shape
    xy = coord_grid(h, w)
    sl = (slice(offset % stride, None, stride), slice(offset % stride, None, stride))
    return (torch.from_numpy(np.ascontiguousarray(sdr[sl])).reshape(-1, 3), xy[sl].reshape(-1, 2),
            torch.from_numpy(np.ascontiguousarray(pq[sl])).reshape(-1, 3))


def pair_random_batch(pair: Pair, n: int, rng: np.random.Generator) -> Batch:
    sdr, pq = pair
    h, w, _ = sdr.shape
    idx = rng.choice(h * w, size=min(n, h * w), replace=False)
    r, c = idx // w, idx % w
    xy = np.stack([c / max(w - 1, 1), r / max(h - 1, 1)], -1).astype(np.float32)
    return (torch.from_numpy(sdr.reshape(-1, 3)[idx]), torch.from_numpy(xy),
            torch.from_numpy(pq.reshape(-1, 3)[idx]))


def concat(batches: Sequence[Batch]) -> Batch:
    return tuple(torch.cat([b[i] for b in batches]) for i in range(3))  # type: ignore[return-value]


# ------------------------------------------------------------------------------------------ meta-gradients
def maml_meta_grad(theta: Params, support: Batch, query_train: Batch, query_eval: Batch,
                   mc: MetaConfig) -> Tuple[Params, float]:
    """Gradient of the Algorithm-1 objective at ``theta`` for one task, and the query loss after adaptation."""
    cfg = mc.model

    def objective(th: Params) -> Tensor:
        p = sgd_steps(th, support, cfg, mc.inner_steps, mc.inner_lr, differentiable=True)
        p = adam_steps(p, query_train, cfg, mc.fast_steps, mc.fast_lr, differentiable=True)
        return mse_loss(p, query_eval, cfg)

    if mc.second_order:
        g, loss = torch.func.grad_and_value(objective)(theta)
        return g, float(loss)
    p = sgd_steps(theta, support, cfg, mc.inner_steps, mc.inner_lr, differentiable=False)
    p = adam_steps(p, query_train, cfg, mc.fast_steps, mc.fast_lr, differentiable=False)
    g, loss = torch.func.grad_and_value(mse_loss)(p, query_eval, cfg)
    return g, float(loss)


def reptile_direction(theta: Params, task: Batch, mc: MetaConfig) -> Tuple[Params, float]:
    """``theta - theta'`` after ``inner_steps`` Adam steps on the task (used as the outer 'gradient')."""
    p = adam_steps(theta, task, mc.model, mc.inner_steps, mc.fast_lr, differentiable=False)
    loss = float(mse_loss(p, task, mc.model))
    return {k: theta[k] - p[k] for k in theta}, loss


# ---------------------------------------------------------------------------------------------- validation
def validate(theta: Params, pairs: Sequence[Pair], mc: MetaConfig) -> float:
    """Mean PQ-PSNR (dB, peak 1) over ``pairs`` after ``val_steps`` Adam steps of adaptation from ``theta``
    on a stride-``grid_stride`` grid, scored on every pixel: the quantity theta_init is for."""
    out = []
    for pair in pairs:
        p = adam_steps(theta, pair_grid_batch(pair, mc.grid_stride), mc.model, mc.val_steps, mc.fast_lr,
                       differentiable=False)
        with torch.no_grad():
            h, w, _ = pair[0].shape
            full = (torch.from_numpy(pair[0]).reshape(-1, 3), coord_grid(h, w).reshape(-1, 2),
                    torch.from_numpy(pair[1]).reshape(-1, 3))
            mse = float(mse_loss(p, full, mc.model))
        out.append(10 * math.log10(1.0 / max(mse, 1e-12)))
    return float(np.mean(out))


@dataclass
class TrainLog:
    config: dict
    iterations: List[int] = field(default_factory=list)
    train_loss: List[float] = field(default_factory=list)
    val_iterations: List[int] = field(default_factory=list)
    val_psnr: List[float] = field(default_factory=list)
    seconds: float = 0.0


def meta_train(
    mc: MetaConfig,
    train_pool: Sequence[Pair],
    val_pool: Sequence[Pair],
    *,
    device=None,
    progress: Optional[ProgressFn] = None,
    checkpoint: Optional[Callable[[Params, "TrainLog"], None]] = None,
) -> Tuple[Params, TrainLog]:
    """Run one meta-training recipe on a pool of pairs; returns theta_init and the training log.

    ``checkpoint(theta, log)`` is called after every validation (to save intermediate weights)."""
    t0 = time.perf_counter()
    torch.manual_seed(mc.seed)
    rng = np.random.default_rng(mc.seed)
    theta = init_params(mc.model, torch.Generator().manual_seed(mc.seed), device=device)
    log = TrainLog(config=asdict(mc))
    if len(train_pool) < mc.support + 1:
        raise InputError(f"need at least {mc.support + 1} training pairs, got {len(train_pool)}")

    def val(it: int) -> None:
        if val_pool:
            log.val_iterations.append(it)
            log.val_psnr.append(validate(theta, val_pool, mc))
        if checkpoint is not None:
            log.seconds = time.perf_counter() - t0
            checkpoint({k: v.detach().clone() for k, v in theta.items()}, log)

    val(0)
    if mc.algorithm == "none":
        log.seconds = time.perf_counter() - t0
        return theta, log
    leaves = {k: v.clone().requires_grad_(True) for k, v in theta.items()}
    opt = torch.optim.Adam(list(leaves.values()), lr=mc.meta_lr)
    for it in range(1, mc.iterations + 1):
        if mc.time_budget is not None and time.perf_counter() - t0 > mc.time_budget:
            break
        theta = {k: v.detach() for k, v in leaves.items()}
        grads = {k: torch.zeros_like(v) for k, v in theta.items()}
        losses = []
        for _ in range(mc.meta_batch):
            idx = rng.choice(len(train_pool), size=mc.support + 1, replace=False)
            pairs = [train_pool[i] for i in idx]
            off = int(rng.integers(mc.grid_stride))
            if mc.algorithm == "maml":
                support = concat([pair_grid_batch(p, mc.grid_stride, off) for p in pairs[:-1]])
                q_train = pair_grid_batch(pairs[-1], mc.grid_stride, off)
                q_eval = pair_random_batch(pairs[-1], mc.eval_samples, rng)
                g, loss = maml_meta_grad(theta, support, q_train, q_eval, mc)
            elif mc.algorithm == "reptile":
                g, loss = reptile_direction(theta, pair_grid_batch(pairs[-1], mc.grid_stride, off), mc)
            else:  # naive
                b = concat([pair_random_batch(p, mc.eval_samples // (mc.support + 1), rng) for p in pairs])
                g, loss_t = torch.func.grad_and_value(mse_loss)(theta, b, mc.model)
                loss = float(loss_t)
            for k in grads:
                grads[k] += g[k].detach() / mc.meta_batch
            losses.append(loss)
        for k, v in leaves.items():
            v.grad = grads[k]
        opt.step()
        log.iterations.append(it)
        log.train_loss.append(float(np.mean(losses)))
        if it % mc.val_every == 0 or it == mc.iterations:
            theta = {k: v.detach() for k, v in leaves.items()}
            val(it)
        report(progress, it, mc.iterations, f"{mc.algorithm} loss {log.train_loss[-1]:.2e}")
    theta = {k: v.detach().clone() for k, v in leaves.items()}
    if not log.val_iterations or log.val_iterations[-1] != log.iterations[-1:][0:1] and log.iterations:
        if log.iterations and (not log.val_iterations or log.val_iterations[-1] != log.iterations[-1]):
            val(log.iterations[-1])
    log.seconds = time.perf_counter() - t0
    return theta, log
