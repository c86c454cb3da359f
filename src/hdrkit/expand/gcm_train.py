"""Training of the ``gcm`` blind up-conversion model (:mod:`hdrkit.models.gcm`) on pairs from :mod:`hdrkit.data`.

    python -m hdrkit.expand.gcm_train --data ../shared/data -o src/hdrkit/assets/models/gcm.npz \
        --log docs/expand/gcm_training_log.json --curve docs/expand/gcm_training_curve.png

Pairs: :class:`hdrkit.data.PairDataset` over the training split (:func:`hdrkit.data.split.training_files`: the
8 panoramas of ``hdr/`` and 9 of ``hdr_extra/``; the held-out scenes never enter) plus 20 % procedural scenes;
random perspective views, flips, exposure shifts of ±0.5 stop around the BT.2408 26 cd/m² log-average, HDR10
masters at 1000 cd/m²; SDR from one operator drawn uniformly from :data:`TRAIN_TMOS` (the tone-mapping
dispatcher's operators with randomised parameters, and the Eilertsen 2017 virtual camera with JPEG).  OCIO's
ACES SDR video transform is applied as is (``fixed_tmos``): its ``exposure`` parameter only rescales the light
before the transform, so drawing it at random (±1 stop) on top of the masters' own ±0.5 stop made the same SDR
come from masters up to 3 stops apart — an ambiguity no blind method can undo.
A fixed pool of pairs is rendered once (seeded), then ``steps`` Adam steps draw batches from it with a random
``crop``² window and flips; loss (:func:`gcm_loss`) = L1 between PQ code values, plus extra weight on the master's
highlights (≥ 500 cd/m²) and an ICtCp colour term inside the SDR's clipping mask.  Everything is seeded and the
step count is fixed (no wall-clock budget), so a rerun with one thread reproduces the weights.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field, replace
from typing import Dict, Optional, Sequence

import numpy as np
import torch

from hdrkit.progress import ProgressFn, report

#: SDR operators of the training pairs (tone-mapping dispatcher names + the virtual camera).
TRAIN_TMOS = ("youtube", "ocio", "bt2446a", "eilertsen2017", "reinhard2002", "clip")


@dataclass(frozen=True)
class GCMTrainConfig:
    pool: int = 1600
    size: int = 128
    crop: int = 96
    batch: int = 12
    steps: int = 3000
    lr: float = 2e-3
    procedural: float = 0.2
    ev_range: tuple = (-0.5, 0.5)
    tmos: tuple = TRAIN_TMOS
    tmo_weights: Optional[tuple] = (1.0, 2.0, 1.0, 2.0, 1.0, 1.0)  # relative draw probabilities of ``tmos``
    fixed_tmos: tuple = ("ocio",)   # drawn with their default parameters (see module docstring)
    hue_weight: float = 4.0         # CtCp L1 inside the SDR's soft clipping mask
    angle_weight: float = 2.0       # ICtCp hue-angle term (1 − cos Δh) inside the clipping mask
    highlight_weight: float = 2.0   # extra PQ L1 weight where the master is ≥ highlight_nits
    highlight_nits: float = 500.0
    #: extra weight on *under*-prediction (PQ) where the master's largest channel is ≥ ``top_nits``: the top of
    #: the grade (light sources, the sun), which the mean-seeking L1 pulls down where clipped SDR is ambiguous
    #: and which ``--peak`` re-grades upwards; 0 = off (earlier rounds)
    top_weight: float = 0.0
    top_nits: float = 900.0
    #: > 0: the hue and angle terms are averaged per picture over its clipping mask (``Σ err·α / (Σ α + f·N)``,
    #: ``f`` this floor, ``N`` the picture's pixels) and then over the batch, so a picture with few clipped
    #: pixels (OCIO's SDR clips ~10× fewer than YouTube's) weighs as much as one with many; 0: the mean over
    #: all pixels of the batch (earlier rounds).
    hue_per_picture: float = 0.0
    #: > 0: tint every scene before mastering (``PairDataset(colour=…)``: log-normal per-channel gains of this
    #: sigma, luminance kept), so the condition network sees more scene colours than 13 panoramas hold; 0: off
    colour: float = 0.0
    #: ``hdr_extra`` training scenes left out of training (e.g. :data:`hdrkit.data.split.VALIDATION`).
    exclude: tuple = ()
    peaks: Optional[tuple] = None          # mastering peaks drawn per pair (needs model peak_cond); None: 1000
    peak_weights: Optional[tuple] = None   # their relative probabilities
    val_pairs: int = 48
    val_every: int = 100
    seed: int = 0
    model: dict = field(default_factory=lambda: {"hidden": 64, "cond_stats": 1, "boost_norm": True})  # GCMConfig


_VAL = ("esplanade", "lobby", "studio", "sunset")  # = hdrkit.data.split.VALIDATION (checked by a test)
_R5 = dict(exclude=_VAL, pool=3200, tmo_weights=(2.0, 2.0, 1.0, 2.0, 1.0, 1.0))

RECIPES: Dict[str, GCMTrainConfig] = {
    "gcm-round4": GCMTrainConfig(),
    # round 5 model selection: trained without the VALIDATION scenes, compared on them (docs/EXPAND.md)
    "gcm-r4-val": GCMTrainConfig(exclude=_VAL),
    "gcm-r3-val": GCMTrainConfig(exclude=_VAL, tmo_weights=None, angle_weight=0.0, model={}),  # round-3 recipe
    "gcm-r5a-val": GCMTrainConfig(**_R5),
    "gcm-r5b-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5),
    "gcm-r5c-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5,
                                  model={"hidden": 64, "cond_stats": 0, "boost_norm": True}),
    "gcm-r5d-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    "gcm-r5e-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5, top_weight=4.0),
    # round 5, second pair (after r5d won the first six on val): r5d + the top term; + BT.2446a drawn as often
    "gcm-r5f-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5, top_weight=4.0,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    "gcm-r5g-val": GCMTrainConfig(**dict(_R5, tmo_weights=(2.0, 2.0, 2.0, 2.0, 1.0, 1.0)), hue_per_picture=0.02,
                                  hue_weight=0.5, angle_weight=0.5, top_weight=4.0,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    # round 6 (docs/expand/round6_criterion.md): BT.2446a with its defaults (L_HDR = 1000 cd/m², the masters'
    # peak) like OCIO, instead of L_HDR ~ U(800, 1500); r6b also draws YouTube more often
    "gcm-r6a-val": GCMTrainConfig(**_R5, fixed_tmos=("ocio", "bt2446a"), hue_per_picture=0.02, hue_weight=0.5,
                                  angle_weight=0.5,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    "gcm-r6b-val": GCMTrainConfig(**dict(_R5, tmo_weights=(3.0, 2.0, 1.0, 2.0, 1.0, 1.0)),
                                  fixed_tmos=("ocio", "bt2446a"), hue_per_picture=0.02, hue_weight=0.5,
                                  angle_weight=0.5,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    # round 6, second pair (after r6a/r6b were scored: r6b +3.3 dB YouTube on val, −1.6 dB BT.2446a): YouTube 3,
    # BT.2446a 2 (L_HDR random again); r6d the same trained 1.5× longer
    "gcm-r6c-val": GCMTrainConfig(**dict(_R5, tmo_weights=(3.0, 2.0, 2.0, 2.0, 1.0, 1.0)), hue_per_picture=0.02,
                                  hue_weight=0.5, angle_weight=0.5,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    "gcm-r6d-val": GCMTrainConfig(**dict(_R5, tmo_weights=(3.0, 2.0, 2.0, 2.0, 1.0, 1.0)), hue_per_picture=0.02,
                                  hue_weight=0.5, angle_weight=0.5, steps=4500,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    # round 6, third pair (after r6c scored 11 of 16): r5d + scene colour augmentation (sigma 0.1 / 0.2)
    "gcm-r6e-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5, colour=0.1,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
    "gcm-r6f-val": GCMTrainConfig(**_R5, hue_per_picture=0.02, hue_weight=0.5, angle_weight=0.5, colour=0.2,
                                  model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "chroma": "offset"}),
}
#: The shipped weights (round 6): the candidate chosen on the validation scenes, as trained (without them).
RECIPES["gcm"] = RECIPES["gcm-r6d-val"]
RECIPES.update({
    # peak-conditioned: masters of 1000 (2/3 of the pairs), 2000 and 4000 cd/m²; SDR made from each
    "gcm-peak": GCMTrainConfig(pool=2400, peaks=(1000.0, 2000.0, 4000.0), peak_weights=(4.0, 1.0, 1.0),
                               model={"hidden": 64, "cond_stats": 1, "boost_norm": True, "peak_cond": True}),
    # uniform operator draws: with 8 pairs, the weighted draw leaves the 4 validation pairs unlike the pool
    "gcm-smoke": GCMTrainConfig(pool=8, size=32, crop=24, batch=4, steps=20, val_pairs=4, val_every=5,
                                tmo_weights=None),
})


def pq_loss(pred: torch.Tensor, target_pq: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of PQ code values (``pred`` in cd/m², ``target_pq`` in PQ code values)."""
    from hdrkit.color import pq_inverse_eotf

    return (pq_inverse_eotf(pred.clamp(min=1e-3)) - target_pq).abs().mean()


