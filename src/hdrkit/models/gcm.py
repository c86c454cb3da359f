"""Global conditional colour mapping + local highlight reconstruction for blind SDR → HDR10 (``gcm``).

A CPU-sized blind inverse tone mapper built from two published ideas:

* **Global conditional mapping** (He et al. 2020, "Conditional sequential modulation for efficient global image
  retouching", ECCV — CSRNet; Chen et al. 2021, "A new journey from SDRTV to HDRTV", ICCV — HDRTVNet's AGCM):
  a condition vector ``z`` computed from a thumbnail of the whole picture modulates (per-channel scale and
  shift, "GFM") a per-pixel MLP ``f(R', G', B'; z) → log cd/m²`` of each output channel.  Being per-pixel, the
  mapping of one picture *is* a 3D LUT: :func:`bake_lut` samples it on a ``lut³`` grid of code values and
  :func:`predict` applies that LUT (trilinear), so inference cost does not depend on the MLP's size.
* **Highlight reconstruction in clipped regions** (Eilertsen et al. 2017, "HDR image reconstruction from a
  single exposure using deep CNNs", ACM TOG 36(6) — HDRCNN's soft over-exposure mask): a small dilated CNN on a
  ``down``-times downsampled picture predicts, per pixel, a boost ``B ≥ 0`` of the clipped channels, a
  saturation gain ``k ≥ 1`` and a common (hue-neutral) gain ``G ≥ 0``; it is blended in with
  ``α = smoothstep((max(R',G',B') − τ₀)/(τ₁ − τ₀))``.

The highlight branch works in a **hue-keeping domain**: with ``lin`` the BT.1886-linearised SDR (BT.709),
``Y`` its luminance and ``c = lin / Y`` (``Y(c) = 1``, white = (1, 1, 1)),

    c'  = 1 + k·(c − 1),          k ∈ [1, 1/(1 − min c)]     (away from white on the line through white)
    H_i = Y_F · c'_i · (1 + α_i·B) · (1 + α·G),  α_i = smoothstep((V'_i − τ₀)/(τ₁ − τ₀))
                                   (only channels near the clip grow by B; G brightens all three alike)
    out = (1 − α)·F + α·H,         F = exp f(V'; z) the global mapping, Y_F its luminance

With ``chroma="offset"`` (round 5) there is no ``B``: the branch predicts a luminance-free chroma offset instead,

    P = 1 + s·(c' + α·(u·e₁ + v·e₂) − 1),   e₁ = (1, −0.2126/0.7152, 0), e₂ = (0, −0.0722/0.7152, 1),  |u|, |v| ≤ u_max
    H = Y_F · P · (1 + α·G),                s ≥ 1 the smallest push away from white that makes max P / min P ≥ max c / min c

so hue (``u, v``, free to turn towards the unclipped colour, and to give a white-clipped pixel the colour of its
surroundings) and level (``Y_F``, ``G``) are separate outputs.

In the boost form every factor keeps the order of the channels and never shrinks ``max/min`` (``k ≥ 1``; larger code
values get larger boosts; ``G`` scales the three channels by one factor); in the offset form ``s`` restores the
SDR's ``max/min`` where the offset would lower it.  Either way, where the SDR is clipped (``α = 1``) the output
is **never more neutral than the SDR** — a clipped blue sky cannot turn into a grey blob — while a clipped channel
can be extrapolated above the others (hue correction towards the true colour).  ``G`` lets the branch brighten a
clipped region without moving its hue; the training loss also scores ICtCp colour inside the clipping mask
(:func:`hdrkit.expand.gcm_train.gcm_loss`).

Input: SDR code values ``B×3×H×W`` (BT.709, BT.1886) in [0, 1]; output: absolute linear BT.2020 cd/m² for a
1000 cd/m² HDR10 grade (the training masters'), ``B×3×H×W``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hdrkit.errors import FormatError

_M709_TO_2020 = torch.tensor([
    [0.6274039, 0.32928304, 0.04331307],
    [0.06909729, 0.9195404, 0.01136232],
    [0.01639144, 0.08801331, 0.89559525],
], dtype=torch.float32)
_Y709 = torch.tensor([0.2126, 0.7152, 0.0722], dtype=torch.float32)
#: The grade the network predicts (the training masters' peak, cd/m²).
GRADE_PEAK = 1000.0


@dataclass(frozen=True)
class GCMConfig:
    """``thumb``: thumbnail side for the condition; ``cond``: condition size; ``hidden``: MLP width;
    ``local``: channels of the highlight CNN; ``down``: its downsampling; ``tau``: soft-mask ramp (code values);
    ``lut``: grid size of the baked 3D LUT."""

    thumb: int = 64
    cond: int = 32
    hidden: int = 48
    local: int = 16
    down: int = 4
    tau: Tuple[float, float] = (0.88, 0.98)
    lut: int = 33
    hist_bins: int = 16
    #: 1 adds per-channel code-value histograms and the mean chroma (max − min code) per luma bin to the
    #: condition's statistics (what tells the SDR operators apart: their tone curves per channel and how they
    #: desaturate highlights); 0 = the luma histogram only (weights of earlier rounds).
    cond_stats: int = 0
    #: True: the per-channel boost ``B`` only moves chromaticity (``c'·(1 + α_c·B)`` is renormalised to
    #: luminance 1, so the level of a clipped region comes from ``Y_F`` and ``G`` alone); False: earlier rounds.
    boost_norm: bool = False
    #: True: the condition also gets ``log2(peak / 1000)`` of the grade to predict (``peak`` clamped to
    #: ``peak_range``), trained on masters of several peaks; False: a 1000 cd/m² grade only (earlier rounds).
    peak_cond: bool = False
    peak_range: Tuple[float, float] = (1000.0, 4000.0)
    #: How the highlight branch sets colour in clipped regions: ``"boost"`` (a scalar boost ``B`` of the clipped
    #: channels; earlier rounds) or ``"offset"`` (no ``B``: a luminance-free chroma offset ``u·e₁ + v·e₂``,
    #: ``|u|, |v| ≤ offset_max``, added to ``c'`` in the ``c = lin/Y`` domain and then pushed away from white
    #: until it is at least as saturated as the SDR — hue and level are separate outputs, and a white-clipped
    #: pixel can get a colour from its surroundings).
    chroma: str = "boost"
    offset_max: float = 0.5


def _smoothstep(x: Tensor) -> Tensor:
    x = x.clamp(0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def _soft_histogram(x: Tensor, bins: int, weights: Optional[Tensor] = None) -> Tensor:
    """Triangular-kernel histogram of ``x`` (``B×N`` in [0, 1]) on ``bins`` centres ``(j + ½)/bins``, normalised by
    ``N``: each value splits between its two nearest centres (linear interpolation), ``B×bins``.  ``weights``
    (``B×N``): each value counts with its weight instead of 1."""
    pos = x * bins - 0.5
    i0 = torch.floor(pos)
    w1 = pos - i0
    i0 = i0.long()
    w = torch.ones_like(x) if weights is None else weights
    out = x.new_zeros(x.shape[0], bins + 2)  # one spare bin each side for the values beyond the end centres
    out.scatter_add_(1, (i0 + 1).clamp(0, bins + 1), (1.0 - w1) * w)
    out.scatter_add_(1, (i0 + 2).clamp(0, bins + 1), w1 * w)
    return out[:, 1:-1] / x.shape[1]


class GCM(nn.Module):
    """The network (see the module docstring).  ``forward(v)`` trains; :func:`predict` is the LUT inference."""

    def __init__(self, cfg: GCMConfig = GCMConfig()):
        super().__init__()
        self.cfg = cfg
        c, h, loc = cfg.cond, cfg.hidden, cfg.local
        self.enc = nn.ModuleList([nn.Conv2d(3, 16, 3, 2, 1), nn.Conv2d(16, 32, 3, 2, 1),
                                  nn.Conv2d(32, 32, 3, 2, 1), nn.Conv2d(32, 64, 3, 2, 1)])
        n_stats = cfg.hist_bins * (5 if cfg.cond_stats else 1) + 6 + int(cfg.peak_cond)
        self.head = nn.Sequential(nn.Linear(64 + n_stats, 64), nn.LeakyReLU(0.1), nn.Linear(64, c))
        self.l1, self.l2, self.l3 = nn.Linear(3, h), nn.Linear(h, h), nn.Linear(h, 3)
        self.gfm = nn.Linear(c, 4 * h)
        nn.init.zeros_(self.gfm.weight)
        nn.init.zeros_(self.gfm.bias)
        nn.init.zeros_(self.l3.weight)
        nn.init.zeros_(self.l3.bias)
        self.loc_in = nn.Conv2d(4, loc, 3, 1, 1)
        self.loc_cond = nn.Linear(c, loc)
        self.loc = nn.ModuleList([nn.Conv2d(loc, loc, 3, 1, d, dilation=d) for d in (2, 4, 8)])
        n_out = 5 if cfg.chroma == "offset" else 3
        if cfg.chroma not in ("boost", "offset"):
            raise ValueError(f"unknown chroma mode {cfg.chroma!r}")
        self.loc_out = nn.Conv2d(loc, n_out, 1)
        nn.init.zeros_(self.loc_out.weight)
        with torch.no_grad():
            self.loc_out.bias.copy_(torch.tensor([-3.0, -3.0, -3.0, 0.0, 0.0][:n_out]))

    # ------------------------------------------------------------------------------------------- condition
    def grade_peak(self, peak=None) -> float:
        """The grade (cd/m²) the network predicts when asked for ``peak``: ``peak`` clamped to ``peak_range``
        with peak conditioning, else :data:`GRADE_PEAK`."""
        if not self.cfg.peak_cond or peak is None:
            return GRADE_PEAK
        lo, hi = self.cfg.peak_range
        return float(min(max(float(peak), lo), hi))

    def condition(self, v: Tensor, peak=None) -> Tensor:
        """``B×3×H×W`` code values → ``B×cond`` (from a ``thumb``² area thumbnail and global statistics);
        ``peak``: the grade to predict (cd/m², a number or a ``B`` tensor; 1000 when ``None``), used only with
        ``peak_cond``."""
        cfg = self.cfg
        t = F.adaptive_avg_pool2d(v, cfg.thumb)
        x = t
        for conv in self.enc:
            x = F.leaky_relu(conv(x), 0.1)
        feat = x.mean(dim=(2, 3))
        luma = (v * _Y709.to(v).view(1, 3, 1, 1)).sum(1).flatten(1)
        hist = _soft_histogram(luma, cfg.hist_bins)
        clipped = (v > 0.98).to(v.dtype).flatten(2).mean(-1)
        mean = v.flatten(2).mean(-1)
        stats = [feat, hist, clipped, mean]
        if cfg.cond_stats:
            flat = v.flatten(2)
            stats += [_soft_histogram(flat[:, i], cfg.hist_bins) for i in range(3)]
            chroma = flat.amax(1) - flat.amin(1)
            stats.append(_soft_histogram(luma, cfg.hist_bins, chroma) / (hist + 1e-3))  # mean chroma per luma bin
        if cfg.peak_cond:
            lo, hi = cfg.peak_range
            p = torch.as_tensor(GRADE_PEAK if peak is None else peak, dtype=v.dtype, device=v.device)
            p = p.reshape(-1, 1).expand(v.shape[0], 1).clamp(lo, hi)
            stats.append(torch.log2(p / GRADE_PEAK))
        return self.head(torch.cat(stats, 1))

    # ------------------------------------------------------------------------------------------ global map
    def mapping(self, v: Tensor, z: Tensor) -> Tensor:
        """Per-pixel log cd/m² (BT.709 channels) of code values ``v`` (``B×N×3``) under condition ``z``."""
        g1, b1, g2, b2 = self.gfm(z).unsqueeze(1).chunk(4, dim=-1)
        x = F.silu(self.l1(v * 2.0 - 1.0) * (1.0 + g1) + b1)
        x = F.silu(self.l2(x) * (1.0 + g2) + b2)
        base = torch.log(v.clamp(0.0, 1.0) ** 2.4 * 200.0 + 0.05)
        return base + self.l3(x)

    # ---------------------------------------------------------------------------------------- local branch
    def local_raw(self, v: Tensor, z: Tensor) -> Tensor:
        """The highlight CNN's raw output at the ``down``-times smaller size (``B×3×h×w``, before activation)."""
        cfg = self.cfg
        small = F.avg_pool2d(v, cfg.down, ceil_mode=True) if cfg.down > 1 else v
        a = _smoothstep((small.amax(1, keepdim=True) - cfg.tau[0]) / (cfg.tau[1] - cfg.tau[0]))
        x = F.leaky_relu(self.loc_in(torch.cat([small, a], 1)) + self.loc_cond(z)[..., None, None], 0.1)
        for conv in self.loc:
            x = F.leaky_relu(conv(x), 0.1) + x
        return self.loc_out(x)

    def activate(self, o: Tensor) -> tuple:
        """Raw output (``B×3×…``, or ``B×5×…`` with ``chroma="offset"``) → boost ``B``, saturation gain ``k``,
        common gain ``G`` (``B×1×…`` each) and, with ``chroma="offset"``, the chroma offset ``(u, v)``
        (``B×2×…``; ``B`` is then 0)."""
        k = 1.0 + F.softplus(o[:, 1:2])
        gain = torch.exp(o[:, 2:3].clamp(-10.0, 5.0))
        if self.cfg.chroma == "offset":
            return torch.zeros_like(k), k, gain, self.cfg.offset_max * torch.tanh(o[:, 3:5])
        boost = torch.exp(o[:, :1].clamp(-10.0, 5.0))
        return boost, k, gain

    def local(self, v: Tensor, z: Tensor) -> tuple:
        """Boost ``B``, saturation gain ``k`` and common gain ``G`` (``B×1×H×W`` each; with ``chroma="offset"``
        also ``(u, v)``, ``B×2×H×W``): :meth:`local_raw` upsampled (bilinear) to the picture's size, then
        :meth:`activate`."""
        o = self.local_raw(v, z)
        if self.cfg.down > 1:
            o = F.interpolate(o, size=tuple(v.shape[-2:]), mode="bilinear", align_corners=False)
        return self.activate(o)

    # --------------------------------------------------------------------------------------------- combine
    def combine(self, v: Tensor, logF: Tensor, boost: Tensor, k: Tensor, gain: Tensor,
                uv: Optional[Tensor] = None) -> Tensor:
        """The hue-keeping blend (module docstring): BT.709 code values + branches → BT.2020 cd/m²; ``uv``: the
        chroma offset of ``chroma="offset"`` (:meth:`_offset`)."""
        cfg = self.cfg
        y = _Y709.to(v).view(1, 3, 1, 1)
        Fm = torch.exp(logF.clamp(max=float(np.log(1e4))))
        lin = v.clamp(0.0, 1.0) ** 2.4
        Y = (lin * y).sum(1, keepdim=True)
        c = lin / Y.clamp(min=1e-4)
        kmax = 1.0 / (1.0 - c.amin(1, keepdim=True)).clamp(min=1e-3)
        ke = torch.minimum(k, kmax)
        c2 = 1.0 + ke * (c - 1.0)
        a_c = _smoothstep((v - cfg.tau[0]) / (cfg.tau[1] - cfg.tau[0]))
        a = a_c.amax(1, keepdim=True)
        YF = (Fm * y).sum(1, keepdim=True)
        P = c2 * (1.0 + a_c * boost)
        if cfg.boost_norm:  # B moves chromaticity only: luminance of P back to 1 (one factor: ratios kept)
            P = P / (P * y).sum(1, keepdim=True).clamp(min=1e-6)
        if uv is not None:
            P = self._offset(P, c, a, uv)
        Hm = YF * P * (1.0 + a * gain)
        out = (1.0 - a) * Fm + a * Hm
        out = torch.einsum("ij,bjhw->bihw", _M709_TO_2020.to(v), out)
        return out.clamp(0.0, 1e4)

    @staticmethod
    def _offset(P: Tensor, c: Tensor, a: Tensor, uv: Tensor) -> Tensor:
        """``P + α·(u·e₁ + v·e₂)`` with luminance-free ``e₁ = (1, −0.2126/0.7152, 0)``, ``e₂ = (0, −0.0722/0.7152,
        1)`` (BT.709: ``Y`` stays 1), kept ≥ 0, then pushed away from white along the line through white
        (``1 + s·(P − 1)``, ``s ≥ 1``, ``Y`` unchanged) until its ``max/min`` is at least the SDR's ``max c / min c``:
        never more neutral than the SDR (the guarantee of the module docstring)."""
        e1 = P.new_tensor([1.0, -0.2126 / 0.7152, 0.0]).view(1, 3, *([1] * (P.dim() - 2)))
        e2 = P.new_tensor([0.0, -0.0722 / 0.7152, 1.0]).view(1, 3, *([1] * (P.dim() - 2)))
        Q = (P + a * (uv[:, :1] * e1 + uv[:, 1:2] * e2)).clamp(min=0.0)
        S = c.amax(1, keepdim=True) / c.amin(1, keepdim=True).clamp(min=1e-6)
        d = Q - 1.0
        dmax, dmin = d.amax(1, keepdim=True), d.amin(1, keepdim=True)
        sat = (1.0 + dmax) / (1.0 + dmin).clamp(min=1e-6)
        s = (S - 1.0) / (dmax - S * dmin).clamp(min=1e-6)
        s = torch.where(sat < S, s.clamp(min=1.0, max=1e3), torch.ones_like(s))
        return 1.0 + s * d

    def combine_sparse(self, v: Tensor, logF: Tensor, o_small: Tensor, row0: int, size: Tuple[int, int]) -> Tensor:
        """:meth:`combine` for the rows ``row0 …`` of a ``size`` picture (``v``, ``logF``: ``1×3×h×W`` band),
        computing the highlight branch only where ``α > 0`` and sampling the raw highlight map ``o_small``
        (:meth:`local_raw` of the whole picture) only there — bilinear with the same pixel-centre convention as
        :meth:`local`'s upsampling, so the values are the same (inference)."""
        cfg = self.cfg
        Fm = torch.exp(logF.clamp(max=float(np.log(1e4))))
        out = torch.einsum("ij,bjhw->bihw", _M709_TO_2020.to(v), Fm).clamp(0.0, 1e4)
        a = _smoothstep((v.amax(1) - cfg.tau[0]) / (cfg.tau[1] - cfg.tau[0]))[0]
        sel = a > 0
        if not bool(sel.any()):
            return out
        idx = sel.flatten().nonzero()[:, 0]
        pick = lambda t: t[0].flatten(1)[:, idx][None, :, :, None]  # noqa: E731  (1×C×n×1)
        H, W = size
        w = v.shape[-1]
        rows, cols = (idx // w + row0).to(v.dtype), (idx % w).to(v.dtype)
        if cfg.down > 1:
            grid = torch.stack([(2.0 * cols + 1.0) / W - 1.0, (2.0 * rows + 1.0) / H - 1.0], -1)
            o = F.grid_sample(o_small, grid[None, :, None, :], mode="bilinear", padding_mode="border",
                              align_corners=False)  # 1×3×n×1
        else:
            o = o_small[0].flatten(1)[:, (rows * W + cols).long()][None, :, :, None]
        part = self.combine(pick(v), torch.log(pick(Fm)), *self.activate(o))
        flat = out[0].flatten(1)
        flat[:, idx] = part[0, :, :, 0]
        return out

    def forward(self, v: Tensor, peak=None) -> Tensor:
        """``B×3×H×W`` code values → BT.2020 cd/m² (the per-pixel MLP evaluated directly; for training);
        ``peak``: see :meth:`condition`."""
        z = self.condition(v, peak)
        B, _, H, W = v.shape
        logF = self.mapping(v.permute(0, 2, 3, 1).reshape(B, H * W, 3), z).reshape(B, H, W, 3).permute(0, 3, 1, 2)
        return self.combine(v, logF, *self.local(v, z))


# ------------------------------------------------------------------------------------------------- inference
def bake_lut(model: GCM, z: Tensor) -> Tensor:
    """The global mapping of one picture as a 3D LUT: ``1×3×n×n×n`` log cd/m², indexed [B', G', R'] (the
    layout :func:`torch.nn.functional.grid_sample` reads with grid (x, y, z) = (R', G', B'))."""
    n = model.cfg.lut
    g = torch.linspace(0.0, 1.0, n)
    b_, g_, r_ = torch.meshgrid(g, g, g, indexing="ij")
    pts = torch.stack([r_, g_, b_], -1).reshape(1, -1, 3)
    out = model.mapping(pts, z[:1]).reshape(n, n, n, 3)
    return out.permute(3, 0, 1, 2).unsqueeze(0).contiguous()


def apply_lut(lut: Tensor, v: Tensor) -> Tensor:
    """Trilinear lookup of ``lut`` (:func:`bake_lut`) at code values ``v`` (``1×3×H×W``) → ``1×3×H×W``."""
    grid = (v.permute(0, 2, 3, 1) * 2.0 - 1.0).unsqueeze(1)  # 1×1×H×W×3, (x, y, z) = (R', G', B')
    out = F.grid_sample(lut, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[:, :, 0]


@torch.no_grad()
def predict(model: GCM, sdr: np.ndarray, rows: int = 512, device: str = "cpu", peak=None) -> np.ndarray:
    """SDR code values (``H×W×3`` float in [0, 1]) → BT.2020 cd/m² (float32 ``H×W×3``, a grade of
    ``model.grade_peak(peak)`` cd/m²: 1000 unless the model is peak-conditioned).

    The condition comes from the whole picture; the global mapping is baked into a 3D LUT; the highlight CNN runs
    once on the ``down``-times smaller picture; the LUT and the blend run in bands of ``rows`` rows (bounded
    memory; the result does not depend on ``rows``)."""
    model = model.to(device).eval()
    v = torch.from_numpy(np.ascontiguousarray(np.asarray(sdr, np.float32).transpose(2, 0, 1)))[None].to(device)
    z = model.condition(v, model.grade_peak(peak))
    lut = bake_lut(model, z)
    o_small = model.local_raw(v, z)
    H = v.shape[2]
    out = np.empty((H, v.shape[3], 3), np.float32)
    step = max(1, int(rows))
    for r0 in range(0, H, step):
        sl = slice(r0, min(H, r0 + step))
        vb = v[:, :, sl]
        o = model.combine_sparse(vb, apply_lut(lut, vb), o_small, r0, (H, v.shape[3]))
        out[sl] = o[0].permute(1, 2, 0).cpu().numpy()
    return out


# ---------------------------------------------------------------------------------------------------- files
def count_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def save_weights(path: str | Path, model: GCM, info: Optional[dict] = None) -> None:
    """``.npz`` of fp32 arrays + a JSON ``__config__`` string (loads with ``allow_pickle=False``)."""
    from hdrkit.models._npz import save_npz

    save_npz(path, model.state_dict(), {"config": asdict(model.cfg), "info": info or {}})


def load_weights(path: str | Path) -> Tuple[GCM, dict]:
    """Read :func:`save_weights` output (never unpickles)."""
    from hdrkit.models._npz import load_npz

    p = Path(path)
    try:
        state, meta = load_npz(p)
        c = dict(meta["config"])
        c["tau"] = tuple(c["tau"])
        model = GCM(GCMConfig(**c))
        model.load_state_dict(state)
    except (ValueError, KeyError, TypeError, OSError, RuntimeError) as exc:
        raise FormatError(f"{p.name} is not an hdrkit GCM weight file ({exc})") from None
    return model.eval(), meta.get("info", {})
