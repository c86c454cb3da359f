"""``hdrkit encode``: HDR master (+ SDR grade) -> SDR picture carrying the embedded MLP."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from hdrkit.tonemap.operators import DEFAULT_OPERATOR, operator_names


def encode(
    hdr: Path = typer.Argument(..., help="HDR master (EXR, .hdr, 16-bit PQ PNG/TIFF, ...; sample:NAME for a shipped sample)."),
    sdr: Optional[Path] = typer.Argument(None, help="SDR grade of the same picture (8-bit); made with --tmo if omitted."),
    out: Path = typer.Option(..., "-o", "--output", help="Output SDR picture: .jpg/.png/.tif embed the MLP; "
                             "other formats get a <name>.hdrkit sidecar."),
    tmo: Optional[str] = typer.Option(None, "--tmo", help="Tone-mapping operator making the SDR when none is "
                                      f"given: {operator_names(('lut',))} (default {DEFAULT_OPERATOR}; "
                                      "parameters: `hdrkit tonemap --list`)."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Adaptation steps (default 1000 for the "
                                        "gamma-map family, 200 for SIREN; with --time-budget alone: as many as "
                                        "the budget allows)."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adaptation learning rate (Adam)."),
    time_budget: Optional[float] = typer.Option(None, "--time-budget", help="Seconds of adaptation: without "
                                                "--steps it adapts until the budget is used (the best weights "
                                                "seen are kept); with --steps it stops at whichever comes first."),
    quant: str = typer.Option("fp16", "--quant", help="Weight precision in the metadata: fp16, int8 or fp32."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality of the SDR picture."),
    init: Optional[Path] = typer.Option(None, "--init", help="Initial weights (.hdrkit; its model family "
                                        "is used); default: the gamma-map family from its deterministic init; "
                                        "'siren' for the shipped SIREN theta_init (MLP-iTM paper); 'random' for "
                                        "SIREN's untrained init."),
    threads: Optional[int] = typer.Option(None, "--threads", help="torch threads [default: OMP_NUM_THREADS if "
                                          "set, else torch's default: the machine's cores]."),
    device: Optional[str] = typer.Option(None, "--device", help="torch device (cpu, cuda)."),
    method: str = typer.Option("mlp", "--method", help="mlp (embedded MLP) or gainmap (Ultra HDR JPEG, "
                               "ISO 21496-1 gain map; output must be .jpg)."),
    map_scale: int = typer.Option(4, "--map-scale", help="gainmap: map downscale per axis, an integer 1..128 (usual: 1, 2, 4, 8)."),
    map_quality: int = typer.Option(95, "--map-quality", help="gainmap: JPEG quality of the gain map."),
    map_channels: int = typer.Option(3, "--map-channels", help="gainmap: 3 (per channel) or 1."),
    map_gamut: str = typer.Option("base", "--map-gamut", help="gainmap: where the map applies: base (the base "
                                  "image's gamut; every reader agrees) or bt2020 (keeps colours outside the base "
                                  "gamut; ISO 21496-1 readers only)."),
    base_gamut: str = typer.Option("bt709", "--base-gamut", help="gainmap: gamut of the SDR base written "
                                   "(bt709 = sRGB, or p3d65 = Display P3 as phones write), with its ICC profile."),
    fmt: str = typer.Option("jpg", "--format", help="Output format when HDR is a folder or glob: jpg, png or tif."),
    target_from: Optional[str] = typer.Option(None, "--target-from", help="Distillation: no HDR master -- the "
                                              "first argument is the SDR picture and the MLP learns the output "
                                              "of this `hdrkit expand` method (e.g. akyuz2007)."),
) -> None:
    """Encode HDR as an SDR picture + ~18 KB of embedded MLP weights (or an Ultra HDR gain map).

    HDR may be a folder or a glob: each picture is encoded into the -o folder (created as needed) as
    <stem>.<--format>, its SDR grade taken from the SDR folder (same stem) when one is given, else made with --tmo.
    """
    import glob as _glob

    from hdrkit.cli.common import check_output_path, replace_given, resolve_input, rich_progress, say
    from hdrkit.errors import InputError

    if hdr.is_dir() or (not hdr.exists() and _glob.has_magic(str(hdr))):  # many pictures: one encode each
        from hdrkit.cli.common import expand_inputs, plan_outputs

        args = dict(locals())
        files, _ = expand_inputs([hdr])
        grades: dict = {}
        if sdr is not None:
            if not sdr.is_dir():
                raise InputError(f"with several HDR pictures, the SDR argument must be a folder, not {sdr}")
            grades = {f.stem: f for f in expand_inputs([sdr])[0]}
            missing = [f.name for f in files if f.stem not in grades]
            if missing:
                raise InputError(f"no SDR grade in {sdr} for {missing[0]}" + (f" and {len(missing) - 1} more"
                                                                               if len(missing) > 1 else ""))
        for h, o in plan_outputs(files, True, out, fmt, extra_inputs=list(grades.values())):
            encode(**{k: v for k, v in args.items() if k in _PARAMS} | {"hdr": h, "sdr": grades.get(h.stem),
                                                                          "out": o})
        return

    if threads is not None and threads < 1:
        raise InputError("--threads must be >= 1")
    hdr = resolve_input(hdr)  # `sample:NAME` = a picture shipped in the package
    sdr = resolve_input(sdr) if sdr is not None else None
    inputs = [hdr] + ([sdr] if sdr is not None else [])
    check_output_path(out, inputs)
    for p in inputs:  # before any heavy import: a typo answers at once
        if not p.exists():
            raise InputError(f"no such file: {p}")
    from hdrkit.io import format_of

    format_of(out)  # so does an output extension no writer knows
    if method not in ("mlp", "gainmap"):
        raise InputError(f"--method must be mlp or gainmap, got {method!r}")
    if tmo is not None:
        from hdrkit.tonemap import get_operator

        get_operator(tmo).bind({})  # a bad --tmo fails here, before any work
    if target_from is not None and (sdr is not None or method != "mlp"):
        raise InputError("--target-from takes one SDR picture (no second argument) and --method mlp")
    if method == "gainmap":
        from hdrkit.codec.ultrahdr import encode_file as encode_gainmap_file

        if map_channels not in (1, 3):
            raise InputError("--map-channels must be 1 or 3")
        r = encode_gainmap_file(hdr, sdr, out, tmo=tmo, quality=quality, scale=map_scale,
                                map_quality=map_quality, multichannel=map_channels == 3,
                                base_primaries=base_gamut, map_gamut=map_gamut)
        say(f"{out}: Ultra HDR JPEG, {r.added_bytes:,} bytes added to the SDR picture (gain map + metadata, "
                   f"headers included) "
                   f"({r.gainmap.pixels.shape[1]}x{r.gainmap.pixels.shape[0]}x{r.gainmap.pixels.shape[2]} map)")
        return
    import torch  # the MLP route only: the gain-map route and bad arguments answer without it

    from hdrkit._array import resolve_device
    from hdrkit.codec.api import default_adapt_config, encode_file

    if threads is not None:
        torch.set_num_threads(threads)
    resolve_device(device)  # a bad --device fails here, in one line, before any work
    if time_budget is not None and steps is None:
        steps = 1_000_000  # the budget decides
    cfg = replace_given(default_adapt_config(str(init) if init is not None else None), steps=steps, lr=lr,
                        time_budget=time_budget)
    if target_from is not None:
        from hdrkit.baselines.distill import distill_file

        with rich_progress("adapting") as progress:
            res = distill_file(hdr, out, target_from, quant=quant, quality=quality, adapt_cfg=cfg,
                               theta_init=str(init) if init is not None else None, device=device,
                               progress=progress)
        say(f"{out}: {res.added_bytes:,} bytes added to the SDR picture ({len(res.blob):,} of metadata, "
                   f"{res.carrier}), distilled from {target_from} "
                   f"in {res.adapt_seconds:.1f} s")
        return
    with rich_progress("adapting") as progress:
        res = encode_file(hdr, sdr, out, tmo=tmo, adapt_cfg=cfg, quant=quant, quality=quality,
                          theta_init=str(init) if init is not None else None, device=device, progress=progress)
    say(f"{out}: {res.added_bytes:,} bytes added to the SDR picture ({len(res.blob):,} of metadata + "
               f"{res.carrier} headers), adapted in {res.adapt_seconds:.1f} s "
               f"({res.info.steps_run} steps)")


import inspect as _inspect  # noqa: E402

_PARAMS = tuple(_inspect.signature(encode).parameters)


def register(app: typer.Typer) -> None:
    app.command("encode")(encode)
