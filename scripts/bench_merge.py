"""Benchmark: merging and calibrating a 3-exposure 2000×1500 8-bit bracket, hdrkit vs OpenCV (and colour-hdri).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/bench_merge.py [--repeats 7] [--hdr ../shared/data/hdr/forest.exr]

The bracket is photographed synthetically (gamma 2.2 CRF, 8-bit, sensor noise) from a real panorama resized to
2000×1500, or from a smooth random radiance field when the file is absent.  Every timing is the median (and the
minimum) of ``--repeats`` runs of the whole call, inputs already in memory.  hdrkit's merge runs on one thread
(NumPy + OpenCV's LUT); OpenCV is timed with 1 thread and with its default thread count.  The load average before
and after is printed: the figures are only comparable on a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
import warnings
from pathlib import Path

import numpy as np


def timeit(fn, repeats: int) -> tuple[float, float]:
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts), min(ts)


def radiance(path: Path, w: int = 2000, h: int = 1500) -> tuple[np.ndarray, str]:
    import cv2

    if path.is_file():
        from hdrkit.io import read_image

        e = read_image(path).pixels
        e = cv2.resize(np.maximum(e, 0), (w, h), interpolation=cv2.INTER_LINEAR).astype(np.float64)
        src = path.name
    else:
        rng = np.random.default_rng(0)
        e = cv2.resize(np.exp(rng.normal(-1.5, 1.5, (h // 16, w // 16, 3))), (w, h), interpolation=cv2.INTER_CUBIC)
        src = "random field"
    return np.maximum(e, 1e-6) * (0.18 / np.median(e)), src


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--hdr", type=Path, default=Path(__file__).resolve().parents[2] / "shared/data/hdr/forest.exr")
    ap.add_argument("--colour-hdri", action="store_true", help="also time colour-hdri's merge (slow)")
    args = ap.parse_args()

    import cv2

    from hdrkit.merge import crf_gamma, debevec1997, merge, robertson1999, simulate_bracket

    load0 = os.getloadavg()
    times = [0.25, 1.0, 4.0]
    crf = crf_gamma(2.2)
    e, src = radiance(args.hdr)
    bracket = simulate_bracket(e, times, crf, 8, 2e-5, 2e-4, np.random.default_rng(1))
    t32 = np.float32(times)
    resp = np.maximum(crf.table, 1e-6).astype(np.float32).reshape(256, 1, 3)
    rows = []

    def row(name, fn, threads="1"):
        med, best = timeit(fn, args.repeats)
        rows.append((name, threads, med, best))

    row("hdrkit merge (log domain, LUT)", lambda: merge(bracket, times, crf=crf))
    row("hdrkit merge (linear domain, LUT)", lambda: merge(bracket, times, crf=crf, domain="linear"))
    default_threads = cv2.getNumThreads()
    md = cv2.createMergeDebevec()
    for n in (1, default_threads):
        cv2.setNumThreads(n)
        row("OpenCV MergeDebevec", lambda: md.process(bracket, t32, resp), str(n))
    cv2.setNumThreads(default_threads)
    if args.colour_hdri:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import colour_hdri as ch

            def ch_merge():
                st = ch.ImageStack()
                for z, t in zip(bracket, times):
                    st.append(ch.Image(data=z / 255.0, metadata=ch.Metadata(1.0, t, 100.0)))
                return ch.image_stack_to_HDRI(st, camera_response_functions=crf.table)

            row("colour-hdri image_stack_to_HDRI", ch_merge)
    r = max(1, args.repeats // 3)
    cal_rows = []
    for name, fn, thr in (
        ("hdrkit debevec1997 (500 samples)", lambda: debevec1997(bracket, times), "1"),
        ("OpenCV CalibrateDebevec (70 samples)", lambda: cv2.createCalibrateDebevec().process(bracket, t32), str(default_threads)),
        ("hdrkit robertson1999 (≤200k px)", lambda: robertson1999(bracket, times), "1"),
        ("OpenCV CalibrateRobertson (all px)", lambda: cv2.createCalibrateRobertson().process(bracket, t32), str(default_threads)),
    ):
        med, best = timeit(fn, r)
        cal_rows.append((name, thr, med, best))
    load1 = os.getloadavg()

    print(f"bracket: 3 × 2000×1500 8-bit from {src}, times {times}, gamma 2.2 CRF")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, numpy {np.__version__}, "
          f"OpenCV {cv2.__version__}; load average before {load0[0]:.2f}, after {load1[0]:.2f}")
    print()
    print("| merge | threads | median s | min s |")
    print("|---|---|---|---|")
    for name, thr, med, best in rows:
        print(f"| {name} | {thr} | {med:.3f} | {best:.3f} |")
    print()
    print(f"| calibration (median of {r}) | threads | median s | min s |")
    print("|---|---|---|---|")
    for name, thr, med, best in cal_rows:
        print(f"| {name} | {thr} | {med:.3f} | {best:.3f} |")


if __name__ == "__main__":
    main()
