"""Throughput of ``hdrkit batch`` (docs/BATCH.md): a plain in-process loop vs Ray with 1 and 2 workers.

    python scripts/bench_batch.py --items 8 --size 1024x1024 --op encode --md docs/bench_batch.md

Writes N synthetic 1-MP (SDR, HDR) pairs (``NAME_hdr.png`` 16-bit PQ + ``NAME_sdr.png``), then runs the same
items three times with the same per-item code (:func:`hdrkit.batch.worker.process`):

- ``loop``: one process, one item after the other (what a shell loop over `hdrkit encode` does minus the
  interpreter start-up per file);
- ``ray ×1`` and ``ray ×2``: ``run_batch`` on a private local Ray (1 thread per worker).

Reported per run: wall seconds, Ray start-up (``ray.init``), time to the first finished item (worker processes
start and import torch), steady-state seconds per item (between the first and the last item finished, by the
workers' clocks), the mean seconds of work per item inside the worker, and items/s.  Ray's per-item overhead = steady-state s/item of ``ray ×1`` / s/item of ``loop`` - 1 (and, immune to the load
changing between runs, ``ray ×1``'s steady s/item / its own work s/item - 1); scaling = items/s
of ``ray ×2`` / ``ray ×1`` (steady state, and whole runs).  The machine load (``uptime``) is recorded before and
after each run: on a shared machine these numbers are only as good as the load says.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

for _v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ.setdefault(_v, "1")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def uptime() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    except OSError:
        return "load %.2f %.2f %.2f" % os.getloadavg()


def make_pairs(folder: Path, n: int, h: int, w: int) -> None:
    import numpy as np

    from hdrkit import color
    from hdrkit.io import Image, write_image

    y, x = np.mgrid[0:h, 0:w].astype(np.float32) / max(h, w)
    for i in range(n):
        rng = np.random.default_rng(i)
        base = np.stack([np.sin(7 * x + i) + 1.3, np.cos(5 * y + 0.3 * i) + 1.3, x + y + 0.2], -1)
        tex = 1 + 0.3 * rng.standard_normal((h // 8 + 1, w // 8 + 1, 3)).repeat(8, 0).repeat(8, 1)[:h, :w]
        nits = (base * tex.clip(0.2) * rng.uniform(80, 300)).astype(np.float32)
        nits[h // 4: h // 3, w // 4: w // 3] *= 10
        write_image(folder / f"b{i:03d}_hdr.png", Image(color.pq_inverse_eotf(np.clip(nits, 0, 10000)).astype(
            np.float32), primaries="bt2020", transfer="pq"), bit_depth=16)
        sdr = np.clip((nits / np.percentile(nits, 99)) ** (1 / 2.4), 0, 1).astype(np.float32)
        write_image(folder / f"b{i:03d}_sdr.png", Image(sdr, primaries="bt709", transfer="bt1886",
                                                         nits_per_unit=203))


def run_once(label: str, op, items, out: Path, backend: str, workers: int) -> dict:
    from hdrkit.batch import run_batch

    started: list[float] = []
    load_before = uptime()
    t0, w0 = time.perf_counter(), time.time()
    rep = run_batch(op, items, out, backend=backend, workers=workers, threads=1,
                    on_start=lambda r: started.append(time.perf_counter()))
    wall = time.perf_counter() - t0
    assert rep.failed == 0, rep.failures
    done = sorted(t - w0 for t, _ in rep.finished)  # when each item finished on its worker
    n = len(done)
    steady = (done[-1] - done[0]) / (n - 1) if n > 1 else float("nan")
    row = {"run": label, "items": n, "wall_s": wall, "startup_s": (started[0] - t0) if started else 0.0,
           "first_item_s": done[0], "steady_s_per_item": steady,
           "steady_items_per_s": 1 / steady if steady > 0 else float("nan"), "items_per_s": n / wall,
           "work_s_per_item": sum(s for _, s in rep.finished) / n,
           "load_before": load_before, "load_after": uptime()}
    print(json.dumps(row), flush=True)
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=8)
    ap.add_argument("--size", default="1024x1024", help="HxW of the synthetic pairs (1024x1024 = 1 MP)")
    ap.add_argument("--op", default="encode", choices=["encode", "tonemap"])
    ap.add_argument("--steps", type=int, default=None, help="encode: adaptation steps (default: hdrkit's)")
    ap.add_argument("--runs", default="loop,ray1,ray2")
    ap.add_argument("--md", type=Path, default=None, help="append a markdown table here")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument("--note", default="")
    a = ap.parse_args(argv)
    import torch

    from hdrkit.batch import EncodeOp, TonemapOp, discover

    torch.set_num_threads(1)  # the loop runs in this process: 1 thread, like each Ray worker

    h, w = (int(v) for v in a.size.lower().split("x"))
    op = EncodeOp(steps=a.steps) if a.op == "encode" else TonemapOp(method="bt2446a")
    rows = []
    with tempfile.TemporaryDirectory(prefix="hdrkit-bench-batch-") as tmp:
        src = Path(tmp) / "pairs"
        src.mkdir()
        make_pairs(src, a.items, h, w)
        if a.op == "tonemap":
            for p in src.glob("*_sdr.png"):
                p.unlink()
        items = discover(a.op, src)
        for run in a.runs.split(","):
            backend, workers = ("loop", 1) if run == "loop" else ("ray", int(run[3:]))
            label = "loop" if run == "loop" else f"ray ×{workers}"
            rows.append(run_once(label, op, items, Path(tmp) / f"out-{run}", backend, workers))
    by = {r["run"]: r for r in rows}
    summary = {}
    if "loop" in by and "ray ×1" in by:
        summary["ray_overhead_per_item"] = by["ray ×1"]["steady_s_per_item"] / by["loop"]["steady_s_per_item"] - 1
    if "ray ×1" in by:  # time per item outside the op's own work (scheduling, transfer, manifest), same run
        r = by["ray ×1"]
        summary["ray_overhead_outside_work"] = r["steady_s_per_item"] / r["work_s_per_item"] - 1
    if "ray ×1" in by and "ray ×2" in by:
        summary["scaling_steady"] = by["ray ×2"]["steady_items_per_s"] / by["ray ×1"]["steady_items_per_s"]
        summary["scaling_whole_run"] = by["ray ×2"]["items_per_s"] / by["ray ×1"]["items_per_s"]
    print(json.dumps(summary), flush=True)
    cmd = "python scripts/bench_batch.py " + " ".join(argv if argv is not None else sys.argv[1:])
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"
    if a.json:
        a.json.write_text(json.dumps({"command": cmd, "machine": machine, "rows": rows, "summary": summary},
                                     indent=1) + "\n")
    if a.md:
        lines = [f"\n### `{cmd}`\n", f"{machine}. {a.note}\n",
                 "| run | items | wall s | Ray start-up s | first item s | steady s/item | steady items/s | "
                 "items/s (whole run) | work s/item | load before → after |", "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rows:
            lb = r["load_before"].split("load average:")[-1].split(",")[0].strip()
            la = r["load_after"].split("load average:")[-1].split(",")[0].strip()
            lines.append(f"| {r['run']} | {r['items']} | {r['wall_s']:.1f} | {r['startup_s']:.1f} | "
                         f"{r['first_item_s']:.1f} | {r['steady_s_per_item']:.2f} | {r['steady_items_per_s']:.3f} | "
                         f"{r['items_per_s']:.3f} | {r['work_s_per_item']:.2f} | {lb} → {la} |")
        for k, v in summary.items():
            lines.append(f"\n{k.replace('_', ' ')}: **{v:+.1%}**" if "overhead" in k else f"\n{k.replace('_', ' ')}: "
                         f"**{v:.2f}×**")
        with open(a.md, "a") as f:
            f.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
