"""MAML meta-gradients (hdrkit.meta.maml): a closed form, central finite differences, first vs second order."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from hdrkit.errors import InputError
from hdrkit.meta.maml import MamlConfig, adapt, batch_loss, meta_gradient, task_meta_loss

mse = lambda p, y: ((p - y) ** 2).sum()  # noqa: E731


def _scalar_model(w0: float) -> nn.Module:
    m = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        m.weight.fill_(w0)
    return m


@pytest.mark.parametrize("second_order", [True, False])
def test_meta_gradient_matches_closed_form_for_a_scalar_linear_model(second_order):
    # y = w·x, L_s = (w a − b)², one inner step φ = w − α·2a(wa − b), L_q = (φ c − d)²
    w, a, b, c, d, alpha = 0.7, 1.3, 0.4, -0.8, 0.9, 0.05
    model = _scalar_model(w)
    theta = dict(model.named_parameters())
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    support, query = (t(a), t(b)), (t(c), t(d))
    cfg = MamlConfig(inner_steps=1, inner_lr=alpha, second_order=second_order)
    grads, loss = meta_gradient(model, theta, [(support, query)], mse, cfg)
    phi = w - alpha * 2 * a * (w * a - b)
    dphi_dw = (1 - 2 * alpha * a * a) if second_order else 1.0
    expected = 2 * (phi * c - d) * c * dphi_dw
    assert loss == pytest.approx((phi * c - d) ** 2, rel=1e-12)
    assert float(grads["weight"]) == pytest.approx(expected, rel=1e-10)


def _tiny_unet():
    from hdrkit.models.unet import UNetConfig, UNetITM, init_params

    cfg = UNetConfig(base=2, depth=1, groups=2)
    params = {k: v.double() for k, v in init_params(cfg, torch.Generator().manual_seed(3)).items()}
    g = torch.Generator().manual_seed(4)
    params = {k: v + 0.05 * torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in params.items()}
    return UNetITM(cfg, params).double()


def _unet_task(seed: int):
    g = torch.Generator().manual_seed(seed)
    xs = torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    xs[:, :, :3, :3] = 0.99  # some saturated pixels so the highlight branch is active
    ys = 300 * torch.rand(2, 3, 8, 8, generator=g, dtype=torch.float64)
    return (xs, ys), (torch.rand(1, 3, 8, 8, generator=g, dtype=torch.float64), ys[:1])


def test_second_order_meta_gradient_of_the_unet_matches_finite_differences():
    from hdrkit.expand.learned_train import ssim_l1_loss

    model = _tiny_unet()
    theta = {k: v.detach().clone().requires_grad_(True) for k, v in model.named_parameters()}
    tasks = [_unet_task(10), _unet_task(11)]
    cfg = MamlConfig(inner_steps=2, inner_lr=0.05, second_order=True, clip_norm=5.0)
    grads, _ = meta_gradient(model, theta, tasks, ssim_l1_loss, cfg)

    def meta_loss(params):
        return sum(float(task_meta_loss(model, params, s, q, ssim_l1_loss, cfg).detach()) for s, q in tasks) / len(tasks)

    g = torch.Generator().manual_seed(5)
    eps = 1e-6
    for _ in range(3):  # random directions through all parameters
        direction = {k: torch.randn(v.shape, generator=g, dtype=torch.float64) for k, v in theta.items()}
        plus = {k: (v + eps * direction[k]).detach().requires_grad_(True) for k, v in theta.items()}
        minus = {k: (v - eps * direction[k]).detach().requires_grad_(True) for k, v in theta.items()}
        fd = (meta_loss(plus) - meta_loss(minus)) / (2 * eps)
        analytic = float(sum((grads[k] * direction[k]).sum() for k in theta))
        assert analytic == pytest.approx(fd, rel=1e-5, abs=1e-8)


def test_first_order_is_the_query_gradient_at_the_adapted_weights_and_differs_from_second_order():
    from hdrkit.expand.learned_train import ssim_l1_loss

    model = _tiny_unet()
    theta = {k: v.detach().clone().requires_grad_(True) for k, v in model.named_parameters()}
    support, query = _unet_task(20)
    fo = MamlConfig(inner_steps=3, inner_lr=0.05, second_order=False)
    g_fo, _ = meta_gradient(model, theta, [(support, query)], ssim_l1_loss, fo)
    phi = {k: v.detach().requires_grad_(True) for k, v in adapt(model, theta, support, ssim_l1_loss, 3, 0.05).items()}
    ref = torch.autograd.grad(batch_loss(model, phi, query, ssim_l1_loss), list(phi.values()))
    for (k, _), r in zip(phi.items(), ref):
        torch.testing.assert_close(g_fo[k], r, rtol=1e-10, atol=1e-12)
    g_so, _ = meta_gradient(model, theta, [(support, query)], ssim_l1_loss, MamlConfig(3, 0.05, True))
    diff = sum(float((g_so[k] - g_fo[k]).abs().sum()) for k in theta)
    assert diff > 1e-6 * sum(float(g_so[k].abs().sum()) for k in theta)


def test_zero_inner_steps_is_plain_gradient_and_inner_steps_lower_the_support_loss():
    model = _scalar_model(0.2)
    theta = dict(model.named_parameters())
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    support, query = (t(1.0), t(2.0)), (t(0.5), t(1.5))
    g, _ = meta_gradient(model, theta, [(support, query)], mse, MamlConfig(inner_steps=0, inner_lr=0.1))
    assert float(g["weight"]) == pytest.approx(2 * (0.2 * 0.5 - 1.5) * 0.5)
    phi = adapt(model, theta, support, mse, steps=5, lr=0.1)
    # gradient descent on (w − 2)²: the error shrinks by (1 − 2·0.1) per step
    assert float(phi["weight"].detach()) == pytest.approx(2 + (0.2 - 2) * 0.8**5, rel=1e-12)


def test_clipped_inner_step_has_the_requested_norm_and_bad_configs_raise():
    model = _scalar_model(0.0)
    theta = dict(model.named_parameters())
    t = lambda v: torch.tensor([[v]], dtype=torch.float64)  # noqa: E731
    phi = adapt(model, theta, (t(10.0), t(100.0)), mse, steps=1, lr=0.5, clip_norm=1.0)
    assert float(phi["weight"].detach()) == pytest.approx(0.5)  # raw gradient −2000 clipped to norm 1, step 0.5
    with pytest.raises(InputError):
        MamlConfig(inner_steps=-1)
    with pytest.raises(InputError):
        meta_gradient(model, theta, [], mse, MamlConfig())
