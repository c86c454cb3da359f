"""The speed lines of issue 14 in one run, for a quiet window (docs/CODEC.md, "Quiet-window commands"): 4K kernel
vs GEMM bound (`hdrkit bench codec`), adaptation s/MP at 1 MP, a 12-MP encode end to end, 4K `hdrkit decode`
end to end against 2 x kernel + 1 s, and the decode of a file without metadata.  Every command is a fresh
`hdrkit` process; wall and CPU seconds (getrusage of the child) and `uptime` are printed per run, then a summary.

    python scripts/codec_speed_check.py ../shared/data/hdr/city.exr /tmp/speed [--threads 2] [--repeats 3]

Inputs are made once by scripts/codec_speed_inputs.py into the folder (kept between runs).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run(cmd: list[str], env: dict) -> tuple[float, float, str, int]:
    """(wall s, CPU s of the child, output, return code)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu, p.stdout + p.stderr, p.returncode


def load() -> str:
    return "load " + " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("source", help="an HDR panorama (e.g. ../shared/data/hdr/city.exr)")
    ap.add_argument("folder", help="where the inputs and outputs go")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    out = Path(a.folder)
    here = Path(__file__).resolve().parent
    env = dict(os.environ)
    for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):  # default settings: the machine's cores
        env.pop(k, None)
    if not (out / "city_4k.exr").exists() or not (out / "plain.jpg").exists():
        subprocess.run([sys.executable, str(here / "codec_speed_inputs.py"), a.source, str(out)], check=True)
    hk = [sys.executable, "-m", "hdrkit.cli.main"]
    res: dict = {"start": time.strftime("%H:%M:%S", time.gmtime()), "load_start": load(), "threads": a.threads}
    print(f"start {res['start']} UTC, {res['load_start']}, threads {a.threads}", flush=True)

    # 4K kernel vs GEMM bound (the kernel's time is also the allowance of the end-to-end decode below)
    kern = []
    for i in range(2):
        js = out / f"b4k_{i}.json"
        w, c, text, rc = run(hk + ["bench", "codec", "-y", "--threads", str(a.threads), "--json", str(js)], env)
        rec = json.loads(js.read_text())["decode_4k"] if rc == 0 else None
        if rec is None:
            sys.exit(f"bench codec failed:\n{text}")
        kern.append(rec)
        print(f"bench codec: kernel {rec['decode_s']:.3f} s (all {', '.join(f'{x:.3f}' for x in rec['decode_s_all'])}; "
              f"CPU {', '.join(f'{x:.3f}' for x in rec['decode_cpu_s_all'])}), GEMM bound {rec['gemm_bound_s']:.3f} s "
              f"at {rec['gemm_gflops']:.0f} GFLOP/s -> ratio {rec['ratio']:.2f} (sustained GEMMs "
              f"{rec['ratio_sustained']:.2f}); {load()}", flush=True)
    k_s = min(r["decode_s"] for r in kern)

    # adaptation at 1 MP (the CLI prints "adapted in X s"), 12 MP end to end, the 4K encode that feeds the decode
    adapt = []
    for i in range(a.repeats):
        w, c, text, rc = run(hk + ["encode", "-y", str(out / "city_1mp.exr"), "-o", str(out / "e1.jpg")], env)
        m = re.search(r"adapted in ([0-9.]+) s", text)
        adapt.append(float(m.group(1)) if m and rc == 0 else float("nan"))
        print(f"encode 1 MP: adapted in {adapt[-1]:.2f} s = {adapt[-1] / 1.024:.2f} s/MP; process {w:.2f} s wall, "
              f"{c:.2f} s CPU; {load()}", flush=True)
    w12, c12, text, rc = run(hk + ["encode", "-y", str(out / "city_12mp.exr"), "-o", str(out / "e12.jpg")], env)
    print(f"encode 12 MP end to end: {w12:.2f} s wall, {c12:.2f} s CPU (rc {rc}); {load()}", flush=True)
    run(hk + ["encode", "-y", str(out / "city_4k.exr"), "-o", str(out / "e4k.jpg"), "--quality", "90"], env)

    # 4K decode end to end: one warm-up run (page cache), then the repeats
    dec = []
    cmd = hk + ["--max-pixels", "8294400", "decode", "-y", str(out / "e4k.jpg"), "-o", str(out / "d4k.png")]
    for i in range(a.repeats + 1):
        w, c, text, rc = run(cmd, env)
        if rc != 0:
            sys.exit(f"decode failed:\n{text}")
        if i:
            dec.append((w, c))
        print(f"decode 4K{' (warm-up)' if not i else ''}: {w:.2f} s wall, {c:.2f} s CPU; {load()}", flush=True)
    plain = []
    for i in range(a.repeats):
        w, c, text, rc = run(hk + ["decode", "-y", str(out / "plain.jpg"), "-o", str(out / "p.png")], env)
        plain.append(w)
        print(f"decode without metadata: {w:.2f} s wall, exit {rc}: {text.strip().splitlines()[-1][:90]}", flush=True)

    allow = 2 * k_s + 1
    dw = [w for w, _ in dec]
    summary = {
        "kernel_s": k_s, "gemm_bound_s": min(r["gemm_bound_s"] for r in kern),
        "kernel_ratio": [r["ratio"] for r in kern], "adapt_s_per_mp": [x / 1.024 for x in adapt],
        "encode_12mp_wall_s": w12, "decode_4k_wall_s": dw, "decode_4k_cpu_s": [c for _, c in dec],
        "decode_allowed_s": allow, "plain_decode_wall_s": plain, "end": time.strftime("%H:%M:%S", time.gmtime()),
        "load_end": load(),
    }
    res.update(summary)
    (out / "speed_check.json").write_text(json.dumps(res, indent=1))
    print(f"\nsummary ({res['start']}-{res['end']} UTC, {res['load_start']} -> {res['load_end']}):")
    print(f"  4K kernel / GEMM bound: {', '.join(f'{r:.2f}' for r in summary['kernel_ratio'])} (line: <= 1.5)")
    print(f"  adaptation s/MP at 1 MP: {', '.join(f'{x:.2f}' for x in summary['adapt_s_per_mp'])}, median "
          f"{statistics.median(summary['adapt_s_per_mp']):.2f} (line: <= 2.5)")
    print(f"  12 MP encode end to end: {w12:.1f} s (line: <= 45)")
    print(f"  4K decode end to end: {', '.join(f'{x:.2f}' for x in dw)} s wall, median {statistics.median(dw):.2f}, "
          f"vs 2 x {k_s:.3f} + 1 = {allow:.2f} s allowed")
    print(f"  decode without metadata: {', '.join(f'{x:.2f}' for x in plain)} s (line: <= 1.5)")


if __name__ == "__main__":
    main()
