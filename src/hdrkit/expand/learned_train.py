"""Training runs of the learned expansion operators: the masked U-Net iTM and MetaHDR (MAML).

Typed configs and an explicit registry (:data:`RECIPES`); the shipped weights were made with

    .venv/bin/python -m hdrkit.expand.learned_train unet    --data ../shared/data/hdr -o src/hdrkit/assets/models/unet_itm.npz
    .venv/bin/python -m hdrkit.expand.learned_train metahdr --data ../shared/data/hdr -o src/hdrkit/assets/models/metahdr.npz

(each also writes ``--log`` JSON and ``--curve`` PNG; docs/EXPAND.md has the wall times and curves).  Pairs are
synthesised on the fly by :mod:`hdrkit.expand.learned_data`; the :data:`~hdrkit.expand.learned_data.HOLDOUT`
panoramas never enter training and provide the validation curve (which is only plotted, never used to pick
weights: the run keeps its last weights).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
from torch import Tensor

from hdrkit.errors import InputError
from hdrkit.meta.maml import MamlConfig
from hdrkit.models.unet import UNetConfig
from hdrkit.progress import ProgressFn, report

MU = 5000.0
MU_PEAK = 1000.0


# ----------------------------------------------------------------------------------------------- losses
def mu_law(nits: Tensor, mu: float = MU, peak: float = MU_PEAK) -> Tensor:
    """μ-law tone curve ``log(1 + μ·H/peak)/log(1 + μ)`` (HDRCNN-style training domain), ~[0, 1] for H ≤ peak."""
    return torch.log1p(mu * nits.clamp(min=0.0) / peak) / math.log1p(mu)


def itm_loss(pred: Tensor, target: Tensor, colour_weight: float = 0.0) -> Tensor:
    """L1 between μ-law encodings, plus ``colour_weight`` × the cosine colour loss of Marnerides et al. 2018
    (``1 − cos`` between RGB vectors).  ``B×3×H×W`` cd/m²."""
    a, b = mu_law(pred), mu_law(target)
    loss = (a - b).abs().mean()
    if colour_weight > 0:
        cos = torch.nn.functional.cosine_similarity(a, b, dim=1, eps=1e-6)
        loss = loss + colour_weight * (1.0 - cos).mean()
    return loss


def ssim_l1_loss(pred: Tensor, target: Tensor) -> Tensor:
    """MetaHDR's loss: ``(1 − SSIM) + L1`` on μ-law encodings (SSIM: Gaussian σ 1.5, range 1, per channel)."""
    from hdrkit.metrics.ssim import ssim_map

    a, b = mu_law(pred), mu_law(target)
    return (1.0 - ssim_map(a, b, 1.0).mean()) + (a - b).abs().mean()


