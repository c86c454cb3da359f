"""``hdrkit bench quality``: metadata methods (our MLP, gain maps, GamutMLP-, INF-style, naive) on the same pairs.

Registered on the ``hdrkit bench`` sub-app by :func:`register`.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

DEFAULT_METHODS = ["naive", "blind", "mlp", "gainmap:scale=4,q=95,ch=3", "gamutmlp", "inf"]


def quality(
    pairs: Path = typer.Option(..., "--pairs", help="Folder of NAME_hdr.png + NAME_sdr.png (`hdrkit pairs`)."),
    method: Optional[List[str]] = typer.Option(None, "--method", "-m", help="Method spec, repeatable: naive, "
                                               "blind, mlp[:quant=int8,steps=N,init=P,ef=F,resample=0], "
                                               "gainmap[:scale=4,q=95,ch=3], gamutmlp[:steps=N], gainmlp[:mode=gamma|gain,steps=N,batch=B,hidden=W], inf[:steps=N]."),
    exclude: Optional[List[str]] = typer.Option(None, "--exclude", help="Skip pairs whose name matches "
                                                "(shell pattern, repeatable)."),
    out_json: Optional[Path] = typer.Option(None, "--json", help="Write every row (per pair and method) here; "
                                            "rewritten after each row, so a long run keeps what it measured."),
    out_md: Optional[Path] = typer.Option(None, "--md", help="Write the table of means here."),
    threads: int = typer.Option(1, "--threads", help="torch threads (the 2-core machine: keep 1 when others run)."),
    note: str = typer.Option("", "--note", help="A line stored with the results (e.g. machine load)."),
) -> None:
    """Per pair and method: metadata bytes, encode/decode seconds, PU-PSNR, PU-PSNR-Y, PU-MS-SSIM, ΔE_ITP,
    PQ-PSNR, PQ-SSIM; prints the table of means.  Deterministic (fixed seeds)."""
    import json

    import torch

    from hdrkit.baselines.quality import load_pairs, parse_spec, run, table
    from hdrkit.codec.bench import machine_line
    from hdrkit.cli.common import rich_progress
    from hdrkit.errors import InputError
    from hdrkit.io.atomic import atomic_write_bytes

    if threads < 1:
        raise InputError("--threads must be >= 1")
    from hdrkit.cli.common import check_output_path

    for p in (out_json, out_md):  # -y/-n and the output folder, before any work
        if p is not None:
            check_output_path(p)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    specs = list(method or DEFAULT_METHODS)
    for s in specs:
        parse_spec(s)  # fail fast on a typo
    ps = load_pairs(pairs, exclude or ())
    record = {"pairs": str(pairs), "methods": specs, "exclude": list(exclude or ()), "note": note,
              "settings": machine_line(threads), "rows": []}

    def save(row):
        record["rows"].append(row)
        if out_json is not None:
            atomic_write_bytes(out_json, json.dumps(record, indent=1).encode())

    with rich_progress("bench quality") as progress:
        rows = run(ps, specs, progress=progress, on_row=save)
    md = table(rows)
    typer.echo(md)
    if out_md is not None:
        atomic_write_bytes(out_md, md.encode())


def quality_report(
    results: List[Path] = typer.Argument(..., help="JSON files written by `hdrkit bench quality --json`."),
    plot: Optional[Path] = typer.Option(None, "--plot", help="Rate-distortion PNG (PU-PSNR vs bytes); a second "
                                        "one for ΔE_ITP is written next to it with suffix _itp."),
    decode_4k: bool = typer.Option(False, "--decode-4k", help="Also time one 3840x2160 decode per method."),
    threads: int = typer.Option(1, "--threads", help="torch threads for the 4K timings."),
    common: bool = typer.Option(False, "--common", help="Also print one table over all files restricted to the "
                                "pairs every method finished."),
    combined: bool = typer.Option(False, "--combined", help="Also print one table over all files (all pairs)."),
    drop: Optional[List[str]] = typer.Option(None, "--drop", help="Leave out rows of this method spec "
                                             "(repeatable), e.g. superseded runs."),
) -> None:
    """Tables of means of saved results (one per file), the rate-distortion plots and the 4K decode timings."""
    import json

    import torch

    from hdrkit.baselines.quality import decode_4k as time_4k, rd_plot, table
    from hdrkit.cli.common import rich_progress
    from hdrkit.errors import InputError

    if threads < 1:
        raise InputError("--threads must be >= 1")
    if plot is not None:
        from hdrkit.cli.common import check_output_path

        check_output_path(plot, list(results))
        check_output_path(plot.with_name(plot.stem + "_itp" + plot.suffix), list(results))
    torch.set_num_threads(threads)
    all_rows = []
    for r in results:
        try:
            rec = json.loads(r.read_text())
            rows = rec["rows"]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{r} is not a `bench quality` JSON file ({exc})") from None
        rows = [x for x in rows if x.get("method") not in set(drop or ())]
        all_rows += rows
        typer.echo(f"### {r.name}\n\n{rec.get('note', '')}; {rec.get('settings', '')}\n")
        typer.echo(table(rows))
    if combined:
        typer.echo("### all files\n")
        typer.echo(table(all_rows))
    if common:
        from hdrkit.baselines.quality import common_pairs

        sel = common_pairs(all_rows)
        names = sorted(set(r["pair"] for r in sel))
        typer.echo(f"### all methods on the {len(names)} pairs every method finished ({', '.join(names)})\n")
        typer.echo(table(sel))
    if plot is not None:
        rd_plot(all_rows, plot, "pu_psnr")
        rd_plot(all_rows, plot.with_name(plot.stem + "_itp" + plot.suffix), "delta_itp")
    if decode_4k:
        with rich_progress("4K decode") as progress:
            t = time_4k(progress=progress)
        typer.echo("| method | 4K decode s |\n|---|---:|")
        for k, v in t.items():
            typer.echo(f"| {k} | {v:.2f} |")


def register(bench_app: typer.Typer) -> None:
    bench_app.command("quality")(quality)
    bench_app.command("quality-report")(quality_report)
