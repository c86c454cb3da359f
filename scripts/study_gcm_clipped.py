"""Studies of gcm inside SDR-clipped regions (issue 16, docs/EXPAND.md "Round 5"), on DEV views only.

    OMP_NUM_THREADS=1 python scripts/study_gcm_clipped.py --data ../shared/data --peak-rules --json docs/expand/peak_rules_dev.json
    OMP_NUM_THREADS=1 python scripts/study_gcm_clipped.py --data ../shared/data --hue --json docs/expand/hue_sources_dev.json

DEV = the 32 views of the 8 ``hdr/`` panoramas (training scenes; ``scripts/bench_blind_expand.py --split dev``),
SDR by the four operators of the benchmark (same seed); the held-out scenes are never read here.

``--peak-rules``: the views mastered at 4000 cd/m² (the ``--peak-check`` construction).  First where the check's
highlights are (pixels whose master reaches 3000 cd/m²: their SDR code, gcm's 1000 cd/m² grade there); then
candidate rules turning gcm's 1000 cd/m² grade ``o`` (shipped weights, computed once per view) into a 4000 cd/m²
output, each scored like ``--peak-check`` (lit views reaching 3000, false-highlight views, mean PU21-PSNR):

* ``regrade``: :func:`hdrkit.tonemap.regrade_peak` (what ``--peak`` does), ``none``: ``o`` itself;
* ``regrade in clip``: the regrade blended in with gcm's soft over-exposure mask ``α`` (``o`` outside);
* ``gain(K, β)``: the regrade times ``(P/1000)^(β·α·ρ)``, ``ρ = clip((max o − K)/(1000 − K), 0, 1)`` (limited to
  ``P``): SDR-clipped pixels that gcm already puts above ``K`` spread further up towards ``P``; identity at P = 1000;
* ``source P + gain(K, β)``: the same gain on an inverse BT.2390 EETF that takes the source range as ``P`` (not
  10,000 cd/m²): ``o → EETF⁻¹(o; P → 1000)``;
* ``oracle``: the regrade of the true 1000 cd/m² master (what a perfect 1000 cd/m² prediction would give).

``--hue``: the views mastered at 1000 cd/m²; the ICtCp hue-angle error (``hdrkit.metrics.ictcp_hue_error``) over
the pixels the SDR clipped (largest code ≥ 254/255, master chroma ≥ 0.01; every such pixel has ``α = 1``), split by
the number of clipped channels, for gcm with its highlight factors switched off one at a time (boost ``B``,
saturation gain ``k``), ``B`` halved, the global mapping ``F`` alone, the highlight branch built on ``F``'s
chromaticity instead of the SDR's, and plain linearisation; and each variant's mean PU21-PSNR over all views.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from bench_blind_expand import CLIP_CODE, OPERATORS, sdr_of, views  # noqa: E402

P = 4000.0
LEVEL = 3000.0


def _inverse_eetf_source(o: np.ndarray, source: float) -> np.ndarray:
    """``max(R,G,B)`` of a 1000 cd/m² grade through the inverse of the BT.2390 EETF ``source → 1000`` (ratios
    kept)."""
    from hdrkit import color
    from hdrkit.tonemap import eetf_bt2390

    x = o.astype(np.float64)
    m = x.max(-1)
    src = np.asarray(color.pq_eotf(np.linspace(0.0, 1.0, 16385)), np.float64)
    src = src[src <= source]
    g = eetf_bt2390(src, source, 1000.0)
    keep = np.concatenate([[True], np.diff(g) > 0])
    scene = np.where(m >= g[keep][-1], source, np.interp(np.minimum(m, 1000.0), g[keep], src[keep]))
    return x * (scene / np.maximum(m, 1e-30))[..., None]


def _gain(base: np.ndarray, o: np.ndarray, a: np.ndarray, K: float, beta: float) -> np.ndarray:
    rho = np.clip((o.max(-1) - K) / (1000.0 - K), 0.0, 1.0)
    g = (P / 1000.0) ** (beta * a * rho)
    g = np.clip(g, 1.0, None)
    return np.minimum(base * g[..., None], P)


def rules():
    from hdrkit.tonemap import regrade_peak

    out = {"regrade (today)": lambda o, a: regrade_peak(o, P, 1000.0), "none": lambda o, a: o,
           "regrade in clip": lambda o, a: a[..., None] * regrade_peak(o, P, 1000.0) + (1 - a[..., None]) * o}
    for K in (384.0, 700.0, 800.0, 900.0):
        for beta in (0.25, 0.5, 1.0):
            out[f"gain(K={K:g}, beta={beta:g})"] = (
                lambda o, a, K=K, beta=beta: _gain(regrade_peak(o, P, 1000.0), o, a, K, beta))
    for K in (384.0, 520.0, 700.0, 800.0):
        for beta in (0.25, 0.5, 1.0):
            out[f"source P + gain(K={K:g}, beta={beta:g})"] = (
                lambda o, a, K=K, beta=beta: _gain(_inverse_eetf_source(o, P), o, a, K, beta))
    return out


def peak_rules(data: str, size: int, seed: int) -> dict:
    import torch

    from hdrkit.data.split import training_files
    from hdrkit.expand import METHODS
    from hdrkit.metrics import evaluate
    from hdrkit.tonemap import regrade_peak
    from hdrkit.video.models.temporal_clues import soft_mask  # gcm's over-exposure mask α

    torch.set_num_threads(1)
    files = training_files(data)[:8]
    m4 = [m for _, m in views(files, size, peak=P)]
    m1 = [m for _, m in views(files, size, peak=1000.0)]
    lit_views = [bool((m.max(-1) >= LEVEL).any()) for m in m4]
    res = {"diagnosis": {}, "rules": {}, "oracle": {}}
    reg = rules()

    def score(outs):
        r = {"views": 0, "views_reached": 0, "views_below": 0, "views_below_reached": 0, "pu_psnr": []}
        for master, out, lit in zip(m4, outs, lit_views):
            hit = bool(out.max() >= LEVEL)
            r["views" if lit else "views_below"] += 1
            r["views_reached" if lit else "views_below_reached"] += int(hit)
            r["pu_psnr"].append(evaluate(master, np.asarray(out, np.float32), metrics=["pu_psnr"])["pu_psnr"])
        r["pu_psnr"] = float(np.mean(r["pu_psnr"])) if np.isfinite(r["pu_psnr"]).all() else float("inf")
        return r

    res["oracle"] = score([regrade_peak(m, P, 1000.0) for m in m1])
    res["oracle"]["pu_psnr_finite_views"] = float(np.mean([
        v for v in (evaluate(a, regrade_peak(b, P, 1000.0), metrics=["pu_psnr"])["pu_psnr"] for a, b in zip(m4, m1))
        if np.isfinite(v)]))
    for op in OPERATORS:
        rng = np.random.default_rng(seed)
        sdrs = [sdr_of(m, op, rng) for m in m4]
        outs = [np.asarray(METHODS["gcm"](s), np.float64) for s in sdrs]
        alphas = [soft_mask(s).astype(np.float64) for s in sdrs]
        lit = np.concatenate([(m.max(-1) >= LEVEL).ravel() for m in m4])
        om = np.concatenate([o.max(-1).ravel() for o in outs])
        code = np.concatenate([s.max(-1).ravel() for s in sdrs])
        al = np.concatenate([a.ravel() for a in alphas])
        res["diagnosis"][op] = {
            "lit_pixels": int(lit.sum()),
            "lit_share_alpha_1": float((al[lit] >= 0.999).mean()),
            "lit_sdr_code_p10_p50": [float(v) for v in np.percentile(code[lit], [10, 50])],
            "lit_gcm1000_p10_p50_p90": [float(v) for v in np.percentile(om[lit], [10, 50, 90])],
            "unlit_alpha_1_pixels": int(((al >= 0.999) & ~lit).sum()),
            "unlit_alpha_1_gcm1000_p10_p50_p90": [float(v) for v in np.percentile(om[(al >= 0.999) & ~lit],
                                                                                      [10, 50, 90])],
            "lit_view_max_gcm1000": [float(o.max(-1)[m.max(-1) >= LEVEL].max()) for o, m in zip(outs, m4)
                                     if (m.max(-1) >= LEVEL).any()],
        }
        for name, fn in reg.items():
            res["rules"].setdefault(name, {})[op] = score([fn(o, a) for o, a in zip(outs, alphas)])
        print(op, json.dumps(res["diagnosis"][op]), file=sys.stderr)
    return res


def hue_sources(data: str, size: int, seed: int) -> dict:
    import torch

    from hdrkit.data.split import training_files
    from hdrkit.expand import classical
    from hdrkit.expand.learned import _finish as finish  # what expand's gcm does to the network's output
    from hdrkit.expand.learned import model_path
    from hdrkit.metrics import evaluate, ictcp_hue_error
    from hdrkit.models.gcm import _M709_TO_2020, apply_lut, bake_lut, load_weights, predict

    torch.set_num_threads(1)
    net = load_weights(model_path("gcm"))[0]
    if net.cfg.chroma != "boost":
        raise SystemExit("error: --hue studies the boost B of chroma='boost' weights (round 4); these use "
                         f"chroma={net.cfg.chroma!r}")
    activate, combine = net.activate, net.combine

    def run(sdr, boost=1.0, k1=False, c_from_f=False):
        def act(o):
            b, k, g = activate(o)
            return b * boost, (torch.ones_like(k) if k1 else k), g

        def comb(v, logF, b, k, g):  # the SDR replaced by code values with F's chromaticity (same largest code)
            f = torch.exp(logF.clamp(max=float(np.log(1e4))))
            lin = v.clamp(0.0, 1.0) ** 2.4
            cf = f / f.amax(1, keepdim=True).clamp(min=1e-6) * lin.amax(1, keepdim=True)
            return combine(cf ** (1 / 2.4), logF, b, k, g)

        net.activate = act
        if c_from_f:
            net.combine = comb
        try:
            return finish(predict(net, sdr.astype(np.float32)), 1000.0)
        finally:
            del net.activate
            if c_from_f:
                del net.combine

    def f_only(sdr):
        v = torch.from_numpy(np.ascontiguousarray(sdr.astype(np.float32).transpose(2, 0, 1)))[None]
        with torch.no_grad():
            f = torch.exp(apply_lut(bake_lut(net, net.condition(v)), v).clamp(max=float(np.log(1e4))))
            return finish(torch.einsum("ij,bjhw->bihw", _M709_TO_2020, f)[0].permute(1, 2, 0).numpy(), 1000.0)

    variants = {"gcm (default)": run, "B = 0": lambda s: run(s, boost=0.0), "k = 1": lambda s: run(s, k1=True),
                "B halved": lambda s: run(s, boost=0.5), "F alone (no highlight branch)": f_only,
                "highlight branch on F's chromaticity": lambda s: run(s, c_from_f=True),
                "highlight branch on F's chromaticity, B = 0": lambda s: run(s, boost=0.0, c_from_f=True),
                "plain linearisation": lambda s: classical.linear(s, peak=203.0)}
    scenes = views(training_files(data)[:8], size)
    res = {}
    for op in OPERATORS:
        rng = np.random.default_rng(seed)
        acc = {v: {c: [0.0, 0] for c in ("all", "1", "2", "3")} for v in variants}
        pu = {v: [] for v in variants}
        for _, master in scenes:
            sdr = sdr_of(master, op, rng)
            clipped = sdr.max(-1) >= CLIP_CODE
            nch = (sdr >= CLIP_CODE).sum(-1)
            for v, fn in variants.items():
                out = fn(sdr)
                pu[v].append(evaluate(master, np.asarray(out, np.float32), metrics=["pu_psnr"])["pu_psnr"])
                if not clipped.any():
                    continue
                for c in acc[v]:
                    e, n = ictcp_hue_error(master, out, clipped if c == "all" else clipped & (nch == int(c)))
                    if n:
                        acc[v][c][0] += e * n
                        acc[v][c][1] += n
        res[op] = {v: {c: {"deg": (s / n if n else float("nan")), "pixels": n} for c, (s, n) in per.items()}
                   for v, per in acc.items()}
        for v in variants:
            res[op][v]["pu_psnr"] = float(np.mean(pu[v]))
        print(op, file=sys.stderr)
    return res


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--json")
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--peak-rules", action="store_true")
    g.add_argument("--hue", action="store_true")
    a = ap.parse_args(argv)
    if a.peak_rules:
        res = peak_rules(a.data, a.size, a.seed)
        print("| rule | " + " | ".join(f"{op}: reached / false / PU-PSNR" for op in OPERATORS) + " | reached, total |")
        print("|---|" + "---:|" * (len(OPERATORS) + 1))
        for name, per in res["rules"].items():
            cells = [f"{r['views_reached']}/{r['views']} / {r['views_below_reached']}/{r['views_below']} / "
                     f"{r['pu_psnr']:.2f}" for r in per.values()]
            print(f"| {name} | " + " | ".join(cells) + f" | {sum(r['views_reached'] for r in per.values())} |")
        o = res["oracle"]
        print(f"\noracle (true 1000 master regraded): reached {o['views_reached']}/{o['views']}, false "
              f"{o['views_below_reached']}/{o['views_below']}, PU-PSNR (finite views) {o['pu_psnr_finite_views']:.2f}")
    else:
        res = hue_sources(a.data, a.size, a.seed)
        print("| variant | " + " | ".join(f"{op}: hue all (1 / 2 / 3 channels clipped); PU-PSNR" for op in OPERATORS)
              + " |")
        print("|---|" + "---:|" * len(OPERATORS))
        for v in next(iter(res.values())):
            cells = []
            for op in OPERATORS:
                r = res[op][v]
                cells.append(f"{r['all']['deg']:.1f}° (" + " / ".join(
                    f"{r[c]['deg']:.1f}" if r[c]["pixels"] else "–" for c in ("1", "2", "3")) + f"); {r['pu_psnr']:.2f}")
            print(f"| {v} | " + " | ".join(cells) + " |")
    if a.json:
        from hdrkit.io.atomic import atomic_write_bytes

        atomic_write_bytes(a.json, json.dumps(res, indent=1).encode())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
