"""``hdrkit eval REF TEST [--json] [--report DIR]``: HDR quality metrics of a pair of images or of two folders."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Optional

import typer

from hdrkit.cli.options import NITS_OPT, PRIMARIES_OPT, TRANSFER_OPT


def _json_value(v: float):
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _pairs(ref: Path, test: Path) -> list[tuple[str, Path, Path]]:
    """``[(name, ref_file, test_file)]`` for two files, or same-named files of two folders."""
    from hdrkit.errors import InputError
    from hdrkit.io import EXTENSIONS

    for p in (ref, test):
        if not p.exists():
            raise InputError(f"{p} does not exist")
    if ref.is_dir() != test.is_dir():
        raise InputError(f"give two files or two folders, not {'a folder' if ref.is_dir() else 'a file'} and "
                         f"{'a folder' if test.is_dir() else 'a file'}")
    if not ref.is_dir():
        return [(ref.name if ref.name == test.name else f"{ref.name} vs {test.name}", ref, test)]

    def images(folder: Path) -> dict[str, Path]:
        return {p.name: p for p in sorted(folder.iterdir())
                if p.is_file() and p.suffix.lower() in EXTENSIONS and not p.name.startswith(".")}

    a, b = images(ref), images(test)
    pairs = [(n, a[n], b[n]) for n in a if n in b]
    # same stem, different extension (e.g. ref .exr, test .png), when unambiguous
    stems_b: dict[str, list[Path]] = {}
    for p in b.values():
        stems_b.setdefault(p.stem, []).append(p)
    taken = {n for n, _, _ in pairs}
    for n, p in a.items():
        if n not in taken and len(stems_b.get(p.stem, [])) == 1 and stems_b[p.stem][0].name not in a:
            pairs.append((p.stem, p, stems_b[p.stem][0]))
    if not pairs:
        raise InputError(f"no same-named image files in {ref} and {test}")
    return sorted(pairs)


def _read(path: Path, primaries, transfer, nits_per_unit, warnings: list[str]):
    from hdrkit.io import read_image

    img = read_image(path, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
    if not img.is_hdr:
        warnings.append(
            f"{path} is SDR ({img.encoding()}); it is compared as display light with white at "
            f"{img.nits_per_unit:g} nits -- pass an HDR file if that was a mistake"
        )
    return img


def register(app: typer.Typer) -> None:
    @app.command("eval")
    def eval_cmd(
        ref: Path = typer.Argument(..., help="Reference HDR image, or a folder of them."),
        test: Path = typer.Argument(..., help="Test HDR image, or a folder with same-named files."),
        as_json: bool = typer.Option(False, "--json", help="Print one JSON object to stdout instead of a table."),
        report_dir: Optional[Path] = typer.Option(
            None, "--report", help="Write a self-contained HTML report to DIR/index.html."),
        cvvdp: bool = typer.Option(False, "--cvvdp", help="Also compute ColorVideoVDP (needs the cvvdp extra)."),
        metrics: Optional[str] = typer.Option(
            None, "--metrics", help="Comma-separated subset, e.g. pu_psnr,delta_itp (default: all but cvvdp)."),
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
    ) -> None:
        """PU21-PSNR/PSNR-Y/SSIM/MS-SSIM/FSIM/VSI, ΔE_ITP and PQ-PSNR/SSIM of TEST against REF.

        Any readable encoding is converted to absolute BT.2020 nits first.  Folders: per-image rows and a mean.
        """
        from hdrkit.cli.common import rich_progress
        from hdrkit.errors import InputError
        from hdrkit.metrics import evaluate
        from hdrkit.metrics.report import ReportItem, mean_metrics, write_report

        keys = None if metrics is None else [k.strip() for k in metrics.split(",") if k.strip()]
        pairs = _pairs(ref, test)
        if report_dir is not None:  # -y/-n and the folder (created as needed), before any work
            from hdrkit.cli.common import check_output_path

            check_output_path(report_dir / "index.html", [ref, test])
        warnings: list[str] = []
        rows: list[tuple[str, dict[str, float]]] = []
        items: list[ReportItem] = []
        with rich_progress("eval") as progress:
            for i, (name, rp, tp) in enumerate(pairs):
                r = _read(rp, primaries, transfer, nits_per_unit, warnings)
                t = _read(tp, primaries, transfer, nits_per_unit, warnings)
                if (r.width, r.height) != (t.width, t.height):
                    raise InputError(f"{rp} is {r.width}×{r.height} but {tp} is {t.width}×{t.height}")
                rn, tn = r.nits("bt2020"), t.nits("bt2020")
                m = evaluate(rn, tn, keys, cvvdp=cvvdp)
                rows.append((name, m))
                if report_dir is not None:
                    items.append(ReportItem(name, rn, tn, m, ref_label=f"reference: {rp.name} ({r.encoding()})",
                                            test_label=f"test: {tp.name} ({t.encoding()})"))
                progress(i + 1, len(pairs), f"eval {name}")
            for w in warnings:
                print(f"warning: {w}", file=sys.stderr)
            for it in items:
                it.notes.extend(w for w in warnings if it.name in w or len(items) == 1)
            if report_dir is not None:
                path = write_report(report_dir, items, title=f"hdrkit eval {ref} {test}", progress=progress)
                print(f"report: {path}", file=sys.stderr)

        mean = mean_metrics([m for _, m in rows]) if len(rows) > 1 else None
        if as_json:
            if len(pairs) == 1 and not ref.is_dir():
                obj = {k: _json_value(v) for k, v in rows[0][1].items()}
            else:
                obj = {"images": [{"name": n, **{k: _json_value(v) for k, v in m.items()}} for n, m in rows],
                       "mean": {k: _json_value(v) for k, v in (mean or rows[0][1]).items()}}
            typer.echo(json.dumps(obj))
            return
        _print_table(rows, mean)


def _print_table(rows, mean) -> None:
    from rich.console import Console
    from rich.table import Table

    from hdrkit.metrics import METRICS
    from hdrkit.metrics.report import _fmt

    console = Console(soft_wrap=True)
    if not console.is_terminal:
        console = Console(width=200)
    keys = [k for k in METRICS if k in rows[0][1]]
    if len(rows) == 1:
        name, m = rows[0]
        table = Table(title=name, show_header=True, header_style="bold")
        table.add_column("metric")
        table.add_column("value", justify="right")
        table.add_column("")
        for k in keys:
            table.add_row(k, _fmt(m[k]), f"{METRICS[k][0]}, {'higher' if METRICS[k][1] else 'lower'} is better")
        console.print(table)
        return
    table = Table(show_header=True, header_style="bold")
    table.add_column("image", overflow="fold")
    for k in keys:
        table.add_column(f"{k} {'↑' if METRICS[k][1] else '↓'}", justify="right")
    for name, m in rows:
        table.add_row(name, *(_fmt(m.get(k)) for k in keys))
    if mean is not None:
        table.add_row("mean", *(_fmt(mean.get(k)) for k in keys), style="bold")
    console.print(table)
