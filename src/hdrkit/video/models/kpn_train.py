"""Training of ``kpn-mfi`` (:mod:`hdrkit.video.models.kpn_mfi`) on synthetic HDR video.

    python -m hdrkit.video.models.kpn_train --data /work/shared/data -o src/hdrkit/assets/models/kpn_mfi.npz \
        --log docs/video/kpn_training_log.json --curve docs/video/kpn_training_curve.png

Clips: the training clips of ``temporal-clues`` (:func:`hdrkit.video.models.tc_train.render_clips`, one data
pipeline: :func:`hdrkit.video.synth.render_clip` over the training panoramas of
:func:`hdrkit.data.split.training_files` only — no held-out scene), each frame with ``gcm``'s output.  A sample
is 5 consecutive frames of a clip (indices clamped at its ends: a shot edge repeats the frame), one random crop
and flip for all five; the network gives the outputs of the middle three (each from its own ``t − 1, t, t + 1``)
and the loss is :func:`hdrkit.expand.gcm_train.gcm_loss` (PQ L1 + highlight weight + ICtCp colour inside the
clipping mask, the loss of ``gcm`` and ``temporal-clues``) of each against its master + ``consist`` ×
:func:`~hdrkit.video.models.kpn_mfi.consistency_loss` between the three (KPN-MFI's weight 0.01; 0 for the
ablation).  Seeded; a rerun with one thread reproduces the weights.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from hdrkit.progress import ProgressFn, report


@dataclass(frozen=True)
class KPNTrainConfig:
    clips: int = 3                 # clips per training scene (tc_train.render_clips reads clips/frames/size/seed)
    frames: int = 40
    size: tuple = (144, 256)       # (h, w) of the training clips (= their work resolution)
    steps: int = 800
    crop: int = 80
    batch: int = 6
    lr: float = 5e-4
    consist: float = 0.01          # weight of the brightness-consistency term (KPN-MFI: 0.01)
    val_frac: float = 0.1
    val_windows: int = 4           # per validation clip
    val_every: int = 100
    seed: int = 17
    #: True: return the weights of the validation step with the lowest PQ L1 (step 0 = the identity on gcm's
    #: output), not the last step's (early stopping on the trainer's own validation clips, training scenes only)
    keep_best: bool = False


RECIPES: Dict[str, KPNTrainConfig] = {
    # keep_best since gcm round 6: with its weights the last step was 6 % above gcm alone on validation
    "kpn": KPNTrainConfig(keep_best=True),
    "kpn-round5": KPNTrainConfig(),
    "kpn-noconsist": KPNTrainConfig(consist=0.0),
    "kpn-smoke": KPNTrainConfig(clips=1, frames=8, size=(32, 48), steps=6, crop=32, batch=2, val_every=3,
                                val_frac=0.3, val_windows=2),
}


def _lr(base: float, frac: float) -> float:
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def clip_arrays(files, cfg: KPNTrainConfig, progress: Optional[ProgressFn] = None):
    """Yield ``(clip index, T×9×H×W float16)``: SDR code values, PQ of ``gcm``'s output, PQ of the master."""
    from hdrkit.video.models.kpn_mfi import gcm_frame
    from hdrkit.video.models.tc_train import _pq, render_clips

    for i, hdr, sdr in render_clips(files, cfg, progress):
        a = np.stack([np.concatenate([s, _pq(gcm_frame(s)), _pq(h)], -1) for h, s in zip(hdr, sdr)])
        yield i, np.ascontiguousarray(a.transpose(0, 3, 1, 2)).astype(np.float16)


def window(clip: np.ndarray, t: int) -> np.ndarray:
    """Frames ``t − 2 … t + 2`` of a clip, indices clamped to it (``5×9×H×W``)."""
    T = len(clip)
    return clip[[min(max(j, 0), T - 1) for j in range(t - 2, t + 3)]]


def outputs(net, w: torch.Tensor):
    """The three middle outputs (PQ, ``B×3×H×W`` each) of windows ``w`` (``B×5×9×H×W``)."""
    from hdrkit.video.models.kpn_mfi import apply_kernels_torch

    feats = [net.encode(w[:, j, :6]) for j in range(5)]
    return [apply_kernels_torch(w[:, c, 3:6], net.decode(feats[c - 1], feats[c], feats[c + 1])).clamp(0.0, 1.0)
            for c in (1, 2, 3)]


