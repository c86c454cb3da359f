"""The SIREN of MLP-embedded iTM: exact default size, initialisation, and forward pass vs a numpy reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hdrkit.errors import InputError
from hdrkit.models.siren import (
    SirenConfig,
    SirenITM,
    coord_grid,
    encode_coords,
    forward,
    init_params,
    param_count,
    param_names,
)


def test_default_architecture_has_8963_parameters():
    assert param_count() == 8963
    assert sum(p.numel() for p in SirenITM().parameters()) == 8963
    # fp32 bytes quoted in the reference: 35,852
    assert 4 * param_count() == 35852


def test_layer_shapes_match_the_paper():
    shapes = {k: tuple(v.shape) for k, v in init_params().items()}
    assert shapes == {
        "color.0.weight": (64, 3), "color.0.bias": (64,), "color.1.weight": (32, 64), "color.1.bias": (32,),
        "spatial.0.weight": (64, 2), "spatial.0.bias": (64,), "spatial.1.weight": (32, 64), "spatial.1.bias": (32,),
        "merge.0.weight": (64, 64), "merge.0.bias": (64,), "out.weight": (3, 64), "out.bias": (3,),
    }
    assert param_names(SirenConfig()) == list(shapes)


def test_siren_initialisation_bounds():
    p = init_params(generator=torch.Generator().manual_seed(1))
    assert p["color.0.weight"].abs().max() <= 1 / 3
    assert p["spatial.0.weight"].abs().max() <= 1 / 2
    for k in ("color.1.weight", "spatial.1.weight", "merge.0.weight", "out.weight"):
        bound = math.sqrt(6 / 64) / 30
        assert p[k].abs().max() <= bound
        # uniform: the spread fills most of the interval
        assert p[k].abs().max() > 0.9 * bound


def _numpy_forward(p, rgb, xy, omega=30.0):
    """Independent numpy implementation of the paper's network."""
    P = {k: v.double().numpy() for k, v in p.items()}
    s = lambda x: np.sin(omega * x)  # noqa: E731
    c = s(rgb @ P["color.0.weight"].T + P["color.0.bias"])
    c = s(c @ P["color.1.weight"].T + P["color.1.bias"])
    q = s(xy @ P["spatial.0.weight"].T + P["spatial.0.bias"])
    q = s(q @ P["spatial.1.weight"].T + P["spatial.1.bias"])
    h = s(np.concatenate([c, q], -1) @ P["merge.0.weight"].T + P["merge.0.bias"])
    return h @ P["out.weight"].T + P["out.bias"]


def test_forward_matches_numpy_reference_and_module():
    p = init_params(generator=torch.Generator().manual_seed(2))
    rng = np.random.default_rng(0)
    rgb = rng.random((257, 3))
    xy = rng.random((257, 2))
    ref = _numpy_forward(p, rgb, xy)
    out = forward(p, torch.from_numpy(rgb).float(), torch.from_numpy(xy).float()).double().numpy()
    np.testing.assert_allclose(out, ref, atol=2e-5)
    m = SirenITM(params=p)
    out2 = m(torch.from_numpy(rgb).float(), torch.from_numpy(xy).float()).detach().double().numpy()
    np.testing.assert_allclose(out2, out, atol=1e-6)
    assert set(m.state_dict()) == set(p)


def test_coord_grid_follows_reference_convention():
    g = coord_grid(3, 5)
    assert g.shape == (3, 5, 2)
    assert torch.allclose(g[0, :, 0], torch.linspace(0, 1, 5))  # x along columns
    assert torch.allclose(g[:, 0, 1], torch.linspace(0, 1, 3))  # y along rows
    assert g[2, 4].tolist() == [1.0, 1.0]


def test_fourier_encoding_and_configurable_widths():
    cfg = SirenConfig(color=(16,), spatial=(8, 8), merge=(), coord_octaves=3, activation="relu")
    assert cfg.coord_dim == 12
    xy = torch.tensor([[0.25, 0.5]])
    enc = encode_coords(xy, cfg)
    k = torch.tensor([1.0, 2.0, 4.0]) * math.pi
    expected = torch.cat([torch.sin(0.25 * k), torch.cos(0.25 * k), torch.sin(0.5 * k), torch.cos(0.5 * k)])
    assert torch.allclose(enc[0], expected, atol=1e-6)
    p = init_params(cfg)
    assert forward(p, torch.rand(4, 3), torch.rand(4, 2), cfg).shape == (4, 3)
    assert param_count(cfg) == (3 * 16 + 16) + (12 * 8 + 8) + (8 * 8 + 8) + (24 * 3 + 3)


@pytest.mark.parametrize("bad", [dict(color=()), dict(activation="tanh"), dict(omega0=-1.0), dict(coord_octaves=99)])
def test_bad_config_is_an_input_error(bad):
    with pytest.raises(InputError):
        SirenConfig(**bad)


def test_roundtrip_config_dict():
    cfg = SirenConfig(color=(32, 16), coord_octaves=2)
    assert SirenConfig.from_dict(cfg.to_dict()) == cfg


def test_folded_parametrisation_is_the_same_function():
    from hdrkit.models.siren import fold, unfold

    cfg = SirenConfig()
    p = init_params(cfg, torch.Generator().manual_seed(5))
    f = fold(p, cfg)
    assert torch.equal(f["out.weight"], p["out.weight"])
    assert torch.allclose(f["merge.0.weight"], 30 * p["merge.0.weight"])
    rgb, xy = torch.rand(50, 3), torch.rand(50, 2)
    torch.testing.assert_close(forward(f, rgb, xy, cfg, folded=True), forward(p, rgb, xy, cfg), rtol=1e-5, atol=1e-5)
    back = unfold(f, cfg)
    assert all(torch.allclose(back[k], p[k]) for k in p)
