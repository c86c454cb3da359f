"""``hdrkit fuse IMGS... -o out.png``: exposure fusion (Mertens 2007), a displayable image from a bracket."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def register(app: typer.Typer) -> None:
    @app.command("fuse")
    def fuse(
        images: List[Path] = typer.Argument(..., help="Bracket images (8- or 16-bit, same size), or a folder or glob of them; no exposure times needed."),
        output: Path = typer.Option(..., "-o", "--output", help="Output image (.png, .jpg, .tif ...)."),
        contrast: float = typer.Option(1.0, "--contrast", help="Exponent of the contrast weight."),
        saturation: float = typer.Option(1.0, "--saturation", help="Exponent of the saturation weight."),
        exposedness: float = typer.Option(1.0, "--exposedness", help="Exponent of the well-exposedness weight."),
        align: bool = typer.Option(False, "--align", help="Align the exposures first (MTB, Ward 2003)."),
        reference: Optional[int] = typer.Option(None, "--reference", help="Reference exposure for --align (default: middle)."),
    ) -> None:
        """Fuse a bracket into one SDR image (Mertens, Kautz & Van Reeth 2007), same encoding as the inputs.

        Example: `hdrkit fuse a.jpg b.jpg c.jpg -o fused.png`
        """
        from hdrkit.cli._bracket import check_count, read_bracket
        from hdrkit.cli.common import check_output_path, expand_inputs, rich_progress, say
        from hdrkit.io import Image, write_image
        from hdrkit.merge.align import align_bracket
        from hdrkit.merge.bracket import check_bracket
        from hdrkit.merge.fusion import mertens2007

        images = expand_inputs(images)[0]  # folders and globs: their images, sorted by name
        check_count(images)
        check_output_path(output, images)
        codes, first = read_bracket(images)
        with rich_progress("fusing") as progress:
            if align:
                codes, _ = check_bracket(codes)
                codes = align_bracket(codes, "mtb", reference, progress)
            fused = mertens2007(codes, contrast, saturation, exposedness, progress=progress)
        img = Image(fused, primaries=first.primaries, transfer=first.transfer, nits_per_unit=first.nits_per_unit)
        write_image(output, img)
        say(f"wrote {output} ({img.width}×{img.height}, {img.encoding()})")
