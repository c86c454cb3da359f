"""``kpn-mfi``: per-pixel kernels predicted with multi-frame interaction, as a plug-in on the per-frame model.

After Cao, Zhou, Yan, Wang & Fan 2022, "KPN-MFI: A Kernel Prediction Network with Multi-frame Interaction for
Video Inverse Tone Mapping" (IJCAI; code ``caogaofeng/KPN-MFI``): an encoder–decoder predicts, for every pixel,
one 5×5 kernel per colour channel (75 channels, ReLU, **not normalised**: a kernel's sum is a local gain), applied
depthwise to the frame; a multi-frame interaction (MFI) block at the bottleneck mixes frames ``t − 1, t, t + 1``
(self-attention on frame ``t`` + attention guided by ``t`` into each neighbour); training adds a
**brightness-consistency** term between neighbouring outputs (:func:`consistency_loss`; no ground truth needed).

CPU-sized, and as the paper's plug-in claim on *our* per-frame model (``gcm``):

* The network sees, per frame, the SDR code values and ``gcm``'s output in PQ (6 channels), at a work resolution
  (long side ≤ ``work`` = 480); the shared encoder runs once per frame (cached while streaming), 4 stride-2
  levels (16/24/32/48 channels); MFI runs at **1/16** scale (510 tokens for a 1080p frame: the attention
  matrices are 510×510, not the paper's 1/8-scale GPU ones); the decoder (skips from frame ``t``) ends in a 1×1
  head → 75 channels, ReLU, initialised to the identity kernel (the initial model is ``gcm``'s output).
* The kernels are applied to ``gcm``'s output **in PQ** (``out_PQ(y, x, c) = Σᵢⱼ K[c, i, j](y, x) ·
  gcm_PQ(y + i − 2, x + j − 2, c)``, replicated borders).  At full resolution the kernel maps are upsampled
  bilinearly (half-pixel centres, as ``torch.nn.functional.interpolate(..., align_corners=False)``) *inside* a
  band kernel (:func:`apply_kernels`, rows in bands of ``tile``): no full-resolution 75-channel map is ever
  made, so 4K runs in bounded memory; the taps stay one full-resolution pixel apart (a kernel's gain and
  weights carry over, its footprint shrinks with the scale).  Only ``gcm`` and this apply scale with the picture.
* Neighbours come from the same shot (:mod:`hdrkit.video.shots`); at a shot's edge the frame itself is repeated.

Left out: the paper's direct SDR→HDR kernels (ours refine ``gcm``), its 1/8-scale attention, its full-size
network and GPU training.  Shapes: frames ``H×W×3`` float32 SDR BT.709 code values in [0, 1]; outputs absolute
BT.2020 cd/m².
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple

import numba
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from hdrkit.errors import FormatError, InputError

#: Kernel size (the paper's 5×5) and the channels of the kernel maps (3 colours × 25 taps).
KSIZE = 5
KCH = 3 * KSIZE * KSIZE
#: Channels of one frame's network input: SDR code values (3) + PQ of gcm's output (3).
FRAME_IN = 6


@dataclass(frozen=True)
class KPNConfig:
    """``work``: long side of the work resolution; ``ch``: encoder widths at 1, 1/2, 1/4, 1/8, 1/16 scale;
    ``attn``: width of the MFI queries/keys/values; ``tile``: rows per band of the full-resolution apply."""

    work: int = 480
    ch: Tuple[int, int, int, int, int] = (16, 24, 32, 48, 48)
    attn: int = 24
    tile: int = 256


# ------------------------------------------------------------------------------------------------- networks
class MFI(nn.Module):
    """Multi-frame interaction at the bottleneck: ``F_t + W_o [SA(F_t); GA(F_t → F_{t−1}); GA(F_t → F_{t+1})]``
    — self-attention over frame ``t``'s tokens and, per neighbour, attention with ``t``'s queries over the
    neighbour's keys/values (guided attention).  ``B×C×h×w`` each → ``B×C×h×w``; ``W_o`` starts at zero."""

    def __init__(self, ch: int, attn: int):
        super().__init__()
        self.q = nn.Conv2d(ch, attn, 1)
        self.k = nn.Conv2d(ch, attn, 1)
        self.v = nn.Conv2d(ch, attn, 1)
        self.o = nn.Conv2d(3 * attn, ch, 1)
        nn.init.zeros_(self.o.weight)
        nn.init.zeros_(self.o.bias)
        self.scale = attn ** -0.5

    def _att(self, q: Tensor, f: Tensor) -> Tensor:
        B, C, h, w = f.shape
        k = self.k(f).flatten(2)  # B×A×N
        v = self.v(f).flatten(2)
        a = torch.softmax(torch.einsum("ban,bam->bnm", q, k) * self.scale, -1)
        return torch.einsum("bnm,bam->ban", a, v).reshape(B, -1, h, w)

    def forward(self, prev: Tensor, cur: Tensor, nxt: Tensor) -> Tensor:
        q = self.q(cur).flatten(2)
        return cur + self.o(torch.cat([self._att(q, cur), self._att(q, prev), self._att(q, nxt)], 1))


