"""Print the tables of docs/BENCHMARKS.md from the saved `hdrkit bench quality` JSON files in this folder.

    python docs/bench_quality/make_tables.py > /tmp/tables.md
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from hdrkit.baselines.quality import common_pairs, means, rd_plot, table

HERE = Path(__file__).resolve().parent
T = "/tmp/q6/theta_init_e6b96b69.hdrkit"  # copy of the theta_init.hdrkit shipped in ed7eb6e (see BENCHMARKS.md)


def rows(name: str) -> list:
    p = HERE / f"{name}.json"
    return json.loads(p.read_text())["rows"] if p.is_file() else []


def pick(rs, methods):
    return [r for r in rs if r["method"] in methods]


def main() -> None:
    dev = (rows("table1") + rows("mlp_dev") + rows("extra") + rows("inf") + rows("rd_gainmap") + rows("mlp_dev_more")
           + rows("mlp_pinned") + rows("mlp_pinned_fp32"))
    P = f"mlp:init={T},lr=3e-4,sf=0.01"  # AdaptConfig pinned (see BENCHMARKS.md)
    t1 = ["naive", f"blind:init={T}", "expand:from=akyuz2007", f"{P},ef=0.5",
          f"{P},ef=0.5,quant=int8", "gainmap:scale=2,q=75", "gainmap:scale=4,q=95,ch=3",
          "gainmap:scale=4,q=95,ch=1", "gamutmlp:steps=1200", "gamutmlp:init=shipped,steps=300", "inf:steps=500",
          f"distill:from=akyuz2007,init={T}"]
    out = ["### Table 1 — DEV pairs (YouTube SDR), mean over the pairs\n", table(pick(dev, t1), t1)]
    inf_pairs = sorted(set(r["pair"] for r in dev if r["method"] == "inf:steps=500"))
    if inf_pairs and len(inf_pairs) < 8:
        sub = [r for r in pick(dev, t1) if r["pair"] in inf_pairs]
        out += [f"\nSame methods on the {len(inf_pairs)} pairs INF finished ({', '.join(inf_pairs)}):\n",
                table(common_pairs(sub), t1)]
    t4 = [f"{P},ef=0.5", f"{P},resample=0,ef=0",
          "mlp:init=docs/codec_runs/maml2.hdrkit,lr=3e-4,sf=0.01,ef=0.5", "mlp:init=docs/codec_runs/maml2.hdrkit,lr=3e-4,sf=0.01,resample=0,ef=0",
          "mlp:init=docs/codec_runs/naive.hdrkit,lr=3e-4,sf=0.01,ef=0.5", "mlp:init=docs/codec_runs/naive.hdrkit,lr=3e-4,sf=0.01,resample=0,ef=0",
          "mlp:init=random,lr=3e-4,sf=0.01,ef=0.5",
          "mlp:init=random,lr=3e-4,sf=0.01,resample=0,ef=0", "mlp:init=random", "mlp:init=random,resample=0,ef=0",
          "gamutmlp:init=shipped,steps=300", "gamutmlp:steps=300", "gamutmlp:init=shipped,steps=0"]
    abl = dev + rows("ablation") + rows("ablation_inits")
    out += ["\n### Table 4 — ablations (DEV)\n", table(pick(abl, t4), t4)]
    rd = [r for r in dev if r["method"].startswith("gainmap") or r["method"].startswith(f"{P},ef=0.5")
          or r["method"] in ("gamutmlp:steps=1200", "gamutmlp:init=shipped,steps=300",
                                                                 "inf:steps=500")]
    out += ["\n### Rate–distortion points (DEV)\n", table(rd)]
    oc = [r for r in rows("table3_ocio") if not r["method"].startswith("mlp")] + rows("ocio_pinned")
    if oc:
        out += ["\n### Table 3 — OCIO SDR (generalisation)\n", table(oc)]
    sys.stdout.write("\n".join(out))
    full = [r for r in rd if means(rd)[r["method"]]["n"] == 8]  # plot only methods measured on all 8 pairs
    rd_plot(full, HERE / "rd.png", "pu_psnr")
    rd_plot(full, HERE / "rd_itp.png", "delta_itp")


if __name__ == "__main__":
    main()
