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
    threads: int = typer.Option(1, "--threads", help="worker threads of the decode."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (cpu, cuda)."),
    fmt: str = FORMAT_OPT,
) -> None:
    """Rebuild the HDR picture from the SDR and its embedded MLP (or its gain map)."""
    from hdrkit.cli.common import expand_inputs, plan_outputs, run_jobs
    from hdrkit.errors import InputError

    if threads < 1:
        raise InputError("--threads must be >= 1")
    if device is not None and device != "cpu":  # torch only for another device
        import torch

        from hdrkit._array import resolve_device

        torch.set_num_threads(threads)
        resolve_device(device)  # a bad --device fails here, in one line, before any work
    files, many = expand_inputs(inputs, exts=(".jpg", ".jpeg", ".png", ".tif", ".tiff", ".exr"))
    jobs = plan_outputs(files, many, out, fmt)
    for _, o in jobs[:1]:
        if o.suffix.lower() not in (".png", ".tif", ".tiff", ".exr", ".hdr", ".pfm"):
            raise InputError(f"cannot write HDR as {o.suffix or 'an extension-less file'}; use .png, .tif or .exr")
    run_jobs(jobs, "decoding", lambda src, o, progress: _decode_one(src, o, threads, device, progress))


def _decode_one(src: Path, out: Path, threads: int, device: Optional[str], progress) -> str:
    from hdrkit.codec.api import decode_file
    from hdrkit.codec.ultrahdr import sniff_ultrahdr
    from hdrkit.errors import MetadataError
    from hdrkit.io import Image, write_image
    from hdrkit.io.read import describe_file

    bits = 16 if out.suffix.lower() in (".png", ".tif", ".tiff") else None
    if sniff_ultrahdr(src):  # gain-map JPEG: `hdrkit encode --method gainmap`, libultrahdr, a phone, Apple
        from hdrkit import color
        from hdrkit.codec.ultrahdr import decode_ultrahdr

        nits, f = decode_ultrahdr(src)
        if bits is None:  # float output: linear in the gamut the map was applied in, 1.0 = 100 nits
            lin = color.convert_primaries(nits, "bt2020", f.space) / 100.0
            img = Image(lin.astype("float32"), primaries=f.space, transfer="linear", nits_per_unit=100.0)
        else:
            img = Image(color.pq_inverse_eotf(nits).astype("float32"), primaries="bt2020", transfer="pq")
        write_image(out, img, bit_depth=bits, png_compression=1)
        kind = {"iso": "ISO 21496-1", "xmp": "Adobe hdrgm XMP", "apple": "Apple HDRGainMap"}[f.source]
        return (f"wrote {out} ({describe_file(out)}) from a {f.metadata.channels}-channel gain map "
                f"({kind}, headroom {2 ** f.metadata.capacity_max:.2f}x)")
    try:
        pq, c = decode_file(src, device=device, progress=progress, threads=threads)
    except MetadataError as exc:
        if src.suffix.lower() in (".jpg", ".jpeg") and "no hdrkit metadata" in str(exc):
            raise MetadataError(f"{src.name} has no gain map and no hdrkit metadata: a plain JPEG, nothing to "
                                f"decode") from None
        raise
    img = Image(pq, primaries="bt2020", transfer="pq")
    write_image(out, img, bit_depth=bits, png_compression=1)
    return f"wrote {out} ({describe_file(out)}; content peak {c.hdr.nits:.0f} nits)"


def register(app: typer.Typer) -> None:
    app.command("decode")(decode)
