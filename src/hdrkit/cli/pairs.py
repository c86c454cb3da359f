"""``hdrkit pairs HDR_DIR -o OUT_DIR``: (SDR, HDR) training pairs as PNG files."""

from __future__ import annotations

from pathlib import Path

import typer


def _range(text: str, name: str) -> tuple[float, float]:
    from hdrkit.errors import InputError

    parts = [p for p in text.replace(":", ",").split(",") if p.strip()]
    try:
        vals = [float(p) for p in parts]
    except ValueError:
        raise InputError(f"{name} must be LOW,HIGH (degrees), got {text!r}") from None
    if len(vals) == 1:
        vals = vals * 2
    if len(vals) != 2 or vals[0] > vals[1]:
        raise InputError(f"{name} must be LOW,HIGH with LOW ≤ HIGH, got {text!r}")
    return vals[0], vals[1]


def register(app: typer.Typer) -> None:
    @app.command("pairs")
    def pairs_cmd(
        hdr_dir: Path = typer.Argument(..., help="Folder of HDR files (EXR, HDR, PFM, 16-bit PQ PNG/TIFF)."),
        output: Path = typer.Option(..., "-o", "--output", help="Output folder (created if its parent exists)."),
        tmo: str = typer.Option("youtube", "--tmo", help="Comma-separated operators: youtube, bt2446a, "
                                "reinhard2002, ocio, clip, eilertsen2017 (virtual camera)."),
        views: int = typer.Option(0, "--views", help="Perspective views per panorama (0 = each image whole)."),
        size: int = typer.Option(512, "--size", help="View size in pixels (square)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the view draws."),
        peak: float = typer.Option(1000.0, "--peak", help="Mastering peak in nits."),
        mid: float = typer.Option(26.0, "--mid", help="Nits of the log-average luminance of each master."),
        fov: str = typer.Option("50,100", "--fov", help="Horizontal field of view range, degrees."),
        pitch: str = typer.Option("-30,30", "--pitch", help="Pitch range, degrees."),
        roll: str = typer.Option("-10,10", "--roll", help="Roll range, degrees."),
    ) -> None:
        """Master every HDR file in HDR_DIR (peak --peak nits) and tone map it with each --tmo, writing
        NAME_hdr.png (16-bit PQ BT.2020) + NAME_sdr.png (8-bit BT.709) and pairs.jsonl (the parameters).

        NAME is the file stem with --views 0 and one operator (forest_hdr.png, forest_sdr.png); STEM_TMO with
        several operators (forest_youtube_sdr.png); STEM_vNNN[_TMO] for views.
        Example: `hdrkit pairs ../shared/data/hdr -o DEV --tmo youtube --views 0`.
        """
        from hdrkit.cli.common import rich_progress
        from hdrkit.data import synthesize_pairs
        from hdrkit.errors import InputError

        if not hdr_dir.is_dir():
            raise InputError(f"{hdr_dir} is not a folder")
        if output.exists() and not output.is_dir():
            raise InputError(f"output {output} exists and is not a folder")
        if not output.exists():
            if not output.parent.is_dir():
                raise InputError(f"parent folder of {output} does not exist")
        try:
            if output.resolve() == hdr_dir.resolve():
                raise InputError("the output folder must differ from HDR_DIR")
        except OSError:
            pass
        if size < 8 or size > 8192:
            raise InputError(f"--size must be between 8 and 8192, got {size}")
        tmos = [t.strip() for t in tmo.split(",") if t.strip()]
        ranges = dict(fov=_range(fov, "--fov"), pitch=_range(pitch, "--pitch"), roll=_range(roll, "--roll"))
        output.mkdir(exist_ok=True)
        with rich_progress("pairs") as progress:
            res = synthesize_pairs(hdr_dir, output, tmos=tmos, views=views, size=size, seed=seed, peak=peak,
                                   mid=mid, progress=progress, **ranges)
        typer.echo(f"wrote {len(res.pairs)} pairs to {output}")
        for name, why in res.skipped:
            typer.echo(f"skipped {name}: {why}", err=True)
