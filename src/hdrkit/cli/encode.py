"""``hdrkit encode``: HDR master (+ SDR grade) -> SDR picture carrying the embedded MLP."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def encode(
    hdr: Path = typer.Argument(..., help="HDR master (EXR, .hdr, 16-bit PQ PNG/TIFF, ...)."),
    sdr: Optional[Path] = typer.Argument(None, help="SDR grade of the same picture (8-bit); made with --tmo if omitted."),
    out: Path = typer.Option(..., "-o", "--output", help="Output SDR picture: .jpg/.png/.tif embed the MLP; "
                             "other formats get a <name>.hdrkit sidecar."),
    tmo: Optional[str] = typer.Option(None, "--tmo", help="Tone mapping for the SDR when none is given "
                                      "(youtube, bt2446a, reinhard, camera; default youtube)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Adaptation steps."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adaptation learning rate (Adam)."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Stop adapting after this many seconds."),
    quant: str = typer.Option("fp16", "--quant", help="Weight precision in the metadata: fp16, int8 or fp32."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality of the SDR picture."),
    init: Optional[Path] = typer.Option(None, "--init", help="Initial weights (.hdrkit); default: the shipped "
                                        "meta-trained theta_init; 'random' for SIREN random init."),
    threads: int = typer.Option(1, "--threads", help="torch threads."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (cpu, cuda)."),
) -> None:
    """Encode HDR as an SDR picture + ~18 KB of embedded MLP weights."""
    from dataclasses import replace

    import torch

    from hdrkit.cli.common import check_output_path, rich_progress
    from hdrkit.codec.api import encode_file
    from hdrkit.errors import InputError
    from hdrkit.meta.adapt import AdaptConfig

    if threads < 1:
        raise InputError("--threads must be >= 1")
    torch.set_num_threads(threads)
    inputs = [hdr] + ([sdr] if sdr is not None else [])
    check_output_path(out, inputs)
    cfg = AdaptConfig()
    if steps is not None:
        cfg = replace(cfg, steps=steps)
    if lr is not None:
        cfg = replace(cfg, lr=lr)
    if time_budget is not None:
        cfg = replace(cfg, time_budget=time_budget)
    with rich_progress("adapting") as progress:
        res = encode_file(hdr, sdr, out, tmo=tmo, adapt_cfg=cfg, quant=quant, quality=quality,
                          theta_init=str(init) if init is not None else None, device=device, progress=progress)
    typer.echo(f"{out}: {len(res.blob):,} bytes of metadata ({res.carrier}), adapted in {res.adapt_seconds:.1f} s "
               f"({res.info.steps_run} steps)")


def register(app: typer.Typer) -> None:
    app.command("encode")(encode)
