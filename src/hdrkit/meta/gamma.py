"""Meta-learning the initialisation of the gamma-map family (:mod:`hdrkit.models.gammanet`) with Reptile
(Nichol, Achiam & Schulman 2018, first-order): for each task, ``inner_steps`` of Adam on random pixel batches of
one (SDR, HDR) pair from ``theta``, then ``theta += eps * (theta' - theta)`` with ``eps`` decaying linearly.

Tasks never come from the evaluation split: views of the training panoramas and procedural scenes
(:func:`hdrkit.meta.tasks.make_pool`, four operators, random exposure and peak), the same sources tone mapped by
the bundled YouTube LUT and by OpenColorIO (``tonemap`` operators ``youtube`` / ``ocio``), and chromatic-noise
images (Gain-MLP's trick: smooth random colour fields over 5 decades of luminance).  Half of the SDR renditions
are passed through a JPEG round trip (quality 80-95) like the pixels a JPEG carrier gives the decoder.
"""

from __future__ import annotations

import io
import math
import time
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from hdrkit.models.gammanet import GammaConfig, TorchConsts, forward_torch, init_params, loss_torch, pq_to_itp
from hdrkit.progress import ProgressFn, report

Task = Tuple[np.ndarray, np.ndarray]  # (uint8 SDR codes (h, w, 3), BT.2020 PQ target (h, w, 3))


@dataclass(frozen=True)
class GammaMetaConfig:
    iterations: int = 1500
    inner_steps: int = 40
    inner_lr: float = 1e-2
    batch: int = 4096
    eps0: float = 1.0
    eps1: float = 0.05
    loss: str = "mix"
    tasks: int = 240
    size: int = 160
    seed: int = 0
    time_budget: Optional[float] = None
    method: str = "reptile"  # or "joint": one network fitted to all tasks at once (iterations x inner_steps steps)


def chromatic_noise(rng: np.random.Generator, size: int, peak: float) -> np.ndarray:
    """A smooth random colour field in BT.2020 nits (log luminance spanning up to 5 decades), clipped at peak."""
    import cv2

    cells = int(rng.integers(2, 16))
    logl = cv2.resize(rng.uniform(-1.5, math.log10(peak), (cells, cells)).astype(np.float32), (size, size),
                      interpolation=cv2.INTER_CUBIC)
    chroma = cv2.resize(rng.uniform(0.05, 1.0, (cells, cells, 3)).astype(np.float32), (size, size),
                        interpolation=cv2.INTER_CUBIC)
    chroma = np.clip(chroma, 0.02, None)
    img = chroma / chroma.mean(-1, keepdims=True) * (10.0 ** logl)[..., None]
    img *= np.exp(rng.normal(0, 0.1, (size, size, 1))).astype(np.float32)
    return np.clip(img, 0, peak).astype(np.float32)


