"""Benchmark of the embedded-MLP codec: quality, metadata bytes, adaptation and decode time per image, and the
decode speed against the GEMM bound of the same network measured in the same process."""

from __future__ import annotations

import os
import platform
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn, report

QUALITY_KEYS = ("pu_psnr", "pu_psnr_y", "delta_itp", "pq_psnr")


def find_pairs(folder: str | Path, tmo: Optional[str] = None) -> List[Tuple[str, Path, Path]]:
    """``(name, hdr, sdr)`` for every ``NAME_hdr.png`` with a ``NAME_sdr.png`` (the ``hdrkit pairs`` layout);
    with several operators per image (``NAME_TMO_sdr.png``) pass ``tmo``, else a single one is taken."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"no such folder: {folder}")
    out = []
    for hdr in sorted(folder.glob("*_hdr.*")):
        stem = hdr.name[: hdr.name.rindex("_hdr.")]
        if tmo is not None:
            cands = sorted(folder.glob(f"{stem}_{tmo}_sdr.*"))
        else:
            cands = sorted(folder.glob(f"{stem}_sdr.*")) or sorted(
                p for p in folder.glob(f"{stem}_*_sdr.*") if not p.name.endswith(".hdrkit"))
        if len(cands) == 1:
            out.append((stem, hdr, cands[0]))
    if not out:
        raise InputError(f"{folder} holds no NAME_hdr.png / NAME_sdr.png pairs (make them with `hdrkit pairs`)")
    return out


def _vm_kb(field: str = "VmRSS") -> Optional[int]:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(re.findall(r"\d+", line)[0])
    except OSError:
        return None
    return None


@dataclass
class Row:
    name: str
    size: str
    bytes: int
    adapt_s: float
    adapt_cpu_s: float
    decode_s: float
    decode_cpu_s: float
    gemm_bound_s: float
    pu_psnr: float
    pu_psnr_y: float
    delta_itp: float
    pq_psnr: float

    @property
    def ratio(self) -> float:
        return self.decode_s / self.gemm_bound_s


def bench_pairs(
    pairs: Sequence[Tuple[str, Path, Path]],
    *,
    adapt_cfg=None,
    fmt: str = "png",
    quant: str = "fp16",
    theta_init: Optional[str] = None,
    gflops: Optional[float] = None,
    progress: Optional[ProgressFn] = None,
) -> Tuple[List[Row], float]:
    """Encode each pair into a temporary ``.fmt`` file, decode it, score it; returns rows and the measured
    matmul GFLOP/s used for the GEMM bound."""
    from hdrkit import color
    from hdrkit.codec.api import decode_file, encode_file
    from hdrkit.io import read_image
    from hdrkit.metrics import evaluate
    from hdrkit.models.fast import gemm_bound_seconds, measure_matmul_gflops

    g = gflops or measure_matmul_gflops()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hdrkit-bench-") as tmp:
        for i, (name, hdr_p, sdr_p) in enumerate(pairs):
            out = Path(tmp) / f"{name}.{fmt}"
            res = encode_file(hdr_p, sdr_p, out, adapt_cfg=adapt_cfg, quant=quant, theta_init=theta_init)
            t, tc = time.perf_counter(), time.process_time()
            pq, c = decode_file(out)
            dec, dec_cpu = time.perf_counter() - t, time.process_time() - tc
            ref = color.to_nits(read_image(hdr_p))
            test = np.asarray(color.pq_eotf(pq), dtype=np.float32)
            q = evaluate(ref, test, metrics=QUALITY_KEYS)
            h, w = pq.shape[:2]
            rows.append(Row(name, f"{w}x{h}", res.added_bytes, res.adapt_seconds, res.adapt_cpu_seconds, dec, dec_cpu,
                            gemm_bound_seconds(h, w, c.cfg, g), *(float(q[k]) for k in QUALITY_KEYS)))
            report(progress, i + 1, len(pairs), name)
    return rows, g


def bench_decode_4k(params=None, cfg=None, width: int = 3840, height: int = 2160, gflops: Optional[float] = None,
                    repeats: int = 3) -> dict:
    """Time :func:`decode_pq` on a ``width x height`` frame (best of ``repeats``; the one-time compile of the
    fused kernel is done first and timed on its own as ``compile_s``), with its GEMM bound and the peak
    extra resident memory (VmHWM growth over the input and output buffers)."""
    from hdrkit.codec.weights import load_theta
    from hdrkit.models import gammanet
    from hdrkit.models.fast import (decode_path, decode_pq, forward_flops, gemm_bound_seconds, measure_matmul_gflops,
                                    sustained_gemm_seconds)

    if cfg is None or params is None:
        cfg, params = load_theta()  # the shipped default network
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    sdr = np.stack([xx / width, yy / height, 0.5 + 0.5 * np.sin(xx / 37.0)], -1).astype(np.float32)
    sdr += rng.random(sdr.shape, dtype=np.float32) * 0.05
    del xx, yy
    gamma = isinstance(cfg, gammanet.GammaConfig)
    if gamma:  # the gamma family decodes 8-bit codes (what a file holds)
        sdr = np.clip(np.rint(sdr * 255), 0, 255).astype(np.uint8)

        def decode_path(cfg):  # noqa: F811 - the family's own kernel
            return gammanet.decode_path()

        def decode_pq(params, sdr, cfg, progress=None):  # noqa: F811
            return gammanet.decode(params, sdr, cfg, progress=progress)
    g = gflops or measure_matmul_gflops()
    flops = forward_flops(cfg) * width * height
    rss0 = _vm_kb()
    peak = [rss0 or 0]

    def sample(done: int, total: int, desc: str) -> None:  # resident memory, sampled after every chunk
        if done % 64 == 0 or done == total:
            peak[0] = max(peak[0], _vm_kb() or 0)

    t = time.perf_counter()
    path = decode_path(cfg)  # compiles the fused kernel where it is the path taken
    compile_s = time.perf_counter() - t
    times, cpu, sustained = [], [], []
    for _ in range(repeats):  # each decode right after the same FLOPs of GEMMs, so both see the same machine
        sustained.append(sustained_gemm_seconds(flops))
        t, tc = time.perf_counter(), time.process_time()
        res = decode_pq(params, sdr, cfg, progress=sample)
        times.append(time.perf_counter() - t)
        cpu.append(time.process_time() - tc)
        del res
    bound = gemm_bound_seconds(height, width, cfg, g)
    return {
        "width": width, "height": height, "decode_s": min(times), "decode_s_all": times, "decode_cpu_s_all": cpu,
        "gemm_gflops": g, "gemm_bound_s": bound, "ratio": min(times) / bound,
        "flops_per_pixel": forward_flops(cfg), "path": path, "family": getattr(cfg, "family", "siren"),
        "compile_s": compile_s,
        "gemm_sustained_s_all": sustained, "ratio_sustained": min(times) / min(sustained),
        # resident memory above the input frame, sampled every 64 rows: includes the 100 MB float32 output
        "extra_peak_mb": None if rss0 is None else (peak[0] - rss0) / 1024.0,
    }


def machine_line(threads: int) -> str:
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {threads}"


def markdown(rows: List[Row], g: float, settings: str, dec4k: Optional[dict], note: str = "") -> str:
    lines = [f"Settings: {settings}", "", f"Measured fp32 matmul throughput (1024² GEMM, same process, at the start; the per-image rows use it, the 4K decode measures its own just before): {g:.1f} GFLOP/s",
             ""]
    if note:
        lines += [note, ""]
    lines += ["Times are wall seconds (CPU seconds of this process in brackets: equal to wall time when the "
              "process has its cores to itself).", "",
              "| image | size | metadata bytes | adapt s | adapt s/MP | decode s | decode / GEMM bound | PU-PSNR | "
              "PU-PSNR-Y | ΔE_ITP | PQ-PSNR |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def mp(r: Row) -> float:
        w, h = (int(v) for v in r.size.split("x"))
        return w * h / 1e6

    for r in rows:
        lines.append(f"| {r.name} | {r.size} | {r.bytes:,} | {r.adapt_s:.2f} ({r.adapt_cpu_s:.2f}) | "
                     f"{r.adapt_s / mp(r):.1f} ({r.adapt_cpu_s / mp(r):.1f}) | {r.decode_s:.3f} ({r.decode_cpu_s:.3f}) | "
                     f"{r.ratio:.2f} | {r.pu_psnr:.2f} | {r.pu_psnr_y:.2f} | {r.delta_itp:.2f} | {r.pq_psnr:.2f} |")
    if rows:
        m = lambda a: float(np.mean([getattr(r, a) for r in rows]))  # noqa: E731
        spm = np.mean([r.adapt_s / mp(r) for r in rows])
        cpm = np.mean([r.adapt_cpu_s / mp(r) for r in rows])
        lines.append(f"| **mean** | | {m('bytes'):,.0f} | {m('adapt_s'):.2f} ({m('adapt_cpu_s'):.2f}) | "
                     f"{spm:.1f} ({cpm:.1f}) | {m('decode_s'):.3f} ({m('decode_cpu_s'):.3f}) | "
                     f"{np.mean([r.ratio for r in rows]):.2f} | **{m('pu_psnr'):.2f}** | {m('pu_psnr_y'):.2f} | "
                     f"{m('delta_itp'):.2f} | {m('pq_psnr'):.2f} |")
    if dec4k:
        lines += ["", f"4K decode ({dec4k['width']}x{dec4k['height']}, {dec4k.get('path', '?')}; one-time kernel "
                  f"compile {dec4k.get('compile_s', 0):.2f} s, not included): {dec4k['decode_s']:.2f} s (best of "
                  f"{len(dec4k['decode_s_all'])}; CPU s {', '.join(f'{c:.2f}' for c in dec4k['decode_cpu_s_all'])}); GEMM bound {dec4k['gemm_bound_s']:.2f} s "
                  f"({dec4k['flops_per_pixel']} FLOP/pixel at {dec4k['gemm_gflops']:.1f} GFLOP/s); ratio "
                  f"{dec4k['ratio']:.2f} (CPU-time ratio {min(dec4k['decode_cpu_s_all']) / dec4k['gemm_bound_s']:.2f}); "
                  f"resident memory above the input frame {dec4k['extra_peak_mb']:.0f} MB (output frame included)"]
        if "ratio_sustained" in dec4k:
            lines += ["", "Same FLOPs as back-to-back 1024² GEMMs, each run just before a decode: "
                      f"{', '.join(f'{x:.2f}' for x in dec4k['gemm_sustained_s_all'])} s; best decode / best of "
                      f"these: {dec4k['ratio_sustained']:.2f} (the ratio above uses the best short GEMM burst, "
                      "the stricter of the two)"]
    return "\n".join(lines) + "\n"
