"""Study of ``--peak 4000`` highlight rules on top of gcm's 1000 cd/m² grade (round 6, docs/EXPAND.md).

    OMP_NUM_THREADS=1 python scripts/study_peak_dome.py --data ../shared/data --split dev --json docs/expand/round6/peak_rules_dev.json
    OMP_NUM_THREADS=1 python scripts/study_peak_dome.py --data ../shared/data --split val --json docs/expand/round6/peak_rules_val.json

Views and SDR exactly as ``bench_blind_expand.py --peak-check`` (masters at 4000 cd/m², seed 16).  Rules: ``R0`` =
``regrade_peak`` alone; ``thrT_kK_S`` = a dome to 0.9 · 4000 over the ``K`` clipped regions (SDR max code ≥ ``T``)
ranked by score ``S`` (``o``: gcm's largest grade value in the region; ``od``: that × √(largest depth)); ``k1_o`` at
``T = 254/255`` is :func:`hdrkit.expand.highlights.highlight_dome`.  Per operator: lit views reached, false-highlight
views, share of master pixels ≥ 3000 that reach 3000, mean PU21-PSNR against the 4000 master.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_blind_expand import OPERATORS, sdr_of, split_files, views  # noqa: E402

P = 4000.0


def _ss(x):
    x = np.clip(x, 0, 1)
    return x * x * (3 - 2 * x)


def dome(base, grade, sdr, thr, k, score, target=0.9):
    from scipy import ndimage

    mask = sdr.max(-1) >= thr
    if not mask.any():
        return base
    d = ndimage.distance_transform_edt(mask)
    lab, n = ndimage.label(mask)
    idx = np.arange(1, n + 1)
    dmax = np.asarray(ndimage.maximum(d, lab, idx))
    top = np.asarray(ndimage.maximum(grade.max(-1), lab, idx))
    size = np.bincount(lab.ravel(), minlength=n + 1)[1:]
    s = top if score == "o" else top * np.sqrt(dmax)
    keep = np.zeros(n + 1, bool)
    keep[1 + np.lexsort((-size, -s))[:k]] = True
    rel = d / np.concatenate([[1.0], dmax])[lab]
    w = np.where(mask & keep[lab], _ss(rel), 0.0)
    m = base.max(-1).astype(np.float64)
    t = target * P
    mn = np.where((t > m) & (m > 0), m * (t / np.maximum(m, 1e-6)) ** w, m)
    return (base * (mn / np.maximum(m, 1e-6))[..., None]).astype(np.float32)


def main(argv=None) -> int:
    from hdrkit.expand import METHODS
    from hdrkit.metrics import evaluate
    from hdrkit.tonemap import regrade_peak

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", choices=("dev", "val"), default="dev")
    ap.add_argument("--json")
    a = ap.parse_args(argv)
    vs = views(split_files(a.data, a.split), 256, peak=P)
    masters = [m for _, m in vs]
    lit = np.array([m.max() >= 3000 for m in masters])
    rules = [("R0",)] + [(f"thr{t:.3f}_k{k}_{s}", t, k, s) for t in (254 / 255, 0.97) for k in (1, 3, 10 ** 6)
                         for s in ("o", "od")]
    res: dict = {}
    for op in OPERATORS:
        rng = np.random.default_rng(16)
        sdrs = [sdr_of(m, op, rng) for m in masters]
        grades = [np.asarray(METHODS["gcm"](s), np.float32) for s in sdrs]
        bases = [regrade_peak(g, P) for g in grades]
        for rule in rules:
            outs = bases if len(rule) == 1 else [dome(b, g, s, *rule[1:]) for b, g, s in zip(bases, grades, sdrs)]
            reach = np.array([o.max() >= 3000 for o in outs])
            pix = sum(int((o.max(-1)[m.max(-1) >= 3000] >= 3000).sum()) for o, m in zip(outs, masters))
            npix = int(sum((m.max(-1) >= 3000).sum() for m in masters))
            pu = float(np.mean([evaluate(m, o, metrics=["pu_psnr"])["pu_psnr"] for m, o in zip(masters, outs)]))
            res.setdefault(rule[0], {})[op] = {"reached": int((reach & lit).sum()), "lit": int(lit.sum()),
                                              "false": int((reach & ~lit).sum()), "unlit": int((~lit).sum()),
                                              "pixels_reached": pix, "pixels": npix, "pu_psnr": pu}
    for name, r in res.items():
        print(f"{name:20s} " + " | ".join(f"{op} {v['reached']}/{v['lit']} false {v['false']}/{v['unlit']} "
                                          f"px {100 * v['pixels_reached'] / max(v['pixels'], 1):.0f}% "
                                          f"{v['pu_psnr']:.2f}" for op, v in r.items()))
    if a.json:
        Path(a.json).write_text(json.dumps({"split": a.split, "rules": res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
