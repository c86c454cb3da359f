"""``hdrkit expand IN -o OUT --method M``: inverse tone mapping of an SDR image to HDR."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import PARAM_OPT


_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".avif", ".webp")
#: The default method of ``hdrkit expand`` (the best blind operator by measurement, docs/EXPAND.md).
DEFAULT_METHOD = "gcm"


#: Parameters of the expansion operators that ``hdrkit expand`` sets itself (not through ``-p``).
_CLI_PARAMS = ("progress", "device", "exposures", "times", "adapt_with")
#: ``-p`` examples shown in ``--help``: each is run for the method it names by tests/cli/test_cli_conventions.py.
PARAM_EXAMPLES = {"linear": "peak=400", "akyuz2007": "gamma=1.5", "masia2009": "min_gamma=0.2",
                  "masia2017": "min_gamma=0.2", "huo2014": "n=0.9",
                  "kovaleski2014": "threshold=0.9", "bt2446c": "alpha=0.1", "gcm": "rows=256", "unet": "tile=512",
                  "metahdr": "steps=5"}


def _list_methods(value: bool) -> None:
    if value:
        from hdrkit._params import parameters
        from hdrkit.expand import METHODS

        typer.echo("Expansion methods (--method NAME) and their parameters (-p NAME=VALUE):\n")
        for name, fn in METHODS.items():
            typer.echo(f"{name}:")
            plist = parameters(fn, hidden=_CLI_PARAMS)
            typer.echo("\n".join(f"    {p.describe()}" for p in plist) or "    (no parameters)")
        raise typer.Exit()


def register(app: typer.Typer) -> None:
    @app.command("expand")
    def expand(
        inputs: List[Path] = typer.Argument(..., help="SDR images, folders or globs; with --adapt-with, the SDR "
                                            "image followed by the scene's exposures."),
        output: Path = typer.Option(..., "-o", "--output", help="HDR output: .png/.tif = 16-bit HDR10 (PQ "
                                    "BT.2020), .exr = linear nits; a folder (created as needed) for several inputs."),
        method: str = typer.Option(DEFAULT_METHOD, "--method", "-m", help="gcm (default), unet, metahdr, linear, "
                                   "akyuz2007, masia2009, masia2017, huo2014, kovaleski2014, bt2446c (`--list` "
                                   "shows their parameters)."),
        list_: bool = typer.Option(False, "--list", callback=_list_methods, is_eager=True,
                                   help="List the methods and each one's parameters, then exit."),
        peak: Optional[float] = typer.Option(None, "--peak", help="Display peak in nits. Learned methods (gcm, unet, metahdr) predict a 1000-nit HDR10 grade and re-grade it to PEAK (BT.2390 EETF inverted then re-applied; highlights spread up to PEAK, light below ~400 nits unchanged); above 1000, gcm also lifts the clipped region it grades brightest to 0.9·PEAK at its centre (a smooth dome; -p highlights=regrade turns it off); classical ones map SDR white's luminance to PEAK (bt2446c: the SDR super-white 118 nits, so SDR white reaches ~1/3 of PEAK; huo2014 scales with it and may exceed it; these operators keep colour ratios, so a saturated pixel can exceed PEAK in one channel: akyuz2007 when the brightest pixel is coloured, masia2009/2017 when their gamma is below 1)."),
        param: Optional[List[str]] = typer.Option(
            None, "--param", "-p", help="Method parameter NAME=VALUE (repeatable), e.g. "
            + "; ".join(f"{v} for {k}" for k, v in PARAM_EXAMPLES.items()) + " (`--list` shows all)."),
        adapt_with: Optional[str] = typer.Option(None, "--adapt-with", help="metahdr: adapt to the scene's EXPOSURES with 'true' (Debevec-fused) or 'simulated' (U-Net) HDR labels."),
        times: Optional[str] = typer.Option(None, "--times", help="Exposure times of the EXPOSURES for --adapt-with true, e.g. 1/4,1,4 (default: EXIF)."),
        fmt: str = typer.Option("png", "--format", help="Output format when -o is a folder: png (HDR10), tif or exr."),
        device: str = typer.Option("cpu", "--device", help="Device of the learned methods (cpu, cuda)."),
    ) -> None:
        """Expand SDR images (files, folders or globs) to HDR with a learned or classical inverse tone-mapping operator.

        Examples: `hdrkit expand photo.jpg -o photo_hdr.png --method unet`;
        `hdrkit expand photo.jpg -o photo_hdr.exr -m akyuz2007 -p gamma=1.5`;
        `hdrkit expand shots/ -o hdr/ --format exr`;
        `hdrkit expand mid.png dark.png bright.png -o hdr.exr --method metahdr --adapt-with true --times 1/4,4` (times of the EXPOSURES)
        """
        from hdrkit._array import resolve_device
        from hdrkit._params import bind, parse_assignments
        from hdrkit.cli.common import expand_inputs, plan_outputs, resolve_input, run_jobs, say
        from hdrkit.errors import InputError
        from hdrkit.expand import METHODS
        from hdrkit.expand import expand as expand_image
        from hdrkit.expand.files import read_sdr, write_hdr
        from hdrkit.expand.learned import METHODS as LEARNED
        from hdrkit.io import format_of

        if method not in METHODS:
            raise InputError(f"unknown expansion method {method!r}; choose one of {', '.join(METHODS)}")
        params = bind(METHODS[method], method, parse_assignments(param), hidden=_CLI_PARAMS)
        if peak is not None:
            params["peak"] = peak
        if fmt not in ("png", "exr", "tif"):
            raise InputError(f"--format must be png, exr or tif, got {fmt!r}")
        exposures: list[Path] = []
        if adapt_with is not None:
            if method != "metahdr":
                raise InputError("exposures and --adapt-with are for --method metahdr")
            if adapt_with not in ("true", "simulated"):
                raise InputError("--adapt-with must be 'true' or 'simulated' (and needs the scene's exposures)")
            paths = [resolve_input(p) for p in inputs]
            if len(paths) < 2:
                raise InputError("--adapt-with needs the scene's exposures after the SDR image")
            exposures = paths[1:]
            files, many = paths[:1], False
            params["adapt_with"] = adapt_with
            if adapt_with == "true":
                from hdrkit.merge.bracket import parse_times
                from hdrkit.merge.exif import bracket_times

                params["times"] = parse_times(times) if times else bracket_times(exposures)
                if len(params["times"]) != len(exposures):
                    raise InputError(f"--times has {len(params['times'])} values for {len(exposures)} exposures")
        else:
            files, many = expand_inputs(inputs, exts=_IMAGE_EXTS)
        if method in LEARNED:
            resolve_device(device)  # a bad --device fails here, in one line, before any work
            params["device"] = device
        jobs = plan_outputs(files, many, output, fmt, extra_inputs=exposures)
        for _, out in jobs[:1]:
            format_of(out)  # an unknown output extension fails before any work
        if exposures:
            params["exposures"] = [read_sdr(p) for p in exposures]

        def work(src: Path, out: Path, progress) -> str:
            call = dict(params)
            if method in LEARNED and progress is not None:
                call["progress"] = progress
            nits = expand_image(read_sdr(src), method=method, **call)
            img = write_hdr(out, nits)
            return (f"wrote {out} ({img.width}×{img.height}, {img.encoding()}, {method}, "
                    f"peak {float(nits.max()):.0f} nits)")

        run_jobs(jobs, f"expanding ({method})", work)
        if many:
            say(f"wrote {len(jobs)} HDR images to {output} ({method})")