class KPNMFINet(nn.Module):
    """Encoder (shared by the three frames) → MFI at 1/16 → decoder with frame ``t``'s skips → kernels
    ``B×75×H×W`` (ReLU).  Inputs ``B×6×H×W`` per frame (H, W multiples of 16: :func:`predict_kernels` pads)."""

    def __init__(self, ch: Sequence[int] = (16, 24, 32, 48, 48), attn: int = 24):
        super().__init__()
        c = list(ch)
        self.enc = nn.ModuleList([nn.Conv2d(FRAME_IN, c[0], 3, 1, 1)]
                                 + [nn.Conv2d(c[i], c[i + 1], 3, 2, 1) for i in range(4)])
        self.enc2 = nn.ModuleList([nn.Conv2d(c[i], c[i], 3, 1, 1) for i in range(1, 5)])
        self.mfi = MFI(c[4], attn)
        self.dec = nn.ModuleList([nn.Conv2d(c[i + 1] + c[i], c[i], 3, 1, 1) for i in range(3, -1, -1)])
        self.head = nn.Conv2d(c[0], KCH, 1)
        with torch.no_grad():  # ≈ the identity kernel: centre tap 1, others ~0 (alive under the ReLU)
            nn.init.normal_(self.head.weight, 0.0, 1e-4)
            b = torch.zeros((3, KSIZE * KSIZE))
            b[:, KSIZE * KSIZE // 2] = 1.0
            self.head.bias.copy_(b.reshape(-1))

    def encode(self, x: Tensor) -> List[Tensor]:
        """The features of one frame at 1, 1/2, 1/4, 1/8, 1/16 scale."""
        feats = [F.leaky_relu(self.enc[0](x), 0.1)]
        for i in range(4):
            y = F.leaky_relu(self.enc[i + 1](feats[-1]), 0.1)
            feats.append(F.leaky_relu(self.enc2[i](y), 0.1) + y)
        return feats

    def decode(self, prev: List[Tensor], cur: List[Tensor], nxt: List[Tensor]) -> Tensor:
        y = self.mfi(prev[4], cur[4], nxt[4])
        for j, i in enumerate(range(3, -1, -1)):
            y = F.interpolate(y, size=cur[i].shape[-2:], mode="bilinear", align_corners=False)
            y = F.leaky_relu(self.dec[j](torch.cat([y, cur[i]], 1)), 0.1)
        return F.relu(self.head(y))

    def forward(self, prev: Tensor, cur: Tensor, nxt: Tensor) -> Tensor:
        return self.decode(self.encode(prev), self.encode(cur), self.encode(nxt))


# ------------------------------------------------------------------------------------------------- kernels
def apply_kernels_torch(img: Tensor, k: Tensor) -> Tensor:
    """Per-pixel depthwise 5×5 kernels at one resolution: ``img`` ``B×3×H×W``, ``k`` ``B×75×H×W`` (channel
    ``c·25 + 5i + j`` = tap ``(i, j)`` of colour ``c``) → ``B×3×H×W``; borders replicated."""
    B, C, H, W = img.shape
    r = KSIZE // 2
    cols = F.unfold(F.pad(img, (r, r, r, r), mode="replicate"), KSIZE)  # B×(3·25)×HW, c-major
    return (cols * k.reshape(B, C * KSIZE * KSIZE, H * W)).reshape(B, C, KSIZE * KSIZE, H, W).sum(2)


@numba.njit(nogil=True, cache=True)
def _apply_band(P, row0, H, K, y0, y1, out):  # pragma: no cover (compiled)
    """Rows ``y0 … y1 − 1`` of the full-resolution output (``out`` ``(y1−y0)×W×3``).  ``P``: PQ rows
    ``row0 …`` of the full frame (covering ``y0 − 2 … y1 + 1`` clamped to ``[0, H)``); ``K``: work-resolution
    kernel maps ``h×w×75`` upsampled bilinearly (half-pixel centres, edge-clamped) on the fly."""
    h, w = K.shape[0], K.shape[1]
    W = P.shape[1]
    sh, sw = h / H, w / W
    ix0 = np.empty(W, np.int64)
    ix1 = np.empty(W, np.int64)
    wx = np.empty(W, np.float32)
    for x in range(W):
        s = (x + 0.5) * sw - 0.5
        if s < 0.0:
            s = 0.0
        i0 = min(int(s), w - 1)
        ix0[x] = i0
        ix1[x] = min(i0 + 1, w - 1)
        wx[x] = s - i0
    krow = np.empty((w, K.shape[2]), np.float32)
    kk = np.empty(K.shape[2], np.float32)
    for y in range(y0, y1):
        s = (y + 0.5) * sh - 0.5
        if s < 0.0:
            s = 0.0
        j0 = min(int(s), h - 1)
        j1 = min(j0 + 1, h - 1)
        wy = np.float32(s - j0)
        for x in range(w):
            for c in range(K.shape[2]):
                a = K[j0, x, c]
                krow[x, c] = a + wy * (K[j1, x, c] - a)
        for x in range(W):
            a0, a1, f = ix0[x], ix1[x], wx[x]
            for c in range(K.shape[2]):
                a = krow[a0, c]
                kk[c] = a + f * (krow[a1, c] - a)
            for c in range(3):
                acc = np.float32(0.0)
                for i in range(5):
                    yy = min(max(y + i - 2, 0), H - 1) - row0
                    for j in range(5):
                        xx = min(max(x + j - 2, 0), W - 1)
                        acc += kk[c * 25 + i * 5 + j] * P[yy, xx, c]
                out[y - y0, x, c] = acc


def kernel_bands(base: np.ndarray, kmap: np.ndarray, rows: Optional[int] = 256) -> Iterator[Tuple[int, np.ndarray]]:
    """``gcm``'s output ``base`` (``H×W×3`` cd/m², any size) filtered by the kernel maps ``kmap`` (``h×w×75``,
    work resolution) in PQ, in bands of ``rows`` rows (None: one band): ``(r0, cd/m² rows)``.  Each band reads
    ``base`` two rows beyond its edges and holds band-sized temporaries only; the result does not depend on
    ``rows`` (each output pixel is computed by the same arithmetic)."""
    from hdrkit.color import pq_eotf, pq_inverse_eotf

    base = np.asarray(base, np.float32)
    H, W = base.shape[:2]
    K = np.ascontiguousarray(kmap, dtype=np.float32)
    if K.ndim != 3 or K.shape[2] != KCH:
        raise InputError(f"kernel maps must be h×w×{KCH}, got {K.shape}")
    step = H if not rows else max(1, int(rows))
    r = KSIZE // 2
    for y0 in range(0, H, step):
        y1 = min(H, y0 + step)
        a, b = max(0, y0 - r), min(H, y1 + r)
        P = np.ascontiguousarray(pq_inverse_eotf(np.clip(base[a:b], 0.0, 1e4)), dtype=np.float32)
        band = np.empty((y1 - y0, W, 3), np.float32)
        _apply_band(P, a, H, K, y0, y1, band)
        yield y0, np.asarray(pq_eotf(np.clip(band, 0.0, 1.0)), np.float32)


def apply_kernels(base: np.ndarray, kmap: np.ndarray, tile: Optional[int] = 256) -> np.ndarray:
    """:func:`kernel_bands` put together: the whole filtered frame (``H×W×3`` cd/m²)."""
    base = np.asarray(base, np.float32)
    out = np.empty(base.shape, np.float32)
    for y0, band in kernel_bands(base, kmap, tile):
        out[y0:y0 + len(band)] = band
    return out


# ------------------------------------------------------------------------------------------------ the loss
def _box(x: Tensor, r: int) -> Tensor:
    """Mean over a (2r+1)² window, the part inside the image (separable)."""
    x = F.avg_pool2d(x, (1, 2 * r + 1), 1, (0, r), count_include_pad=False)
    return F.avg_pool2d(x, (2 * r + 1, 1), 1, (r, 0), count_include_pad=False)


def guided_filter(x: Tensor, r: int = 11, eps: float = 0.01) -> Tensor:
    """He et al. 2010 guided filter, each channel its own guide (``B×C×H×W``): ``q = mean(a)·I + mean(b)``,
    ``a = var/(var + eps)``, ``b = (1 − a)·mean``.  Shifting ``x`` by a constant shifts ``q`` by it."""
    m = _box(x, r)
    var = (_box(x * x, r) - m * m).clamp(min=0.0)
    a = var / (var + eps)
    return _box(a, r) * x + _box(m - a * m, r)


_BINOMIAL = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def gaussian_pyramid(x: Tensor, levels: int = 5) -> List[Tensor]:
    """``levels`` images: ``x``, then each blurred by the 5×5 binomial kernel (replicated borders) and halved."""
    out = [x]
    C = x.shape[1]
    kh = _BINOMIAL.to(x.dtype).reshape(1, 1, 1, 5).repeat(C, 1, 1, 1)
    kv = kh.reshape(C, 1, 5, 1)
    for _ in range(levels - 1):
        y = out[-1]
        y = F.conv2d(F.pad(y, (2, 2, 0, 0), mode="replicate"), kh, groups=C)
        y = F.conv2d(F.pad(y, (0, 0, 2, 2), mode="replicate"), kv, groups=C)
        out.append(y[:, :, ::2, ::2])
    return out


def consistency_loss(outputs: Sequence[Tensor], levels: int = 5, r: int = 11, eps: float = 0.01) -> Tensor:
    """KPN-MFI's brightness-consistency term between neighbouring outputs (no ground truth): the centre output
    and each other one guided-filtered (:func:`guided_filter`), then ``Σ_neighbours Σ_levels mean |G_l(n) −
    G_l(centre)|`` over a :func:`gaussian_pyramid` of ``levels`` levels (levels weighted equally).  Identical
    outputs → 0; a neighbour brighter by a constant ``c`` everywhere adds ``levels · |c|``."""
    c = len(outputs) // 2
    gc = gaussian_pyramid(guided_filter(outputs[c], r, eps), levels)
    loss = outputs[c].new_zeros(())
    for i, o in enumerate(outputs):
        if i == c:
            continue
        for a, b in zip(gaussian_pyramid(guided_filter(o, r, eps), levels), gc):
            loss = loss + (a - b).abs().mean()
    return loss


# ------------------------------------------------------------------------------------------------ the model
@dataclass
class KPNMFI:
    """The network and its settings."""

    net: KPNMFINet
    cfg: KPNConfig
    info: dict


def save_weights(path: str | Path, model: KPNMFI) -> None:
    from hdrkit.models._npz import save_npz

    cfg = asdict(model.cfg)
    cfg["ch"] = list(cfg["ch"])
    save_npz(path, dict(model.net.state_dict()), {"config": cfg, "info": model.info, "kind": "kpn-mfi"})


def load_weights(path: str | Path) -> KPNMFI:
    """Read :func:`save_weights` output (never unpickles)."""
    import zipfile

    from hdrkit.models._npz import load_npz

    p = Path(path)
    if not p.is_file():
        raise InputError(f"no model file {p}")
    try:
        state, meta = load_npz(p)
        if meta.get("kind") != "kpn-mfi":
            raise ValueError("not kpn-mfi weights")
        c = dict(meta["config"])
        c["ch"] = tuple(c["ch"])
        cfg = KPNConfig(**c)
        net = KPNMFINet(cfg.ch, cfg.attn)
        net.load_state_dict(state)
    except (ValueError, KeyError, TypeError, RuntimeError, OSError, zipfile.BadZipFile) as exc:
        raise FormatError(f"{p.name} is not an hdrkit kpn-mfi weight file ({exc})") from None
    return KPNMFI(net.eval(), cfg, meta.get("info", {}))


def model_path() -> Path:
    from hdrkit.video.models import weights_path

    return weights_path("kpn-mfi")


def load_model(path: Optional[str | Path] = None) -> KPNMFI:
    from hdrkit.video.models import load_shipped

    return load_shipped("kpn-mfi", load_weights, "hdrkit.video.models.kpn_train", path)


def frame_input(v: np.ndarray, base: np.ndarray) -> Tensor:
    """One frame's network input ``1×6×h×w``: SDR code values and the PQ of ``gcm``'s output (cd/m²)."""
    from hdrkit.color import pq_inverse_eotf

    pq = np.asarray(pq_inverse_eotf(np.clip(base, 0.0, 1e4)), np.float32)
    x = np.concatenate([np.asarray(v, np.float32), pq], -1)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))[None]