def gcm_loss(pred: torch.Tensor, target_pq: torch.Tensor, sdr: torch.Tensor, cfg: "GCMTrainConfig",
             tau=(0.88, 0.98)) -> Dict[str, torch.Tensor]:
    """The training loss (``B×3×H×W`` each: prediction cd/m², target PQ codes, SDR codes) and its parts:

    * ``pq_l1``: mean |ΔPQ| (every pixel);
    * ``highlight``: mean |ΔPQ| × ``highlight_weight`` over the pixels whose master's largest channel is
      ≥ ``highlight_nits`` (0 elsewhere) — small bright highlights weigh more, so they are not under-shot;
    * ``hue``: mean |ΔCt| + |ΔCp| (BT.2100 ICtCp) × ``hue_weight`` × the SDR's soft clipping mask
      ``α = smoothstep((max V' − τ₀)/(τ₁ − τ₀))`` — colour (hue and chroma) inside clipped regions, which PQ L1
      alone does not ask for;
    * ``angle``: mean ``1 − cos Δh`` (the ICtCp hue-angle difference, from the (Ct, Cp) vectors with a 1e-4
      floor on their lengths) × ``angle_weight`` × ``α`` × a gate on the master's chroma (0 below 0.005, 1 from
      0.01, linear between: the hue of a neutral master is undefined) — the hue-angle error that the benchmark
      measures in clipped regions, which a chroma-magnitude term can trade away;
    * ``top``: mean of ``max(target − pred, 0)`` in PQ × ``top_weight`` over the pixels whose master's largest
      channel is ≥ ``top_nits`` (only with ``top_weight`` > 0);
    * with ``cfg.hue_per_picture`` = ``f`` > 0 both colour terms are per-picture means over the mask
      (``Σ err·α / (Σ α + f·N)``) averaged over the batch instead of means over all pixels;
    * ``total``: their sum."""
    from hdrkit.color import pq_eotf, pq_inverse_eotf, rgb_to_ictcp

    pred = pred.clamp(min=1e-3)
    d = (pq_inverse_eotf(pred) - target_pq).abs()
    pq = d.mean()
    out = {"pq_l1": pq}
    bright = (target_pq.amax(1, keepdim=True) >= float(pq_inverse_eotf(cfg.highlight_nits))).to(pred.dtype)
    out["highlight"] = cfg.highlight_weight * (d * bright).mean()
    tw = float(getattr(cfg, "top_weight", 0.0))
    if tw > 0:
        top = (target_pq.amax(1, keepdim=True) >= float(pq_inverse_eotf(cfg.top_nits))).to(pred.dtype)
        out["top"] = tw * ((target_pq - pq_inverse_eotf(pred)).clamp(min=0.0) * top).mean()
    a = ((sdr.amax(1) - tau[0]) / (tau[1] - tau[0])).clamp(0.0, 1.0)
    a = a * a * (3.0 - 2.0 * a)
    out["hue"] = out["angle"] = pred.new_zeros(())
    if (cfg.hue_weight > 0 or cfg.angle_weight > 0) and bool((a > 0).any()):
        tp = rgb_to_ictcp(pred.permute(0, 2, 3, 1))[..., 1:]
        tt = rgb_to_ictcp(pq_eotf(target_pq.clamp(0.0, 1.0)).permute(0, 2, 3, 1))[..., 1:]
        f = float(getattr(cfg, "hue_per_picture", 0.0))

        def pool(err):  # err: B×H×W, weighted by the mask
            if f > 0:
                n = err[0].numel()
                return ((err * a).flatten(1).sum(1) / (a.flatten(1).sum(1) + f * n)).mean()
            return (err * a).mean()

        if cfg.hue_weight > 0:
            out["hue"] = cfg.hue_weight * pool((tp - tt).abs().sum(-1))
        if cfg.angle_weight > 0:
            np_, nt = (tp.square().sum(-1) + 1e-8).sqrt(), (tt.square().sum(-1) + 1e-8).sqrt()
            cos = (tp * tt).sum(-1) / (np_ * nt)
            gate = ((nt - 0.005) / 0.005).clamp(0.0, 1.0)
            out["angle"] = cfg.angle_weight * pool((1.0 - cos) * gate)
    out["total"] = out["pq_l1"] + out["highlight"] + out["hue"] + out["angle"] + out.get("top", 0.0)
    return out


