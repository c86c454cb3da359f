"""The "gamma" family of the embedded decoder: a per-pixel, per-channel gamma map relative to the SDR, predicted
by a small ReLU MLP on a Fourier embedding of (x, y, R, G, B) -- the Gamma-MLP idea of Canham, Tedla, Murdoch &
Brown ("Gain-MLP: Improving HDR Gain Map Encoding via a Lightweight MLP", ICCV 2025), in our own formulation.

Definition (what a decoder computes; torch-free):

* ``s_c = PQ^-1(SDR_WHITE * (code_c / 255) ** 2.4)`` per channel of the 8-bit SDR (``SDR_WHITE`` = 203 cd/m²,
  BT.2408 reference white), and ``L_c = log(s_c + o)`` with ``o = cfg.offset`` -- a 256-entry table;
* input ``u = 2 v - 1`` for ``v`` in (x = col / (W - 1), y = row / (H - 1), R, G, B = code / 255), each embedded
  as ``[sin(2^k π u) for k < K], [cos(2^k π u) for k < K]`` (``K`` = ``coord_octaves`` for x, y and
  ``color_octaves`` for R, G, B), concatenated in the order x, y, R, G, B;
* ``hidden`` ReLU layers (with biases) then a linear layer to 3 values ``g_c``;
* HDR PQ code value ``H_c = exp(g_c L_c) - o`` (that is ``(s_c + o) ** g_c - o``), clipped to [0, 1], in BT.2020.

The first layer is separable: each input's embedding enters it linearly, so its pre-activation is
``T_x[col] + T_y[row] + T_R[R] + T_G[G] + T_B[B]`` (+ bias) with tables of W, H and 3 x 256 rows computed once per
image.  The CPU decoder (:func:`decode`) is a fused LLVM kernel on those tables (an identity, not an
approximation; :mod:`hdrkit.models._fusedgamma`);
:func:`forward_reference` is the plain numpy forward pass it is tested against.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, Iterator, Optional, Tuple

import numpy as np

from hdrkit.errors import InputError

SDR_WHITE = 203.0


@dataclass(frozen=True)
class GammaConfig:
    """Architecture of the gamma-map family (stored in the container's descriptor, family code 1)."""

    hidden: Tuple[int, ...] = (16, 16)
    coord_octaves: int = 12
    color_octaves: int = 12
    offset: float = 1.0 / 64

    family = "gamma"

    def __post_init__(self) -> None:
        object.__setattr__(self, "hidden", tuple(int(w) for w in self.hidden))
        if not 1 <= len(self.hidden) <= 8 or any(not 1 <= w <= 1024 for w in self.hidden):
            raise InputError(f"hidden widths must be 1..8 layers of 1..1024, got {self.hidden}")
        for name in ("coord_octaves", "color_octaves"):
            if not 1 <= getattr(self, name) <= 16:
                raise InputError(f"{name} must be 1..16, got {getattr(self, name)}")
        if not (math.isfinite(self.offset) and 1e-4 <= self.offset <= 0.5):
            raise InputError(f"offset must be in [1e-4, 0.5], got {self.offset}")

    @property
    def in_dim(self) -> int:
        return 4 * self.coord_octaves + 6 * self.color_octaves

    def layer_shapes(self) -> Iterator[Tuple[str, int, int, bool]]:
        """``(prefix, in_features, out_features, is_first)`` per linear layer, in order (as SirenConfig's)."""
        prev = self.in_dim
        for i, w in enumerate(self.hidden):
            yield f"l{i}", prev, w, i == 0
            prev = w
        yield "out", prev, 3, False


def param_names(cfg: GammaConfig) -> list[str]:
    return [f"{p}.{k}" for p, _, _, _ in cfg.layer_shapes() for k in ("weight", "bias")]


def param_shapes(cfg: GammaConfig) -> Dict[str, Tuple[int, ...]]:
    shapes: Dict[str, Tuple[int, ...]] = {}
    for prefix, fin, fout, _ in cfg.layer_shapes():
        shapes[f"{prefix}.weight"] = (fout, fin)
        shapes[f"{prefix}.bias"] = (fout,)
    return shapes


def param_count(cfg: GammaConfig = GammaConfig()) -> int:
    return sum(math.prod(s) for s in param_shapes(cfg).values())


def sdr_log_table(cfg: GammaConfig) -> np.ndarray:
    """``L[code] = log(PQ^-1(SDR_WHITE (code/255)^2.4) + offset)`` for the 256 8-bit codes (float64)."""
    from hdrkit.color import pq_inverse_eotf

    s = np.asarray(pq_inverse_eotf(SDR_WHITE * (np.arange(256) / 255.0) ** 2.4), np.float64)
    return np.log(s + cfg.offset)


def embed(v: np.ndarray, octaves: int) -> np.ndarray:
    """``(N,)`` values in [0, 1] -> ``(N, 2 * octaves)``: sin then cos of ``2^k π (2 v - 1)``, float64."""
    a = (2.0 * np.asarray(v, np.float64)[:, None] - 1.0) * (np.pi * 2.0 ** np.arange(octaves))
    return np.concatenate([np.sin(a), np.cos(a)], axis=1)


def _axis(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.float64) / max(n - 1, 1)


def first_layer_tables(weights: Dict[str, np.ndarray], cfg: GammaConfig, height: int, width: int
                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The separable first layer: ``(T_x (W, h0) with the bias folded in, T_y (H, h0), T_rgb (3, 256, h0))``."""
    w0 = np.asarray(weights["l0.weight"], np.float64)
    b0 = np.asarray(weights["l0.bias"], np.float64)
    kc, kr = 2 * cfg.coord_octaves, 2 * cfg.color_octaves
    tx = embed(_axis(width), cfg.coord_octaves) @ w0[:, :kc].T + b0
    ty = embed(_axis(height), cfg.coord_octaves) @ w0[:, kc:2 * kc].T
    codes = embed(np.arange(256) / 255.0, cfg.color_octaves)
    trgb = np.stack([codes @ w0[:, 2 * kc + i * kr:2 * kc + (i + 1) * kr].T for i in range(3)])
    return (np.ascontiguousarray(tx, np.float32), np.ascontiguousarray(ty, np.float32),
            np.ascontiguousarray(trgb, np.float32))


def forward_reference(weights: Dict[str, np.ndarray], sdr_u8: np.ndarray, cfg: GammaConfig) -> np.ndarray:
    """Plain numpy forward pass (float64, the whole embedding per pixel): ``(H, W, 3)`` uint8 -> PQ in [0, 1]."""
    sdr_u8 = np.asarray(sdr_u8)
    H, W, _ = sdr_u8.shape
    rows, cols = np.divmod(np.arange(H * W), W)
    codes = sdr_u8.reshape(-1, 3)
    feats = np.concatenate([embed(cols / max(W - 1, 1), cfg.coord_octaves),
                            embed(rows / max(H - 1, 1), cfg.coord_octaves)]
                           + [embed(codes[:, i] / 255.0, cfg.color_octaves) for i in range(3)], axis=1)
    h = feats
    for prefix, _, _, _ in cfg.layer_shapes():
        h = h @ np.asarray(weights[f"{prefix}.weight"], np.float64).T + np.asarray(weights[f"{prefix}.bias"],
                                                                                     np.float64)
        if prefix != "out":
            h = np.maximum(h, 0)
    lt = sdr_log_table(cfg)[codes]
    return np.clip(np.exp(h * lt) - cfg.offset, 0, 1).reshape(H, W, 3).astype(np.float32)


def _kernel(cfg: GammaConfig, codes16: bool = False):
    """The fused LLVM kernel for ``cfg``'s widths (:mod:`hdrkit.models._fusedgamma`), or None (with a
    ``RuntimeWarning`` naming the numpy fallback, once per shape) where llvmlite cannot build it."""
    from hdrkit.models import _fusedgamma

    return _fusedgamma.build(cfg.hidden, codes16)


def decode_path(cfg: Optional[GammaConfig] = None) -> str:
    """Which path :func:`decode` takes (compiles the kernel): "fused LLVM kernel" or "numpy"."""
    return "fused LLVM kernel" if _kernel(cfg or GammaConfig()) is not None else "numpy"


def decode(weights: Dict[str, np.ndarray], sdr_u8: np.ndarray, cfg: GammaConfig, *, chunk: int = 1 << 16,
           threads: Optional[int] = None, progress=None, codes16: bool = False) -> np.ndarray:
    """PQ code values ``(H, W, 3)`` in [0, 1] from the 8-bit SDR ``(H, W, 3)`` (uint8; float code values in [0, 1]
    are rounded to 8 bits) on the CPU; rows split over ``threads`` worker threads (the kernel releases the GIL),
    ``chunk`` pixels (whole rows) at a time.  ``codes16``: the 16-bit codes ``rint(PQ * 65535)`` (uint16, what a
    16-bit PNG holds; the float32 result quantised as :func:`hdrkit.io.write.write_image` does) straight from
    the kernel.  Where the kernel cannot be built, :func:`forward_reference`."""
    from hdrkit.models import _fusedgamma
    from hdrkit.models._fusednet import prefaulted_empty, run_rows

    sdr_u8 = np.asarray(sdr_u8)
    if sdr_u8.ndim != 3 or sdr_u8.shape[2] != 3:
        raise InputError(f"SDR must be H x W x 3, got {sdr_u8.shape}")
    if sdr_u8.dtype != np.uint8:
        sdr_u8 = np.clip(np.rint(np.asarray(sdr_u8, np.float32) * 255), 0, 255).astype(np.uint8)
    sdr_u8 = np.ascontiguousarray(sdr_u8)
    H, W, _ = sdr_u8.shape
    kern = _kernel(cfg, codes16)
    if kern is None:
        ref = forward_reference(weights, sdr_u8, cfg)
        return np.rint(ref * np.float32(65535)).astype(np.uint16) if codes16 else ref
    tables = _fusedgamma.padded_tables(*first_layer_tables(weights, cfg, H, W),
                                       sdr_log_table(cfg).astype(np.float32), kern.layout.h0p)
    packed = _fusedgamma.pack_weights(kern.layout, weights, cfg.offset)
    out = np.empty((H, W, 3), np.uint16) if codes16 else prefaulted_empty((H, W, 3))
    return run_rows(kern, sdr_u8, out, tables, packed, max(1, chunk // max(W, 1)), threads, progress)


def decode_torch(weights: Dict[str, np.ndarray], sdr_u8: np.ndarray, cfg: GammaConfig, device="cuda",
                 tables=None) -> np.ndarray:
    """:func:`decode` on a torch device (a CUDA GPU): the same separable first layer (tables gathered per
    pixel), ReLU layers as matrix products, float32.  ``(H, W, 3)`` uint8 -> PQ ``(H, W, 3)`` in [0, 1] (numpy).
    ``tables``: :func:`torch_tables` of these weights on ``device`` (reused across the frames of a shot)."""
    import torch

    sdr_u8 = np.ascontiguousarray(sdr_u8)
    if sdr_u8.ndim != 3 or sdr_u8.shape[2] != 3 or sdr_u8.dtype != np.uint8:
        raise InputError(f"SDR must be H x W x 3 uint8, got {sdr_u8.shape} {sdr_u8.dtype}")
    H, W, _ = sdr_u8.shape
    t = tables if tables is not None else torch_tables(weights, cfg, H, W, device)
    if t["tx"].shape[0] != W or t["ty"].shape[0] != H:
        raise InputError("decode tables were made for another frame size")
    with torch.no_grad():
        codes = torch.from_numpy(sdr_u8).to(t["tx"].device).long()
        a = t["trgb"][0][codes[..., 0]] + t["trgb"][1][codes[..., 1]] + t["trgb"][2][codes[..., 2]]
        a += t["ty"][:, None, :]
        a += t["tx"][None, :, :]
        h = torch.relu_(a).reshape(H * W, -1)
        for w, b in t["layers"]:
            h = torch.relu_(torch.addmm(b, h, w.T))
        g = torch.addmm(t["out"][1], h, t["out"][0].T).reshape(H, W, 3)
        out = (torch.exp(g * t["lt"][codes]) - cfg.offset).clamp_(0, 1)
        return out.cpu().numpy()


def torch_tables(weights: Dict[str, np.ndarray], cfg: GammaConfig, height: int, width: int, device="cuda") -> dict:
    """The constants of :func:`decode_torch` on ``device``: first-layer tables, hidden and output layers."""
    import torch

    tx, ty, trgb = first_layer_tables(weights, cfg, height, width)
    dev = torch.device(device)
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a, np.float32)).to(dev)  # noqa: E731
    return {"tx": f(tx), "ty": f(ty), "trgb": f(trgb), "lt": f(sdr_log_table(cfg)),
            "layers": [(f(weights[f"l{i}.weight"]), f(weights[f"l{i}.bias"])) for i in range(1, len(cfg.hidden))],
            "out": (f(weights["out.weight"]), f(weights["out.bias"]))}


# ------------------------------------------------------------------------------------------ torch (fitting)
def init_params(cfg: GammaConfig = GammaConfig(), seed: int = 0, out_bias: float = 0.9) -> Dict[str, np.ndarray]:
    """Random initialisation (numpy float32): Kaiming-uniform hidden layers, zero output weights and a constant
    output ``out_bias`` (the initial map is one gamma everywhere)."""
    rng = np.random.default_rng(seed)
    w: Dict[str, np.ndarray] = {}
    for prefix, fin, fout, _ in cfg.layer_shapes():
        if prefix == "out":
            w["out.weight"] = np.zeros((fout, fin), np.float32)
            w["out.bias"] = np.full(fout, out_bias, np.float32)
        else:
            b = math.sqrt(6.0 / fin)
            w[f"{prefix}.weight"] = rng.uniform(-b, b, (fout, fin)).astype(np.float32)
            w[f"{prefix}.bias"] = np.zeros(fout, np.float32)
    return w


class TorchConsts:
    """Per-image constants of the torch forward pass: the embeddings of every column, row and 8-bit code, and
    the SDR log table (``float32`` tensors).  When coordinates and colours have as many octaves, the three
    embeddings are also stacked into one table (``stacked``: W + H + 256 rows) so that a batch's whole input is
    one row gather."""

    def __init__(self, cfg: GammaConfig, height: int, width: int):
        import torch

        self.width, self.height = int(width), int(height)
        self.ex = torch.from_numpy(embed(_axis(width), cfg.coord_octaves).astype(np.float32))
        self.ey = torch.from_numpy(embed(_axis(height), cfg.coord_octaves).astype(np.float32))
        self.ec = torch.from_numpy(embed(np.arange(256) / 255.0, cfg.color_octaves).astype(np.float32))
        self.lt = torch.from_numpy(sdr_log_table(cfg).astype(np.float32))
        self.stacked = torch.cat([self.ex, self.ey, self.ec]) if cfg.coord_octaves == cfg.color_octaves else None


def forward_torch(params, rows, cols, codes, consts: TorchConsts, cfg: GammaConfig, clip: bool = False):
    """Differentiable forward pass on sampled pixels: ``rows``/``cols`` ``(N,)`` int64, ``codes`` ``(N, 3)`` int64
    8-bit SDR codes -> ``(N, 3)`` HDR PQ code values (unclipped unless ``clip``).  Same function as
    :func:`forward_reference` (the first layer through the separable tables)."""
    import torch

    # the embedding of each sampled pixel is gathered (no gradient) and multiplied: cheaper to differentiate
    # than gathering rows of the separable tables (whose backward is a scatter-add); index_select rather than
    # advanced indexing (several times faster on a 2,048-pixel batch, the same values)
    n = rows.shape[0]
    if consts.stacked is not None:  # x, y, R, G, B rows of one table, in the input order: no concatenation
        base = consts.width + consts.height
        at = torch.stack([cols, rows + consts.width, codes[:, 0] + base, codes[:, 1] + base, codes[:, 2] + base], 1)
        feats = consts.stacked.index_select(0, at.reshape(-1)).view(n, -1)
    else:
        flat = codes.reshape(-1)
        feats = torch.cat([consts.ex.index_select(0, cols), consts.ey.index_select(0, rows),
                           consts.ec.index_select(0, flat).view(n, -1)], dim=1)
    h = torch.relu(torch.addmm(params["l0.bias"], feats, params["l0.weight"].T))
    for i in range(1, len(cfg.hidden)):
        h = torch.relu(torch.addmm(params[f"l{i}.bias"], h, params[f"l{i}.weight"].T))
    g = torch.addmm(params["out.bias"], h, params["out.weight"].T)
    out = torch.exp(g * consts.lt.index_select(0, codes.reshape(-1)).view(n, 3)) - cfg.offset
    return out.clamp(0, 1) if clip else out


LOSSES = ("pq", "itp", "mix")


def pq_to_itp(pq):
    """BT.2020 PQ code values ``(N, 3)`` -> ``(N, 3)`` (I, T, P) = (I, Ct / 2, Cp) of ITU-R BT.2124 (torch,
    differentiable; values clamped away from 0 where PQ's derivative is infinite)."""
    from hdrkit import color

    nits = color.pq_eotf(pq.clamp(1e-4, 1.0))
    itp = color.rgb_to_ictcp(nits + 1e-3)
    return itp * itp.new_tensor([1.0, 0.5, 1.0])


def loss_torch(pred, tgt_pq, tgt_itp, kind: str = "mix"):
    """``pq``: MSE of PQ code values; ``itp``: MSE in the ΔE_ITP space (``tgt_itp`` = :func:`pq_to_itp` of the
    target's first ``len(tgt_itp)`` rows, precomputed: the ITP term may be taken on a leading subset of the batch,
    its transcendentals being the dearest part of a step); ``mix``: their sum."""
    import torch

    out = 0.0
    if kind in ("pq", "mix"):
        out = out + torch.mean((pred - tgt_pq) ** 2)
    if kind in ("itp", "mix"):
        out = out + torch.mean((pq_to_itp(pred[:len(tgt_itp)]) - tgt_itp) ** 2)
    return out
