"""``hdrkit demo``: encode -> decode -> evaluate on the sample shipped in the package, printing the figures."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def demo(
    sample: str = typer.Option("sample:courtyard", "--sample", help="HDR picture to use (default: the shipped sample)."),
    keep: Optional[Path] = typer.Option(None, "--keep", help="Keep the encoded JPEG and decoded HDR PNG in this "
                                        "folder (created as needed)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Adaptation steps (default: the encoder's)."),
    threads: int = typer.Option(1, "--threads", help="torch threads."),
) -> None:
    """HDR shipped as SDR + ~18 KB MLP, end to end: make the SDR grade (YouTube LUT), encode it as a JPEG with the
    embedded MLP, decode the HDR back, and compare it with the master."""
    import tempfile
    import time
    from dataclasses import replace

    import numpy as np
    import torch

    from hdrkit import color
    from hdrkit.cli.common import check_output_path, output_folder, resolve_input, rich_progress
    from hdrkit.codec.api import decode_file, default_adapt_config, encode_file
    from hdrkit.errors import InputError
    from hdrkit.io import Image, read_image, write_image
    from hdrkit.metrics import evaluate

    if threads < 1:
        raise InputError("--threads must be >= 1")
    torch.set_num_threads(threads)
    src = resolve_input(sample)
    if keep is not None:
        output_folder(keep)
        for name in (f"{src.stem}.jpg", f"{src.stem}_hdr.png"):
            check_output_path(keep / name, [src])
    cfg = default_adapt_config() if steps is None else replace(default_adapt_config(), steps=steps)
    master = np.clip(color.to_nits(read_image(src)), 0, 10000).astype(np.float32)
    h, w = master.shape[:2]
    keys = ("pu_psnr", "pu_psnr_y", "delta_itp", "pq_psnr")
    with tempfile.TemporaryDirectory(prefix="hdrkit-demo-") as tmp:
        folder = keep or Path(tmp)
        jpg = folder / f"{src.stem}.jpg"
        with rich_progress("adapting") as progress:
            res = encode_file(src, None, jpg, progress=progress, adapt_cfg=cfg)
            t = time.perf_counter()
            pq, c = decode_file(jpg, progress=progress)
            dec_s = time.perf_counter() - t
        hdr = np.asarray(color.pq_eotf(pq), dtype=np.float32)
        if keep is not None:
            write_image(folder / f"{src.stem}_hdr.png", Image(pq, primaries="bt2020", transfer="pq"), bit_depth=16)
        total = jpg.stat().st_size
        q = evaluate(master, hdr, metrics=keys)
        plain = Image(res.sdr_pixels.astype(np.float32) / 255.0, primaries="bt709", transfer="bt1886")
        q0 = evaluate(master, color.to_nits(plain), metrics=keys)
    typer.echo(f"sample        {src.name}: {w}x{h}, HDR master peak {master.max():.0f} nits")
    typer.echo(f"encoded       {jpg.name}: {total:,} bytes = SDR JPEG q95 {total - len(res.blob):,} + hdrkit metadata "
               f"{len(res.blob):,} ({c.quant} MLP, {sum(v.size for v in c.weights.values()):,} parameters)")
    typer.echo(f"adaptation    {res.adapt_seconds:.2f} s ({res.info.steps_run} steps); decode {dec_s:.3f} s")
    typer.echo(f"decoded HDR   PU-PSNR {q['pu_psnr']:.2f} dB, PU-PSNR-Y {q['pu_psnr_y']:.2f} dB, "
               f"ΔE_ITP {q['delta_itp']:.2f}, PQ-PSNR {q['pq_psnr']:.2f} dB")
    typer.echo(f"plain SDR     PU-PSNR {q0['pu_psnr']:.2f} dB, PU-PSNR-Y {q0['pu_psnr_y']:.2f} dB, "
               f"ΔE_ITP {q0['delta_itp']:.2f}, PQ-PSNR {q0['pq_psnr']:.2f} dB  (SDR shown as is, white 203 nits)")
    if keep is not None:
        typer.echo(f"kept          {jpg} and {folder / (src.stem + '_hdr.png')}")


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
