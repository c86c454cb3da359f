"""Benchmark of blind up-conversion (issue 16): every blind method × four SDR operators on the held-out scenes.

    OMP_NUM_THREADS=1 python scripts/bench_blind_expand.py --data ../shared/data --json docs/expand/bench_blind_expand.json
    OMP_NUM_THREADS=1 python scripts/bench_blind_expand.py --data ../shared/data --split dev --only gcm


Scenes: the held-out panoramas of ``hdrkit.data.split.HELD_OUT`` (``hdr_extra``; never trained or tuned on),
perspective views (yaw 0°, 90°, 180°, 270°, pitch 0°, 75° field of view, 256×256), each mastered to HDR10
(``hdrkit.tonemap.master_hdr10``: 1000 cd/m² peak, log-average 26 cd/m²).  Reference = that master.
SDR operators: the YouTube HDR10→SDR LUT, OpenColorIO ACES 1.0 SDR video, ITU-R BT.2446-1 method A (the
tone-mapping dispatcher's defaults) and the virtual camera (``hdrkit.data.VirtualCamera``, Eilertsen et al. 2017:
5–15 % saturated, noise, JPEG in half the shots; one seeded draw per view).

Metrics per image (``hdrkit.metrics.evaluate``), then averaged: PU21-PSNR, PU21-SSIM, ΔE_ITP (BT.2124), PSNR of PQ
code values; seconds per megapixel (one thread, the method's call only); and the ICtCp hue-angle error
(``hdrkit.metrics.ictcp_hue_error``) over the pixels the SDR clipped (largest code value ≥ 254/255) whose master
is not neutral, pooled over all views of an operator, plus the share of those pixels whose output is more
neutral (``hdrkit.metrics.neutrality``, compared in BT.709) than the SDR.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

OPERATORS = ("youtube", "ocio", "bt2446a", "camera")
CLIP_CODE = 254.0 / 255.0


def views(files, size: int, yaws=(0, 90, 180, 270), peak: float = 1000.0):
    """``(name, master)`` of each panorama's perspective views (pitch 0°, 75° field of view, ``size``²), mastered
    to HDR10 at ``peak`` cd/m² (log-average 26 cd/m²)."""
    from hdrkit.data import load_hdr_nits, perspective_view
    from hdrkit.tonemap import master_hdr10

    out = []
    for f in files:
        pano = load_hdr_nits(f)
        for yaw in yaws:
            v = perspective_view(pano, yaw=float(yaw), pitch=0.0, fov=75.0, size=size)
            out.append((f"{f.stem}@{yaw}", master_hdr10(np.clip(v, 0, None), peak=peak, mid=26.0)))
    return out


def split_files(data: str, split: str):
    """The panoramas of ``split``: ``held-out`` (:data:`hdrkit.data.split.HELD_OUT`), ``val`` (the model-selection
    scenes :data:`hdrkit.data.split.VALIDATION`: only for models trained without them) or ``dev`` (the 8 training
    panoramas of ``hdr/``)."""
    from hdrkit.data.split import held_out_files, training_files, validation_files

    if split == "held-out":
        return held_out_files(data)
    if split == "val":
        return validation_files(data)
    return training_files(data)[:8]


def sdr_of(master, op: str, rng):
    from hdrkit.data import VirtualCamera, quantize_sdr
    from hdrkit.tonemap import tonemap

    if op == "camera":
        cam = VirtualCamera()
        return cam.apply(master, cam.make_params(rng)).astype(np.float64)
    return quantize_sdr(tonemap(master, op)).astype(np.float64)


def methods(gcm_weights=None):
    import functools

    from hdrkit.expand import METHODS, classical

    rows = {"plain linearisation (BT.1886, white 203 cd/m²)": lambda x: classical.linear(x, peak=203.0)}
    for name in ("linear", "akyuz2007", "masia2009", "masia2017", "huo2014", "kovaleski2014", "bt2446c"):
        rows[name] = METHODS[name]
    rows["unet"] = METHODS["unet"]
    rows["metahdr (single shot)"] = METHODS["metahdr"]
    rows["gcm"] = METHODS["gcm"] if gcm_weights is None else functools.partial(METHODS["gcm"], model=gcm_weights)
    return rows


def timing(data: str, method: str = "gcm", repeats: int = 3, peak=None) -> list:
    """Wall and CPU seconds of ``method`` on camera SDR of a held-out view at 1920×1080 and 3840×2160 (one torch
    thread, best of ``repeats``, after a warm-up call); ``peak``: called with it (gcm above 1000: the dome)."""
    from hdrkit.data import VirtualCamera, load_hdr_nits, perspective_view
    from hdrkit.data.split import held_out_files
    from hdrkit.expand import METHODS
    from hdrkit.tonemap import master_hdr10

    pano = load_hdr_nits(held_out_files(data)[0])
    fn = METHODS[method]
    fn(np.full((16, 16, 3), 0.5))
    out = []
    for h, w in ((1080, 1920), (2160, 3840)):
        view = master_hdr10(np.clip(perspective_view(pano, yaw=30.0, fov=90.0, size=(h, w)), 0, None))
        cam = VirtualCamera()
        sdr = cam.apply(view, cam.make_params(np.random.default_rng(0)))
        best = None
        for _ in range(repeats):
            t, c = time.perf_counter(), time.process_time()
            fn(sdr) if peak is None else fn(sdr, peak=peak)
            r = (time.perf_counter() - t, time.process_time() - c)
            best = r if best is None or r[0] < best[0] else best
        out.append({"method": method, "size": [w, h], "peak": peak, "seconds": best[0], "cpu_seconds": best[1]})
        print(json.dumps(out[-1]))
    return out


def peak_check(data: str, size: int, seed: int, peak: float = 4000.0, level: float = 3000.0,
               methods=("gcm",), gcm_weights=None, split: str = "held-out") -> dict:
    """``--peak 4000``: held-out views mastered at ``peak``; SDR by each operator; for every method expanded with
    ``peak``: the views whose master reaches ``level``, how many of them the output reaches ``level`` in, and the
    share of the master's pixels ≥ ``level`` where the output is ≥ ``level`` too; the other way round, the views
    whose master stays below ``level`` and how many of them the output still reaches it in (false highlights);
    and the mean PU21-PSNR / PQ-PSNR against the ``peak`` master (is the whole grade right, not only its top)."""
    import functools

    from hdrkit.expand import METHODS
    from hdrkit.metrics import evaluate

    fns = {m: functools.partial(METHODS[m], model=gcm_weights) if m == "gcm" and gcm_weights else METHODS[m]
           for m in methods}
    files = split_files(data, split)
    scenes = [master for _, master in views(files, size, peak=peak)]
    out = {}
    for op in OPERATORS:
        rng = np.random.default_rng(seed)
        for m in methods:
            out.setdefault(op, {})[m] = {"views": 0, "views_reached": 0, "pixels": 0, "pixels_reached": 0,
                                         "views_below": 0, "views_below_reached": 0, "pu_psnr": [], "pq_psnr": []}
        for master in scenes:
            sdr = sdr_of(master, op, rng)
            lit = master.max(-1) >= level
            for m in methods:
                r = out[op][m]
                full = np.asarray(fns[m](sdr, peak=peak), np.float32)
                o = full.max(-1)
                if lit.any():
                    r["views"] += 1
                    r["views_reached"] += int(o.max() >= level)
                    r["pixels"] += int(lit.sum())
                    r["pixels_reached"] += int((o[lit] >= level).sum())
                else:
                    r["views_below"] += 1
                    r["views_below_reached"] += int(o.max() >= level)
                e = evaluate(master, full, metrics=["pu_psnr", "pq_psnr"])
                r["pu_psnr"].append(e["pu_psnr"])
                r["pq_psnr"].append(e["pq_psnr"])
        for m in methods:
            r = out[op][m]
            r["pu_psnr"], r["pq_psnr"] = float(np.mean(r["pu_psnr"])), float(np.mean(r["pq_psnr"]))
        print(op, json.dumps(out[op]), file=sys.stderr)
    return out


def main(argv=None) -> int:
    import torch

    from hdrkit.metrics import evaluate, ictcp_hue_error, neutrality
    from hdrkit.color import convert_primaries

    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True, help="folder holding hdr_extra/")
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--json")
    ap.add_argument("--seed", type=int, default=16)
    ap.add_argument("--only", default="", help="comma list of method rows to run (default: all; with "
                    "--peak-check: the methods to check, default gcm)")
    ap.add_argument("--timing", action="store_true", help="only time gcm at 1080p and 4K")
    ap.add_argument("--timing-peak", type=float, help="--timing: call gcm with this --peak")
    ap.add_argument("--peak-check", action="store_true", help="only the --peak 4000 highlight check")
    ap.add_argument("--split", choices=("held-out", "val", "dev"), default="held-out",
                    help="held-out: the HELD_OUT scenes (default); val: the VALIDATION scenes (model selection, "
                         "only for weights trained without them: the *-val recipes); dev: the 8 training panoramas of hdr/ (views "
                         "the trainer may have drawn: a training-fit figure, for design choices, not generalisation)")
    ap.add_argument("--gcm", help="gcm weight file to use instead of the shipped one")
    a = ap.parse_args(argv)
    torch.set_num_threads(1)
    if a.peak_check:
        pm = tuple(m.strip() for m in a.only.split(",") if m.strip()) or ("gcm",)
        res = peak_check(a.data, a.size, a.seed, methods=pm, gcm_weights=a.gcm, split=a.split)
        print("| SDR | method | views whose master reaches 3000 | of those, output reaches 3000 | "
              "master pixels ≥ 3000 also ≥ 3000 in the output | views whose master stays below 3000: output "
              "reaches 3000 | PU-PSNR / PQ-PSNR vs the 4000 master |\n|---|---|---:|---:|---:|---:|---:|")
        for op, per in res.items():
            for m, r in per.items():
                share = r["pixels_reached"] / r["pixels"] if r["pixels"] else float("nan")
                print(f"| {op} | {m} | {r['views']} | {r['views_reached']} | {100 * share:.0f} % | "
                      f"{r['views_below_reached']} of {r['views_below']} | {r['pu_psnr']:.2f} / {r['pq_psnr']:.2f} |")
        if a.json:
            from hdrkit.io.atomic import atomic_write_bytes

            atomic_write_bytes(a.json, json.dumps(res, indent=1).encode())
        return 0
    if a.timing:
        res = timing(a.data, peak=a.timing_peak)
        if a.json:
            from hdrkit.io.atomic import atomic_write_bytes

            atomic_write_bytes(a.json, json.dumps(res, indent=1).encode())
        return 0
    t0 = time.time()
    files = split_files(a.data, a.split)
    scenes = views(files, a.size)
    rows = methods(a.gcm)
    if a.only:
        keep = [s.strip() for s in a.only.split(",")]
        rows = {k: v for k, v in rows.items() if k in keep or k.startswith("plain")}
    for fn in rows.values():  # load weights / warm up outside the timings
        fn(np.full((16, 16, 3), 0.5))
    res = {op: {r: [] for r in rows} for op in OPERATORS}
    hue = {op: {r: [0.0, 0, 0] for r in rows} for op in OPERATORS}  # sum of errors, pixels, more-neutral count
    secs = {op: {r: 0.0 for r in rows} for op in OPERATORS}
    mp = 0.0
    for op in OPERATORS:
        rng = np.random.default_rng(a.seed)
        for name, master in scenes:
            sdr = sdr_of(master, op, rng)
            clipped = sdr.max(-1) >= CLIP_CODE
            mp += sdr.shape[0] * sdr.shape[1] / 1e6 / len(OPERATORS)
            n_sdr = neutrality(sdr ** 2.4)
            for r, fn in rows.items():
                t = time.perf_counter()
                out = np.asarray(fn(sdr), np.float32)
                secs[op][r] += time.perf_counter() - t
                res[op][r].append(evaluate(master, out, metrics=["pu_psnr", "pu_ssim", "delta_itp", "pq_psnr"]))
                if clipped.any():
                    e, n = ictcp_hue_error(master, out, clipped)
                    if n:
                        hue[op][r][0] += e * n
                        hue[op][r][1] += n
                    out709 = np.asarray(convert_primaries(out.astype(np.float64), "bt2020", "bt709"))
                    hue[op][r][2] += int((neutrality(out709)[clipped] > n_sdr[clipped] + 1e-6).sum())
            print(f"{op} {name} {time.time() - t0:.0f}s", file=sys.stderr)
    summary = {}
    for op in OPERATORS:
        summary[op] = {}
        for r in rows:
            per = res[op][r]
            s = {k: float(np.mean([p[k] for p in per])) for k in per[0]}
            s["s_per_mp"] = secs[op][r] / mp
            h = hue[op][r]
            s["hue_clipped_deg"] = h[0] / h[1] if h[1] else float("nan")
            s["clipped_pixels"] = h[1]
            s["more_neutral_pixels"] = h[2]
            summary[op][r] = s
    for op in OPERATORS:
        print(f"\n#### SDR by {op}: {len(scenes)} {a.split} views\n")
        print("| method | PU-PSNR ↑ | PU-SSIM ↑ | ΔE_ITP ↓ | PQ-PSNR ↑ | hue err. clipped (°) ↓ | s/MP |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for r, m in summary[op].items():
            print(f"| {r} | {m['pu_psnr']:.2f} | {m['pu_ssim']:.4f} | {m['delta_itp']:.2f} | {m['pq_psnr']:.2f} "
                  f"| {m['hue_clipped_deg']:.1f} | {m['s_per_mp']:.2f} |")
    if a.json:
        from hdrkit.io.atomic import atomic_write_bytes

        atomic_write_bytes(a.json, json.dumps({"summary": summary, "per_image": res, "scenes": [n for n, _ in scenes],
                                               "seconds": time.time() - t0}, indent=1).encode())
    print(f"\n{time.time() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
