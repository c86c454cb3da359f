"""The trainers of the learned expansion models (U-Net, MetaHDR, gcm): a few steps on tiny synthetic data lower
the loss, and a rerun with the same seed gives the same weights (offline: procedural scenes only)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from hdrkit.expand import learned_train
from hdrkit.expand.learned_train import RECIPES


def _same(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k], b[k]) for k in a)


def test_unet_trainer_lowers_the_loss_and_is_deterministic():
    cfg = replace(RECIPES["unet-smoke"], time_budget=None, max_steps=24, val_every=24, val_pairs=4, lr=3e-3)
    p1, log1 = learned_train.train_unet(cfg, {}, {})
    p2, log2 = learned_train.train_unet(cfg, {}, {})
    assert _same(p1, p2) and log1.val == log2.val
    assert log1.val["mu_l1"][-1] < log1.val["mu_l1"][0]


def test_metahdr_trainer_lowers_the_loss_and_is_deterministic():
    cfg = replace(RECIPES["metahdr-smoke"], time_budget=None, max_steps=16, val_every=16, val_tasks=2,
                  warm_start=0.0)
    p1, log1 = learned_train.train_metahdr(cfg, {}, {})
    p2, log2 = learned_train.train_metahdr(cfg, {}, {})
    assert _same(p1, p2) and log1.val == log2.val
    assert log1.val["query_loss_adapted"][-1] < log1.val["query_loss_adapted"][0]


def test_gcm_trainer_lowers_the_loss_and_is_deterministic():
    from hdrkit.expand.gcm_train import RECIPES as GCM_RECIPES, train

    cfg = replace(GCM_RECIPES["gcm-smoke"], steps=30, val_every=30)
    m1, log1 = train(cfg, [])
    m2, log2 = train(cfg, [])
    assert _same(m1.state_dict(), m2.state_dict()) and log1.val == log2.val
    assert log1.val["pq_l1"][-1] < log1.val["pq_l1"][0]
