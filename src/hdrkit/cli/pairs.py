"""``hdrkit pairs HDR_DIR -o OUT_DIR``: (SDR, HDR) training pairs as PNG files."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from hdrkit.tonemap.operators import DEFAULT_OPERATOR, operator_names


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
        inputs: List[Path] = typer.Argument(..., help="HDR files (EXR, HDR, PFM, 16-bit PQ PNG/TIFF), folders of "
                                            "them or globs."),
        output: Path = typer.Option(..., "-o", "--output", help="Output folder (created as needed)."),
        tmo: str = typer.Option(DEFAULT_OPERATOR, "--tmo", help="Comma-separated tone-mapping operators: "
                                f"{operator_names(('lut',))} (default parameters: `hdrkit tonemap --list`)."),
        views: int = typer.Option(0, "--views", help="Perspective views per panorama (0 = each image whole)."),
        size: int = typer.Option(512, "--size", help="View size in pixels (square)."),
        seed: int = typer.Option(0, "--seed", help="Seed of the view draws."),
        peak: float = typer.Option(1000.0, "--peak", help="Mastering peak in nits."),
        mid: float = typer.Option(26.0, "--mid", help="Nits of the log-average luminance of each master."),
        fov: str = typer.Option("50,100", "--fov", help="Horizontal field of view range, degrees."),
        pitch: str = typer.Option("-30,30", "--pitch", help="Pitch range, degrees."),
        roll: str = typer.Option("-10,10", "--roll", help="Roll range, degrees."),
        resize: str = typer.Option("", "--resize", help="WIDTHxHEIGHT: with --views 0, resize each whole image "
                                   "(linear light, area filter) first, e.g. to compare data splits at equal "
                                   "picture size."),
    ) -> None:
        """Master every HDR input (peak --peak nits) and tone map it with each --tmo, writing
        NAME_hdr.png (16-bit PQ BT.2020) + NAME_sdr.png (8-bit BT.709) and pairs.jsonl (the parameters).

        NAME is the file stem with --views 0 and one operator (forest_hdr.png, forest_sdr.png); STEM_TMO with
        several operators (forest_youtube_sdr.png); STEM_vNNN[_TMO] for views.
        Example: `hdrkit pairs ../shared/data/hdr -o DEV --tmo youtube --views 0`.
        """
        from hdrkit.cli.common import expand_inputs, output_exists, output_folder, rich_progress, say, warn
        from hdrkit.data import synthesize_pairs
        from hdrkit.data.pairs import HDR_EXTENSIONS, pair_name
        from hdrkit.errors import InputError
        from hdrkit.tonemap import get_operator

        files, _ = expand_inputs(inputs, exts=HDR_EXTENSIONS)
        tmos = [get_operator(t).name for t in tmo.split(",") if t.strip()]
        for t in tmos:
            get_operator(t).bind({})  # runs without parameters ('lut' needs a file)
        planned = [output / "pairs.jsonl"] + [
            output / f"{pair_name(f.stem, t, len(tmos), v)}_{kind}.png"
            for f in files for v in (range(views) if views > 0 else [None]) for t in tmos for kind in ("hdr", "sdr")]
        if any(p.exists() for p in planned):
            existing = next(p for p in planned if p.exists())
            if output_exists(existing):  # -n: pairs.jsonl describes one whole run, so there is no partial resume
                raise InputError(f"{existing} exists; -n cannot resume a pairs run: pass -y or use a new folder")
        if size < 8 or size > 8192:
            raise InputError(f"--size must be between 8 and 8192, got {size}")
        ranges = dict(fov=_range(fov, "--fov"), pitch=_range(pitch, "--pitch"), roll=_range(roll, "--roll"))
        wh = None
        if resize:
            try:
                wh = tuple(int(v) for v in resize.lower().split("x"))
            except ValueError:
                wh = ()
            if len(wh) != 2:
                raise InputError(f"--resize must be WIDTHxHEIGHT, e.g. 512x256, got {resize!r}")
        output_folder(output, sorted({f.parent for f in files}))
        with rich_progress("pairs") as progress:
            res = synthesize_pairs(files, output, tmos=tmos, views=views, size=size, seed=seed, peak=peak,
                                   mid=mid, resize=wh, progress=progress, **ranges)
        say(f"wrote {len(res.pairs)} pairs to {output}")
        for name, why in res.skipped:
            warn(f"skipped {name}: {why}")
