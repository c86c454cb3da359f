"""Study of ``--peak 4000`` highlight rules on top of gcm's 1000 cd/m² grade (round 6, docs/EXPAND.md).

    OMP_NUM_THREADS=1 python scripts/study_peak_dome.py --data ../shared/data --split dev --json docs/expand/round6/peak_rules_dev.json
    OMP_NUM_THREADS=1 python scripts/study_peak_dome.py --data ../shared/data --split val --json docs/expand/round6/peak_rules_val.json

Views and SDR exactly as ``bench_blind_expand.py --peak-check`` (masters at 4000 cd/m², seed 16).  Rules: ``R0`` =
``regrade_peak`` alone; ``thrT_kK_S`` = a dome to 0.9 · 4000 over the ``K`` clipped regions (SDR max code ≥ ``T``)
ranked by score ``S`` (``o``: gcm's largest grade value in the region; ``od``: that × √(largest depth)); ``k1_o`` at
``T = 254/255`` is :func:`hdrkit.expand.highlights.highlight_dome`.  Per operator: lit views reached, false-highlight
views, share of master pixels ≥ 3000 that reach 3000, mean PU21-PSNR against the 4000 master.

``--figure PNG --views NAME@YAW,...`` (with ``--op``) instead draws, per view, the SDR, the 4000 cd/m² master, the
re-grade alone and the shipped dome in false colour (log cd/m², 0.1–4000, the report's inferno map, bar at the bottom).
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


def _false_colour(nits):
    """``max(R, G, B)`` in log cd/m² (0.1–4000) through the report's colour map, BGR for OpenCV."""
    from hdrkit.metrics.report import colour_map

    m = np.log10(np.clip(np.asarray(nits).max(-1), 0.1, 4000.0)) + 1.0
    return np.ascontiguousarray(colour_map(m, np.log10(4000.0) + 1.0)[..., ::-1])


def figure(a, vs) -> None:
    import cv2

    from hdrkit.expand import METHODS

    rng = np.random.default_rng(16)
    rows = []
    for name, master in vs:
        sdr = sdr_of(master, a.op, rng)  # drawn for every view, as the benchmark does (the camera's seeds)
        if name not in a.views.split(","):
            continue
        tiles = [np.round(np.clip(sdr[..., ::-1], 0, 1) * 255).astype(np.uint8), _false_colour(master),
                 _false_colour(METHODS["gcm"](sdr, peak=P, highlights="regrade")),
                 _false_colour(METHODS["gcm"](sdr, peak=P))]
        labels = [f"{name} {a.op} SDR", f"master, max {master.max():.0f}",
                  "re-grade only", "dome (default)"]
        for t, lab, src in zip(tiles, labels, [None, master, None, None]):
            cv2.putText(t, lab, (4, 14), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (255, 255, 255), 1, cv2.LINE_AA)
        tiles[2] = _label_max(tiles[2], METHODS["gcm"](sdr, peak=P, highlights="regrade"))
        tiles[3] = _label_max(tiles[3], METHODS["gcm"](sdr, peak=P))
        rows.append(np.concatenate(tiles, 1))
    img = np.concatenate(rows, 0)
    bar = _false_colour(np.tile(10.0 ** np.linspace(-1.0, np.log10(4000.0), img.shape[1]), (18, 1))[..., None])
    for v in (0.1, 1, 10, 100, 1000, 4000):
        x = int((np.log10(v) + 1.0) / (np.log10(4000.0) + 1.0) * (img.shape[1] - 1))
        cv2.putText(bar, f"{v:g}", (min(x, img.shape[1] - 30), 13), cv2.FONT_HERSHEY_SIMPLEX, 0.4, (0, 0, 0), 1,
                    cv2.LINE_AA)
    cv2.imwrite(a.figure, np.concatenate([img, bar], 0))


def _label_max(tile, nits):
    import cv2

    cv2.putText(tile, f"max {np.asarray(nits).max():.0f} cd/m2", (4, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                (255, 255, 255), 1, cv2.LINE_AA)
    return tile


def main(argv=None) -> int:
    from hdrkit.expand import METHODS
    from hdrkit.metrics import evaluate
    from hdrkit.tonemap import regrade_peak

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--split", choices=("dev", "val"), default="dev")
    ap.add_argument("--json")
    ap.add_argument("--figure", help="write a false-colour figure of --views instead of the grid")
    ap.add_argument("--views", default="esplanade@0,studio@90,lobby@0", help="NAME@YAW,... for --figure")
    ap.add_argument("--op", default="youtube", choices=OPERATORS, help="SDR operator for --figure")
    a = ap.parse_args(argv)
    vs = views(split_files(a.data, a.split), 256, peak=P)
    if a.figure:
        figure(a, vs)
        return 0
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
