"""Benchmark of blind up-conversion (issue 8): classical iTMOs vs the masked U-Net vs MetaHDR, on held-out scenes.

    .venv/bin/python scripts/bench_learned_expand.py --data ../shared/data/hdr --json docs/bench_expand_learned.json

Scenes: perspective views (hdrkit.data.perspective_view, yaw 0°, 60°, …, 300°, pitch 0°, 75° field of view,
256×256) of the held-out panoramas (hdrkit.expand.learned_data.HOLDOUT — never seen in training), each mastered
to HDR10 (hdrkit.tonemap.master_hdr10: 1000 cd/m² peak, log-average 26 cd/m²).  Reference = that master.

Table A ("camera"): SDR from the project's virtual camera (hdrkit.data.VirtualCamera, Eilertsen et al. 2017,
5–15 % saturated, noise, JPEG in half the shots; seeded) -- an implementation independent of the one the
models were trained with.
Table B ("MetaHDR"): each scene shot as a bracket at −2/0/+2 EV by one random Eilertsen camera
(hdrkit.expand.learned_data.shoot); the 0 EV shot is the input; labels come from the −2/+2 shots (their
Debevec fusion, or the U-Net's predictions of them, scaled to the U-Net's prediction of the input); the
adaptation set is −2/+2 (the poster's protocol) or −2/0/+2 (the input included).

Metrics per image (hdrkit.metrics.evaluate), then averaged: PU21-PSNR, ΔE_ITP, and "PSNR / SSIM as MetaHDR did"
computed on PQ code values (pq_psnr, pq_ssim).  "naive" = BT.1886 linearisation with SDR white at 203 cd/m².
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np


def views(sources, size: int, yaws=(0, 60, 120, 180, 240, 300)):
    from hdrkit.data import perspective_view
    from hdrkit.tonemap import master_hdr10

    out = []
    for name in sorted(sources):
        for yaw in yaws:
            v = perspective_view(sources[name], yaw=float(yaw), pitch=0.0, fov=75.0, size=size)
            out.append((f"{name}@{yaw}", master_hdr10(np.clip(v, 0, None), peak=1000.0, mid=26.0)))
    return out


def score(ref, test):
    from hdrkit.metrics import evaluate

    return evaluate(ref, test, metrics=["pu_psnr", "delta_itp", "pq_psnr", "pq_ssim"])


def classical_rows():
    from hdrkit.expand import classical

    rows = {"naive (linearised, white 203 cd/m²)": lambda x: classical.linear(x, peak=203.0)}
    for name in ("linear", "akyuz2007", "masia2009", "masia2017", "huo2014", "kovaleski2014"):
        rows[f"{name} (defaults)"] = getattr(classical, name)
    return rows


def summarise(results):
    out = {}
    for row, per in results.items():
        keys = per[0].keys()
        out[row] = {k: float(np.mean([p[k] for p in per])) for k in keys}
        out[row]["n"] = len(per)
    return out


def table(summary, title):
    lines = [f"#### {title}", "", "| method | PU-PSNR (dB) ↑ | ΔE_ITP ↓ | PSNR (PQ, dB) ↑ | SSIM (PQ) ↑ |",
             "|---|---:|---:|---:|---:|"]
    for row, m in summary.items():
        lines.append(f"| {row} | {m['pu_psnr']:.2f} | {m['delta_itp']:.2f} | {m['pq_psnr']:.2f} | {m['pq_ssim']:.4f} |")
    return "\n".join(lines)


def timing(data: str, size: tuple[int, int], tile: int, threads: int) -> dict:
    """Wall time, CPU time and peak resident memory of the U-Net on one ``size`` = (h, w) camera SDR view (fresh process)."""
    import resource
    import subprocess

    code = f"""
