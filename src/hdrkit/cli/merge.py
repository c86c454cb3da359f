"""``hdrkit merge IMGS... -o out.exr``: merge an exposure bracket into a radiance map."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("merge")
    def merge(
        images: List[Path] = typer.Argument(..., help="Bracket images (8- or 16-bit, same size), or a folder or glob of them."),
        output: Path = typer.Option(..., "-o", "--output", help="Output HDR image (.exr recommended)."),
        times: Optional[str] = typer.Option(None, "--times", help="Exposure times in seconds, comma-separated (1/60 allowed); default: EXIF."),
        crf: str = typer.Option("auto", "--crf", help="Camera response: a .json/.csv file, linear, srgb, gammaG (e.g. gamma2.2), eilertsen2017, or auto (estimate, Debevec 1997)."),
        align: bool = typer.Option(False, "--align", help="Align the exposures to the reference first."),
        align_method: str = typer.Option("mtb", "--align-method", help="mtb (Ward 2003, translation) or homography (feature matches)."),
        deghost: bool = typer.Option(False, "--deghost", help="Leave out pixels that disagree with the reference exposure."),
        reference: Optional[int] = typer.Option(None, "--reference", help="Reference exposure (0-based) for --align/--deghost; default: the middle one."),
        weight: str = typer.Option("triangle", "--weight", help="triangle, hat, debevec1997, gaussian or uniform."),
        domain: str = typer.Option("log", "--domain", help="Merge in the log or linear domain."),
        nits_per_unit: float = typer.Option(100.0, "--nits-per-unit", help="Nits of radiance 1.0 in the output (relative radiance)."),
        preview: Optional[Path] = typer.Option(None, "--preview", help="Also write an SDR preview (Reinhard 2002 tone mapping), e.g. preview.png."),
    ) -> None:
        """Merge a bracket (Debevec & Malik 1997) into relative linear radiance, BT.709 primaries.

        Example: `hdrkit merge a.jpg b.jpg c.jpg -o out.exr --times 1/60,1/15,1/4 --crf gamma2.2 --align`
        """
        from hdrkit.cli._bracket import bracket_times_for, check_count, read_bracket
        from hdrkit.cli.common import check_output_path, expand_inputs, rich_progress, say
        from hdrkit.errors import InputError
        from hdrkit.io import Image, write_image
        from hdrkit.merge import merge as merge_bracket

        images = expand_inputs(images)[0]  # folders and globs: their images, sorted by name
        check_count(images)
        check_output_path(output, images)
        if preview is not None:
            check_output_path(preview, list(images) + [output])
        if not (nits_per_unit > 0):
            raise InputError(f"--nits-per-unit must be positive, got {nits_per_unit}")
        t = bracket_times_for(images, times)
        codes, _ = read_bracket(images)
        with rich_progress("merging") as progress:
            radiance = merge_bracket(codes, t, crf=crf, weight=weight, domain=domain,
                                     align=align_method if align else None, deghost=deghost, reference=reference,
                                     progress=progress)
        img = Image(radiance, primaries="bt709", transfer="linear", nits_per_unit=nits_per_unit)
        write_image(output, img)
        say(f"wrote {output} ({img.width}×{img.height}, relative radiance, 1.0 = {nits_per_unit:g} nits)")
        if preview is not None:
            from hdrkit.tonemap import tonemap_image

            write_image(preview, tonemap_image(img, "reinhard2002"))
            say(f"wrote {preview} (SDR preview, Reinhard 2002)")