def to_nchw(images: Sequence[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack([np.asarray(i, np.float32) for i in images])).permute(0, 3, 1, 2).contiguous()


# ----------------------------------------------------------------------------------------------- configs
@dataclass(frozen=True)
class UNetTrainConfig:
    model: UNetConfig = field(default_factory=UNetConfig)
    crop: int = 128
    batch: int = 8
    lr: float = 1e-3
    time_budget: Optional[float] = 1500.0   # seconds of wall time; None = exactly max_steps (deterministic)
    max_steps: int = 100_000
    colour_weight: float = 0.0
    procedural_share: float = 0.25
    tmo_share: float = 0.3
    val_every: int = 100
    val_pairs: int = 8
    seed: int = 0


@dataclass(frozen=True)
class MetaHDRTrainConfig:
    model: UNetConfig = field(default_factory=lambda: UNetConfig(base=8))
    maml: MamlConfig = field(default_factory=lambda: MamlConfig(inner_steps=3, inner_lr=0.05, second_order=True, clip_norm=1.0))
    crop: int = 96
    meta_batch: int = 2
    warm_start: float = 0.35          # share of the time budget spent on plain supervised steps before MAML
    outer_lr: float = 1e-3
    evs: Tuple[float, ...] = (-2.0, 0.0, 2.0)
    query: int = 1                    # index of the query exposure in ``evs``; the others are the support
    time_budget: Optional[float] = 1500.0   # None = exactly max_steps (deterministic)
    max_steps: int = 100_000
    procedural_share: float = 0.25
    val_every: int = 25
    val_tasks: int = 6
    seed: int = 0


#: Training recipes by name (the shipped weights come from ``unet`` and ``metahdr``).
RECIPES: Dict[str, object] = {
    "unet": UNetTrainConfig(),
    "metahdr": MetaHDRTrainConfig(),
    "metahdr-fo": MetaHDRTrainConfig(maml=MamlConfig(inner_steps=3, inner_lr=0.05, second_order=False, clip_norm=1.0), meta_batch=4),
    "unet-smoke": UNetTrainConfig(model=UNetConfig(base=4, depth=2), crop=32, batch=2, time_budget=5, val_every=2,
                                  val_pairs=2),
    "metahdr-smoke": MetaHDRTrainConfig(model=UNetConfig(base=4, depth=2), crop=32, meta_batch=1, time_budget=5,
                                        val_every=2, val_tasks=1),
}


@dataclass
class TrainLog:
    config: dict
    steps: List[int] = field(default_factory=list)
    train_loss: List[float] = field(default_factory=list)
    val_steps: List[int] = field(default_factory=list)
    val: Dict[str, List[float]] = field(default_factory=dict)
    seconds: float = 0.0
    maml_from: Optional[int] = None   # first MAML step (MetaHDR runs start with supervised warm-up steps)

    def record(self, step: int, loss: float, decay: float) -> None:
        """Append the exponential moving average of the training loss."""
        self.steps.append(step)
        self.train_loss.append(loss if not self.train_loss else decay * self.train_loss[-1] + (1 - decay) * loss)

    def add_val(self, step: int, values: Dict[str, float]) -> None:
        self.val_steps.append(step)
        for k, v in values.items():
            self.val.setdefault(k, []).append(float(v))


def _end_of_step(log: TrainLog, step: int, cfg, t0: float, validate, checkpoint, params_fn, progress, what: str):
    """Validation + checkpoint every ``cfg.val_every`` steps, and progress."""
    if step % cfg.val_every == 0:
        validate(step)
        log.seconds = time.time() - t0
        if checkpoint is not None:
            checkpoint(params_fn(), log)
    if cfg.time_budget is None:
        report(progress, step, cfg.max_steps, f"{what} step {step}")
    else:
        report(progress, int(time.time() - t0), int(cfg.time_budget), f"{what} step {step}")


def _budget_fraction(cfg, step: int, t0: float) -> float:
    """How far the run is: ``step / max_steps`` without a wall-clock budget (``time_budget=None``: deterministic),
    else the elapsed share of ``time_budget``."""
    if cfg.time_budget is None:
        return step / max(cfg.max_steps, 1)
    return (time.time() - t0) / cfg.time_budget


def _running(cfg, step: int, t0: float) -> bool:
    return step < cfg.max_steps and (cfg.time_budget is None or time.time() - t0 < cfg.time_budget)


def _lr_at(base: float, frac: float) -> float:
    """Cosine decay to 5 % over the time budget (after a 3 % linear warm-up)."""
    frac = min(max(frac, 0.0), 1.0)
    if frac < 0.03:
        return base * (0.1 + 0.9 * frac / 0.03)
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * (frac - 0.03) / 0.97)))


