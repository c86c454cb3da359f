"""``hdrkit decode``: SDR picture with embedded MLP -> HDR (16-bit PQ BT.2020 PNG/TIFF or linear-nits EXR)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import FORMAT_OPT


def decode(
    inputs: List[Path] = typer.Argument(..., help="Pictures written by `hdrkit encode` (or gain-map JPEGs), folders "
                                        "or globs."),
    out: Path = typer.Option(..., "-o", "--output", help="HDR output: .png/.tif (16-bit PQ BT.2020, HDR10) or "
                             ".exr/.hdr/.pfm (linear, 1.0 = 100 nits); a folder (created as needed) for several "
                             "inputs."),
    threads: Optional[int] = typer.Option(None, "--threads", help="worker threads of the decode and of the PNG "
                                          "writer [default: OMP_NUM_THREADS if set, else the usable cores]."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (cpu, cuda)."),
    fmt: str = FORMAT_OPT,
) -> None:
    """Rebuild the HDR picture from the SDR and its embedded MLP (or its gain map)."""
    from hdrkit.cli.common import expand_inputs, plan_outputs, run_jobs
    from hdrkit.errors import InputError

    if threads is not None and threads < 1:
        raise InputError("--threads must be >= 1")
    if device is not None and device != "cpu":  # torch only for another device
        import torch

        from hdrkit._array import resolve_device

        if threads:
            torch.set_num_threads(threads)
        resolve_device(device)  # a bad --device fails here, in one line, before any work
    files, many = expand_inputs(inputs, exts=(".jpg", ".jpeg", ".png", ".tif", ".tiff", ".exr"))
    jobs = plan_outputs(files, many, out, fmt)
    for _, o in jobs[:1]:
        if o.suffix.lower() not in (".png", ".tif", ".tiff", ".exr", ".hdr", ".pfm"):
            raise InputError(f"cannot write HDR as {o.suffix or 'an extension-less file'}; use .png, .tif or .exr")
    run_jobs(jobs, "decoding", lambda src, o, progress: _decode_one(src, o, threads, device, progress))


def _decode_one(src: Path, out: Path, threads: Optional[int], device: Optional[str], progress) -> str:
    from hdrkit.codec.api import decode_to_file
    from hdrkit.io.read import describe_file

    d = decode_to_file(src, out, device=device, threads=threads, progress=progress)
    if d.source == "gainmap":
        return f"wrote {out} ({describe_file(out)}) from a {d.detail}"
    return f"wrote {out} ({describe_file(out)}; content peak {d.peak_nits:.0f} nits)"


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
