"""``hdrkit calibrate IMGS... -o crf.json``: estimate the camera response from exposure brackets."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate(
        images: List[Path] = typer.Argument(..., help="Bracket images (8- or 16-bit; a folder or glob of them too), darkest to brightest or any order."),
        output: Path = typer.Option(..., "-o", "--output", help="CRF file to write: .json or .csv."),
        times: Optional[str] = typer.Option(None, "--times", help="Exposure times in seconds, comma-separated (1/60 allowed); default: EXIF."),
        method: str = typer.Option("debevec1997", "--method", help="debevec1997 or robertson1999."),
        group: Optional[int] = typer.Option(None, "--group", help="Split IMGS into brackets of this many images (one CRF from many brackets)."),
        samples: int = typer.Option(500, "--samples", help="debevec1997: samples per bracket."),
        smoothness: float = typer.Option(20.0, "--smoothness", help="debevec1997: smoothness weight λ."),
    ) -> None:
        """Estimate the inverse camera response (Debevec & Malik 1997 or Robertson 1999) and save it.

        Example: `hdrkit calibrate a.jpg b.jpg c.jpg --times 1/60,1/15,1/4 -o crf.json`
        """
        from hdrkit.cli._bracket import bracket_times_for, check_count, read_bracket
        from hdrkit.cli.common import check_output_path, expand_inputs, rich_progress, say
        from hdrkit.errors import InputError
        from hdrkit.merge import calibrate as estimate, save_crf

        images = expand_inputs(images)[0]  # folders and globs: their images, sorted by name
        check_count(images)
        check_output_path(output, images)
        if output.suffix.lower() not in (".json", ".csv"):
            raise InputError(f"a CRF is saved as .json or .csv, not {output.suffix or 'no extension'!r}")
        t = bracket_times_for(images, times)
        codes, _ = read_bracket(images)
        if group is not None:
            if group < 2 or len(codes) % group:
                raise InputError(f"--group {group} does not split {len(codes)} images into brackets of at least 2")
            codes_b = [codes[i:i + group] for i in range(0, len(codes), group)]
            times_b = [t[i:i + group] for i in range(0, len(t), group)]
        else:
            codes_b, times_b = codes, t
        params = {"samples": samples, "smoothness": smoothness} if method == "debevec1997" else {}
        with rich_progress("calibrating") as progress:
            crf = estimate(codes_b, times_b, method=method, progress=progress, **params)
        save_crf(output, crf)
        say(f"wrote {output} ({method}, {crf.size} entries)")
