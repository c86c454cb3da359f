"""A CPU-sized U-Net for single-image inverse tone mapping with the HDRCNN soft-mask blend.

Eilertsen, Kronander, Denes, Mantiuk & Unger 2017, "HDR image reconstruction from a single exposure using deep
CNNs", ACM TOG 36(6): the network predicts the light lost in saturated regions in the log domain and the output
blends it with the linearised input through a soft over-exposure mask

    α = clip((max(R', G', B') − τ)/(1 − τ), 0, 1),   τ = 0.95,
    HDR = (1 − α) · linearised SDR + α · exp(prediction).

Our model keeps that structure and adds two things needed for *absolute* HDR10 output (nits, not relative
radiance), both documented in ``docs/EXPAND.md``:

* a global exposure head (mean-pooled bottleneck features → ``s``, the log cd/m² of SDR white), so the
  linearised branch is ``exp(s) · V^2.4`` in cd/m²; in tiled inference ``s`` is computed once on a thumbnail
  of the whole image and shared by every tile (no tile-to-tile exposure steps);
* optionally, a bounded per-pixel log residual ``r = ρ·tanh(·)`` on the linearised branch (the virtual cameras'
  curves are not BT.1886), so that branch is ``exp(s + r) · V^2.4``; the highlight branch is ``exp(s + h)``.

Input: SDR code values ``B×3×H×W`` (BT.709, BT.1886 γ 2.4) in [0, 1]; output: absolute linear light in cd/m²,
BT.2020 primaries, ``B×3×H×W``.  ``H`` and ``W`` must be multiples of ``2**depth`` (:func:`predict` pads).

No BatchNorm anywhere (optional GroupNorm has no running statistics), so the functional kernel works unchanged
under ``torch.func`` for MAML (:mod:`hdrkit.meta.maml`).  The kernel is :func:`forward` on a parameter dict;
:class:`UNetITM` is the thin ``nn.Module`` wrapper.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hdrkit._array import resolve_device
from hdrkit.errors import FormatError, InputError
from hdrkit.progress import ProgressFn, report

Params = Dict[str, Tensor]

#: BT.709 → BT.2020 (ITU-R BT.2087), applied to the linear output.
_M709_TO_2020 = (
    (0.6274039, 0.32928304, 0.04331307),
    (0.06909729, 0.9195404, 0.01136232),
    (0.01639144, 0.08801331, 0.89559525),
)


@dataclass(frozen=True)
class UNetConfig:
    """Architecture.  ``base``: channels at full resolution (doubling per level up to ``base·2**cap``);
    ``depth``: number of 2× downsamplings; ``groups``: GroupNorm groups (0 = no normalisation); ``tau``: mask
    threshold; ``residual``: bound ρ of the log residual on the linearised branch (0 = plain HDRCNN blend);
    ``log_white``: initial log cd/m² of SDR white (the exposure head's bias)."""

    base: int = 16
    depth: int = 4
    cap: int = 3
    groups: int = 0
    tau: float = 0.95
    residual: float = 1.0
    log_white: float = math.log(203.0)

    def __post_init__(self) -> None:
        if not (1 <= self.base <= 256 and 1 <= self.depth <= 7 and 0 <= self.cap <= 6):
            raise InputError(f"bad U-Net size: base={self.base}, depth={self.depth}, cap={self.cap}")
        if not 0.0 <= self.tau < 1.0:
            raise InputError(f"tau must lie in [0, 1), got {self.tau}")
        if self.groups and any(c % self.groups for c in self.channels):
            raise InputError(f"groups={self.groups} must divide every channel count {self.channels}")

    @property
    def channels(self) -> Tuple[int, ...]:
        return tuple(self.base * 2 ** min(level, self.cap) for level in range(self.depth + 1))

    @property
    def multiple(self) -> int:
        return 2**self.depth


def _conv_shapes(cfg: UNetConfig):
    ch = cfg.channels
    yield "enc0.a", 3, ch[0], 3
    yield "enc0.b", ch[0], ch[0], 3
    for lv in range(1, cfg.depth + 1):
        yield f"enc{lv}.a", ch[lv - 1], ch[lv], 3
        yield f"enc{lv}.b", ch[lv], ch[lv], 3
    for lv in range(cfg.depth - 1, -1, -1):
        yield f"dec{lv}.a", ch[lv + 1] + ch[lv], ch[lv], 3
        yield f"dec{lv}.b", ch[lv], ch[lv], 3
    yield "head", ch[0], 6, 1


def init_params(cfg: UNetConfig, generator: Optional[torch.Generator] = None) -> Params:
    """He-initialised weights (zero biases); the output heads start at zero, so the initial model is the
    linearised input at SDR white ``exp(log_white)`` cd/m²."""
    g = generator if generator is not None else torch.Generator().manual_seed(0)
    p: Params = {}
    for name, cin, cout, k in _conv_shapes(cfg):
        std = math.sqrt(2.0 / (cin * k * k))
        p[f"{name}.weight"] = torch.randn(cout, cin, k, k, generator=g) * std
        p[f"{name}.bias"] = torch.zeros(cout)
        if cfg.groups and name != "head":
            p[f"{name}.gn_w"] = torch.ones(cout)
            p[f"{name}.gn_b"] = torch.zeros(cout)
    p["head.weight"].zero_()
    p["expo.weight"] = torch.zeros(1, cfg.channels[-1])
    p["expo.bias"] = torch.full((1,), float(cfg.log_white))
    return p


def param_count(params: Params) -> int:
    return int(sum(v.numel() for v in params.values()))


def _conv(params: Params, name: str, x: Tensor, cfg: UNetConfig, act: bool = True) -> Tensor:
    w = params[f"{name}.weight"]
    x = F.conv2d(x, w, params[f"{name}.bias"], padding=w.shape[-1] // 2)
    if cfg.groups and f"{name}.gn_w" in params:
        x = F.group_norm(x, cfg.groups, params[f"{name}.gn_w"], params[f"{name}.gn_b"])
    return F.leaky_relu(x, 0.1) if act else x


def soft_mask(sdr: Tensor, tau: float = 0.95) -> Tensor:
    """HDRCNN over-exposure mask ``α = clip((max_c V − τ)/(1 − τ), 0, 1)``: ``B×3×H×W`` → ``B×1×H×W``."""
    return ((sdr.amax(dim=1, keepdim=True) - tau) / (1.0 - tau)).clamp(0.0, 1.0)


def encode(params: Params, sdr: Tensor, cfg: UNetConfig) -> Tuple[list, Tensor]:
    """Encoder: skip features per level and the bottleneck (``B×C×H/2^d×W/2^d``)."""
    x = sdr * 2.0 - 1.0
    skips = []
    x = _conv(params, "enc0.b", _conv(params, "enc0.a", x, cfg), cfg)
    for lv in range(1, cfg.depth + 1):
        skips.append(x)
        x = F.avg_pool2d(x, 2)
        x = _conv(params, f"enc{lv}.b", _conv(params, f"enc{lv}.a", x, cfg), cfg)
    return skips, x


def exposure(params: Params, sdr: Tensor, cfg: UNetConfig) -> Tensor:
    """Global log cd/m² of SDR white, ``B``, from the mean-pooled bottleneck of ``sdr`` (a whole image or a
    thumbnail of it)."""
    _, bottom = encode(params, sdr, cfg)
    return F.linear(bottom.mean(dim=(2, 3)), params["expo.weight"], params["expo.bias"])[:, 0]


def forward(params: Params, sdr: Tensor, cfg: UNetConfig, log_white: Optional[Tensor] = None) -> Tensor:
    """SDR code values ``B×3×H×W`` → HDR cd/m² (BT.2020) ``B×3×H×W``.

    ``log_white`` (``B``): log cd/m² of SDR white; ``None`` → predicted from ``sdr`` itself by the exposure head.
    """
    if sdr.dim() != 4 or sdr.shape[1] != 3:
        raise InputError(f"the U-Net takes B×3×H×W, got {tuple(sdr.shape)}")
    m = cfg.multiple
    if sdr.shape[-1] % m or sdr.shape[-2] % m:
        raise InputError(f"H and W must be multiples of {m}, got {tuple(sdr.shape[-2:])} (use predict())")
    skips, x = encode(params, sdr, cfg)
    if log_white is None:
        log_white = F.linear(x.mean(dim=(2, 3)), params["expo.weight"], params["expo.bias"])[:, 0]
    for lv in range(cfg.depth - 1, -1, -1):
        x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = torch.cat([x, skips[lv]], dim=1)
        x = _conv(params, f"dec{lv}.b", _conv(params, f"dec{lv}.a", x, cfg), cfg)
    head = _conv(params, "head", x, cfg, act=False)
    s = log_white.clamp(0.0, math.log(1e4)).reshape(-1, 1, 1, 1)
    highlight = torch.exp((s + head[:, :3]).clamp(max=math.log(1e5)))
    lin = sdr.clamp(0.0, 1.0) ** 2.4
    if cfg.residual > 0:
        lin = lin * torch.exp(s + cfg.residual * torch.tanh(head[:, 3:]))
    else:
        lin = lin * torch.exp(s)
    a = soft_mask(sdr, cfg.tau)
    rgb709 = (1.0 - a) * lin + a * highlight
    m709 = torch.tensor(_M709_TO_2020, dtype=sdr.dtype, device=sdr.device)
    return torch.einsum("ij,bjhw->bihw", m709, rgb709)


class UNetITM(nn.Module):
    """Thin ``nn.Module`` wrapper around :func:`forward` (parameters named as in :func:`init_params`, with
    ``.`` replaced by ``__`` — use :meth:`params` / :func:`torch.func.functional_call`)."""

    def __init__(self, cfg: UNetConfig = UNetConfig(), params: Optional[Params] = None) -> None:
        super().__init__()
        self.cfg = cfg
        p = params if params is not None else init_params(cfg)
        self.weights = nn.ParameterDict({k.replace(".", "__"): nn.Parameter(v.clone()) for k, v in p.items()})

    def params(self) -> Params:
        return {k.replace("__", "."): v for k, v in self.weights.items()}

    def forward(self, sdr: Tensor, log_white: Optional[Tensor] = None) -> Tensor:  # noqa: D102
        return forward(self.params(), sdr, self.cfg, log_white)


# ------------------------------------------------------------------------------------------ inference
def thumbnail(sdr: np.ndarray, size: int) -> np.ndarray:
    """Area-resample ``H×W×3`` so the longer side is ``size`` (a multiple of 16 each side), for the exposure head."""
    import cv2

    h, w = sdr.shape[:2]
    scale = size / max(h, w)
    th = max(16, int(round(h * scale / 16)) * 16)
    tw = max(16, int(round(w * scale / 16)) * 16)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(np.ascontiguousarray(sdr, dtype=np.float32), (tw, th), interpolation=interp)


def _to_tensor(a: np.ndarray, device) -> Tensor:
    return torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)).permute(2, 0, 1)[None].to(device)


