"""``hdrkit master IN -o OUT``: scene-referred linear HDR → display-referred HDR10 master (PQ BT.2020)."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hdrkit.cli.options import NITS_OPT, OUT_OPT, PRIMARIES_OPT, TRANSFER_OPT


def register(app: typer.Typer) -> None:
    @app.command("master")
    def master_cmd(
        input: Path = typer.Argument(..., help="HDR image (EXR, HDR, PFM, PQ PNG/TIFF), any exposure."),
        output: Path = OUT_OPT,
        peak: float = typer.Option(1000.0, "--peak", help="Mastering display peak in nits."),
        mid: float = typer.Option(26.0, "--mid", help="Nits of the scene's log-average luminance "
                                  "(26 = BT.2408 18 % grey)."),
        absolute: bool = typer.Option(False, "--absolute", help="Keep the input's absolute nits (no auto "
                                      "exposure); only roll off highlights above --peak."),
        exposure: Optional[float] = typer.Option(None, "--exposure", help="Nits per input nit instead of the "
                                                 "automatic exposure."),
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
    ) -> None:
        """Expose IN so its log-average sits at --mid nits, roll highlights off to --peak with the BT.2390 EETF,
        and write OUT as HDR10 (16-bit PQ BT.2020 PNG/TIFF) or absolute linear nits (EXR/HDR/PFM).

        Example: `hdrkit master forest.exr -o forest_hdr10.png --peak 1000`.
        """
        from hdrkit import color
        from hdrkit.cli.common import check_output_path, resolve_input
        from hdrkit.errors import InputError
        from hdrkit.io import Image, format_of, read_image, write_image
        from hdrkit.tonemap import master_hdr10

        input = resolve_input(input)
        check_output_path(output, [input])
        if absolute and exposure is not None:
            raise InputError("--absolute and --exposure exclude each other")
        img = read_image(input, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
        nits = master_hdr10(color.to_nits(img, "bt2020"), peak=peak, mid=None if absolute else mid,
                            exposure=exposure)
        if format_of(output) in ("exr", "hdr", "pfm"):
            out = Image(nits, primaries="bt2020", transfer="linear", nits_per_unit=1.0)
        else:
            out = color.from_nits(nits, "bt2020", "pq")
        write_image(output, out)
        typer.echo(f"wrote {output} ({out.width}×{out.height}, {out.encoding()}, peak {float(nits.max()):.1f} nits)")