def _jpeg(sdr_u8: np.ndarray, quality: int) -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(sdr_u8).save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2)
    return np.array(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def make_tasks(sources: Dict[str, np.ndarray], mc: GammaMetaConfig, progress: Optional[ProgressFn] = None
               ) -> List[Task]:
    """``mc.tasks`` training pairs (module docstring): 40 % :func:`make_pool` pairs, 35 % views tone mapped by
    YouTube / OCIO, 25 % chromatic noise; half of all SDRs through a JPEG round trip."""
    from hdrkit import color
    from hdrkit.meta.tasks import apply_view, make_pool, make_view_params, procedural_scene
    from hdrkit.tonemap import tonemap

    rng = np.random.default_rng(mc.seed)
    n_pool = int(0.4 * mc.tasks)
    out: List[Task] = []
    for sdr, pq in make_pool(sources, n_pool, mc.size, seed=mc.seed):
        out.append((np.clip(np.round(sdr * 255), 0, 255).astype(np.uint8), pq))
    while len(out) < mc.tasks:
        peak = 1000.0 if rng.random() < 0.7 else float(rng.choice([600.0, 2000.0, 4000.0]))
        if rng.random() < 0.6:
            if sources and rng.random() < 0.8:
                nits = apply_view(sources, make_view_params(rng, sources, ("youtube",)), mc.size)
                nits = np.clip(nits, 0, peak)
            else:
                nits = procedural_scene(rng, mc.size, peak)
            sdr = tonemap(nits, "youtube" if rng.random() < 0.5 else "ocio")
        else:
            nits = chromatic_noise(rng, mc.size, peak)
            sdr = tonemap(nits, str(rng.choice(["youtube", "ocio"])))
        sdr_u8 = np.clip(np.round(np.asarray(sdr) * 255), 0, 255).astype(np.uint8)
        out.append((sdr_u8, np.asarray(color.pq_inverse_eotf(nits), np.float32)))
        report(progress, len(out), mc.tasks, "synthesising tasks")
    order = rng.permutation(len(out))
    out = [out[i] for i in order]
    for i in range(0, len(out), 2):  # half through a JPEG carrier
        out[i] = (_jpeg(out[i][0], int(rng.integers(80, 96))), out[i][1])
    return out


def inner_fit(theta: Dict, task: Task, cfg: GammaConfig, mc: GammaMetaConfig, gen) -> Tuple[Dict, float]:
    """``mc.inner_steps`` Adam steps on random batches of one task; returns (weights, last loss)."""
    import torch

    sdr, pq = task
    h, w, _ = sdr.shape
    consts = TorchConsts(cfg, h, w)
    codes_all = torch.from_numpy(sdr.reshape(-1, 3)).long()
    tgt_all = torch.from_numpy(np.ascontiguousarray(pq, np.float32).reshape(-1, 3))
    params = {k: v.detach().clone().requires_grad_(True) for k, v in theta.items()}
    opt = torch.optim.Adam(list(params.values()), lr=mc.inner_lr)
    loss = torch.tensor(0.0)
    for _ in range(mc.inner_steps):
        idx = torch.randint(0, h * w, (min(mc.batch, h * w),), generator=gen)
        tgt = tgt_all[idx]
        with torch.no_grad():
            itp = pq_to_itp(tgt)
        loss = loss_torch(forward_torch(params, idx // w, idx % w, codes_all[idx], consts, cfg), tgt, itp, mc.loss)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return {k: v.detach() for k, v in params.items()}, float(loss.detach())


def meta_train_gamma(tasks: Sequence[Task], cfg: GammaConfig = GammaConfig(), mc: GammaMetaConfig = GammaMetaConfig(),
                     progress: Optional[ProgressFn] = None) -> Tuple[Dict[str, np.ndarray], List[float]]:
    """Reptile over ``tasks``; returns the initialisation (numpy float32) and the inner losses per iteration."""
    import torch

    gen = torch.Generator().manual_seed(mc.seed)
    rng = np.random.default_rng(mc.seed + 1)
    theta = {k: torch.from_numpy(v) for k, v in init_params(cfg, seed=mc.seed, out_bias=1.0).items()}
    if mc.method == "joint":
        return _joint(tasks, cfg, mc, theta, gen, rng, progress)
    losses: List[float] = []
    t0 = time.perf_counter()
    for it in range(mc.iterations):
        if mc.time_budget is not None and time.perf_counter() - t0 > mc.time_budget:
            break
        task = tasks[int(rng.integers(len(tasks)))]
        fitted, loss = inner_fit(theta, task, cfg, mc, gen)
        if not math.isfinite(loss):
            continue
        eps = mc.eps0 + (mc.eps1 - mc.eps0) * it / max(1, mc.iterations - 1)
        theta = {k: theta[k] + eps * (fitted[k] - theta[k]) for k in theta}
        losses.append(loss)
        report(progress, it + 1, mc.iterations, "meta-training")
    return {k: v.numpy().astype(np.float32) for k, v in theta.items()}, losses


def _joint(tasks, cfg, mc, theta, gen, rng, progress):
    """Multi-task fitting: Adam on batches drawn from 8 random tasks per step (the init is then the best single
    network for the task distribution, a good blind prediction that each picture refines)."""
    import torch

    prepared = []
    for sdr, pq in tasks:
        h, w, _ = sdr.shape
        prepared.append((TorchConsts(cfg, h, w), torch.from_numpy(sdr.reshape(-1, 3)).long(),
                         torch.from_numpy(np.ascontiguousarray(pq, np.float32).reshape(-1, 3)), h, w))
    params = {k: v.clone().requires_grad_(True) for k, v in theta.items()}
    opt = torch.optim.Adam(list(params.values()), lr=mc.inner_lr)
    total = mc.iterations * mc.inner_steps
    losses: List[float] = []
    per = max(1, mc.batch // 8)
    for step in range(total):
        loss = 0.0
        for _ in range(8):
            consts, codes, tgt_all, h, w = prepared[int(rng.integers(len(prepared)))]
            idx = torch.randint(0, h * w, (per,), generator=gen)
            tgt = tgt_all[idx]
            with torch.no_grad():
                itp = pq_to_itp(tgt)
            loss = loss + loss_torch(forward_torch(params, idx // w, idx % w, codes[idx], consts, cfg), tgt, itp,
                                     mc.loss) / 8
        for g in opt.param_groups:
            g["lr"] = mc.inner_lr * (1 - step / total) + 1e-4
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % mc.inner_steps == 0:
            losses.append(float(loss.detach()))
            report(progress, step + 1, total, "meta-training")
    return {k: v.detach().numpy().astype(np.float32) for k, v in params.items()}, losses
