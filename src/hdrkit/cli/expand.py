"""``hdrkit expand IN -o OUT --method M``: inverse tone mapping of an SDR image to HDR."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def _parse_params(items: Optional[List[str]]) -> dict:
    from hdrkit.errors import InputError

    out: dict = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--param expects NAME=VALUE, got {item!r}")
        try:
            out[key.strip()] = float(value)
        except ValueError:
            raise InputError(f"--param {key.strip()} must be a number, got {value!r}") from None
    return out


_IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".avif", ".webp")
#: The default method of ``hdrkit expand`` (the best blind operator by measurement, docs/EXPAND.md).
DEFAULT_METHOD = "unet"


def _read_sdr(path: Path):
    from hdrkit.color import convert
    from hdrkit.errors import InputError
    from hdrkit.io import read_image

    img = read_image(path)
    if img.is_hdr:
        raise InputError(f"{path.name} is already HDR ({img.encoding()}); expand takes an SDR image")
    return convert(img, primaries="bt709", transfer="bt1886", nits_per_unit=img.nits_per_unit).pixels


def _write_hdr(path: Path, nits) -> object:
    from hdrkit.color import from_nits
    from hdrkit.io import format_of, write_image

    transfer = "linear" if format_of(path) in ("exr", "hdr", "pfm") else "pq"
    out = from_nits(nits, primaries="bt2020", transfer=transfer)
    write_image(path, out)
    return out


def register(app: typer.Typer) -> None:
    @app.command("expand")
    def expand(
        inputs: List[Path] = typer.Argument(..., help="SDR image or folder of SDR images; with --adapt-with, the SDR image followed by the scene's exposures."),
        output: Path = typer.Option(..., "-o", "--output", help="HDR output: .png/.tif = 16-bit HDR10 (PQ BT.2020), .exr = linear nits; a folder for folder input."),
        method: str = typer.Option(DEFAULT_METHOD, "--method", help="gcm (default), unet, metahdr, linear, akyuz2007, masia2009, masia2017, huo2014, kovaleski2014, bt2446c."),
        peak: Optional[float] = typer.Option(None, "--peak", help="Display peak in nits. Learned methods (gcm, unet, metahdr) predict a 1000-nit HDR10 grade and re-grade it to PEAK (BT.2390 EETF inverted then re-applied; highlights spread up to PEAK, light below ~400 nits unchanged); classical ones map SDR white to PEAK (bt2446c: the SDR super-white 118 nits, so SDR white reaches ~1/3 of PEAK; huo2014 scales with it and may exceed it)."),
        param: Optional[List[str]] = typer.Option(None, "--param", help="Extra operator parameter NAME=VALUE (repeatable), e.g. gamma=1.5."),
        adapt_with: Optional[str] = typer.Option(None, "--adapt-with", help="metahdr: adapt to the scene's EXPOSURES with 'true' (Debevec-fused) or 'simulated' (U-Net) HDR labels."),
        times: Optional[str] = typer.Option(None, "--times", help="Exposure times of the EXPOSURES for --adapt-with true, e.g. 1/4,1,4 (default: EXIF)."),
        fmt: str = typer.Option("png", "--format", help="Output format for folder input: png (HDR10) or exr."),
        device: str = typer.Option("cpu", "--device", help="Device of the learned methods (cpu, cuda)."),
    ) -> None:
        """Expand an SDR image (or a folder of them) to HDR with a learned or classical inverse tone-mapping operator.

        Examples: `hdrkit expand photo.jpg -o photo_hdr.png --method unet`;
        `hdrkit expand mid.png dark.png bright.png -o hdr.exr --method metahdr --adapt-with true --times 1/4,4` (times of the EXPOSURES)
        """
        from hdrkit._array import resolve_device
        from hdrkit.cli.common import check_output_path, resolve_input, rich_progress
        from hdrkit.errors import InputError
        from hdrkit.expand import METHODS
        from hdrkit.expand import expand as expand_image
        from hdrkit.expand.learned import METHODS as LEARNED
        from hdrkit.io import format_of

        paths = [resolve_input(p) for p in inputs]
        source, exposures = paths[0], paths[1:]
        if method not in METHODS:
            raise InputError(f"unknown expansion method {method!r}; choose one of {', '.join(METHODS)}")
        params = _parse_params(param)
        if peak is not None:
            params["peak"] = peak
        if adapt_with is not None or exposures:
            if method != "metahdr":
                raise InputError("exposures and --adapt-with are for --method metahdr")
            if adapt_with not in ("true", "simulated"):
                raise InputError("--adapt-with must be 'true' or 'simulated' (and needs the scene's exposures)")
            if not exposures:
                raise InputError("--adapt-with needs the scene's exposures after the SDR image")
            params["adapt_with"] = adapt_with
            if adapt_with == "true":
                from hdrkit.merge.bracket import parse_times
                from hdrkit.merge.exif import bracket_times

                params["times"] = parse_times(times) if times else bracket_times(exposures)
                if len(params["times"]) != len(exposures):
                    raise InputError(f"--times has {len(params['times'])} values for {len(exposures)} exposures")
        if method in LEARNED:
            resolve_device(device)  # a bad --device fails here, in one line, before any work
            params["device"] = device
        if source.is_dir():
            if exposures:
                raise InputError("folder input cannot be combined with exposures")
            if fmt not in ("png", "exr", "tif"):
                raise InputError(f"--format must be png, exr or tif, got {fmt!r}")
            files = sorted(p for p in source.iterdir() if p.suffix.lower() in _IMAGE_EXTS and p.is_file())
            if not files:
                raise InputError(f"no SDR images ({', '.join(_IMAGE_EXTS)}) in {source}")
            if not output.is_dir():
                raise InputError(f"output {output} must be an existing folder for folder input")
            if output.resolve() == source.resolve():
                raise InputError("the output folder must differ from the input folder")
            with rich_progress(f"expanding ({method})") as progress:
                for i, f in enumerate(files):
                    progress(i, len(files), f"expanding {f.name}")
                    _write_hdr(output / f"{f.stem}.{fmt}", expand_image(_read_sdr(f), method=method, **params))
                progress(len(files), len(files), "done")
            typer.echo(f"wrote {len(files)} HDR images to {output} ({method})")
            return
        check_output_path(output, paths)
        format_of(output)
        sdr = _read_sdr(source)
        if exposures:
            params["exposures"] = [_read_sdr(p) for p in exposures]
        with rich_progress(f"expanding ({method})") as progress:
            if method in LEARNED:
                params["progress"] = progress
            nits = expand_image(sdr, method=method, **params)
        out = _write_hdr(output, nits)
        typer.echo(f"wrote {output} ({out.width}×{out.height}, {out.encoding()}, {method}, peak {float(nits.max()):.0f} nits)")