# -------------------------------------------------------------------------------------------------- U-Net
def train_unet(cfg: UNetTrainConfig, sources, val_sources, progress: Optional[ProgressFn] = None,
               checkpoint=None) -> Tuple[Dict[str, Tensor], TrainLog]:
    """Train the masked U-Net on synthesised pairs for ``cfg.time_budget`` seconds (or ``max_steps``)."""
    from hdrkit.expand.learned_data import make_pair
    from hdrkit.metrics import pu_psnr
    from hdrkit.models.unet import forward, init_params

    rng = np.random.default_rng(cfg.seed)
    vrng = np.random.default_rng(cfg.seed + 10_000)
    val = [make_pair(vrng, val_sources, cfg.crop, 0.0, 0.0) for _ in range(cfg.val_pairs)]
    vx, vy = to_nchw([v[0] for v in val]), to_nchw([v[1] for v in val])
    params = {k: v.requires_grad_(True) for k, v in init_params(cfg.model, torch.Generator().manual_seed(cfg.seed)).items()}
    opt = torch.optim.Adam(params.values(), lr=cfg.lr)
    log = TrainLog(config=asdict(cfg))
    t0 = time.time()

    def validate(step):
        with torch.no_grad():
            pred = forward(params, vx, cfg.model)
            l1 = float(itm_loss(pred, vy))
            pu = float(np.mean([pu_psnr(vy[i].permute(1, 2, 0).numpy(), pred[i].permute(1, 2, 0).numpy())
                                for i in range(len(val))]))
        log.add_val(step, {"mu_l1": l1, "pu_psnr": pu})

    validate(0)
    step = 0
    while _running(cfg, step, t0):
        pairs = [make_pair(rng, sources, cfg.crop, cfg.procedural_share, cfg.tmo_share) for _ in range(cfg.batch)]
        x, y = to_nchw([p[0] for p in pairs]), to_nchw([p[1] for p in pairs])
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg.lr, _budget_fraction(cfg, step, t0))
        loss = itm_loss(forward(params, x, cfg.model), y, cfg.colour_weight)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(params.values()), 1.0)
        opt.step()
        step += 1
        log.record(step, float(loss.detach()), 0.98)
        _end_of_step(log, step, cfg, t0, validate, checkpoint, lambda: params, progress, "U-Net")
    validate(step)
    log.seconds = time.time() - t0
    return {k: v.detach() for k, v in params.items()}, log


# ------------------------------------------------------------------------------------------------ MetaHDR
def task_batches(task, query: int) -> Tuple[Tuple[Tensor, Tensor], Tuple[Tensor, Tensor]]:
    """MetaHDR task → (support, query) batches with the true HDR as the label of every exposure."""
    idx = [i for i in range(len(task.shots)) if i != query]
    y = to_nchw([task.master])
    support = (to_nchw([task.shots[i] for i in idx]), y.expand(len(idx), -1, -1, -1))
    return support, (to_nchw([task.shots[query]]), y)


def train_metahdr(cfg: MetaHDRTrainConfig, sources, val_sources, progress: Optional[ProgressFn] = None,
                  checkpoint=None) -> Tuple[Dict[str, Tensor], TrainLog]:
    """MAML meta-training of the MetaHDR U-Net on bracket tasks (true-HDR labels in the inner loop)."""
    from hdrkit.expand.learned_data import make_task
    from hdrkit.meta.maml import adapt, batch_loss, meta_gradient
    from hdrkit.models.unet import UNetITM, init_params

    rng = np.random.default_rng(cfg.seed)
    vrng = np.random.default_rng(cfg.seed + 10_000)
    val = [task_batches(make_task(vrng, val_sources, cfg.crop, cfg.evs, 0.0), cfg.query) for _ in range(cfg.val_tasks)]
    model = UNetITM(cfg.model, init_params(cfg.model, torch.Generator().manual_seed(cfg.seed)))
    theta = dict(model.named_parameters())
    opt = torch.optim.Adam(theta.values(), lr=cfg.outer_lr)
    log = TrainLog(config=asdict(cfg))
    t0 = time.time()

    def validate(step):
        before, after = [], []
        for support, query in val:
            with torch.no_grad():
                before.append(float(batch_loss(model, theta, query, ssim_l1_loss)))
            phi = adapt(model, theta, support, ssim_l1_loss, cfg.maml.inner_steps, cfg.maml.inner_lr,
                        clip_norm=cfg.maml.clip_norm)
            with torch.no_grad():
                after.append(float(batch_loss(model, phi, query, ssim_l1_loss)))
        log.add_val(step, {"query_loss_single_shot": float(np.mean(before)),
                           "query_loss_adapted": float(np.mean(after))})

    validate(0)
    step = 0
    while _running(cfg, step, t0):
        tasks = [task_batches(make_task(rng, sources, cfg.crop, cfg.evs, cfg.procedural_share), cfg.query)
                 for _ in range(cfg.meta_batch)]
        for g in opt.param_groups:
            g["lr"] = _lr_at(cfg.outer_lr, _budget_fraction(cfg, step, t0))
        opt.zero_grad()
        if _budget_fraction(cfg, step, t0) < cfg.warm_start:  # warm start: supervised on every exposure
            x = torch.cat([torch.cat([s[0], q[0]]) for s, q in tasks])
            y = torch.cat([torch.cat([s[1], q[1]]) for s, q in tasks])
            lt = ssim_l1_loss(model(x), y)
            lt.backward()
            loss = float(lt.detach())
        else:
            if log.maml_from is None:
                log.maml_from = step
            grads, loss = meta_gradient(model, theta, tasks, ssim_l1_loss, cfg.maml)
            for k, v in theta.items():
                v.grad = grads[k]
        torch.nn.utils.clip_grad_norm_(list(theta.values()), 1.0)
        opt.step()
        step += 1
        log.record(step, loss, 0.95)
        _end_of_step(log, step, cfg, t0, validate, checkpoint, model.params, progress, "MetaHDR")
    validate(step)
    log.seconds = time.time() - t0
    return {k: v.detach() for k, v in model.params().items()}, log


