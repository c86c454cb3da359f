"""``hdrkit convert IN -o OUT``: re-encode an image (primaries, transfer, luminance scale, file format)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hdrkit.cli.options import NITS_OPT, OUT_OPT, PRIMARIES_OPT, TRANSFER_OPT


def register(app: typer.Typer) -> None:
    @app.command("convert")
    def convert(
        input: Path = typer.Argument(..., help="Input image."),
        output: Path = OUT_OPT,
        primaries: Optional[str] = typer.Option(None, "--primaries", help="Target primaries: bt709, bt2020, p3d65."),
        transfer: Optional[str] = typer.Option(None, "--transfer", help="Target transfer: linear, srgb, bt1886, pq, hlg."),
        nits_per_unit: Optional[float] = typer.Option(None, "--nits-per-unit", help="Target meaning of 1.0 in nits."),
        in_primaries: Optional[str] = typer.Option(None, "--in-primaries", help="Override the input's primaries."),
        in_transfer: Optional[str] = typer.Option(None, "--in-transfer", help="Override the input's transfer."),
        in_nits_per_unit: Optional[float] = typer.Option(None, "--in-nits-per-unit", help="Override the input's 1.0 in nits."),
        bit_depth: Optional[int] = typer.Option(None, "--bit-depth", help="8, 16 (PNG/TIFF) or 32 (float TIFF)."),
        quality: Optional[int] = typer.Option(None, "--quality", help="JPEG/AVIF quality 1..100 (default 95)."),
        half: bool = typer.Option(False, "--half", help="EXR: store float16 instead of float32."),
    ) -> None:
        """Convert IN to OUT's format and the requested encoding (defaults: what OUT's format implies).

        Example: an EXR to HDR10 PNG: `hdrkit convert in.exr -o out.png` (16-bit PQ BT.2020);
        an SDR JPEG to linear BT.2020 nits: `hdrkit convert in.jpg -o out.exr --primaries bt2020`.
        """
        from hdrkit.cli.common import check_output_path
        from hdrkit.color import convert as convert_image
        from hdrkit.io import format_of, read_image, write_image

        from hdrkit.cli.common import resolve_input

        input = resolve_input(input)
        check_output_path(output, [input])
        fmt = format_of(output)
        img = read_image(input, primaries=in_primaries, transfer=in_transfer, nits_per_unit=in_nits_per_unit)
        from hdrkit.errors import InputError
        from hdrkit.io.read import describe_file

        if fmt in ("png", "tiff") and primaries is None and transfer is None and bit_depth in (None, 16) \
                and img.transfer == "linear":
            primaries, transfer = "bt2020", "pq"
        if fmt in ("exr", "hdr", "pfm") or (fmt == "tiff" and bit_depth == 32):
            if transfer not in (None, "linear"):
                raise InputError(f"{fmt.upper()} output holds linear light; --transfer {transfer} cannot be stored")
            transfer = "linear"  # float files keep the input's primaries and scale unless told otherwise
            if nits_per_unit is None and img.transfer != "linear":
                nits_per_unit = 100.0
        target = transfer or img.transfer
        if nits_per_unit is not None and target == "pq":
            raise InputError("--nits-per-unit has no meaning for PQ output (PQ code values are absolute nits)")
        if any(v is not None for v in (primaries, transfer, nits_per_unit)):
            img = convert_image(img, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
        write_image(output, img, bit_depth=bit_depth, quality=quality, half=half)
        typer.echo(f"wrote {output} ({describe_file(output)})")
