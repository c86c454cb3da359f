"""``hdrkit info FILE``: size, encoding, luminance statistics and clipping of an image file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import List, Optional

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
        "negative_percent": float(100.0 * np.any(nits < -1e-3, axis=-1).mean()),  # beyond float rounding
        "colour_source": img.meta.get("colour_source"),
    }


def gainmap_info(path) -> Optional[dict]:
    """The gain map of a gain-map JPEG (Ultra HDR / ISO 21496-1 / Adobe hdrgm / Apple), or None."""
    from hdrkit.codec import ultrahdr as U

    if not U.sniff_ultrahdr(path):
        return None
    f = U.parse_ultrahdr(Path(path).read_bytes())
    m = f.metadata
    names = {"bt709": "BT.709", "p3d65": "Display P3", "bt2020": "BT.2020"}
    return {
        "metadata": {"iso": "ISO 21496-1", "xmp": "Adobe hdrgm XMP", "apple": "Apple HDRGainMap"}[f.source],
        "channels": m.channels,
        "headroom": 2.0 ** m.capacity_max,
        "max_boost": 2.0 ** max(m.max_log2),
        "min_boost": 2.0 ** min(m.min_log2),
        "base_primaries": f.base_primaries,
        "map_primaries": f.space,
        "colour_space": f"applied in {names[f.space]} "
                        f"({'the base image gamut' if m.use_base_colour_space else 'its own colour space'})",
        "map_bytes": f.gainmap_size,
        "located_by": f.located_by,
        "mpf_primary_size": f.mpf_primary_size,
        "primary_size": f.primary_size,
    }


def hdrkit_metadata_info(path) -> Optional[dict]:
    """The hdrkit metadata (embedded MLP) a picture carries — where, how many bytes, the network's architecture —
    or None when it has none; ``{"error": ...}`` when the metadata is there but unreadable."""
    from dataclasses import asdict

    from hdrkit.codec.adapters import carrier_of, read_blob
    from hdrkit.codec.container import unpack
    from hdrkit.errors import HdrkitError, MetadataError

    try:
        blob = read_blob(path)
    except MetadataError:
        return None
    carrier = carrier_of(path)
    try:
        c = unpack(blob)
    except HdrkitError as exc:
        return {"bytes": len(blob), "carrier": carrier, "error": str(exc)}
    return {
        "bytes": len(blob),
        "carrier": carrier,
        "architecture": {"model": type(c.cfg).__name__, **asdict(c.cfg)},
        "parameters": int(sum(int(v.size) for v in c.weights.values())),
        "quant": c.quant,
        "hdr": asdict(c.hdr),
        "sdr": asdict(c.sdr),
        "made_for": [c.width, c.height] if c.width and c.height else None,
    }


def _arch_text(a: dict) -> str:
    rest = ", ".join(f"{k} {'x'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}"
                     for k, v in a.items() if k != "model")
    return f"{a['model']} ({rest})"


def register(app: typer.Typer) -> None:
    @app.command("info")
    def info(
        files: List[Path] = typer.Argument(..., help="Image files (EXR, HDR, PFM, PNG, TIFF, JPEG, AVIF), folders, "
                                           "globs, or sample:NAME for a shipped sample."),
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object instead of a table (a list of "
                                     "them, each with its \"file\", for several files)."),
    ) -> None:
        """Size, encoding, min/median/max luminance in nits, % clipped pixels, gain map and hdrkit metadata (the
        embedded MLP: bytes, architecture) of each FILE."""
        from hdrkit.cli.common import expand_inputs
        from hdrkit.io import read_image

        paths, many = expand_inputs(files)
        records = []
        for file in paths:
            img = read_image(file, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
            s = image_stats(img)
            if s["format"] == "jpeg":
                s["gainmap"] = gainmap_info(file)
            s["hdrkit"] = hdrkit_metadata_info(file)
            if as_json:
                records.append({"file": str(file), **s} if many else s)
                continue
            depth = f", {s['bit_depth']}-bit" if s["bit_depth"] else ""
            typer.echo(f"{file}: {s['width']}×{s['height']} {s['format'].upper()}{depth}{', alpha' if s['alpha'] else ''}")
            typer.echo(f"  encoding   {s['encoding']}")
            typer.echo(f"  luminance  min {s['min_nits']:.4g}  median {s['median_nits']:.4g}  max {s['max_nits']:.4g} nits")
            typer.echo(f"  clipped    {s['clipped_percent']:.2f} % ({s['clip_rule']})")
            if s["negative_percent"] > 0:
                typer.echo(f"  negative   {s['negative_percent']:.2f} % (out of the BT.2020 gamut)")
            if s["colour_source"]:
                typer.echo(f"  signalled  {s['colour_source']}")
            g = s.get("gainmap")
            if g:
                typer.echo(f"  gain map   {g['channels']}-channel, {g['metadata']}, headroom {g['headroom']:.3g}x "
                           f"(boost {g['min_boost']:.3g}..{g['max_boost']:.3g}x), {g['colour_space']}, "
                           f"{g['map_bytes']:,} bytes")
            elif s["format"] == "jpeg":
                typer.echo("  gain map   none")
            h = s["hdrkit"]
            if h and "error" in h:
                typer.echo(f"  hdrkit     {h['bytes']:,} bytes of hdrkit metadata ({h['carrier']}), unreadable: {h['error']}")
            elif h:
                typer.echo(f"  hdrkit     {h['bytes']:,} bytes of metadata ({h['carrier']}): {_arch_text(h['architecture'])}, "
                           f"{h['parameters']:,} parameters, {h['quant']}; decodes to {h['hdr']['primaries']} "
                           f"{h['hdr']['transfer']} peak {h['hdr']['nits']:g} nits (`hdrkit decode`)")
            else:
                typer.echo("  hdrkit     no hdrkit metadata")
        if as_json:
            typer.echo(json.dumps(records if many else records[0]))
