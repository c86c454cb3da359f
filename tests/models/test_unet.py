"""The masked U-Net iTM (hdrkit.models.unet): HDRCNN blend in closed form, tiling without seams, weight files."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hdrkit.errors import FormatError, InputError
from hdrkit.models.unet import (
    UNetConfig,
    UNetITM,
    forward,
    init_params,
    load_weights,
    param_count,
    predict,
    save_weights,
    soft_mask,
)


def _random_params(cfg: UNetConfig, seed: int = 0):
    """He init plus non-zero heads, so every branch of the blend is exercised."""
    p = init_params(cfg, torch.Generator().manual_seed(seed))
    g = torch.Generator().manual_seed(seed + 1)
    p["head.weight"] = 0.1 * torch.randn(p["head.weight"].shape, generator=g)
    p["expo.weight"] = 0.01 * torch.randn(p["expo.weight"].shape, generator=g)
    return p


def test_soft_mask_is_the_hdrcnn_ramp():
    v = torch.tensor([0.0, 0.5, 0.95, 0.96, 0.975, 1.0])
    x = torch.zeros(1, 3, 1, v.numel())
    x[0, 1, 0] = v  # max over channels = v
    expected = np.clip((v.numpy() - 0.95) / 0.05, 0, 1)
    np.testing.assert_allclose(soft_mask(x, 0.95)[0, 0, 0].numpy(), expected, atol=1e-6)


def test_initial_model_is_linearised_sdr_at_203_nits_in_bt2020():
    from hdrkit.color import bt1886_eotf, convert_primaries

    cfg = UNetConfig(base=4, depth=2)
    x = torch.rand(1, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 0.9  # no saturated pixel
    y = forward(init_params(cfg), x, cfg)[0].permute(1, 2, 0).numpy()
    ref = convert_primaries(203.0 * bt1886_eotf(x[0].permute(1, 2, 0).numpy().astype(np.float64)), "bt709", "bt2020")
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-4)


def test_blend_uses_the_highlight_branch_in_saturated_pixels_and_the_linear_branch_elsewhere():
    from hdrkit.color import convert_primaries

    cfg = UNetConfig(base=4, depth=2, residual=0.0)
    p = init_params(cfg)
    p["head.bias"] = torch.tensor([1.0, 2.0, 0.5, 0.0, 0.0, 0.0])  # highlight = exp(s + h) per channel
    x = torch.full((1, 3, 16, 16), 0.5)
    x[..., :4, :4] = 1.0     # α = 1
    x[..., 4:8, :4] = 0.975  # α = 0.5
    y = forward(p, x, cfg)[0].permute(1, 2, 0).numpy().astype(np.float64)
    s = math.log(203.0)
    hl = np.exp(s + np.array([1.0, 2.0, 0.5]))
    np.testing.assert_allclose(y[0, 0], convert_primaries(hl, "bt709", "bt2020"), rtol=1e-5)
    half = 0.5 * 203.0 * 0.975**2.4 + 0.5 * hl
    np.testing.assert_allclose(y[5, 0], convert_primaries(half, "bt709", "bt2020"), rtol=1e-5)
    np.testing.assert_allclose(y[12, 12], convert_primaries(np.full(3, 203.0 * 0.5**2.4), "bt709", "bt2020"), rtol=1e-5)


def test_module_wrapper_and_given_exposure():
    cfg = UNetConfig(base=4, depth=2)
    p = _random_params(cfg)
    m = UNetITM(cfg, p)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(m(x), forward(p, x, cfg))
    s = torch.tensor([math.log(100.0), math.log(400.0)])
    a = forward(p, x[:1], cfg, s[:1])
    b = forward(p, x[:1], cfg, s[1:])
    torch.testing.assert_close(b, 4.0 * a, rtol=1e-5, atol=1e-5)  # output is linear in exp(s)
    assert param_count(p) == sum(v.numel() for v in m.parameters())


def test_default_size_is_under_two_million_parameters_and_shapes_are_checked():
    assert param_count(init_params(UNetConfig())) <= 2_000_000
    cfg = UNetConfig(base=4, depth=2)
    with pytest.raises(InputError):
        forward(init_params(cfg), torch.rand(1, 3, 18, 16), cfg)
    with pytest.raises(InputError):
        forward(init_params(cfg), torch.rand(1, 4, 16, 16), cfg)
    with pytest.raises(InputError):
        UNetConfig(base=6, groups=4)


def _seam_image(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    img = 0.5 + 0.4 * np.sin(9 * xx + 5 * yy)[..., None] * np.array([1.0, 0.8, 0.6])
    img = img + 0.05 * rng.standard_normal((h, w, 3))
    img[40:70, 90:150] = 1.0  # a clipped highlight straddling tile borders
    return np.clip(img, 0, 1).astype(np.float32)


def test_tiles_with_enough_context_equal_the_whole_image_pass():
    cfg = UNetConfig(base=4, depth=3)  # receptive-field radius < 64 px
    p = _random_params(cfg, 3)
    x = _seam_image(150, 230)
    whole = predict(p, x, cfg, tile=256, margin=64)
    tiled = predict(p, x, cfg, tile=64, margin=64)
    np.testing.assert_allclose(tiled, whole, rtol=1e-4, atol=1e-3)


def test_default_tiling_of_the_full_size_model_leaves_no_seam():
    from hdrkit.metrics import pu21_encode

    cfg = UNetConfig()
    p = _random_params(cfg, 4)
    x = _seam_image(150, 230)
    whole = predict(p, x, cfg, tile=512)
    tiled = predict(p, x, cfg, tile=64)  # default margin: 128 px of context, the model's receptive field
    np.testing.assert_allclose(tiled, whole, rtol=1e-5, atol=1e-4)
    # half the context: the tiles differ from the whole pass by well under one PU21 unit, also at the borders
    short = predict(p, x, cfg, tile=64, margin=64)
    diff = np.abs(pu21_encode(short.astype(np.float64)) - pu21_encode(whole.astype(np.float64))).max(axis=-1)
    assert diff.max() < 1.0
    step = np.abs(np.diff(short, axis=0)) - np.abs(np.diff(whole, axis=0))
    assert np.abs(step[[63, 127]]).max() < 0.02 * whole.max()


def test_weights_round_trip_and_bad_files(tmp_path):
    cfg = UNetConfig(base=4, depth=2, groups=2)
    p = _random_params(cfg)
    path = tmp_path / "m.npz"
    save_weights(path, p, cfg, {"note": "test"})
    cfg2, p2, info = load_weights(path)
    assert cfg2 == cfg and info == {"note": "test"}
    for k in p:
        torch.testing.assert_close(p2[k], p[k])
    # a pickled object array is refused, never unpickled
    np.savez(tmp_path / "evil.npz", __config__=np.array([{"a": 1}], dtype=object))
    with pytest.raises(FormatError):
        load_weights(tmp_path / "evil.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(FormatError):
        load_weights(tmp_path / "junk.npz")
    with pytest.raises(InputError):
        load_weights(tmp_path / "missing.npz")