def render_pool(files, n: int, size: int, cfg: GCMTrainConfig, seed: int, progress: Optional[ProgressFn] = None):
    """``n`` pairs of :class:`hdrkit.data.PairDataset` as two ``n×3×size×size`` tensors (SDR codes, PQ) and the
    ``n`` mastering peaks (cd/m²)."""
    from hdrkit.data import PairDataset

    randomize = tuple(t for t in cfg.tmos if t not in cfg.fixed_tmos)
    ds = PairDataset(files, length=n, size=size, procedural=cfg.procedural if files else 1.0, tmos=cfg.tmos,
                     randomize_tmo=randomize, ev_range=cfg.ev_range, seed=seed,
                     tmo_weights=None if cfg.tmo_weights is None else list(cfg.tmo_weights),
                     peak_choices=cfg.peaks, peak_weights=cfg.peak_weights, colour=cfg.colour)
    xs = torch.empty(n, 3, size, size)
    ys = torch.empty(n, 3, size, size)
    ps = torch.full((n,), 1000.0)
    for i in range(n):
        s = ds[i]
        xs[i], ys[i] = s["sdr"], s["hdr"]
        if "peak" in s:
            ps[i] = s["peak"]
        report(progress, i + 1, n, "rendering pairs")
    return xs, ys, ps


