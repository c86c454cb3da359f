"""Algorithm 2 (per-image transfer with OHEM)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hdrkit.errors import InputError
from hdrkit.codec.adapt import AdaptConfig, _Adam, adapt, grid_indices, ohem_indices
from hdrkit.models.fast import decode_pq
from hdrkit.models.siren import SirenConfig, init_params


def test_adam_matches_torch_optim():
    torch.manual_seed(0)
    x0 = [torch.randn(5, 3), torch.randn(3)]
    a = [t.clone().requires_grad_(True) for t in x0]
    b = [t.clone().requires_grad_(True) for t in x0]
    ref = torch.optim.Adam(a, lr=3e-3)
    mine = _Adam(b, lr=3e-3)
    target = torch.randn(5)
    for _ in range(7):
        ref.zero_grad()
        loss = ((a[0] @ a[1] - target) ** 2).sum()
        loss.backward()
        ref.step()
        lb = ((b[0] @ b[1] - target) ** 2).sum()
        mine.step(torch.autograd.grad(lb, b))
    for x, y in zip(a, b):
        torch.testing.assert_close(x.detach(), y.detach(), rtol=1e-6, atol=1e-7)


def test_grid_is_the_reference_stride_7():
    idx = grid_indices(512, 1024, 0.02)
    assert idx.numel() == 74 * 147  # ceil(512/7) x ceil(1024/7)
    assert idx[1].item() == 7 and idx[147].item() == 7 * 1024


def test_ohem_split_between_error_and_uniform():
    g = torch.Generator().manual_seed(0)
    err = torch.zeros(1000)
    hot = torch.tensor([3, 500, 777, 901])
    err[hot] = 1.0
    idx = ohem_indices(err, 20, 0.2, g)
    assert idx.numel() == 20
    assert set(idx[-4:].tolist()) == set(hot.tolist())  # the 4 error-driven samples are the 4 hot pixels
    assert torch.equal(idx[:16], torch.linspace(0, 999, 16).round().long())
    assert torch.equal(ohem_indices(err, 10, 0.0, g), torch.linspace(0, 999, 10).round().long())


def _pair(h=24, w=32):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w] / np.array([h - 1, w - 1])[:, None, None]
    sdr = np.stack([xx, yy, 0.5 + 0.4 * np.sin(6 * xx)], -1).astype(np.float32)
    sdr = np.clip(sdr + rng.normal(0, 0.02, sdr.shape).astype(np.float32), 0, 1)
    pq = (0.1 + 0.5 * sdr ** 1.5 * (0.8 + 0.2 * yy[..., None])).astype(np.float32)
    return sdr, pq


def test_adaptation_fits_a_pair_and_is_deterministic():
    sdr, pq = _pair()
    theta = init_params(generator=torch.Generator().manual_seed(0))
    before = np.mean((decode_pq(theta, sdr) - pq) ** 2)
    cfg = AdaptConfig(steps=60, lr=1e-3, sample_fraction=0.1, resample_at=(20, 40))
    p1, info = adapt(sdr, pq, theta, cfg=cfg)
    after = np.mean((decode_pq(p1, sdr) - pq) ** 2)
    assert after < before / 20
    assert info.steps_run == 60 and info.resampled_at == [20, 40]
    p2, _ = adapt(sdr, pq, theta, cfg=cfg)
    assert all(torch.equal(p1[k], p2[k]) for k in p1)
    assert all(torch.equal(theta[k], init_params(generator=torch.Generator().manual_seed(0))[k]) for k in theta)


def test_time_budget_stops_early_and_reports_progress_against_it():
    sdr, pq = _pair()
    calls = []
    _, info = adapt(sdr, pq, init_params(), cfg=AdaptConfig(steps=1_000_000, time_budget=0.5),
                    progress=lambda d, n, s: calls.append((d, n)))
    assert 0 < info.steps_run < 1_000_000
    assert info.checks[-1][0] == info.steps_run  # the last weights were checked too
    assert calls and all(n == 1000 for _, n in calls) and calls[-1] == (1000, 1000)


@pytest.mark.parametrize("bad", [dict(lr=0.0), dict(sample_fraction=0.0), dict(error_fraction=1.5),
                                 dict(steps=-1), dict(time_budget=0.0), dict(lr_halflife=0.0), dict(clip=-1.0),
                                 dict(check_every=0)])
def test_bad_settings(bad):
    with pytest.raises(InputError):
        AdaptConfig(**bad)


def test_mismatched_pair():
    with pytest.raises(InputError):
        adapt(np.zeros((4, 4, 3)), np.zeros((4, 5, 3)), init_params())


def _grid_loss(params, sdr, pq, cfg: AdaptConfig):
    """MSE on the initial uniform grid (the yardstick of best-weight selection), computed independently."""
    H, W, _ = sdr.shape
    fraction = max(cfg.sample_fraction, min(1.0, cfg.min_samples / (H * W)))
    idx = grid_indices(H, W, fraction).numpy()
    out = decode_pq(params, sdr).reshape(-1, 3)[idx]
    return float(np.mean((out - pq.reshape(-1, 3)[idx]) ** 2))


def test_a_diverging_run_ships_the_best_weights_it_saw():
    """lr 0.5 makes Adam blow up at once (checked loss 0.12 -> ~3 after 5 steps): keep_best returns the weights
    of the lowest checked loss -- here exactly the start -- never the last ones."""
    sdr, pq = _pair()
    theta = init_params(generator=torch.Generator().manual_seed(0))
    cfg = AdaptConfig(steps=5, lr=0.5, sample_fraction=0.1, resample_at=(), check_every=5)
    best, info = adapt(sdr, pq, theta, cfg=cfg)
    assert [s for s, _ in info.checks] == [0, 5] and info.checks[1][1] > 10 * info.checks[0][1]
    assert info.best_step == 0
    assert all(torch.allclose(best[k], theta[k], rtol=1e-6, atol=1e-7) for k in theta)
    last, info_last = adapt(sdr, pq, theta, cfg=AdaptConfig(**{**cfg.__dict__, "keep_best": False}))
    assert info_last.best_step == info_last.steps_run == 5
    assert _grid_loss(last, sdr, pq, cfg) > 10 * _grid_loss(best, sdr, pq, cfg)


def test_more_steps_never_raise_the_checked_loss():
    """The schedule does not depend on the step count, so a longer run replays a shorter one and goes on; with
    best-weight selection its checked loss can only be lower or equal."""
    sdr, pq = _pair()
    theta = init_params(generator=torch.Generator().manual_seed(0))
    losses = []
    for steps in (20, 40, 80):
        cfg = AdaptConfig(steps=steps, lr=3e-3, sample_fraction=0.1, resample_at=(10, 30), lr_halflife=20.0)
        p, info = adapt(sdr, pq, theta, cfg=cfg)
        losses.append(_grid_loss(p, sdr, pq, cfg))
        assert info.checks[-1][0] == steps
    assert losses[0] >= losses[1] >= losses[2]


def test_gradient_clipping_bounds_the_first_update():
    """With clip c the first Adam step is unchanged in direction (Adam normalises) but the update uses the
    clipped gradient's moments: the run differs from an unclipped one and stays finite."""
    sdr, pq = _pair()
    theta = init_params(generator=torch.Generator().manual_seed(0))
    a, _ = adapt(sdr, pq, theta, cfg=AdaptConfig(steps=5, lr=1e-3, sample_fraction=0.1, clip=1e-3))
    b, _ = adapt(sdr, pq, theta, cfg=AdaptConfig(steps=5, lr=1e-3, sample_fraction=0.1))
    assert all(torch.isfinite(v).all() for v in a.values())
    assert any(not torch.equal(a[k], b[k]) for k in a)