import time, resource, numpy as np, torch
torch.set_num_threads({threads})
from hdrkit.data import perspective_view, VirtualCamera
from hdrkit.expand import learned
from hdrkit.expand.learned_data import load_sources
from hdrkit.tonemap import master_hdr10
pano = load_sources({data!r}, names=('forest',))['forest']
view = master_hdr10(np.clip(perspective_view(pano, yaw=30.0, fov=90.0, size={size!r}), 0, None))
cam = VirtualCamera()
sdr = cam.apply(view, cam.make_params(np.random.default_rng(0)))
learned.unet(sdr[:64, :64])  # load the weights
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t, c = time.perf_counter(), time.process_time()
out = learned.unet(sdr, tile={tile})
dt, dc = time.perf_counter() - t, time.process_time() - c
print(dt, dc, before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    dt, dc, before, after = r.stdout.split()
    return {"size": list(size), "tile": tile, "threads": threads, "seconds": float(dt), "cpu_seconds": float(dc),
            "peak_rss_mib": int(after) / 1024, "rss_before_mib": int(before) / 1024}


def main(argv=None) -> int:
    import torch

    from hdrkit.data import VirtualCamera
    from hdrkit.expand import learned
    from hdrkit.expand.learned_data import HOLDOUT, load_sources, make_camera_params, shoot

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json")
    ap.add_argument("--steps", type=int, default=None, help="MetaHDR adaptation steps (default: inner loop's)")
    ap.add_argument("--seed", type=int, default=8)
    ap.add_argument("--yaws", default="0,60,120,180,240,300", help="view directions (degrees, comma list)")
    ap.add_argument("--timing", action="store_true", help="only time the U-Net at 1080p and 4K (peak memory)")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.timing:
        res = [timing(a.data, (1080, 1920), 1024, 1), timing(a.data, (2160, 3840), 1024, 1)]
        for r in res:
            print(json.dumps(r))
        if a.json:
            from hdrkit.io.atomic import atomic_write_bytes

            atomic_write_bytes(a.json, json.dumps(res, indent=1).encode())
        return 0
    t0 = time.time()
    scenes = views(load_sources(a.data, names=HOLDOUT), a.size, [float(y) for y in a.yaws.split(',')])
    rng = np.random.default_rng(a.seed)
    cam = VirtualCamera()
    rows = classical_rows()

    # ---- table A: single SDR from the project's virtual camera
    res_a = {r: [] for r in list(rows) + ["U-Net (ours)", "MetaHDR single shot (ours)"]}
    for name, master in scenes:
        sdr = cam.apply(master, cam.make_params(rng)).astype(np.float64)
        for r, fn in rows.items():
            res_a[r].append(score(master, fn(sdr)))
        res_a["U-Net (ours)"].append(score(master, learned.unet(sdr)))
        res_a["MetaHDR single shot (ours)"].append(score(master, learned.metahdr(sdr)))
        print(f"A {name} {time.time() - t0:.0f}s", file=sys.stderr)

    # ---- table B: brackets; MetaHDR adaptation with true (Debevec) and simulated (U-Net) labels
    adapted = {"MetaHDR adapted on −2/0/+2, true HDR (Debevec of −2/+2)": ("true", True),
               "MetaHDR adapted on −2/0/+2, simulated HDR (U-Net)": ("simulated", True),
               "MetaHDR adapted on −2/+2 only (poster protocol), true HDR": ("true", False),
               "MetaHDR adapted on −2/+2 only (poster protocol), simulated HDR": ("simulated", False)}
    res_b = {r: [] for r in list(rows) + ["U-Net single shot (ours)", "MetaHDR single shot"] + list(adapted)}
    for name, master in scenes:
        shots, times = shoot(master, make_camera_params(rng), (-2.0, 0.0, 2.0))
        dark, mid, bright = (s.astype(np.float32) / 255.0 for s in shots)
        rel_times = [times[0] / times[1], times[2] / times[1]]  # relative: the absolute scale stays unknown
        x = mid.astype(np.float64)
        for r, fn in rows.items():
            res_b[r].append(score(master, fn(x)))
        res_b["U-Net single shot (ours)"].append(score(master, learned.unet(x)))
        res_b["MetaHDR single shot"].append(score(master, learned.metahdr(x)))
        for row, (labels, include) in adapted.items():
            res_b[row].append(score(master, learned.metahdr(
                x, adapt_with=labels, exposures=[dark, bright], times=rel_times if labels == "true" else None,
                steps=a.steps, include_input=include)))
        print(f"B {name} {time.time() - t0:.0f}s", file=sys.stderr)

    sa, sb = summarise(res_a), summarise(res_b)
    print(table(sa, f"A. Virtual-camera SDR (hdrkit.data.VirtualCamera), {len(scenes)} held-out views"))
    print()
    print(table(sb, f"B. MetaHDR protocol: input 0 EV, adaptation on −2/+2 EV, {len(scenes)} held-out views"))
    if a.json:
        from hdrkit.io.atomic import atomic_write_bytes

        atomic_write_bytes(a.json, json.dumps({"camera": sa, "metahdr": sb, "seconds": time.time() - t0,
                                               "per_image": {"camera": res_a, "metahdr": res_b},
                                               "scenes": [n for n, _ in scenes]}, indent=1).encode())
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