def loss_of(net, w: torch.Tensor, cfg: KPNTrainConfig, gcfg):
    from hdrkit.color import pq_eotf
    from hdrkit.expand.gcm_train import gcm_loss
    from hdrkit.video.models.kpn_mfi import consistency_loss
    from hdrkit.video.models.temporal_clues import TAU

    outs = outputs(net, w)
    fit = sum(gcm_loss(pq_eotf(o), w[:, c, 6:9], w[:, c, :3], gcfg, TAU)["total"] for o, c in zip(outs, (1, 2, 3))) / 3
    cons = consistency_loss(outs)
    return fit + cfg.consist * cons, outs, float(fit.detach()), float(cons.detach())


def _batch(pool, cfg: KPNTrainConfig, g: torch.Generator) -> torch.Tensor:
    out = []
    for _ in range(cfg.batch):
        clip = pool[int(torch.randint(0, len(pool), (1,), generator=g))]
        T, _, h, w = clip.shape
        t = int(torch.randint(0, T, (1,), generator=g))
        ch, cw = min(cfg.crop, h) // 16 * 16 or h, min(cfg.crop, w) // 16 * 16 or w
        top = int(torch.randint(0, h - ch + 1, (1,), generator=g))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=g))
        a = window(clip, t)[..., top:top + ch, left:left + cw]
        if bool(torch.rand(1, generator=g) < 0.5):
            a = a[..., ::-1]
        out.append(np.ascontiguousarray(a, dtype=np.float32))
    return torch.from_numpy(np.stack(out))


def train(cfg: KPNTrainConfig, files: Sequence, progress: Optional[ProgressFn] = None):
    """Train the network on the clips of ``files``; returns ``(KPNMFI, log)``."""
    from hdrkit.video.models.kpn_mfi import KPNConfig, KPNMFINet

    torch.manual_seed(cfg.seed)
    t0 = time.time()
    kc = KPNConfig()
    net = KPNMFINet(kc.ch, kc.attn)
    n_clips = len(files) * cfg.clips
    val_ids = set(np.random.default_rng(cfg.seed + 4).choice(n_clips, max(1, int(round(cfg.val_frac * n_clips))),
                                                              replace=False).tolist())
    pool, val = [], []
    vr = np.random.default_rng(cfg.seed + 5)
    for i, a in clip_arrays(files, cfg, progress):
        if i in val_ids:
            T, _, h, w = a.shape
            hh, ww = h // 16 * 16, w // 16 * 16
            val.extend(window(a, int(t))[..., :hh, :ww] for t in vr.choice(T, min(cfg.val_windows, T), replace=False))
        else:
            pool.append(a)
    seconds = round(time.time() - t0, 1)
    model, log = fit(net, pool, val, cfg, progress)
    log["seconds"] = {"clips": seconds, "total": round(seconds + log["seconds"]["fit"], 1)}
    model.info["seconds"] = log["seconds"]["total"]
    return model, log


