"""``hdrkit bench``: benchmarks (a Typer sub-app; ``bench codec`` here, others add their own commands)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

bench_app = typer.Typer(help="Benchmarks; results go to docs/.", no_args_is_help=True)


@bench_app.command("codec")
def codec(
    pairs: Optional[Path] = typer.Option(None, "--pairs", help="Folder of NAME_hdr.png + NAME_sdr.png pairs "
                                         "(`hdrkit pairs`)."),
    tmo: Optional[str] = typer.Option(None, "--tmo", help="With several operators per image: use NAME_TMO_sdr.png."),
    out_md: Optional[Path] = typer.Option(None, "--md", help="Write the markdown table here."),
    out_json: Optional[Path] = typer.Option(None, "--json", help="Write the JSON results here."),
    fmt: str = typer.Option("png", "--format", help="Container of the encoded SDR: png, jpg or tif."),
    steps: Optional[int] = typer.Option(None, "--steps"),
    lr: Optional[float] = typer.Option(None, "--lr"),
    error_fraction: Optional[float] = typer.Option(None, "--error-fraction", help="OHEM share (0 = uniform)."),
    no_resample: bool = typer.Option(False, "--no-resample", help="Keep the initial grid (uniform sampling)."),
    quant: str = typer.Option("fp16", "--quant"),
    init: Optional[str] = typer.Option(None, "--init", help="Initial weights (.hdrkit path, 'siren', 'random' or "
                                     "'random-gamma'; default: the gamma-map family)."),
    decode_4k: bool = typer.Option(True, "--decode-4k/--no-decode-4k", help="Also time a 3840x2160 decode."),
    threads: int = typer.Option(1, "--threads", help="torch threads."),
    note: str = typer.Option("", "--note", help="A line for the report (e.g. 'measured while other jobs ran')."),
) -> None:
    """Per image: metadata bytes, adaptation and decode seconds, PU-PSNR, PU-PSNR-Y, ΔE_ITP, PQ-PSNR; mean row;
    decode speed against the GEMM bound measured in the same process.  Deterministic (fixed seeds)."""
    import json
    from dataclasses import asdict, replace

    import torch

    from hdrkit.cli.common import replace_given, rich_progress
    from hdrkit.codec.bench import bench_decode_4k, bench_pairs, find_pairs, machine_line, markdown
    from hdrkit.errors import InputError
    from hdrkit.io.atomic import atomic_write_bytes
    from hdrkit.codec.api import default_adapt_config
    from hdrkit.models.fast import measure_matmul_gflops

    if threads < 1:
        raise InputError("--threads must be >= 1")
    from hdrkit.cli.common import check_output_path

    for p in (out_md, out_json):  # -y/-n and the output folder, before any work
        if p is not None:
            check_output_path(p)
    if fmt not in ("png", "jpg", "tif"):
        raise InputError(f"--format must be png, jpg or tif, got {fmt!r}")
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    cfg = replace_given(default_adapt_config(init), steps=steps, lr=lr)
    if error_fraction is not None or no_resample:
        if not hasattr(cfg, "resample_at"):
            raise InputError("--error-fraction / --no-resample apply to the SIREN family (--init siren)")
        cfg = replace_given(cfg, error_fraction=error_fraction)
        if no_resample:
            cfg = replace(cfg, resample_at=())
    g = measure_matmul_gflops()
    rows = []
    if pairs is not None:
        found = find_pairs(pairs, tmo)
        with rich_progress("benchmarking") as progress:
            rows, g = bench_pairs(found, adapt_cfg=cfg, fmt=fmt, quant=quant, theta_init=init, gflops=g,
                                  progress=progress)
    dec = bench_decode_4k() if decode_4k else None  # the shipped default network; its own GEMM throughput
    settings = (f"{machine_line(threads)}; format {fmt}, quant {quant}, "
                f"init {init or 'default (gamma-map family)'}, {cfg}")
    md = markdown(rows, g, settings, dec, note)
    typer.echo(md)
    if out_md is not None:
        atomic_write_bytes(out_md, md.encode())
    if out_json is not None:
        record = {"settings": settings, "note": note, "gemm_gflops": g,
                  "rows": [dict(asdict(r), ratio=r.ratio) for r in rows], "decode_4k": dec}
        atomic_write_bytes(out_json, json.dumps(record, indent=1).encode())


def register(app: typer.Typer) -> None:
    from hdrkit.cli import bench_quality  # `hdrkit bench quality` (issue 6) lives in its own module

    bench_quality.register(bench_app)
    app.add_typer(bench_app, name="bench")
