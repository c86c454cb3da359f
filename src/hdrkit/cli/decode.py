"""``hdrkit decode``: SDR picture with embedded MLP -> HDR (16-bit PQ BT.2020 PNG/TIFF or linear-nits EXR)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer


def decode(
    src: Path = typer.Argument(..., help="Picture written by `hdrkit encode`."),
    out: Path = typer.Option(..., "-o", "--output", help="HDR output: .png/.tif (16-bit PQ BT.2020, HDR10) or "
                             ".exr (linear nits, BT.2020)."),
    threads: int = typer.Option(1, "--threads", help="worker threads of the decode."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (cpu, cuda)."),
) -> None:
    """Rebuild the HDR picture from the SDR and its embedded MLP."""
    from hdrkit.cli.common import check_output_path, rich_progress
    from hdrkit.codec.api import decode_file
    from hdrkit.errors import InputError
    from hdrkit.io import Image, write_image

    if threads < 1:
        raise InputError("--threads must be >= 1")
    if device is not None and device != "cpu":  # torch only for another device
        import torch

        from hdrkit._array import resolve_device

        torch.set_num_threads(threads)
        resolve_device(device)  # a bad --device fails here, in one line, before any work
    check_output_path(out, [src])
    if out.suffix.lower() not in (".png", ".tif", ".tiff", ".exr", ".hdr", ".pfm"):
        raise InputError(f"cannot write HDR as {out.suffix or 'an extension-less file'}; use .png, .tif or .exr")
    from hdrkit.codec.ultrahdr import sniff_ultrahdr

    if sniff_ultrahdr(src):  # Ultra HDR JPEG (gain map): `hdrkit encode --method gainmap` or any other writer
        from hdrkit import color
        from hdrkit.codec.ultrahdr import decode_ultrahdr

        nits, f = decode_ultrahdr(src)
        pq = color.pq_inverse_eotf(nits).astype("float32")
        write_image(out, Image(pq, primaries="bt2020", transfer="pq"),
                    bit_depth=16 if out.suffix.lower() in (".png", ".tif", ".tiff") else None,
                    png_compression=1)
        typer.echo(f"{out}: {pq.shape[1]}x{pq.shape[0]} HDR from an Ultra HDR gain map "
                   f"({f.metadata.channels}-channel, metadata from {f.source.upper()})")
        return
    with rich_progress("decoding") as progress:
        pq, c = decode_file(src, device=device, progress=progress, threads=threads)
    img = Image(pq, primaries="bt2020", transfer="pq")
    write_image(out, img, bit_depth=16 if out.suffix.lower() in (".png", ".tif", ".tiff") else None,
                    png_compression=1)
    typer.echo(f"{out}: {pq.shape[1]}x{pq.shape[0]} HDR (PQ BT.2020, peak {c.hdr.nits:.0f} nits)")


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