# ----------------------------------------------------------------------------------------------- driver
def plot_log(path: str, log: TrainLog, title: str) -> None:
    from hdrkit.meta.plot import line_chart

    colours = [(200, 60, 0), (0, 140, 0), (0, 0, 200), (120, 0, 120)]
    series = [("train loss (EMA)", log.steps, log.train_loss, (90, 90, 90))]
    for (k, v), c in zip(log.val.items(), colours):
        if k == "pu_psnr":
            continue
        series.append((f"held-out {k}", log.val_steps, v, c))
    line_chart(path, series, title, "step", "loss")


def run(recipe: str, data: str, out: str, log_path: Optional[str] = None, curve: Optional[str] = None,
        time_budget: Optional[float] = None, progress: Optional[ProgressFn] = None,
        steps: Optional[int] = None) -> TrainLog:
    from hdrkit.expand.learned_data import HOLDOUT, load_sources
    from hdrkit.io.atomic import atomic_write_bytes
    from hdrkit.models.unet import save_weights

    if recipe not in RECIPES:
        raise InputError(f"unknown recipe {recipe!r}; choose from {', '.join(RECIPES)}")
    cfg = RECIPES[recipe]
    if time_budget is not None:
        cfg = replace(cfg, time_budget=float(time_budget))
    if steps is not None:  # a fixed number of steps: no wall-clock budget, the run is deterministic
        cfg = replace(cfg, time_budget=None, max_steps=int(steps))
    sources = load_sources(data, exclude=HOLDOUT)
    val_sources = load_sources(data, names=HOLDOUT)

    def checkpoint(params, log):
        info = {"recipe": recipe, "seconds": log.seconds, "steps": log.steps[-1:]}
        if isinstance(cfg, MetaHDRTrainConfig):
            info["maml"] = asdict(cfg.maml)
        save_weights(out, params, cfg.model, info)
        if log_path:
            atomic_write_bytes(log_path, json.dumps(asdict(log), default=str).encode())

    trainer = train_unet if isinstance(cfg, UNetTrainConfig) else train_metahdr
    params, log = trainer(cfg, sources, val_sources, progress, checkpoint)
    checkpoint(params, log)
    if curve:
        plot_log(curve, log, f"{recipe}: {len(log.steps)} steps, {log.seconds / 60:.1f} min")
    return log


def main(argv: Optional[Sequence[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("recipe", choices=sorted(RECIPES))
    ap.add_argument("--data", required=True)
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--log")
    ap.add_argument("--curve")
    ap.add_argument("--time-budget", type=float, help="seconds of wall time (steps then depend on the machine)")
    ap.add_argument("--steps", type=int, help="exactly this many steps instead (deterministic with --threads 1)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    log = run(a.recipe, a.data, a.output, a.log, a.curve, a.time_budget, steps=a.steps)
    print(json.dumps({"steps": log.steps[-1] if log.steps else 0, "seconds": round(log.seconds, 1),
                      "val": {k: [v[0], v[-1]] for k, v in log.val.items()}}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