def fit(net, pool: Sequence[np.ndarray], val: Sequence[np.ndarray], cfg: KPNTrainConfig,
        progress: Optional[ProgressFn] = None):
    """The optimisation: ``pool`` = clips ``T×9×H×W`` (SDR, PQ of gcm, PQ of the master), ``val`` = windows
    ``5×9×h×w`` (h, w multiples of 16); returns ``(KPNMFI, log)``."""
    from hdrkit.expand.gcm_train import GCMTrainConfig
    from hdrkit.video.models.kpn_mfi import KPNMFI, KPNConfig, consistency_loss

    t0 = time.time()
    gcfg = GCMTrainConfig()
    log = {"config": asdict(cfg), "train": [], "val": [], "seconds": {}}
    vb = torch.from_numpy(np.stack(val).astype(np.float32))

    def validate(step):
        with torch.no_grad():
            _, outs, fit_, cons = loss_of(net, vb, cfg, gcfg)
            g = [vb[:, c, 3:6] for c in (1, 2, 3)]
            ref = [vb[:, c, 6:9] for c in (1, 2, 3)]
            l1 = float(sum((o - r).abs().mean() for o, r in zip(outs, ref)) / 3)
            l1g = float(sum((o - r).abs().mean() for o, r in zip(g, ref)) / 3)
            td = float(sum(((outs[j + 1] - outs[j]) - (ref[j + 1] - ref[j])).abs().mean() for j in (0, 1)) / 2)
            tdg = float(sum(((g[j + 1] - g[j]) - (ref[j + 1] - ref[j])).abs().mean() for j in (0, 1)) / 2)
        log["val"].append({"step": step, "loss_fit": fit_, "pq_l1": l1, "pq_l1_gcm": l1g, "consistency": cons,
                           "consistency_gcm": float(consistency_loss(g)), "consistency_ref": float(consistency_loss(ref)),
                           "temporal_diff_l1": td, "temporal_diff_l1_gcm": tdg})
        if cfg.keep_best and (best["l1"] is None or l1 < best["l1"]):
            best.update(l1=l1, step=step, state={k: v.detach().clone() for k, v in net.state_dict().items()})

    best: dict = {"l1": None, "step": None, "state": None}

    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed + 1)
    validate(0)
    for step in range(1, cfg.steps + 1):
        for grp in opt.param_groups:
            grp["lr"] = _lr(cfg.lr, step / cfg.steps)
        loss, _, fit_, cons = loss_of(net, _batch(pool, cfg, g), cfg, gcfg)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        log["train"].append({"loss": float(loss.detach()), "fit": fit_, "consistency": cons})
        if step % cfg.val_every == 0 or step == cfg.steps:
            validate(step)
        report(progress, step, cfg.steps, f"step {step} loss {float(loss.detach()):.4f}")
    log["seconds"]["fit"] = round(time.time() - t0, 1)
    if cfg.keep_best:
        net.load_state_dict(best["state"])
        log["kept_step"] = best["step"]
    info = {"recipe_seed": cfg.seed, "steps": cfg.steps, "consist": cfg.consist,
            "parameters": int(sum(p.numel() for p in net.parameters()))}
    if cfg.keep_best:
        info["kept_step"] = int(best["step"])
    return KPNMFI(net.eval(), KPNConfig(), info), log


def run(recipe: str, data: str, out: str, log_path: Optional[str] = None, curve: Optional[str] = None,
        progress: Optional[ProgressFn] = None, **overrides):
    from hdrkit.trainer_cli import train_recipe
    from hdrkit.video.models.kpn_mfi import save_weights

    cfg, model, log = train_recipe(RECIPES, recipe, data, out, log_path, train, save_weights, progress, **overrides)
    if curve:
        from hdrkit.meta.plot import line_chart

        v = log["val"]
        s = [x["step"] for x in v]
        line_chart(curve, [("validation PQ L1", s, [x["pq_l1"] for x in v], (200, 60, 0)),
                           ("gcm alone", s, [x["pq_l1_gcm"] for x in v], (90, 90, 90)),
                           ("validation |Δout − Δref| (t→t+1)", s, [x["temporal_diff_l1"] for x in v], (0, 90, 200)),
                           ("gcm alone", s, [x["temporal_diff_l1_gcm"] for x in v], (150, 150, 220))],
                   f"kpn-mfi ({recipe}): {log['seconds']['total'] / 60:.1f} min", "step", "PQ")
    return log


def main(argv: Optional[Sequence[str]] = None) -> int:
    from hdrkit.trainer_cli import parse_trainer_args, trainer_parser

    ap = trainer_parser(__doc__, RECIPES, "kpn")
    ap.add_argument("--steps", type=int)
    ap.add_argument("--clips", type=int)
    ap.add_argument("--consist", type=float)
    a, progress = parse_trainer_args(ap, argv)
    log = run(a.recipe, a.data, a.output, a.log, a.curve, progress, steps=a.steps, clips=a.clips,
              consist=a.consist)
    print(json.dumps({"seconds": log["seconds"], "val": [log["val"][0], log["val"][-1]]}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
