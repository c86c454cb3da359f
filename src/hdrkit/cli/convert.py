"""``hdrkit convert IN -o OUT``: re-encode an image (primaries, transfer, luminance scale, file format)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import FORMAT_OPT


def register(app: typer.Typer) -> None:
    @app.command("convert")
    def convert(
        inputs: List[Path] = typer.Argument(..., help="Input images, folders or globs (sample:NAME for a shipped "
                                            "sample)."),
        output: Path = typer.Option(..., "-o", "--output", help="Output file, its extension picks the format; a "
                                    "folder (created as needed) for several inputs."),
        primaries: Optional[str] = typer.Option(None, "--primaries", help="Target primaries: bt709, bt2020, p3d65."),
        transfer: Optional[str] = typer.Option(None, "--transfer", help="Target transfer: linear, srgb, bt1886, pq, hlg."),
        nits_per_unit: Optional[float] = typer.Option(None, "--nits-per-unit", help="Target meaning of 1.0 in nits."),
        in_primaries: Optional[str] = typer.Option(None, "--in-primaries", help="Override the input's primaries."),
        in_transfer: Optional[str] = typer.Option(None, "--in-transfer", help="Override the input's transfer."),
        in_nits_per_unit: Optional[float] = typer.Option(None, "--in-nits-per-unit", help="Override the input's 1.0 in nits."),
        bit_depth: Optional[int] = typer.Option(None, "--bit-depth", help="8, 16 (PNG/TIFF) or 32 (float TIFF)."),
        quality: Optional[int] = typer.Option(None, "--quality", help="JPEG/AVIF quality 1..100 (default 95; HDR AVIF: lossless 4:4:4 Y'CbCr, within 1 code)."),
        half: bool = typer.Option(False, "--half", help="EXR: store float16 instead of float32."),
        fmt: str = FORMAT_OPT,
    ) -> None:
        """Convert IN to OUT's format and the requested encoding (defaults: what OUT's format implies).

        Example: an EXR to HDR10 PNG: `hdrkit convert in.exr -o out.png` (16-bit PQ BT.2020);
        an SDR JPEG to linear BT.2020 nits: `hdrkit convert in.jpg -o out.exr --primaries bt2020`.
        """
        from hdrkit.cli.common import expand_inputs, plan_outputs, run_jobs
        from hdrkit.color import convert as convert_image
        from hdrkit.errors import InputError
        from hdrkit.io import format_of, read_image, write_image
        from hdrkit.io.read import describe_file

        files, many = expand_inputs(inputs)
        jobs = plan_outputs(files, many, output, fmt)
        for _, out in jobs[:1]:
            format_of(out)  # an unknown output extension fails before any work

        def work(src: Path, out: Path, progress) -> str:
            fmt_out = format_of(out)
            to_primaries, to_transfer, to_nits = primaries, transfer, nits_per_unit
            img = read_image(src, primaries=in_primaries, transfer=in_transfer, nits_per_unit=in_nits_per_unit)
            if fmt_out in ("png", "tiff") and to_primaries is None and to_transfer is None \
                    and bit_depth in (None, 16) and img.transfer == "linear":
                to_primaries, to_transfer = "bt2020", "pq"
            if fmt_out in ("exr", "hdr", "pfm") or (fmt_out == "tiff" and bit_depth == 32):
                if to_transfer not in (None, "linear"):
                    raise InputError(f"{fmt_out.upper()} output holds linear light; --transfer {to_transfer} "
                                     "cannot be stored")
                to_transfer = "linear"  # float files keep the input's primaries and scale unless told otherwise
                if to_nits is None and img.transfer != "linear":
                    to_nits = 100.0
            target = to_transfer or img.transfer
            if to_nits is not None and target == "pq":
                raise InputError("--nits-per-unit has no meaning for PQ output (PQ code values are absolute nits)")
            if any(v is not None for v in (to_primaries, to_transfer, to_nits)):
                img = convert_image(img, primaries=to_primaries, transfer=to_transfer, nits_per_unit=to_nits)
            write_image(out, img, bit_depth=bit_depth, quality=quality, half=half)
            return f"wrote {out} ({describe_file(out)})"

        run_jobs(jobs, "converting", work)
