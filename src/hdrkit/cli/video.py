"""``hdrkit video expand|tonemap|info|pairs|eval|encode|decode``: HDR10 video (docs/VIDEO.md)."""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.options import PARAM_OPT
from hdrkit.tonemap.operators import DEFAULT_OPERATOR, operator_names

video_app = typer.Typer(help="HDR10 video: SDR→HDR10 up-conversion, tone mapping, metadata, synthetic clips, "
                             "temporal metrics.", no_args_is_help=True)


def _light(max_cll: Optional[int], max_fall: Optional[int]):
    from hdrkit.errors import InputError
    from hdrkit.video.io import ContentLight

    if max_cll is None and max_fall is None:
        return None
    if max_cll is None or max_fall is None:
        raise InputError("--max-cll and --max-fall go together")
    if not (0 <= max_fall <= max_cll <= 65535):
        raise InputError(f"need 0 ≤ MaxFALL ≤ MaxCLL ≤ 65535, got {max_cll}, {max_fall}")
    return ContentLight(int(max_cll), int(max_fall))


def _output(out: Path, inputs: list[Path]) -> Path:
    from hdrkit.cli.common import check_output_path
    from hdrkit.video.io import _check_output

    check_output_path(out, inputs)
    _check_output(out)
    return out


@video_app.command("expand")
def expand_cmd(
    source: Path = typer.Argument(..., help="SDR video (H.264/HEVC/ProRes/..., 8 or 10 bit)."),
    output: Path = typer.Option(..., "-o", "--output", help="HDR10 output .mkv, .mp4 or .mov."),
    method: Optional[str] = typer.Option(None, "--method", help="gcm (default: gcm's global mapping, its "
                                         "condition smoothed within shots, LUT per frame), masia2017, masia2009, "
                                         "akyuz2007, linear (smoothed statistics), temporal-clues (learned, clues from "
                                         "distant frames), kpn-mfi (learned kernels from frames t±1; both: "
                                         "docs/VIDEO.md), or any `hdrkit expand` method per "
                                         "frame (unet, metahdr, huo2014, kovaleski2014...)."),
    smooth: Optional[float] = typer.Option(None, "--smooth", help="Global methods: std in seconds of the "
                                           "parameters' smoothing within a shot (default 1; 0 = per frame)."),
    anchor: bool = typer.Option(True, "--anchor/--no-anchor", help="Classical global curves: map each frame's median "
                                "luminance onto the smoothed one (a pumping exposure is not passed on)."),
    stabilise: bool = typer.Option(False, "--stabilise/--no-stabilise", help="Global methods and temporal-clues: "
                                   "one gain per frame holding the light of the same scene points steady within a "
                                   "shot (level stabiliser, docs/VIDEO.md)."),
    hold: Optional[float] = typer.Option(None, "--hold", help="With --stabilise: std in seconds of the level trend "
                                         "that is kept (default inf: the shot's mean level)."),
    codec: str = typer.Option("hevc", "--codec", help="hevc (x265 Main 10) or av1 (SVT-AV1 10-bit)."),
    crf: Optional[float] = typer.Option(None, "--crf", help="Quality (default 8 for hevc, 3 for av1: ≤ 1 dB PU-PSNR lost beyond 4:2:0; raise it for smaller files)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Encoder preset (default faster for x265, 10 for SVT-AV1)."),
    peak: Optional[float] = typer.Option(None, "--peak", help="Nits of SDR white / mastering display peak (1000)."),
    chroma: str = typer.Option("420", "--chroma", help="420, or 444 for a 10-bit 4:4:4 mezzanine (hevc only)."),
    mastering: str = typer.Option("p3d65", "--mastering", help="Mastering display primaries: p3d65 or bt2020."),
    max_cll: Optional[int] = typer.Option(None, "--max-cll", help="MaxCLL to write (default: estimated, docs/VIDEO.md)."),
    max_fall: Optional[int] = typer.Option(None, "--max-fall", help="MaxFALL to write (with --max-cll)."),
    param: Optional[List[str]] = typer.Option(None, "--param", help="Extra per-frame operator parameter NAME=VALUE."),
    device: str = typer.Option("cpu", "--device", help="Device of the learned per-frame methods."),
) -> None:
    """Up-convert an SDR video to HDR10 (BT.2020 PQ, mastering display and MaxCLL/MaxFALL metadata).

    Example: `hdrkit video expand clip.mp4 -o clip_hdr10.mp4 --codec av1`
    """
    from hdrkit.cli.common import rich_progress
    from hdrkit._params import bind, parse_assignments
    from hdrkit.cli.expand import _CLI_PARAMS
    from hdrkit.expand import METHODS
    from hdrkit.expand.learned import METHODS as LEARNED
    from hdrkit.video.expand import DEFAULT_METHOD, expand_video
    from hdrkit.video.io import MasteringDisplay

    method = method or DEFAULT_METHOD
    params = parse_assignments(param)
    if method in METHODS:  # typed values; an unknown name is an error naming the method's parameters
        params = bind(METHODS[method], method, params, hidden=_CLI_PARAMS)
    else:
        from hdrkit.video.models import VIDEO_METHODS, method_module

        if method in VIDEO_METHODS:
            params = bind(method_module(method).options, method, params, skip=0)
    if method in LEARNED:
        from hdrkit._array import resolve_device

        resolve_device(device)
        params["device"] = device
    light = _light(max_cll, max_fall)
    md = MasteringDisplay.named(mastering, max_nits=max(peak or 1000.0, 100.0))
    _output(output, [source])
    with rich_progress(f"video expand ({method})") as progress:
        r = expand_video(source, output, method=method, smooth=smooth, peak=peak, codec=codec, crf=crf,
                         preset=preset, chroma=chroma, mastering=md, light=light, params=params, anchor=anchor,
                         stabilise=stabilise, hold=hold, progress=progress)
    typer.echo(f"wrote {output} ({r.width}×{r.height}, {r.frames} frames, {r.codec} HDR10, {method}"
               f"{f' smoothed {r.smooth:g} s' if r.smooth else ''}{', stabilised' if stabilise else ''}, {len(r.cuts)} shot(s), MaxCLL {r.content_light.max_cll}"
               f" MaxFALL {r.content_light.max_fall}, {r.fps:.2f} fps end to end)")


