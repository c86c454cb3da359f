"""The MLP of "MLP Embedded Inverse Tone Mapping" (ACM MM 2024): a two-branch SIREN mapping an SDR pixel and
its position to the HDR pixel.

Default architecture (exactly the paper's, 8,963 parameters)::

    colour branch   (R,G,B) in [0,1]  : 3 -> 64 (sin) -> 32 (sin)
    spatial branch  (x,y)   in [0,1]  : 2 -> 64 (sin) -> 32 (sin)
    concat 64 -> 64 (sin) -> 3 (linear)       output: HDR as PQ code values (BT.2020), ~[0, 1]

Each sine layer is ``sin(omega0 * (W h + b))`` with SIREN initialisation (Sitzmann et al. 2020): the first layer
of each branch U(+-1/in), every later layer U(+-sqrt(6/in)/omega0).  Coordinates follow the reference code:
``x = linspace(0, 1, W)`` per column, ``y = linspace(0, 1, H)`` per row.

The kernel is functional (``forward(params, rgb, xy, cfg)``) so it works with ``torch.func``; ``SirenITM`` is
the thin ``nn.Module`` wrapper.  Widths, the activation and a Fourier encoding of the coordinates are
configurable for size/quality sweeps; the defaults are the paper's.
"""

from __future__ import annotations

import math
from typing import Dict, Optional

import torch
from torch import Tensor, nn

from hdrkit.models.config import SirenConfig, param_count, param_names, param_shapes  # noqa: F401 (re-exported)

Params = Dict[str, Tensor]


def init_params(
    cfg: SirenConfig = SirenConfig(), generator: Optional[torch.Generator] = None, device=None
) -> Params:
    """SIREN initialisation: first layer of a branch U(+-1/in), later layers U(+-sqrt(6/in)/omega0).

    Biases use PyTorch's Linear default U(+-1/sqrt(in)), as the reference code does.  ReLU networks use
    Kaiming-uniform weights.
    """
    params: Params = {}
    for prefix, fin, fout, first in cfg.layer_shapes():
        if cfg.activation == "sin":
            bound = 1.0 / fin if first else math.sqrt(6.0 / fin) / cfg.omega0
        else:
            bound = math.sqrt(6.0 / fin)
        w = (torch.rand(fout, fin, generator=generator) * 2 - 1) * bound
        b = (torch.rand(fout, generator=generator) * 2 - 1) / math.sqrt(fin)
        params[f"{prefix}.weight"] = w.to(device)
        params[f"{prefix}.bias"] = b.to(device)
    return params


def encode_coords(xy: Tensor, cfg: SirenConfig) -> Tensor:
    """``(..., 2)`` coordinates in [0,1] -> ``(..., cfg.coord_dim)`` spatial-branch input."""
    if cfg.coord_octaves == 0:
        return xy
    freqs = (2.0 ** torch.arange(cfg.coord_octaves, device=xy.device, dtype=xy.dtype)) * math.pi
    ang = xy[..., :, None] * freqs  # (..., 2, K)
    return torch.cat([torch.sin(ang), torch.cos(ang)], dim=-1).flatten(-2)


def _act(x: Tensor, cfg: SirenConfig, folded: bool = False) -> Tensor:
    if cfg.activation != "sin":
        return torch.relu(x)
    return torch.sin(x) if folded else torch.sin(cfg.omega0 * x)


def folded_scale(name: str, cfg: SirenConfig) -> float:
    """Factor between the folded and the stored parameter ``name`` (omega0 for sine layers, else 1)."""
    return cfg.omega0 if cfg.activation == "sin" and not name.startswith("out.") else 1.0


def fold(params: Params, cfg: SirenConfig) -> Params:
    """Multiply the sine layers' weights and biases by omega0, so that ``forward(..., folded=True)`` skips it."""
    return {k: v * folded_scale(k, cfg) for k, v in params.items()}


def unfold(params: Params, cfg: SirenConfig) -> Params:
    return {k: v / folded_scale(k, cfg) for k, v in params.items()}


def forward(params: Params, rgb: Tensor, xy: Tensor, cfg: SirenConfig = SirenConfig(), folded: bool = False) -> Tensor:
    """Reference forward pass.

    rgb: ``(N, 3)`` SDR code values in [0, 1];  xy: ``(N, 2)`` coordinates in [0, 1] (x = column, y = row).
    Returns ``(N, 3)`` PQ code values (unclipped).  Differentiable in ``params`` (use with ``torch.func``).
    ``folded=True``: ``params`` come from :func:`fold` (omega0 already inside the sine layers).
    """
    _act_ = lambda x: _act(x, cfg, folded)  # noqa: E731
    h = rgb
    for i in range(len(cfg.color)):
        h = _act_(torch.nn.functional.linear(h, params[f"color.{i}.weight"], params[f"color.{i}.bias"]))
    s = encode_coords(xy, cfg)
    for i in range(len(cfg.spatial)):
        s = _act_(torch.nn.functional.linear(s, params[f"spatial.{i}.weight"], params[f"spatial.{i}.bias"]))
    h = torch.cat([h, s], dim=-1)
    for i in range(len(cfg.merge)):
        h = _act_(torch.nn.functional.linear(h, params[f"merge.{i}.weight"], params[f"merge.{i}.bias"]))
    return torch.nn.functional.linear(h, params["out.weight"], params["out.bias"])


def coord_grid(height: int, width: int, device=None, dtype=torch.float32) -> Tensor:
    """``(H, W, 2)`` coordinates: ``x = linspace(0, 1, W)`` along columns, ``y = linspace(0, 1, H)`` along rows."""
    ys = torch.linspace(0, 1, height, device=device, dtype=dtype)
    xs = torch.linspace(0, 1, width, device=device, dtype=dtype)
    return torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)


class SirenITM(nn.Module):
    """``nn.Module`` wrapper around :func:`forward`; ``state_dict`` keys equal the functional parameter names."""

    def __init__(self, cfg: SirenConfig = SirenConfig(), params: Optional[Params] = None,
                 generator: Optional[torch.Generator] = None):
        super().__init__()
        self.cfg = cfg
        p = params if params is not None else init_params(cfg, generator)
        layers = {}
        for prefix, fin, fout, _ in cfg.layer_shapes():
            lin = nn.Linear(fin, fout)
            with torch.no_grad():
                lin.weight.copy_(p[f"{prefix}.weight"])
                lin.bias.copy_(p[f"{prefix}.bias"])
            layers[prefix] = lin
        self.color = nn.ModuleList([layers[f"color.{i}"] for i in range(len(cfg.color))])
        self.spatial = nn.ModuleList([layers[f"spatial.{i}"] for i in range(len(cfg.spatial))])
        self.merge = nn.ModuleList([layers[f"merge.{i}"] for i in range(len(cfg.merge))])
        self.out = layers["out"]

    def params(self) -> Params:
        return dict(self.named_parameters())

    def forward(self, rgb: Tensor, xy: Tensor) -> Tensor:  # noqa: D401 - see module forward()
        """``(N,3)`` rgb, ``(N,2)`` xy -> ``(N,3)`` PQ code values."""
        return forward(self.params(), rgb, xy, self.cfg)
