"""``hdrkit tonemap IN... -o OUT --method ...``: HDR → SDR with one of the tone-mapping operators."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import FORMAT_OPT, NITS_OPT, PARAM_OPT, PRIMARIES_OPT, TRANSFER_OPT
from hdrkit.tonemap.operators import DEFAULT_OPERATOR, operator_names


def _list_operators(value: bool) -> None:
    if value:
        from hdrkit.tonemap import OPERATORS

        typer.echo("Tone-mapping operators (-m NAME) and their parameters (-p NAME=VALUE):\n")
        typer.echo("\n".join(op.describe() for op in OPERATORS.values()))
        raise typer.Exit()


def operator_params(method: str, lut: Optional[Path], param: Optional[List[str]]):
    """``(operator, bound parameters)`` from ``--method``, ``--lut`` and ``-p`` (also used by ``hdrkit batch``)."""
    from hdrkit._params import parse_assignments
    from hdrkit.errors import InputError
    from hdrkit.tonemap import get_operator

    op = get_operator(method)
    params = dict(parse_assignments(param))
    if lut is not None:
        if op.name != "lut":
            raise InputError("--lut is only used with --method lut")
        params["lut"] = str(lut)
    return op, op.bind(params)


def register(app: typer.Typer) -> None:
    @app.command("tonemap")
    def tonemap_cmd(
        inputs: List[Path] = typer.Argument(..., help="HDR images (EXR, HDR, PFM, 16-bit PQ PNG/TIFF, ...), "
                                            "folders or globs."),
        output: Path = typer.Option(..., "-o", "--output", help="Output SDR image (8-bit for PNG/JPEG/TIFF); a "
                                    "folder (created as needed) for several inputs."),
        method: str = typer.Option(DEFAULT_OPERATOR, "--method", "-m",
                                   help=f"Operator: {operator_names()} (`--list` shows their parameters)."),
        list_: bool = typer.Option(False, "--list", callback=_list_operators, is_eager=True,
                                   help="List the operators and each one's parameters, then exit."),
        lut: Optional[Path] = typer.Option(None, "--lut", help="A .cube LUT (or a .zip holding one) for --method "
                                           "lut (same as -p lut=FILE)."),
        param: Optional[List[str]] = PARAM_OPT,
        master: bool = typer.Option(False, "--master/--no-master",
                                    help="Master the input first (hdrkit master with --peak/--mid): use for "
                                         "scene-referred EXR/HDR files of arbitrary exposure."),
        peak: float = typer.Option(1000.0, "--peak", help="With --master: mastering peak in nits."),
        mid: float = typer.Option(26.0, "--mid", help="With --master: nits of the log-average luminance."),
        fmt: str = FORMAT_OPT,
        primaries: Optional[str] = PRIMARIES_OPT,
        transfer: Optional[str] = TRANSFER_OPT,
        nits_per_unit: Optional[float] = NITS_OPT,
    ) -> None:
        """Tone map IN to an SDR image OUT (BT.709, BT.1886 γ2.4; 8-bit for PNG/JPEG/TIFF).

        Examples: `hdrkit tonemap in.png -o out.png --method bt2446a -p l_hdr=4000`;
        `hdrkit tonemap in.exr -o out.png --master -m reinhard2002 -p local=bilateral`;
        `hdrkit tonemap shots/ -o sdr/ -m lut --lut my.cube`; `hdrkit tonemap --list`.
        """
        from hdrkit.cli.common import expand_inputs, plan_outputs, run_jobs
        from hdrkit.tonemap import tonemap_file

        op, params = operator_params(method, lut, param)
        files, many = expand_inputs(inputs)
        extra = [Path(params["lut"])] if isinstance(params.get("lut"), str) else []
        jobs = plan_outputs(files, many, output, fmt, extra_inputs=extra)

        def work(src: Path, out: Path, progress) -> str:
            sdr = tonemap_file(src, out, op.name, master=master, peak=peak, mid=mid, primaries=primaries,
                               transfer=transfer, nits_per_unit=nits_per_unit, **params)
            return f"wrote {out} ({sdr.width}×{sdr.height}, {sdr.encoding()}, {op.name})"

        run_jobs(jobs, f"tone mapping ({op.name})", work)
