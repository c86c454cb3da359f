"""Training of ``temporal-clues`` (:mod:`hdrkit.video.models.temporal_clues`) on synthetic HDR video.

    python -m hdrkit.video.models.tc_train --data /work/shared/data -o src/hdrkit/assets/models/temporal_clues.npz \
        --log docs/video/tc_training_log.json --curve docs/video/tc_training_curve.png

Clips: :func:`hdrkit.video.synth.render_clip` over the training panoramas only
(:func:`hdrkit.data.split.training_files`; the held-out scenes never enter), ``clips`` per scene, each drawn by
:func:`~hdrkit.video.synth.make_clip_params` (pan, zoom, jitter, a bright moving disc, the virtual camera's
lagging, drifting auto-exposure).  Three stages, everything seeded (a rerun with one thread reproduces the
weights):

1. **Flow correction** (:class:`~hdrkit.video.models.temporal_clues.FlowFix`): key/reference pairs chosen as at
   inference; input the DIS flow on exposure-equalised SDR luminance, target the DIS flow on the PQ-encoded HDR
   masters (the paper's target: flow on globally tone-mapped HDR); L1 end-point loss, ×4 where the key is clipped.
2. **Fusion** (:class:`~hdrkit.video.models.temporal_clues.FuseNet`) on key frames with 0–6 references
   aligned by the trained flow correction: :func:`hdrkit.expand.gcm_train.gcm_loss` (PQ L1 + highlight weight +
   ICtCp colour inside the clipping mask) of ``gcm · (1 − α + α·exp(Δ))`` against the master.
3. **Propagation**: the fusion network fine-tuned on a mix of key samples and non-key frames whose clues are the
   restored key frames (stage 2's network), as at inference.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from hdrkit.progress import ProgressFn, report


@dataclass(frozen=True)
class TCTrainConfig:
    clips: int = 4                # clips per training scene
    frames: int = 48
    size: tuple = (144, 256)      # (h, w) of the training clips (= their work resolution)
    keys_per_clip: int = 8
    nonkeys_per_clip: int = 8
    ref_counts: tuple = (0, 1, 2, 3, 4, 6)
    flow_pairs_per_clip: int = 6
    fix_steps: int = 800
    fuse_steps: int = 2500
    prop_steps: int = 800
    crop: int = 96
    batch: int = 8
    lr: float = 2e-3
    val_frac: float = 0.1          # of the clips (training scenes, other draws) for the validation curve
    val_every: int = 100
    seed: int = 17
    model: dict = field(default_factory=dict)  # TCConfig overrides


RECIPES: Dict[str, TCTrainConfig] = {
    "tc": TCTrainConfig(),
    "tc-smoke": TCTrainConfig(clips=1, frames=14, size=(32, 48), keys_per_clip=2, nonkeys_per_clip=2,
                              flow_pairs_per_clip=2, fix_steps=4, fuse_steps=4, prop_steps=4, crop=24, batch=2,
                              val_every=2, val_frac=0.3),
}


def _lr(base: float, frac: float) -> float:
    return base * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(1.0, frac))))


def render_clips(files, cfg: TCTrainConfig, progress: Optional[ProgressFn] = None):
    """Yield ``(clip index, hdr frames, sdr frames)`` of every training clip (deterministic from the seed)."""
    from hdrkit.data import load_hdr_nits
    from hdrkit.video.synth import make_clip_params, render_clip

    rng = np.random.default_rng(cfg.seed)
    params = [(f, make_clip_params(rng, cfg.frames, tuple(cfg.size))) for f in files for _ in range(cfg.clips)]
    cache = {}
    for i, (f, p) in enumerate(params):
        if f not in cache:
            cache.clear()
            cache[f] = load_hdr_nits(f)
        fr = list(render_clip(cache[f], p))
        report(progress, i + 1, len(params), "rendering clips")
        yield i, [h for h, _ in fr], [s for _, s in fr]


def _pq(x):
    from hdrkit.color import pq_inverse_eotf

    return np.asarray(pq_inverse_eotf(np.clip(x, 0.0, 1e4)), np.float32)


def _t(a):
    return torch.from_numpy(np.ascontiguousarray(np.asarray(a, np.float32)))


def _key_refs(sdr, k, tc, n, rng):
    """References of key ``k`` as at inference (one shot = the whole clip)."""
    from hdrkit.video.models.temporal_clues import choose_references, reference_candidates

    shot = (0, len(sdr))
    cands = [(c, sdr[c]) for c in reference_candidates(k, shot, tc)]
    return choose_references(sdr[k], cands, n)


def flow_samples(hdr, sdr, tc, n_pairs, rng) -> List[np.ndarray]:
    """FlowFix samples ``8×H×W``: gk, warped gr, key clip, warped ref clip, DIS flow (2), target flow (2)... as
    one float32 array of 10 channels (the last two: target)."""
    from hdrkit.metrics.temporal import dis_flow, warp
    from hdrkit.video.models.temporal_clues import _mid_log_median, flow_greys, key_of

    out = []
    T = len(sdr)
    keys = sorted({key_of(t, (0, T), tc.gop) for t in range(T)})
    for _ in range(n_pairs):
        k = int(rng.choice(keys))
        refs = _key_refs(sdr, k, tc, 6, rng)
        if not refs:
            continue
        r = refs[int(rng.integers(0, len(refs)))][0]
        lr = _mid_log_median(sdr[k]) - _mid_log_median(sdr[r])
        gk, gr = flow_greys(sdr[k], sdr[r], lr)
        fw = dis_flow(gk, gr)
        tgt = dis_flow(_pq(hdr[k]).mean(-1) / 0.75, _pq(hdr[r]).mean(-1) / 0.75)
        out.append(np.concatenate([gk[..., None], warp(gr, fw)[..., None], (gk >= 0.97)[..., None],
                                   warp((gr >= 0.97).astype(np.float32), fw)[..., None], fw / 8.0, fw, tgt], -1))
    return out


def fuse_sample(vk, base, clues, target):
    """One fusion sample: ``13 (FuseNet input) + 3 (base nits) + 3 (target PQ) + 3 (SDR)`` channels, ``H×W``."""
    from hdrkit.video.models.temporal_clues import aggregate, fuse_inputs

    X, G, conf = aggregate(vk, clues)
    x = fuse_inputs(vk, base, X, G, conf)[0].permute(1, 2, 0).numpy()
    return np.concatenate([x, base, _pq(target), vk], -1).astype(np.float16)


def _crop_batch(pool, idx, crop, g):
    h, w = pool[0].shape[:2]
    ch, cw = min(crop, h), min(crop, w)
    out = []
    for i in idx:
        top = int(torch.randint(0, h - ch + 1, (1,), generator=g))
        left = int(torch.randint(0, w - cw + 1, (1,), generator=g))
        a = pool[int(i)][top:top + ch, left:left + cw]
        if bool(torch.rand(1, generator=g) < 0.5):
            a = a[:, ::-1].copy()
            # a flipped flow sample changes the sign of its x components
            if a.shape[-1] == 10:
                a[..., 4] *= -1
                a[..., 6] *= -1
                a[..., 8] *= -1
        out.append(a)
    return torch.from_numpy(np.ascontiguousarray(np.stack(out).astype(np.float32))).permute(0, 3, 1, 2)


def epe(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-pixel end-point error ``B×H×W`` of ``B×2×H×W`` flows."""
    return ((pred - target) ** 2).sum(1).clamp(min=1e-12).sqrt()


