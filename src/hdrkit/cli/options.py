"""Options shared by several subcommands (kept import-light)."""

from __future__ import annotations

import typer

PRIMARIES_OPT = typer.Option(None, "--primaries", help="Override the file's primaries: bt709, bt2020, p3d65.")
TRANSFER_OPT = typer.Option(None, "--transfer", help="Override the file's transfer: linear, srgb, bt1886, pq, hlg.")
NITS_OPT = typer.Option(
    None, "--nits-per-unit",
    help="Override what 1.0 means in nits (linear: value 1.0; SDR: white; HLG: peak).",
)
OUT_OPT = typer.Option(..., "-o", "--output", help="Output file; its extension picks the format.")
PARAM_OPT = typer.Option(None, "--param", "-p", help="Operator parameter NAME=VALUE (repeatable); an unknown "
                         "name is an error that lists the valid ones.")
FORMAT_OPT = typer.Option("png", "--format", help="Output format (file extension) when -o is a folder.")