def _pad16(x: Tensor) -> Tensor:
    h, w = x.shape[-2:]
    return F.pad(x, (0, (-w) % 16, 0, (-h) % 16), mode="replicate")


class Restorer:
    """Streams the work-resolution kernel maps (``h×w×75``) of a clip in frame order with bounded memory.

    ``thumbs``: an iterator of work-resolution code values, one per frame; ``n``: the number of frames; ``cuts``:
    shot starts.  Holds the thumbnails, ``gcm`` outputs and encoder features of frames ``t − 1 … t + 1`` only.
    ``base_fn(t, v)``: ``gcm``'s output of work-resolution frame ``v`` (default :func:`gcm_frame`)."""

    def __init__(self, model: KPNMFI, thumbs: Iterable[np.ndarray], n: int, cuts: Sequence[int],
                 base_fn: Optional[Callable[[int, np.ndarray], np.ndarray]] = None):
        from hdrkit.video.models.temporal_clues import shot_bounds

        self.m = model
        self.it = iter(thumbs)
        self.n = int(n)
        self.shots = shot_bounds(self.n, cuts)
        self.base_fn = base_fn or (lambda t, v: gcm_frame(v))
        self.buf: "OrderedDict[int, tuple]" = OrderedDict()  # t → (thumb, base, features)
        self.read = 0

    def _shot(self, t: int) -> Tuple[int, int]:
        for s in self.shots:
            if s[0] <= t < s[1]:
                return s
        raise InputError(f"frame {t} is outside the clip ({self.n} frames)")

    @torch.no_grad()
    def _get(self, t: int) -> tuple:
        while self.read <= t:
            try:
                f = next(self.it)
            except StopIteration:
                raise InputError(f"the clip ended after {self.read} of {self.n} frames") from None
            v = np.ascontiguousarray(f, dtype=np.float32)
            b = np.asarray(self.base_fn(self.read, v), np.float32)
            self.buf[self.read] = (v, b, self.m.net.encode(_pad16(frame_input(v, b))))
            self.read += 1
            while len(self.buf) > 3:
                self.buf.popitem(last=False)
        if t not in self.buf:
            raise RuntimeError(f"frame {t} was already dropped")  # pragma: no cover (a bug, not bad input)
        return self.buf[t]

    def thumb(self, t: int) -> np.ndarray:
        return self._get(t)[0]

    def base(self, t: int) -> np.ndarray:
        """``gcm``'s output of frame ``t`` at the work resolution."""
        return self._get(t)[1]

    @torch.no_grad()
    def frame(self, t: int) -> np.ndarray:
        """The kernel maps of frame ``t`` (``h×w×75``; call in increasing ``t``)."""
        a, b = self._shot(t)
        nxt = self._get(min(t + 1, b - 1))[2]  # read ahead first (it may drop t − 2)
        cur = self._get(t)[2]
        prev = self._get(max(t - 1, a))[2]
        v = self._get(t)[0]
        k = self.m.net.decode(prev, cur, nxt)[0, :, :v.shape[0], :v.shape[1]]
        return np.ascontiguousarray(k.permute(1, 2, 0).numpy())


