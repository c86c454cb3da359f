"""``hdrkit info FILE``: size, encoding, luminance statistics and clipping of an image file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from hdrkit.cli.options import PRIMARIES_OPT, NITS_OPT, TRANSFER_OPT


def image_stats(img) -> dict:
    """Luminance statistics (cd/m², BT.2020 luminance of absolute linear light) and clipping of an Image."""
    import numpy as np

    from hdrkit.color import luminance

    nits = img.nits("bt2020")
    Y = luminance(nits, "bt2020")
    bits = img.meta.get("bit_depth")
    if img.transfer != "linear" and bits in (8, 16):
        clipped = np.any(img.pixels >= 1.0, axis=-1) | np.all(img.pixels <= 0.0, axis=-1)
        clip_rule = "pixels with a channel at the top code value, or all channels at 0"
    else:
        clipped = np.any(nits > 10000.0, axis=-1)
        clip_rule = "pixels above 10,000 nits (clipped by PQ)"
    return {
        "width": img.width,
        "height": img.height,
        "format": img.meta.get("format"),
        "bit_depth": bits,
        "encoding": img.encoding(),
        "primaries": img.primaries,
        "transfer": img.transfer,
        "nits_per_unit": img.nits_per_unit,
        "alpha": img.alpha is not None,
        "min_nits": float(Y.min()),
        "median_nits": float(np.median(Y)),
        "max_nits": float(Y.max()),
        "clipped_percent": float(100.0 * clipped.mean()),
        "clip_rule": clip_rule,
        "negative_percent": float(100.0 * np.any(nits < 0, axis=-1).mean()),
    }


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        file: Path = typer.Argument(..., help="Image file (EXR, HDR, PFM, PNG, TIFF, JPEG, AVIF), or sample:NAME for a shipped sample."),
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table."),
    ) -> None:
        """Size, encoding, min/median/max luminance in nits and % clipped pixels of FILE."""
        from hdrkit.io import read_image

        from hdrkit.cli.common import resolve_input

        file = resolve_input(file)
        img = read_image(file, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
        s = image_stats(img)
        if as_json:
            typer.echo(json.dumps(s))
            return
        depth = f", {s['bit_depth']}-bit" if s["bit_depth"] else ""
        typer.echo(f"{file}: {s['width']}×{s['height']} {s['format'].upper()}{depth}{', alpha' if s['alpha'] else ''}")
        typer.echo(f"  encoding   {s['encoding']}")
        typer.echo(f"  luminance  min {s['min_nits']:.4g}  median {s['median_nits']:.4g}  max {s['max_nits']:.4g} nits")
        typer.echo(f"  clipped    {s['clipped_percent']:.2f} % ({s['clip_rule']})")
        if s["negative_percent"] > 0:
            typer.echo(f"  negative   {s['negative_percent']:.2f} % (out of the BT.2020 gamut)")
