"""Benchmark ``hdrkit eval`` on a 1024×512 pair (target: ≤ 3 s wall without cvvdp, issue 4).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_eval.py [--runs 5] [--image ../shared/data/hdr/city.exr]

Makes a test image (reference × log-normal noise, σ = 0.05) next to a temporary copy, runs the CLI ``--runs``
times as a subprocess (start-up, reading both EXRs and all default metrics included) and prints the median wall
time, the CPU time of the runs and the 1-minute load average before and after -- a loaded machine inflates wall
time, so record the load with the number.
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


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--image", default=str(Path(__file__).resolve().parents[2] / "shared/data/hdr/city.exr"))
    ap.add_argument("--extra", default="", help="extra CLI arguments, e.g. '--report /tmp/rep'")
    args = ap.parse_args()

    from hdrkit.io import Image, read_image, write_image

    with tempfile.TemporaryDirectory() as tmp:
        src = Path(args.image)
        if src.exists():
            img = read_image(src)
        else:  # synthetic 1024×512 scene when ../shared/data is absent
            y, x = np.mgrid[0:512, 0:1024]
            px = (1 + np.sin(x / 13.0) * np.cos(y / 17.0))[..., None] * np.array([1.0, 0.9, 1.2]) * 50 + 0.1
            img = Image(px.astype(np.float32), "bt2020", "linear", 1.0)
        ref, test = Path(tmp) / "ref.exr", Path(tmp) / "test.exr"
        write_image(ref, img)
        noise = np.random.default_rng(0).lognormal(0, 0.05, img.pixels.shape).astype(np.float32)
        write_image(test, Image(img.pixels * noise, img.primaries, img.transfer, img.nits_per_unit))
        cmd = [sys.executable, "-m", "hdrkit.cli.main", "eval", str(ref), str(test), "--json", *args.extra.split()]
        env = dict(os.environ, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
        load0 = os.getloadavg()[0]
        walls = []
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        for _ in range(args.runs):
            t = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, env=env)
            walls.append(time.perf_counter() - t)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        load1 = os.getloadavg()[0]
    cpu = (cpu1.ru_utime - cpu0.ru_utime + cpu1.ru_stime - cpu0.ru_stime) / args.runs
    print(f"image {src.name if src.exists() else 'synthetic'} {img.width}x{img.height}, {args.runs} runs")
    print(f"wall median {statistics.median(walls):.2f} s (min {min(walls):.2f}, max {max(walls):.2f})")
    print(f"CPU (user+sys) per run {cpu:.2f} s")
    print(f"load average (1 min) before {load0:.2f}, after {load1:.2f}, on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