def gcm_frame(v: np.ndarray) -> np.ndarray:
    """``gcm``'s per-frame output (1000 cd/m² grade, BT.2020 nits) — the per-frame model this plugs into."""
    from hdrkit.video.models.temporal_clues import gcm_frame as g

    return g(v)


def options() -> dict:
    """The user-settable options of ``kpn-mfi`` (``--param NAME=VALUE``): none."""
    return {}


def restorer(model: KPNMFI, thumbs, n: int, cuts: Sequence[int], base_fn=None) -> Restorer:
    """The streaming part of :func:`hdrkit.video.expand.expand_video`."""
    return Restorer(model, thumbs, n, cuts, base_fn=base_fn)


def apply_output(model: KPNMFI, base: np.ndarray, v: np.ndarray, kmap: np.ndarray, tile: Optional[int] = None):
    """The output of a frame: :func:`apply_kernels` on ``gcm``'s output ``base`` (``v`` is not used)."""
    return apply_kernels(base, kmap, model.cfg.tile if tile is None else tile)


def output_bands(model: KPNMFI, base: np.ndarray, v: np.ndarray, kmap: np.ndarray, rows: int):
    """:func:`apply_output` in bands of ``rows`` rows: ``(r0, cd/m² rows)`` (:func:`kernel_bands`)."""
    return kernel_bands(base, kmap, rows)