@video_app.command("tonemap")
def tonemap_cmd(
    source: Path = typer.Argument(..., help="HDR video (HDR10 PQ or HLG)."),
    output: Path = typer.Option(..., "-o", "--output", help="SDR output .mkv, .mp4 or .mov."),
    method: str = typer.Option(DEFAULT_OPERATOR, "--method", "-m", help=f"Tone-mapping operator: {operator_names()} "
                               "(parameters: `hdrkit tonemap --list`)."),
    smooth: float = typer.Option(1.0, "--smooth", help="reinhard2002: std in seconds of its statistics' smoothing within a shot."),
    codec: str = typer.Option("h264", "--codec", help="h264, hevc or av1 (8-bit BT.709)."),
    crf: Optional[float] = typer.Option(None, "--crf", help="Quality (codec default when omitted)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Encoder preset."),
    lut: Optional[Path] = typer.Option(None, "--lut", help=".cube LUT for --method lut (same as -p lut=FILE)."),
    param: Optional[List[str]] = PARAM_OPT,
) -> None:
    """Tone map an HDR video to SDR BT.709 with an image operator (temporally smoothed statistics).

    Example: `hdrkit video tonemap clip_hdr10.mkv -o clip_sdr.mp4 --method reinhard2002`
    """
    from hdrkit.cli.common import rich_progress
    from hdrkit.video.tonemap import tonemap_video

    _output(output, [source])
    from hdrkit._params import parse_assignments
    from hdrkit.tonemap import get_operator

    op = get_operator(method)
    params = dict(parse_assignments(param))
    if lut is not None:
        params["lut"] = str(lut)
    params, method = op.bind(params), op.name  # unknown operators/parameters fail here, before any work
    with rich_progress(f"video tonemap ({method})") as progress:
        r = tonemap_video(source, output, method=method, smooth=smooth, codec=codec, crf=crf, preset=preset,
                          params=params, progress=progress)
    typer.echo(f"wrote {output} ({r['frames']} frames, {codec} SDR BT.709, {method})")


