"""Model-agnostic meta-learning (MAML, Finn, Abbeel & Levine 2017, ICML) with ``torch.func``, first and second
order, as MetaHDR (Pan & Vento, Stanford CS330 2021, ``edwin-pan/MetaHDR``) uses it around an iTM U-Net.

A *task* is a ``(support, query)`` pair of batches.  For meta-parameters θ:

    φ = θ − α ∇_θ L_support(θ)        (``inner_steps`` times, plain SGD with step ``α = inner_lr``)
    meta-loss = L_query(φ(θ))

The second-order meta-gradient differentiates through the inner updates (``torch.autograd.grad`` with
``create_graph=True``); the first-order approximation (FOMAML) treats the inner gradients as constants, i.e. it
returns ``∇_φ L_query(φ)``.  Models are called with :func:`torch.func.functional_call`, so any ``nn.Module``
works; the parameter dict is keyed as ``module.named_parameters()``.  Do not use BatchNorm running statistics in
the model (the U-Net of :mod:`hdrkit.models.unet` has none).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Dict, Sequence, Tuple

import torch
from torch import Tensor, nn
from torch.func import functional_call

from hdrkit.errors import InputError

Params = Dict[str, Tensor]
#: ``loss_fn(prediction, target) -> scalar``
LossFn = Callable[[Tensor, Tensor], Tensor]
#: ``(inputs, targets)`` as the model's first argument and the loss's target.
Batch = Tuple[Any, Tensor]


@dataclass(frozen=True)
class MamlConfig:
    """``inner_steps`` SGD steps of size ``inner_lr`` on the support set; ``second_order`` differentiates
    through them."""

    inner_steps: int = 3
    inner_lr: float = 0.01
    second_order: bool = True
    clip_norm: float = 0.0   # > 0: scale each inner gradient to at most this global L2 norm (differentiable)

    def __post_init__(self) -> None:
        if self.inner_steps < 0 or not self.inner_lr > 0:
            raise InputError(f"inner_steps must be ≥ 0 and inner_lr > 0, got {self.inner_steps}, {self.inner_lr}")


def params_of(model: nn.Module) -> Params:
    """The model's parameters as a dict (the θ passed around here)."""
    return dict(model.named_parameters())


def batch_loss(model: nn.Module, params: Params, batch: Batch, loss_fn: LossFn) -> Tensor:
    x, y = batch
    return loss_fn(functional_call(model, params, (x,)), y)


def adapt(model: nn.Module, params: Params, support: Batch, loss_fn: LossFn, steps: int, lr: float,
          create_graph: bool = False, clip_norm: float = 0.0) -> Params:
    """``steps`` SGD steps on the support batch from ``params``.

    With ``create_graph`` the result stays a differentiable function of ``params`` (second-order MAML);
    without it the inner gradients are constants (first order; also test-time adaptation).  ``clip_norm`` > 0
    rescales each step's gradient to at most that global norm (``g · min(1, c/‖g‖)``, differentiable)."""
    names = list(params)
    phi = dict(params)
    for _ in range(int(steps)):
        loss = batch_loss(model, phi, support, loss_fn)
        grads = torch.autograd.grad(loss, [phi[k] for k in names], create_graph=create_graph, allow_unused=True)
        if clip_norm > 0:
            norm = torch.sqrt(sum((g * g).sum() for g in grads if g is not None))
            scale = torch.clamp(clip_norm / (norm + 1e-12), max=1.0)
            grads = tuple(None if g is None else g * scale for g in grads)
        phi = {k: (phi[k] if g is None else phi[k] - lr * g) for k, g in zip(names, grads)}
    return phi


def task_meta_loss(model: nn.Module, theta: Params, support: Batch, query: Batch, loss_fn: LossFn,
                   cfg: MamlConfig) -> Tensor:
    """``L_query(φ(θ))``, differentiable w.r.t. θ (to second order when ``cfg.second_order``)."""
    phi = adapt(model, theta, support, loss_fn, cfg.inner_steps, cfg.inner_lr, create_graph=cfg.second_order,
                clip_norm=cfg.clip_norm)
    return batch_loss(model, phi, query, loss_fn)


def meta_gradient(model: nn.Module, theta: Params, tasks: Sequence[Tuple[Batch, Batch]], loss_fn: LossFn,
                  cfg: MamlConfig) -> Tuple[Params, float]:
    """Mean meta-loss over ``tasks`` and its gradient w.r.t. θ (second order or first order per ``cfg``)."""
    if not tasks:
        raise InputError("meta_gradient needs at least one task")
    names = list(theta)
    total = {k: torch.zeros_like(v) for k, v in theta.items()}
    loss_sum = 0.0
    for support, query in tasks:
        loss = task_meta_loss(model, theta, support, query, loss_fn, cfg) / len(tasks)
        grads = torch.autograd.grad(loss, [theta[k] for k in names], allow_unused=True)
        for k, g in zip(names, grads):
            if g is not None:
                total[k] += g
        loss_sum += float(loss.detach())
    return total, loss_sum
