"""``hdrkit master IN -o OUT``: scene-referred linear HDR → display-referred HDR10 master (PQ BT.2020)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import FORMAT_OPT, NITS_OPT, PRIMARIES_OPT, TRANSFER_OPT


def register(app: typer.Typer) -> None:
    @app.command("master")
    def master_cmd(
        inputs: List[Path] = typer.Argument(..., help="HDR images (EXR, HDR, PFM, PQ PNG/TIFF), any exposure; "
                                            "folders or globs."),
        output: Path = typer.Option(..., "-o", "--output", help="Output file (.png/.tif HDR10, .exr linear "
                                    "nits); a folder (created as needed) for several inputs."),
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
        fmt: str = FORMAT_OPT,
    ) -> None:
        """Expose IN so its log-average sits at --mid nits, roll highlights off to --peak with the BT.2390 EETF,
        and write OUT as HDR10 (16-bit PQ BT.2020 PNG/TIFF) or absolute linear nits (EXR/HDR/PFM).

        Example: `hdrkit master forest.exr -o forest_hdr10.png --peak 1000`.
        """
        from hdrkit import color
        from hdrkit.cli.common import expand_inputs, plan_outputs, run_jobs
        from hdrkit.errors import InputError
        from hdrkit.io import Image, format_of, read_image, write_image
        from hdrkit.tonemap import master_hdr10

        if absolute and exposure is not None:
            raise InputError("--absolute and --exposure exclude each other")
        files, many = expand_inputs(inputs)
        jobs = plan_outputs(files, many, output, fmt)

        def work(src: Path, out: Path, progress) -> str:
            img = read_image(src, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
            nits = master_hdr10(color.to_nits(img, "bt2020"), peak=peak, mid=None if absolute else mid,
                                exposure=exposure)
            if format_of(out) in ("exr", "hdr", "pfm"):
                img_out = Image(nits, primaries="bt2020", transfer="linear", nits_per_unit=1.0)
            else:
                img_out = color.from_nits(nits, "bt2020", "pq")
            write_image(out, img_out)
            return (f"wrote {out} ({img_out.width}×{img_out.height}, {img_out.encoding()}, "
                    f"peak {float(nits.max()):.1f} nits)")

        run_jobs(jobs, "mastering", work)
