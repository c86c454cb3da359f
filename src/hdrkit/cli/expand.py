"""``hdrkit expand IN -o OUT --method M``: inverse tone mapping of an SDR image to HDR."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _parse_params(items: Optional[List[str]]) -> dict:
    from hdrkit.errors import InputError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise InputError(f"--param {key.strip()} must be a number, got {value!r}") from None
    return out


def register(app: typer.Typer) -> None:
    @app.command("expand")
    def expand(
        input: Path = typer.Argument(..., help="SDR image (8-bit PNG/JPEG/TIFF, BT.709)."),
        output: Path = typer.Option(..., "-o", "--output", help="HDR output: .png/.tif = 16-bit HDR10 (PQ BT.2020), .exr = linear nits."),
        method: str = typer.Option("akyuz2007", "--method", help="linear, akyuz2007, masia2009, masia2017, huo2014, kovaleski2014 (and learned methods when installed)."),
        peak: Optional[float] = typer.Option(None, "--peak", help="Peak luminance in nits (operator default when omitted)."),
        param: Optional[List[str]] = typer.Option(None, "--param", help="Extra operator parameter NAME=VALUE (repeatable), e.g. gamma=1.5."),
    ) -> None:
        """Expand an SDR image to HDR with a classical inverse tone-mapping operator.

        Example: `hdrkit expand photo.jpg -o photo_hdr.png --method kovaleski2014 --peak 1000`
        """
        from hdrkit.cli.common import check_output_path, resolve_input
        from hdrkit.color import convert, from_nits
        from hdrkit.errors import InputError
        from hdrkit.expand import expand as expand_image
        from hdrkit.io import format_of, read_image, write_image

        input = resolve_input(input)
        check_output_path(output, [input])
        fmt = format_of(output)
        img = read_image(input)
        if img.is_hdr:
            raise InputError(f"{input.name} is already HDR ({img.encoding()}); expand takes an SDR image")
        sdr = convert(img, primaries="bt709", transfer="bt1886", nits_per_unit=img.nits_per_unit).pixels
        params = _parse_params(param)
        if peak is not None:
            params["peak"] = peak
        nits = expand_image(sdr, method=method, **params)
        transfer = "linear" if fmt in ("exr", "hdr", "pfm") else "pq"
        out = from_nits(nits, primaries="bt2020", transfer=transfer)
        write_image(output, out)
        typer.echo(f"wrote {output} ({out.width}×{out.height}, {out.encoding()}, {method}, peak {float(nits.max()):.0f} nits)")