def _lr(base: float, frac: float) -> float:
    if frac < 0.03:
        return base * (0.1 + 0.9 * frac / 0.03)
    return base * (0.03 + 0.97 * 0.5 * (1 + math.cos(math.pi * (frac - 0.03) / 0.97)))


def train(cfg: GCMTrainConfig, files: Sequence, progress: Optional[ProgressFn] = None, pools=None):
    """Train a :class:`~hdrkit.models.gcm.GCM`; returns ``(model, log)``.  ``pools`` = precomputed
    ``((x, y[, peaks]), (vx, vy[, peaks]))`` (tests); otherwise they are rendered from ``files``."""
    from hdrkit.expand.learned_train import TrainLog
    from hdrkit.models.gcm import GCM, GCMConfig

    torch.manual_seed(cfg.seed)
    log = TrainLog(config=asdict(cfg))
    t0 = time.time()
    if pools is None:
        x, y, p = render_pool(files, cfg.pool, cfg.size, cfg, cfg.seed, progress)
        vx, vy, vp = render_pool(files, cfg.val_pairs, cfg.size, cfg, cfg.seed + 10_000)
    else:
        (x, y, *p), (vx, vy, *vp) = pools
        p = p[0] if p else torch.full((len(x),), 1000.0)
        vp = vp[0] if vp else torch.full((len(vx),), 1000.0)
    log.config["pool_seconds"] = round(time.time() - t0, 1)
    mc = dict(cfg.model)
    if "tau" in mc:
        mc["tau"] = tuple(mc["tau"])
    model = GCM(GCMConfig(**mc))
    if cfg.peaks is not None and not model.cfg.peak_cond:
        raise ValueError("peaks need a peak-conditioned model (model={'peak_cond': True})")
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    g = torch.Generator().manual_seed(cfg.seed + 1)

    tau = model.cfg.tau

    def validate(step):
        with torch.no_grad():
            parts = [gcm_loss(model(vx[i:i + 16], vp[i:i + 16]), vy[i:i + 16], vx[i:i + 16], cfg, tau)
                     for i in range(0, len(vx), 16)]
        log.add_val(step, {k: float(np.mean([float(p[k]) for p in parts])) for k in ("pq_l1", "hue", "angle", "total")})

    validate(0)
    for step in range(1, cfg.steps + 1):
        idx = torch.randint(0, len(x), (cfg.batch,), generator=g)
        flip = torch.rand(cfg.batch, generator=g) < 0.5
        c = min(cfg.crop, x.shape[-1])
        top, left = (int(t) for t in torch.randint(0, x.shape[-1] - c + 1, (2,), generator=g))
        xb, yb = x[idx, :, top:top + c, left:left + c], y[idx, :, top:top + c, left:left + c]
        xb = torch.where(flip[:, None, None, None], xb.flip(-1), xb)
        yb = torch.where(flip[:, None, None, None], yb.flip(-1), yb)
        for grp in opt.param_groups:
            grp["lr"] = _lr(cfg.lr, step / cfg.steps)
        loss = gcm_loss(model(xb, p[idx]), yb, xb, cfg, tau)["total"]
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        log.record(step, float(loss.detach()), 0.98)
        if step % cfg.val_every == 0 or step == cfg.steps:
            validate(step)
        report(progress, step, cfg.steps, f"step {step} loss {log.train_loss[-1]:.4f}")
    log.seconds = time.time() - t0
    return model.eval(), log