def _even_tile(n: int, tile: int, multiple: int) -> int:
    """Block length that splits ``n`` pixels evenly into the fewest blocks of at most ``tile`` (on the grid)."""
    blocks = -(-n // tile)
    return -(-(-(-n // blocks)) // multiple) * multiple


def predict(
    params: Params,
    sdr: np.ndarray,
    cfg: UNetConfig,
    *,
    tile: int = 1024,
    margin: int = 128,
    thumb: int = 256,
    device: str | torch.device = "cpu",
    progress: Optional[ProgressFn] = None,
) -> np.ndarray:
    """Run the model on ``H×W×3`` SDR code values in [0, 1] → float32 ``H×W×3`` cd/m² (BT.2020).

    The image is split evenly into the fewest blocks of at most ``tile × tile`` pixels, each with ``margin`` pixels of real context on every side
    (reflection at the image border, computed once for the whole image so a tile sees exactly what the full
    image would); only the centre of each block is kept, so memory is bounded by the block size whatever the
    image size.  With the default 4-level model a 128-pixel margin covers the receptive field and the tiled
    result equals the whole-image pass (tests/models/test_unet.py); 64 leaves differences below 0.5 PU21 units.  The exposure ``s`` comes from a ``thumb``-pixel thumbnail of the whole image.
    """
    sdr = np.asarray(sdr, dtype=np.float32)
    if sdr.ndim != 3 or sdr.shape[-1] != 3:
        raise InputError(f"SDR input must be H×W×3, got shape {sdr.shape}")
    m = cfg.multiple
    if tile <= 0 or tile % m or margin < 0 or margin % m:
        raise InputError(f"tile and margin must be non-negative multiples of {m} (tile > 0)")
    dev = resolve_device(device)
    h, w = sdr.shape[:2]
    with torch.no_grad():
        p = {k: v.to(dev) for k, v in params.items()}
        s = exposure(p, _to_tensor(thumbnail(sdr, thumb), dev), cfg)
        # pad once: margin on the top/left, margin + round-up to the tile grid on the bottom/right
        tile_h, tile_w = _even_tile(h, tile, m), _even_tile(w, tile, m)
        th, tw = -(-h // tile_h) * tile_h, -(-w // tile_w) * tile_w
        mode = "reflect" if min(h, w) > margin else "edge"
        padded = np.pad(sdr, ((margin, margin), (margin, margin), (0, 0)), mode=mode)
        padded = np.pad(padded, ((0, th - h), (0, tw - w), (0, 0)), mode="edge")
        out = np.empty((th, tw, 3), dtype=np.float32)
        n_tiles, done = (th // tile_h) * (tw // tile_w), 0
        for y0 in range(0, th, tile_h):
            for x0 in range(0, tw, tile_w):
                block = padded[y0:y0 + tile_h + 2 * margin, x0:x0 + tile_w + 2 * margin]
                y = forward(p, _to_tensor(block, dev), cfg, s)[0].permute(1, 2, 0)
                out[y0:y0 + tile_h, x0:x0 + tile_w] = y[margin:margin + tile_h, margin:margin + tile_w].cpu().numpy()
                done += 1
                report(progress, done, n_tiles, "U-Net tiles")
    return out[:h, :w]


# --------------------------------------------------------------------------------------------- weights
def save_weights(path: str | Path, params: Params, cfg: UNetConfig, info: Optional[dict] = None) -> None:
    """Write an ``.npz`` (fp32 arrays + a JSON ``__config__`` string); loads with ``allow_pickle=False``."""
    from hdrkit.models._npz import save_npz

    save_npz(path, params, {"config": asdict(cfg), "info": info or {}})


def load_weights(path: str | Path) -> Tuple[UNetConfig, Params, dict]:
    """Read :func:`save_weights` output (never unpickles)."""
    from hdrkit.models._npz import load_npz

    p = Path(path)
    try:
        params, meta = load_npz(p)
        cfg = UNetConfig(**meta["config"])
    except (ValueError, KeyError, TypeError, OSError) as exc:
        raise FormatError(f"{p.name} is not an hdrkit U-Net weight file ({exc})") from None
    expected = set(init_params(cfg))
    if set(params) != expected:
        raise FormatError(f"{p.name}: parameter names do not match the configured U-Net")
    return cfg, params, meta.get("info", {})
