"""Meta-training with torch.func: functional Adam, exact second-order meta-gradients, recipes."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from hdrkit.errors import InputError
from hdrkit.meta import tasks
from hdrkit.meta.train import (
    RECIPES,
    MetaConfig,
    adam_steps,
    maml_meta_grad,
    meta_train,
    mse_loss,
    pair_grid_batch,
    reptile_direction,
)
from hdrkit.models.siren import SirenConfig, init_params

SMALL = SirenConfig(color=(8, 4), spatial=(8, 4), merge=(8,))


def _batch(n, seed, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, generator=g, dtype=dtype), torch.rand(n, 2, generator=g, dtype=dtype),
            torch.rand(n, 3, generator=g, dtype=dtype))


def _params(dtype=torch.float64):
    return {k: v.to(dtype) for k, v in init_params(SMALL, torch.Generator().manual_seed(0)).items()}


def test_functional_adam_equals_torch_optim_adam():
    p0 = _params(torch.float32)
    b = _batch(50, 1, torch.float32)
    mine = adam_steps(p0, b, SMALL, 5, 1e-2, differentiable=False)
    leaves = {k: v.clone().requires_grad_(True) for k, v in p0.items()}
    opt = torch.optim.Adam(list(leaves.values()), lr=1e-2)
    for _ in range(5):
        opt.zero_grad()
        mse_loss(leaves, b, SMALL).backward()
        opt.step()
    for k in p0:
        torch.testing.assert_close(mine[k], leaves[k].detach(), rtol=1e-5, atol=1e-6)


def test_second_order_meta_gradient_matches_finite_differences():
    mc = MetaConfig(second_order=True, inner_steps=2, inner_lr=0.05, fast_steps=2, fast_lr=1e-2, model=SMALL)
    theta = _params()
    sup, qt, qe = _batch(40, 2), _batch(30, 3), _batch(60, 4)
    g, _ = maml_meta_grad(theta, sup, qt, qe, mc)
    d = {k: torch.randn(v.shape, generator=torch.Generator().manual_seed(5), dtype=v.dtype) for k, v in theta.items()}

    def objective(th):
        from hdrkit.meta.train import sgd_steps

        p = sgd_steps(th, sup, SMALL, 2, 0.05, differentiable=False)
        p = adam_steps(p, qt, SMALL, 2, 1e-2, differentiable=False)
        return float(mse_loss(p, qe, SMALL))

    eps = 1e-6
    fd = (objective({k: theta[k] + eps * d[k] for k in theta}) - objective({k: theta[k] - eps * d[k] for k in theta})) / (2 * eps)
    analytic = sum(float((g[k] * d[k]).sum()) for k in theta)
    assert analytic == pytest.approx(fd, rel=1e-4, abs=1e-9)
    # first order is the gradient at the adapted weights: a different (approximate) direction
    g1, _ = maml_meta_grad(theta, sup, qt, qe, replace(mc, second_order=False))
    first = sum(float((g1[k] * d[k]).sum()) for k in theta)
    assert first != pytest.approx(analytic, rel=1e-6)


def test_without_inner_steps_both_orders_are_the_plain_gradient():
    mc = MetaConfig(inner_steps=0, fast_steps=0, model=SMALL)
    theta = _params()
    sup, qt, qe = _batch(10, 2), _batch(10, 3), _batch(20, 4)
    g_plain = torch.func.grad(mse_loss)(theta, qe, SMALL)
    for so in (False, True):
        g, _ = maml_meta_grad(theta, sup, qt, qe, replace(mc, second_order=so))
        for k in theta:
            torch.testing.assert_close(g[k], g_plain[k])


def test_reptile_direction_is_a_descent_direction():
    mc = MetaConfig(algorithm="reptile", inner_steps=5, fast_lr=1e-3, model=SMALL)
    theta = _params()
    b = _batch(64, 6)
    d, _ = reptile_direction(theta, b, mc)
    g = torch.func.grad(mse_loss)(theta, b, SMALL)
    assert sum(float((g[k] * d[k]).sum()) for k in theta) > 0


def _pool(n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return [tasks.make_pair(tasks.procedural_scene(rng, size, 1000.0), "camera", rng, 1000.0) for _ in range(n)]


@pytest.mark.parametrize("algorithm", ["maml", "reptile", "naive", "none"])
def test_every_algorithm_runs_and_logs(algorithm):
    mc = replace(RECIPES["smoke"], algorithm=algorithm, iterations=3, val_every=2, patch=16, model=SMALL)
    theta, log = meta_train(mc, _pool(6), _pool(1, seed=1))
    assert set(theta) == set(init_params(SMALL))
    if algorithm == "none":
        assert log.iterations == [] and len(log.val_psnr) == 1
        assert all(torch.equal(theta[k], init_params(SMALL, torch.Generator().manual_seed(0))[k]) for k in theta)
    else:
        assert log.iterations == [1, 2, 3] and log.val_iterations == [0, 2, 3]
        assert all(np.isfinite(log.train_loss)) and all(np.isfinite(log.val_psnr))


def test_pair_grid_batch_uses_reference_coordinates():
    sdr = np.random.default_rng(0).random((9, 13, 3)).astype(np.float32)
    rgb, xy, tgt = pair_grid_batch((sdr, sdr), 4, offset=1)
    assert rgb.shape == (2 * 3, 3)
    assert xy[0].tolist() == pytest.approx([1 / 12, 1 / 8])
    assert np.allclose(rgb[0].numpy(), sdr[1, 1])


def test_unknown_algorithm():
    with pytest.raises(InputError):
        MetaConfig(algorithm="magic")