def train_fix(fix, pool, val, cfg, log, progress=None):
    opt = torch.optim.Adam(fix.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed + 1)

    def loss_of(b):
        x, dis, tgt = b[:, :6], b[:, 6:8], b[:, 8:10]
        e = epe(dis + fix(x), tgt)
        wgt = 1.0 + 4.0 * b[:, 2]
        return (e * wgt).mean(), e, epe(dis, tgt)

    def validate(step):
        with torch.no_grad():
            vb = torch.from_numpy(np.stack(val).astype(np.float32)).permute(0, 3, 1, 2)
            hh, ww = (vb.shape[2] // 2) * 2, (vb.shape[3] // 2) * 2
            _, e, e0 = loss_of(vb[:, :, :hh, :ww])
            clip = vb[:, 2, :hh, :ww] > 0.5
            log["fix_val"].append({"step": step, "epe": float(e.mean()), "epe_dis": float(e0.mean()),
                                   "epe_clipped": float(e[clip].mean()) if clip.any() else None,
                                   "epe_dis_clipped": float(e0[clip].mean()) if clip.any() else None})

    validate(0)
    for step in range(1, cfg.fix_steps + 1):
        for grp in opt.param_groups:
            grp["lr"] = _lr(cfg.lr, step / cfg.fix_steps)
        b = _crop_batch(pool, torch.randint(0, len(pool), (cfg.batch,), generator=g), cfg.crop, g)
        loss = loss_of(b)[0]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(fix.parameters(), 1.0)
        opt.step()
        log["fix_train"].append(float(loss.detach()))
        if step % cfg.val_every == 0 or step == cfg.fix_steps:
            validate(step)
        report(progress, step, cfg.fix_steps, f"flow correction step {step} loss {float(loss):.3f}")
    return fix.eval()


def _fuse_loss(net, b, gcfg):
    from hdrkit.expand.gcm_train import gcm_loss
    from hdrkit.video.models.temporal_clues import TAU

    x, base, tgt, v = b[:, :13], b[:, 13:16], b[:, 16:19], b[:, 19:22]
    d = net(x).clamp(-4.0, 6.0)
    a = x[:, 3:4]
    pred = base * (1.0 - a + a * torch.exp(d))
    parts = gcm_loss(pred, tgt, v, gcfg, TAU)
    clip = (v.amax(1) >= 254 / 255)
    from hdrkit.color import pq_inverse_eotf

    dd = (pq_inverse_eotf(pred.clamp(min=1e-3)) - tgt).abs().mean(1)
    d0 = (pq_inverse_eotf(base.clamp(min=1e-3)) - tgt).abs().mean(1)
    return parts["total"], {"pq_l1": float(parts["pq_l1"]), "pq_l1_gcm": float(d0.mean()),
                            "pq_l1_clipped": float(dd[clip].mean()) if clip.any() else float("nan"),
                            "pq_l1_clipped_gcm": float(d0[clip].mean()) if clip.any() else float("nan")}


def train_fuse(net, pool, val, steps, cfg, log, tag, progress=None, seed_off=0):
    from hdrkit.expand.gcm_train import GCMTrainConfig

    gcfg = GCMTrainConfig()
    opt = torch.optim.Adam(net.parameters(), lr=cfg.lr if tag == "fuse" else cfg.lr / 3)
    g = torch.Generator().manual_seed(cfg.seed + 2 + seed_off)

    def validate(step):
        with torch.no_grad():
            vb = torch.from_numpy(np.stack(val).astype(np.float32)).permute(0, 3, 1, 2)
            hh, ww = (vb.shape[2] // 4) * 4, (vb.shape[3] // 4) * 4
            _, m = _fuse_loss(net, vb[:, :, :hh, :ww], gcfg)
        m["step"] = step
        log[f"{tag}_val"].append(m)

    validate(0)
    for step in range(1, steps + 1):
        for grp in opt.param_groups:
            grp["lr"] = _lr(opt.defaults["lr"], step / steps)
        b = _crop_batch(pool, torch.randint(0, len(pool), (cfg.batch,), generator=g), (cfg.crop // 4) * 4, g)
        loss = _fuse_loss(net, b, gcfg)[0]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        log[f"{tag}_train"].append(float(loss.detach()))
        if step % cfg.val_every == 0 or step == steps:
            validate(step)
        report(progress, step, steps, f"{tag} step {step} loss {float(loss):.4f}")
    return net.eval()


def train(cfg: TCTrainConfig, files: Sequence, progress: Optional[ProgressFn] = None):
    """Train both networks; returns ``(TemporalClues, log)``."""
    from hdrkit.video.models.temporal_clues import (
        FlowFix, FuseNet, TCConfig, TemporalClues, align, fuse, gcm_frame, key_of, neighbour_key)

    torch.manual_seed(cfg.seed)
    tc = TCConfig(**{k: (tuple(v) if isinstance(v, list) else v) for k, v in cfg.model.items()})
    log = {"config": asdict(cfg), "fix_train": [], "fix_val": [], "fuse_train": [], "fuse_val": [],
           "prop_train": [], "prop_val": [], "seconds": {}}
    t0 = time.time()
    rng = np.random.default_rng(cfg.seed + 3)
    n_clips = len(files) * cfg.clips
    val_ids = set(np.random.default_rng(cfg.seed + 4).choice(n_clips, max(1, int(round(cfg.val_frac * n_clips))),
                                                              replace=False).tolist())
    # stage 1 pools
    fpool, fval = [], []
    for i, hdr, sdr in render_clips(files, cfg, progress):
        (fval if i in val_ids else fpool).extend(flow_samples(hdr, sdr, tc, cfg.flow_pairs_per_clip, rng))
    log["seconds"]["flow_pool"] = round(time.time() - t0, 1)
    fix = train_fix(FlowFix(tc.fix_ch), fpool, fval, cfg, log, progress)
    log["seconds"]["fix"] = round(time.time() - t0, 1)
    del fpool, fval
    # stage 2 pools (key frames with 0-6 references aligned by the trained correction) and stage 3 (propagation)
    kpool, kval, clip_keys = [], [], []
    net = FuseNet(tc.fuse_ch)
    for i, hdr, sdr in render_clips(files, cfg):
        T = len(sdr)
        keys = sorted({key_of(t, (0, T), tc.gop) for t in range(T)})
        ks = rng.choice(keys, min(cfg.keys_per_clip, len(keys)), replace=False)
        for k in sorted(int(k) for k in ks):
            n = int(rng.choice(cfg.ref_counts))
            refs = _key_refs(sdr, k, tc, n, rng)
            clues = [align(sdr[k], sdr[r], None, fix, tc.flow_preset) for r, _ in refs]
            (kval if i in val_ids else kpool).append(fuse_sample(sdr[k], gcm_frame(sdr[k]), clues, hdr[k]))
        report(progress, i + 1, n_clips, "key samples")
    log["seconds"]["fuse_pool"] = round(time.time() - t0, 1)
    net = train_fuse(net, kpool, kval, cfg.fuse_steps, cfg, log, "fuse", progress)
    log["seconds"]["fuse"] = round(time.time() - t0, 1)
    if cfg.prop_steps > 0:
        ppool, pval = [], []
        for i, hdr, sdr in render_clips(files, cfg):
            T = len(sdr)
            shot = (0, T)
            nonkeys = [t for t in range(T) if key_of(t, shot, tc.gop) != t]
            restored = {}

            def key(k):
                if k not in restored:
                    refs = _key_refs(sdr, k, tc, tc.refs, rng)
                    clues = [align(sdr[k], sdr[r], None, fix, tc.flow_preset) for r, _ in refs]
                    restored[k] = fuse(net, sdr[k], gcm_frame(sdr[k]), clues)
                return restored[k]

            for t in sorted(int(t) for t in rng.choice(nonkeys, min(cfg.nonkeys_per_clip, len(nonkeys)), replace=False)):
                ks = [key_of(t, shot, tc.gop)] + ([nk] if (nk := neighbour_key(t, shot, tc.gop)) is not None else [])
                clues = [align(sdr[t], sdr[j], key(j)[1], fix, tc.flow_preset) for j in ks]
                (pval if i in val_ids else ppool).append(fuse_sample(sdr[t], gcm_frame(sdr[t]), clues, hdr[t]))
            report(progress, i + 1, n_clips, "propagation samples")
        log["seconds"]["prop_pool"] = round(time.time() - t0, 1)
        net = train_fuse(net, kpool + ppool, kval + pval, cfg.prop_steps, cfg, log, "prop", progress, seed_off=5)
    log["seconds"]["total"] = round(time.time() - t0, 1)
    info = {"recipe_seed": cfg.seed, "seconds": log["seconds"]["total"], "fix_steps": cfg.fix_steps,
            "fuse_steps": cfg.fuse_steps, "prop_steps": cfg.prop_steps,
            "parameters": int(sum(p.numel() for p in list(fix.parameters()) + list(net.parameters())))}
    return TemporalClues(fix, net, tc, info), log


def run(recipe: str, data: str, out: str, log_path: Optional[str] = None, curve: Optional[str] = None,
        progress: Optional[ProgressFn] = None, **overrides):
    from hdrkit.trainer_cli import train_recipe
    from hdrkit.video.models.temporal_clues import save_weights

    cfg, model, log = train_recipe(RECIPES, recipe, data, out, log_path, train, save_weights, progress, **overrides)
    if curve:
        from hdrkit.meta.plot import line_chart

        fv, pv = log["fuse_val"], log["prop_val"]
        off = cfg.fuse_steps
        series = [("fusion: validation PQ-L1 inside SDR-clipped pixels", [v["step"] for v in fv],
                   [v["pq_l1_clipped"] for v in fv], (200, 60, 0)),
                  ("gcm alone, same pixels", [v["step"] for v in fv], [v["pq_l1_clipped_gcm"] for v in fv],
                   (90, 90, 90))]
        if pv:
            series.append(("propagation fine-tuning (keys + non-keys)", [off + v["step"] for v in pv],
                           [v["pq_l1_clipped"] for v in pv], (0, 90, 200)))
        line_chart(curve, series, f"temporal-clues: {log['seconds']['total'] / 60:.1f} min", "step", "PQ L1")
    return log


def main(argv: Optional[Sequence[str]] = None) -> int:
    from hdrkit.trainer_cli import parse_trainer_args, trainer_parser

    ap = trainer_parser(__doc__, RECIPES, "tc")
    ap.add_argument("--fix-steps", type=int)
    ap.add_argument("--fuse-steps", type=int)
    ap.add_argument("--prop-steps", type=int)
    ap.add_argument("--clips", type=int)
    a, progress = parse_trainer_args(ap, argv)
    log = run(a.recipe, a.data, a.output, a.log, a.curve, progress, fix_steps=a.fix_steps, fuse_steps=a.fuse_steps,
              prop_steps=a.prop_steps, clips=a.clips)
    print(json.dumps({"seconds": log["seconds"], "fix_val": [log["fix_val"][0], log["fix_val"][-1]],
                      "fuse_val": [log["fuse_val"][0], log["fuse_val"][-1]],
                      "prop_val": log["prop_val"][-1:] if log["prop_val"] else None}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
