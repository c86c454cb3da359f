"""``hdrkit tonemap IN -o OUT --method ...``: HDR → SDR with one of the tone-mapping operators."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import NITS_OPT, OUT_OPT, PRIMARIES_OPT, TRANSFER_OPT


def parse_params(items: Optional[List[str]]) -> dict:
    """``KEY=VALUE`` strings → keyword arguments (numbers, true/false/none, inf, or text)."""
    from hdrkit.errors import InputError

    out: dict = {}
    for item in items or []:
        if "=" not in item:
            raise InputError(f"--param expects KEY=VALUE, got {item!r}")
        key, value = (s.strip() for s in item.split("=", 1))
        if not key.isidentifier():
            raise InputError(f"--param name {key!r} is not a valid parameter name")
        low = value.lower()
        if low in ("true", "false"):
            out[key] = low == "true"
        elif low in ("none", "null"):
            out[key] = None
        else:
            try:
                out[key] = int(value) if value.lstrip("+-").isdigit() else float(value)
            except ValueError:
                out[key] = value
    return out


def register(app: typer.Typer) -> None:
    @app.command("tonemap")
    def tonemap_cmd(
        input: Path = typer.Argument(..., help="HDR image (EXR, HDR, PFM, 16-bit PQ PNG/TIFF, ...)."),
        output: Path = OUT_OPT,
        method: str = typer.Option("bt2446a", "--method", "-m",
                                   help="bt2446a, youtube, lut, reinhard2002, ocio or clip."),
        lut: Optional[Path] = typer.Option(None, "--lut", help="A .cube LUT (or a .zip holding one) for --method lut."),
        param: Optional[List[str]] = typer.Option(None, "--param", "-p",
                                                  help="Operator parameter KEY=VALUE (repeatable), e.g. -p key=0.18 "
                                                       "-p local=bilateral for reinhard2002, -p l_hdr=4000 for bt2446a, "
                                                       "-p exposure=-1 for clip/ocio."),
        master: bool = typer.Option(False, "--master/--no-master",
                                    help="Master the input first (hdrkit master with --peak/--mid): use for "
                                         "scene-referred EXR/HDR files of arbitrary exposure."),
        peak: float = typer.Option(1000.0, "--peak", help="With --master: mastering peak in nits."),
        mid: float = typer.Option(26.0, "--mid", help="With --master: nits of the log-average luminance."),
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
    ) -> None:
        """Tone map IN to an SDR image OUT (BT.709, BT.1886 γ2.4; 8-bit for PNG/JPEG/TIFF).

        Examples: `hdrkit tonemap in.png -o out.png --method youtube`;
        `hdrkit tonemap in.exr -o out.png --master -m reinhard2002 -p local=bilateral`;
        `hdrkit tonemap in.png -o out.png -m lut --lut my.cube`.
        """
        from hdrkit import color
        from hdrkit.cli.common import check_output_path, resolve_input
        from hdrkit.errors import InputError
        from hdrkit.io import Image, read_image, write_image
        from hdrkit.tonemap import TONEMAP_METHODS, master_hdr10, tonemap

        input = resolve_input(input)
        check_output_path(output, [input] + ([lut] if lut else []))
        m = method.lower()
        if m not in TONEMAP_METHODS:
            raise InputError(f"unknown method {method!r}; choose from {', '.join(TONEMAP_METHODS)}")
        params = parse_params(param)
        if lut is not None:
            if m != "lut":
                raise InputError("--lut is only used with --method lut")
            params["lut"] = lut
        elif m == "lut" and "lut" not in params:
            raise InputError("--method lut needs --lut FILE (.cube or a .zip holding one)")
        img = read_image(input, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)
        nits = color.to_nits(img, "bt2020")
        if master:
            nits = master_hdr10(nits, peak=peak, mid=mid)
        sdr = tonemap(nits, m, **params)
        out = Image(sdr, primaries="bt709", transfer="bt1886", nits_per_unit=color.SDR_WHITE_NITS)
        write_image(output, out)
        typer.echo(f"wrote {output} ({out.width}×{out.height}, {out.encoding()}, {m})")
