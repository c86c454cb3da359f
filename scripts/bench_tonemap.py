"""Benchmarks of issue 3: the YouTube LUT operator on a 4K frame (target ≤ 1 s) and ``hdrkit pairs`` throughput
at 512×512 (target ≥ 100 distinct pairs per minute).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_tonemap.py [--runs 5] [--views 6] [--data ../shared/data]

- **4K LUT**: a 3840×2160 frame rendered from ``city.exr`` (a 90° perspective view, mastered to 1000 nits: the
  spatial coherence of a real picture) and, as a worst case for the caches, uniform random PQ noise.  Times
  ``tonemap(nits, "youtube")`` (nits → PQ → tetrahedral LUT → clip, input check included) with 1 and 2 threads:
  median and best wall time of ``--runs`` runs, and the CPU time per run.
- **pairs/minute**: ``hdrkit pairs DATA/hdr -o TMP --tmo youtube --views N --size 512`` as a subprocess (start-up,
  reading, views, mastering, tone mapping and PNG writing included), then the same with ``--tmo
  youtube,bt2446a``; pairs per minute of wall time.

Prints markdown; the 1-minute load average is reported before and after each part, because other jobs on the
machine inflate wall times.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def time_lut(frame: np.ndarray, runs: int, threads: int) -> tuple[float, float, float]:
    from hdrkit.tonemap import tonemap

    tonemap(frame[:64, :64], "youtube")  # parse the LUT once (cached)
    walls, cpus = [], []
    for _ in range(runs):
        c, t = time.process_time(), time.perf_counter()
        tonemap(frame, "youtube", threads=threads)
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), min(walls), statistics.median(cpus)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--views", type=int, default=6, help="views per panorama for the pairs benchmark")
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--skip-pairs", action="store_true")
    args = ap.parse_args()

    from hdrkit.data import load_hdr_nits, perspective_view
    from hdrkit.tonemap import master_hdr10
    from hdrkit import color

    data = Path(args.data)
    print(f"machine: {os.cpu_count()} CPUs; numpy {np.__version__}; OMP_NUM_THREADS="
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}\n")
    print("#### 4K YouTube LUT (3840×2160, `tonemap(nits, \"youtube\")`)\n")
    print("| frame | threads | median wall s | best wall s | CPU s per run | load before → after |")
    print("|---|---|---|---|---|---|")
    city = load_hdr_nits(data / "hdr" / "city.exr")
    real = master_hdr10(perspective_view(city, 20.0, 5.0, 0.0, 90.0, (2160, 3840)))
    rng = np.random.default_rng(0)
    noise = np.asarray(color.pq_eotf(rng.random((2160, 3840, 3))), dtype=np.float32)
    for name, frame in (("city view, mastered", real), ("uniform PQ noise", noise)):
        for threads in (1, 2):
            before = load()
            med, best, cpu = time_lut(frame, args.runs, threads)
            print(f"| {name} | {threads} | {med:.3f} | {best:.3f} | {cpu:.3f} | {before} → {load()} |")
    sys.stdout.flush()
    if args.skip_pairs:
        return
    print(f"\n#### `hdrkit pairs` at 512×512, {args.views} views per panorama\n")
    print("| --tmo | pairs | wall s | pairs/minute | CPU s (children) | load before → after |")
    print("|---|---|---|---|---|---|")
    hdrkit = str(Path(sys.executable).parent / "hdrkit")
    for tmo in ("youtube", "youtube,bt2446a"):
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "pairs"
            before = load()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            subprocess.run([hdrkit, "pairs", str(data / "hdr"), "-o", str(out), "--tmo", tmo, "--views",
                            str(args.views), "--size", "512"], check=True, stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
            n = len(list(out.glob("*_sdr.png")))
            digests = {p.read_bytes() for p in out.glob("*_sdr.png")}
            print(f"| {tmo} | {n} ({len(digests)} distinct) | {wall:.1f} | {60 * n / wall:.0f} | {cpu:.1f} | "
                  f"{before} → {load()} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