@video_app.command("info")
def info_cmd(
    source: Path = typer.Argument(..., help="Video file."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Codec, size, frame rate, colour tags (and what an untagged stream is read as), HDR10 metadata, streams."""
    import json

    from hdrkit.video.io import probe

    info = probe(source)
    d = info.as_dict()
    if as_json:
        typer.echo(json.dumps(d, indent=1, default=str))
        return
    tag = lambda k: "" if info.tagged.get(k) else " (untagged)"  # noqa: E731
    lines = [
        f"{source}: {info.container}, {info.codec} {info.profile or ''}".rstrip(),
        f"  {info.width}×{info.height} {info.fps:.3f} fps, {info.frames if info.frames else '?'} frames, {info.pix_fmt}",
        f"  primaries {info.primaries}{tag('primaries')}, transfer {info.transfer}{tag('transfer')}, "
        f"matrix {info.matrix}{tag('matrix')}, range {'full' if info.full_range else 'limited'}{tag('range')}"
        f" -> {'HDR' if info.is_hdr else 'SDR'}",
    ]
    if info.mastering_display:
        m = info.mastering_display
        lines.append(f"  mastering display: R{tuple(m['primaries'][0])} G{tuple(m['primaries'][1])} "
                     f"B{tuple(m['primaries'][2])} WP{tuple(m['white'])}, {m['min_nits']:g}–{m['max_nits']:g} nits")
    if info.content_light:
        lines.append(f"  content light: MaxCLL {info.content_light['max_cll']}, MaxFALL {info.content_light['max_fall']}")
    for s in info.other_streams:
        lines.append(f"  stream {s['index']}: {s['type']} {s['codec']}")
    typer.echo("\n".join(lines))


@video_app.command("pairs")
def pairs_cmd(
    sources: List[Path] = typer.Argument(..., help="HDR panoramas (EXR/HDR) or folders of them."),
    output: Path = typer.Option(..., "-o", "--output", help="Output folder (created if its parent exists)."),
    clips: int = typer.Option(1, "--clips", help="Clips per panorama."),
    frames: int = typer.Option(48, "--frames", help="Frames per clip."),
    size: str = typer.Option("256x144", "--size", help="WIDTHxHEIGHT of the clips."),
    fps: float = typer.Option(24.0, "--fps", help="Frame rate."),
    tmo: str = typer.Option("eilertsen2017", "--tmo", help="Operator making the SDR: eilertsen2017 (virtual camera, "
                            f"the default) or {operator_names(('lut', 'eilertsen2017'))}."),
    seed: int = typer.Option(0, "--seed", help="Seed of everything."),
    as_frames: bool = typer.Option(False, "--frames-out", help="Write PNG frame folders instead of video files."),
) -> None:
    """Synthetic HDR video pairs: camera paths over HDR panoramas with drifting auto-exposure and a moving object;
    NAME_hdr.mkv (HDR10 4:4:4 near-lossless) + NAME_sdr.mp4 (H.264) + NAME.json per clip.

    Example: `hdrkit video pairs ../shared/data/hdr -o clips --clips 2 --frames 48`
    """
    import numpy as np

    from hdrkit.cli.common import rich_progress
    from hdrkit.data.pairs import list_hdr_files
    from hdrkit.errors import InputError
    from hdrkit.tonemap import get_operator
    from hdrkit.video.synth import make_clip_params, write_clip

    try:
        w, h = (int(v) for v in size.lower().split("x"))
    except ValueError:
        raise InputError(f"--size must be WIDTHxHEIGHT, got {size!r}") from None
    if w < 16 or h < 16 or w % 2 or h % 2 or w > 7680 or h > 4320:
        raise InputError(f"--size must be even and between 16 and 7680×4320, got {size}")
    if frames < 2 or clips < 1 or fps <= 0:
        raise InputError("--frames must be ≥ 2, --clips ≥ 1 and --fps > 0")
    tmo = get_operator(tmo).name
    get_operator(tmo).bind({})  # runs without parameters ('lut' needs a file)
    files: list[Path] = []
    for s in sources:
        if s.is_dir():
            files += list_hdr_files(s)
        elif s.is_file():
            files.append(s)
        else:
            raise InputError(f"{s} does not exist")
    if not files:
        raise InputError("no HDR files given")
    if output.exists() and not output.is_dir():
        raise InputError(f"output {output} exists and is not a folder")
    if not output.exists():
        if not output.parent.is_dir():
            raise InputError(f"parent folder of {output} does not exist")
        output.mkdir()
    rng = np.random.default_rng(seed)
    n = 0
    with rich_progress("video pairs") as progress:
        for f in files:
            for c in range(clips):
                p = make_clip_params(rng, frames, (h, w), tmo)
                write_clip(f, output, p, name=f"{f.stem}_c{c:02d}", fps=fps, as_frames=as_frames, progress=progress)
                n += 1
    typer.echo(f"wrote {n} clip pair(s) to {output}")


@video_app.command("eval")
def eval_cmd(
    reference: Path = typer.Argument(..., help="Reference HDR video."),
    test: Path = typer.Argument(..., help="HDR video to score."),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    report: Optional[Path] = typer.Option(None, "--report", help="Write an HTML report (flicker plot) to this folder."),
    no_warp: bool = typer.Option(False, "--no-warp", help="Skip the warping error (optical flow is the slow part)."),
    max_frames: Optional[int] = typer.Option(None, "--max-frames", help="Compare at most this many frames."),
) -> None:
    """Per-frame PU21 PSNR and ΔE_ITP (mean, worst), MABD (both forms) and warping error of TEST vs REFERENCE."""
    import json

    from hdrkit.cli.common import rich_progress
    from hdrkit.video.evaluate import evaluate_video

    if report is not None and report.exists() and not report.is_dir():
        from hdrkit.errors import InputError

        raise InputError(f"report folder {report} is a file")
    with rich_progress("video eval") as progress:
        r = evaluate_video(reference, test, warp=not no_warp, max_frames=max_frames, progress=progress,
                           keep_worst=report is not None)
    if report is not None:
        from hdrkit.metrics import delta_e_itp, pu_psnr
        from hdrkit.metrics.report import ReportItem, render_video_report, write_report_html

        worst = None
        if "worst" in r:
            _, t, a, b = r["worst"]
            worst = ReportItem(f"worst frame ({t})", a, b, {"pu_psnr": float(pu_psnr(a, b)),
                                                             "delta_e_itp": float(delta_e_itp(a, b))},
                               reference.name, test.name)
        title = f"hdrkit video eval: {test.name} vs {reference.name}"
        write_report_html(report, lambda: render_video_report(r["summary"], r["per_frame"], worst, title))
    s = r["summary"]
    if as_json:
        typer.echo(json.dumps(s, indent=1))
    else:
        typer.echo("\n".join(f"{k:>22}: {v:.6g}" if isinstance(v, float) else f"{k:>22}: {v}" for k, v in s.items()))
    if report is not None:
        typer.echo(f"report: {report / 'index.html'}")


@video_app.command("encode")
def encode_cmd(
    master: Path = typer.Argument(..., help="HDR master video (HDR10 PQ or HLG)."),
    sdr: Optional[Path] = typer.Argument(None, help="SDR grade of the same frames (8-bit video); made with --tmo "
                                         "when omitted."),
    output: Path = typer.Option(..., "-o", "--output", help="SDR output .mkv, .mp4 or .mov carrying the per-shot "
                                "networks (SEI at each shot start; .mkv also an attachment)."),
    tmo: Optional[str] = typer.Option(None, "--tmo", help=f"Operator making the SDR: {operator_names(('lut',))} "
                                      f"(default {DEFAULT_OPERATOR})."),
    steps: int = typer.Option(1000, "--steps", help="Adaptation steps per shot: the speed/quality knob "
                              "(~2.6 ms CPU each, any resolution; docs/VIDEO.md)."),
    samples: int = typer.Option(4096, "--samples", help="Pixels sampled per frame for the fitting."),
    quant: str = typer.Option("fp16", "--quant", help="Weight precision: fp16, int8 or fp32."),
    no_delta: bool = typer.Option(False, "--no-delta", help="Store every shot's weights absolute (no deltas)."),
    codec: str = typer.Option("h264", "--codec", help="SDR codec: h264 or hevc (8-bit BT.709)."),
    crf: Optional[float] = typer.Option(None, "--crf", help="SDR quality (default 18 for h264, 20 for hevc)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="SDR encoder preset."),
) -> None:
    """HDR video → SDR video + one tiny gamma-map network per shot (decode with `hdrkit video decode`).

    Example: `hdrkit video encode master_hdr10.mkv -o shipped.mkv`
    """
    from hdrkit.cli.common import rich_progress
    from hdrkit.video.neural import VideoEncodeConfig, encode_video

    inputs = [master] + ([sdr] if sdr is not None else [])
    _output(output, inputs)
    cfg = VideoEncodeConfig(steps=steps, samples=samples, quant=quant, delta=not no_delta)
    with rich_progress("video encode") as progress:
        r = encode_video(master, output, sdr, tmo=tmo, codec=codec, crf=crf, preset=preset, config=cfg,
                         progress=progress)
    meta = r.metadata_bytes
    typer.echo(f"wrote {output} ({r.width}×{r.height}, {r.frames} frames, {len(r.shots)} shot(s), {codec} SDR "
               f"{r.sdr_bytes} B + metadata {meta} B = {100.0 * meta / max(r.sdr_bytes, 1):.2f} %, "
               f"{r.seconds:.1f} s)")


@video_app.command("decode")
def decode_cmd(
    source: Path = typer.Argument(..., help="SDR video written by `hdrkit video encode`."),
    output: Path = typer.Option(..., "-o", "--output", help="HDR10 output .mkv, .mp4 or .mov."),
    codec: str = typer.Option("hevc", "--codec", help="hevc (x265 Main 10) or av1 (SVT-AV1 10-bit)."),
    crf: Optional[float] = typer.Option(None, "--crf", help="HDR10 quality (default 8 for hevc, 3 for av1)."),
    preset: Optional[str] = typer.Option(None, "--preset", help="Encoder preset."),
    device: str = typer.Option("auto", "--device", help="auto (CUDA when torch sees a GPU, else the CPU kernel), "
                               "cpu or cuda."),
    threads: Optional[int] = typer.Option(None, "--threads", help="CPU kernel threads [default: usable cores]."),
) -> None:
    """SDR video + per-shot networks → HDR10 video (mastering display and MaxCLL/MaxFALL of the master).

    Example: `hdrkit video decode shipped.mkv -o hdr10.mkv`
    """
    from hdrkit.cli.common import rich_progress
    from hdrkit.video.neural import decode_video

    _output(output, [source])
    with rich_progress("video decode") as progress:
        r = decode_video(source, output, codec=codec, crf=crf, preset=preset, device=device, threads=threads,
                         progress=progress)
    typer.echo(f"wrote {output} ({r.width}×{r.height}, {r.frames} frames, {r.shots} shot(s), {codec} HDR10, "
               f"networks on {r.device}, {r.fps:.2f} fps end to end)")


def register(app: typer.Typer) -> None:
    app.add_typer(video_app, name="video")
