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


def test_gcm_loss_parts_against_numpy():
    """The hue term is the mean ICtCp |ΔCt| + |ΔCp| weighted by the SDR's soft clipping mask (0 where nothing is
    near the clip), the angle term the mean 1 − cos Δhue with the same mask and a gate on the master's chroma; the
    highlight term only counts pixels whose master reaches ``highlight_nits``."""
    import numpy as np

    from hdrkit.color import pq_inverse_eotf, rgb_to_ictcp
    from hdrkit.expand.gcm_train import RECIPES as GCM_RECIPES, gcm_loss

    cfg = GCM_RECIPES["gcm-round4"]  # the pooled colour terms (the per-picture form: the next test)
    rng = np.random.default_rng(0)
    master = rng.uniform(1.0, 900.0, (2, 3, 8, 8))
    pred = master * rng.uniform(0.7, 1.3, master.shape)  # wrong hue and level
    target_pq = torch.tensor(pq_inverse_eotf(master), dtype=torch.float32)
    p = torch.tensor(pred, dtype=torch.float32)
    sdr = torch.full((2, 3, 8, 8), 0.5)
    sdr[0, :, :4] = 1.0  # clipped (α = 1)
    sdr[1, 0, :, :2] = 0.93  # half-way up the ramp: α = smoothstep(0.5) = 0.5
    parts = gcm_loss(p, target_pq, sdr, cfg)
    ct = lambda x: np.asarray(rgb_to_ictcp(np.moveaxis(x, 1, -1)))[..., 1:]  # noqa: E731
    alpha = np.zeros((2, 8, 8))
    alpha[0, :4] = 1.0
    alpha[1, :, :2] = 0.5
    hue = cfg.hue_weight * (np.abs(ct(pred) - ct(master)).sum(-1) * alpha).mean()
    tp, tt = ct(pred), ct(master)  # the hue-angle term: 1 − cos of the (Ct, Cp) angle, master chroma gate
    dh = np.arctan2(tp[..., 1], tp[..., 0]) - np.arctan2(tt[..., 1], tt[..., 0])
    gate = np.clip((np.hypot(tt[..., 0], tt[..., 1]) - 0.005) / 0.005, 0.0, 1.0)
    angle = cfg.angle_weight * ((1.0 - np.cos(dh)) * gate * alpha).mean()
    assert cfg.angle_weight > 0 and angle > 0
    assert abs(float(parts["angle"]) - angle) < 1e-3 * angle
    d = np.abs(pq_inverse_eotf(pred) - pq_inverse_eotf(master))
    bright = master.max(1, keepdims=True) >= cfg.highlight_nits
    assert abs(float(parts["hue"]) - hue) < 1e-4 * max(hue, 1.0)
    assert abs(float(parts["pq_l1"]) - d.mean()) < 1e-5
    assert abs(float(parts["highlight"]) - cfg.highlight_weight * (d * bright).mean()) < 1e-5
    same = gcm_loss(torch.tensor(master, dtype=torch.float32), target_pq, sdr, cfg)
    assert float(same["total"]) < 1e-4
    assert float(gcm_loss(p, target_pq, torch.full_like(sdr, 0.5), cfg)["hue"]) == 0.0


def test_gcm_loss_per_picture_colour_terms_and_top_term_against_numpy():
    """``hue_per_picture`` = f: each picture's colour error is Σ err·α / (Σ α + f·N), then averaged over the batch (a
    picture with few clipped pixels weighs as much as one with many); ``top_weight``: under-prediction in PQ where
    the master reaches ``top_nits``, over-prediction free."""
    from dataclasses import replace

    import numpy as np

    from hdrkit.color import pq_inverse_eotf, rgb_to_ictcp
    from hdrkit.expand.gcm_train import RECIPES as GCM_RECIPES, gcm_loss

    cfg = replace(GCM_RECIPES["gcm"], hue_per_picture=0.05, top_weight=3.0, top_nits=900.0)
    rng = np.random.default_rng(1)
    master = rng.uniform(1.0, 990.0, (2, 3, 8, 8))
    pred = master * rng.uniform(0.7, 1.3, master.shape)
    target_pq = torch.tensor(pq_inverse_eotf(master), dtype=torch.float32)
    sdr = torch.full((2, 3, 8, 8), 0.5)
    sdr[0, :, :6] = 1.0   # 48 clipped pixels
    sdr[1, :, :1, :2] = 1.0  # 2 clipped pixels
    parts = gcm_loss(torch.tensor(pred, dtype=torch.float32), target_pq, sdr, cfg)
    ct = lambda x: np.asarray(rgb_to_ictcp(np.moveaxis(x, 1, -1)))[..., 1:]  # noqa: E731
    alpha = np.asarray(sdr.amax(1) >= 1.0, np.float64)
    err = np.abs(ct(pred) - ct(master)).sum(-1)
    per = (err * alpha).reshape(2, -1).sum(1) / (alpha.reshape(2, -1).sum(1) + 0.05 * 64)
    assert abs(float(parts["hue"]) - cfg.hue_weight * per.mean()) < 1e-4 * cfg.hue_weight * per.mean()
    old = cfg.hue_weight * (err * alpha).mean()  # the pooled form gives the 2-pixel picture 24× less weight
    assert per[1] / per[0] > 3 * ((err[1] * alpha[1]).sum() / (err[0] * alpha[0]).sum()) and old != float(parts["hue"])
    top = master.max(1, keepdims=True) >= 900.0
    under = np.clip(pq_inverse_eotf(master) - pq_inverse_eotf(pred), 0.0, None)
    assert top.any() and abs(float(parts["top"]) - 3.0 * (under * top).mean()) < 1e-5
    over = gcm_loss(torch.tensor(master * 1.01, dtype=torch.float32), target_pq, sdr, cfg)
    assert float(over["top"]) == 0.0


def test_validation_scenes_are_training_scenes_kept_apart_from_the_held_out_ones(tmp_path):
    import pytest

    from hdrkit.data import split
    from hdrkit.errors import InputError
    from hdrkit.expand import gcm_train

    assert set(split.VALIDATION) < set(split.TRAIN_EXTRA) and not set(split.VALIDATION) & set(split.HELD_OUT)
    assert gcm_train._VAL == split.VALIDATION
    for name, r in gcm_train.RECIPES.items():
        assert r.exclude == split.VALIDATION or not name.endswith("-val"), name
    (tmp_path / "hdr").mkdir()
    (tmp_path / "hdr_extra").mkdir()
    for n in split.TRAIN_EXTRA:
        (tmp_path / "hdr_extra" / f"{n}.exr").write_bytes(b"")
    names = [p.stem for p in split.training_files(tmp_path, exclude=split.VALIDATION)]
    assert names == [n for n in split.TRAIN_EXTRA if n not in split.VALIDATION]
    assert [p.stem for p in split.validation_files(tmp_path)] == list(split.VALIDATION)
    with pytest.raises(InputError):
        split.training_files(tmp_path, exclude=("park",))  # a held-out scene is not a training scene to drop