def expand_frames(frames: Sequence[np.ndarray], cuts: Optional[Sequence[int]] = None, peak: Optional[float] = None,
                  model: Optional[KPNMFI] = None, tile: Optional[int] = None,
                  bases: Optional[Sequence[np.ndarray]] = None) -> List[np.ndarray]:
    """In-memory ``kpn-mfi`` of a list of SDR frames (BT.709 code values ``H×W×3``) → cd/m² frames.

    ``cuts``: shot starts (default: :mod:`hdrkit.video.shots` on the frames); ``peak``: re-grade the 1000
    cd/m² output (as ``gcm``); ``bases``: :func:`gcm_frame` of each frame when already computed (benchmarks)."""
    from hdrkit.expand.learned import GRADE_PEAK, _finish
    from hdrkit.video.models.temporal_clues import to_work, work_size

    from hdrkit.video.models import clip_frames

    frames, cuts = clip_frames(frames, cuts)
    m = model or load_model()
    size = work_size(frames[0].shape[1], frames[0].shape[0], m.cfg.work)
    same = (frames[0].shape[1], frames[0].shape[0]) == size

    def full_base(t: int) -> np.ndarray:
        return np.asarray(bases[t], np.float32) if bases is not None else gcm_frame(frames[t])

    def base(t: int, v: np.ndarray) -> np.ndarray:
        return full_base(t) if same else gcm_frame(v)

    r = Restorer(m, (to_work(f, size) for f in frames), len(frames), cuts, base_fn=base)
    out = []
    for t, f in enumerate(frames):
        k = r.frame(t)
        full = r.base(t) if same else full_base(t)
        out.append(_finish(apply_output(m, full, f, k, tile), GRADE_PEAK if peak is None else peak))
    return out