def run(recipe: str, data: str, out: str, log_path: Optional[str] = None, curve: Optional[str] = None,
        steps: Optional[int] = None, progress: Optional[ProgressFn] = None):
    from hdrkit.data.split import training_files
    from hdrkit.io.atomic import atomic_write_bytes
    from hdrkit.models.gcm import count_parameters, save_weights

    cfg = RECIPES[recipe]
    if steps is not None:
        cfg = replace(cfg, steps=int(steps))
    model, log = train(cfg, training_files(data, exclude=cfg.exclude), progress)
    save_weights(out, model, {"recipe": recipe, "steps": cfg.steps, "seconds": round(log.seconds, 1),
                              "parameters": count_parameters(model)})
    if log_path:
        atomic_write_bytes(log_path, json.dumps(asdict(log)).encode())
    if curve:
        from hdrkit.meta.plot import line_chart

        line_chart(curve, [("train loss, all terms (EMA)", log.steps, log.train_loss, (90, 90, 90)),
                           ("validation PQ-L1 (training scenes, other draws)", log.val_steps, log.val["pq_l1"],
                            (200, 60, 0))],
                   f"gcm: {cfg.steps} steps, {log.seconds / 60:.1f} min", "step", "PQ L1")
    return log


def main(argv: Optional[Sequence[str]] = None) -> int:
    from hdrkit.trainer_cli import parse_trainer_args, trainer_parser

    ap = trainer_parser(__doc__, RECIPES, "gcm")
    ap.add_argument("--steps", type=int)
    a, progress = parse_trainer_args(ap, argv)
    log = run(a.recipe, a.data, a.output, a.log, a.curve, a.steps, progress)
    print(json.dumps({"steps": log.steps[-1] if log.steps else 0, "seconds": round(log.seconds, 1),
                      "pool_seconds": log.config["pool_seconds"],
                      "val_pq_l1": [log.val["pq_l1"][0], log.val["pq_l1"][-1]]}))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
