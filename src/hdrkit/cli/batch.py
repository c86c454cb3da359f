"""``hdrkit batch encode|decode|expand|eval|tonemap IN_DIR|LIST -o OUT_DIR``: many files at once on Ray.

The per-item options are parsed by the same helpers as the single-file commands; the work is
:mod:`hdrkit.batch` (Ray Data, resumable manifest, atomic outputs).  See docs/BATCH.md.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import List, Optional

import typer

from hdrkit.cli.expand import DEFAULT_METHOD as EXPAND_DEFAULT
from hdrkit.cli.options import PARAM_OPT
from hdrkit.tonemap.operators import DEFAULT_OPERATOR, operator_names

batch_app = typer.Typer(
    name="batch", no_args_is_help=True, add_completion=False,
    help="Run encode/decode/expand/eval/tonemap over a folder or a list of files, locally or on a Ray cluster "
         "(resumable; see docs/BATCH.md). Needs `pip install 'hdrkit\\[ray]'`.")

SOURCE_ARG = typer.Argument(..., help="Folder of inputs, or a text file listing one item per line "
                            "(comma/tab-separated paths relative to it); folders may be s3://, gs://, file:// URIs.")
OUT_OPT = typer.Option(..., "-o", "--output", help="Output folder (created if its parent exists; may be a URI, "
                       "then with --manifest).")
ADDRESS_OPT = typer.Option(None, "--address", help="Join a Ray cluster: auto, or ray://HOST:PORT "
                           "(default: a private local Ray sized to this machine).")
WORKERS_OPT = typer.Option(None, "--workers", help="Worker processes (default: cores // threads, or the "
                           "cluster's CPUs // threads).")
THREADS_OPT = typer.Option(1, "--threads", help="Threads per worker (torch/OpenMP).")
RESUME_OPT = typer.Option(False, "--resume", help="Continue a batch in OUT_DIR: skip items done with the "
                          "same input content and options, redo the rest (also -n; -y redoes everything).")
DRY_OPT = typer.Option(False, "--dry-run", help="List what would run and why, then stop.")
MANIFEST_OPT = typer.Option(None, "--manifest", help="Where the SQLite manifest lives "
                            "(default: OUT_DIR/.hdrkit-batch.sqlite).")


def _progress_printer(stream=None):
    """A ``ProgressFn`` with items/s and ETA: a rich bar on a terminal, else a line at every 10 %."""
    stream = stream or sys.stderr
    state = {"t0": None, "start_done": 0, "last_decile": -1}

    def line(done: int, total: int) -> str:
        now = time.perf_counter()
        if state["t0"] is None:
            state["t0"], state["start_done"] = now, done
        ran, dt = done - state["start_done"], now - state["t0"]
        rate = ran / dt if ran > 0 and dt > 0 else 0.0
        eta = f"{(total - done) / rate:.0f} s" if rate > 0 else "?"
        return f"batch: {done}/{total}, {rate:.2f} items/s, ETA {eta}"

    def update(done: int, total: int, desc: str = "") -> None:
        if desc == "started":
            state["t0"], state["start_done"] = time.perf_counter(), done
            return
        decile = (10 * done) // max(total, 1)
        if decile != state["last_decile"] or done == total:
            state["last_decile"] = decile
            print(line(done, total), file=stream, flush=True)

    return update


@contextlib.contextmanager
def _native_stderr_to(log_path: Path):
    """Ray's C++ core of the driver prints its own warnings on file descriptor 2; send them to ``log_path`` and
    keep ``sys.stderr`` (progress, summary, ``error: ...``) on the terminal.  The CLI owns this process."""
    sys.stderr.flush()
    saved = os.dup(2)
    ours = os.fdopen(os.dup(saved), "w", buffering=1, encoding=getattr(sys.stderr, "encoding", None) or "utf-8")
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    old, sys.stderr = sys.stderr, ours
    try:
        yield
    finally:
        ours.flush()
        os.dup2(saved, 2)
        os.close(saved)
        sys.stderr = old
        ours.close()


def _run(op, source: str, out: str, *, address, workers, threads, resume, dry_run, manifest,
         test_dir: Optional[str] = None) -> None:
    from hdrkit.batch import discover, run_batch
    from hdrkit.batch.run import import_ray
    from hdrkit.batch.storage import is_uri
    from hdrkit.cli.common import POLICY
    from hdrkit.errors import InputError

    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # this process is the driver: no usage reporting
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    if not dry_run:
        import_ray()  # one line saying how to install Ray, before any work
    if workers is not None and workers < 1:
        raise InputError("--workers must be >= 1")
    for other in (source, test_dir):
        if other is not None and not is_uri(out) and not is_uri(other):
            try:
                if Path(out).resolve() == Path(other).resolve():
                    raise InputError("the output folder must differ from the input folder")
            except OSError:
                pass
    op.check()
    items = discover(op.name, source, test_dir)
    command = " ".join(["hdrkit", *sys.argv[1:]]) if sys.argv else "hdrkit batch"
    kwargs = dict(address=address, workers=workers, threads=threads, manifest_path=manifest, command=command,
                  resume=resume or POLICY.overwrite == "skip", overwrite=POLICY.overwrite == "yes")  # -n / -y
    if dry_run:
        _print_plan(run_batch(op, items, out, dry_run=True, **kwargs))
        return
    if is_uri(out) and manifest is None:
        raise InputError(f"a remote output folder ({out}) needs --manifest PATH (a local file)")
    if not is_uri(out) and not Path(out).exists() and Path(out).parent.is_dir():
        Path(out).mkdir()
    log = Path(f"{manifest}.log") if manifest is not None else Path(out) / ".hdrkit-batch.log"
    try:
        with _native_stderr_to(log):
            rep = run_batch(op, items, out, progress=None if POLICY.quiet else _progress_printer(), **kwargs)
    except KeyboardInterrupt:
        print("error: interrupted; what finished is in the manifest: rerun with --resume to do the rest",
              file=sys.stderr)
        raise typer.Exit(130) from None
    _print_summary(rep, op.name, quiet=POLICY.quiet)
    if rep.failed:
        raise typer.Exit(1)


def _print_plan(rep) -> None:
    from rich.console import Console

    from hdrkit.batch.storage import name as name_of
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", title="hdrkit batch --dry-run")
    for col in ("item", "action", "why", "output", "inputs"):
        table.add_column(col, overflow="fold")
    for e in rep.planned:
        table.add_row(e.item.name, e.action, e.reason, name_of(e.output), ", ".join(name_of(p) for p in e.item.inputs))
    console = Console(width=160) if not sys.stdout.isatty() else Console()
    console.print(table)
    n_run = sum(e.action == "run" for e in rep.planned)
    typer.echo(f"{n_run} to run, {rep.skipped} already done, "
               f"{sum(e.action == 'fail' for e in rep.planned)} cannot run")


def _print_summary(rep, name: str, quiet: bool = False) -> None:
    """The summary table on stdout (not with -q) and the failed items with their errors on stderr."""
    if rep.failures:
        print(f"{len(rep.failures)} failed:", file=sys.stderr)
        for n, err in rep.failures:
            print(f"  {n}: {err}", file=sys.stderr)
    if quiet:
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True, header_style="bold", title=f"hdrkit batch {name}")
    table.add_column("items", justify="right")
    for col in ("done", "skipped", "failed", "wall s", "start-up s", "items/s", "workers × threads", "where"):
        table.add_column(col, justify="right")
    table.add_row(str(len(rep.planned)), str(rep.done), str(rep.skipped), str(rep.failed), f"{rep.seconds:.1f}",
                  f"{rep.startup_seconds:.1f}", f"{rep.items_per_second:.2f}", f"{rep.workers} × {rep.threads}",
                  rep.address)
    console = Console(width=160) if not sys.stdout.isatty() else Console()
    console.print(table)


@batch_app.command("encode")
def batch_encode(
    source: str = SOURCE_ARG, out: str = OUT_OPT,
    tmo: Optional[str] = typer.Option(None, "--tmo", help="Tone mapping for items without an SDR grade."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Adaptation steps."),
    lr: Optional[float] = typer.Option(None, "--lr", help="Adaptation learning rate (Adam)."),
    quant: str = typer.Option("fp16", "--quant", help="Weight precision in the metadata: fp16, int8 or fp32."),
    quality: int = typer.Option(95, "--quality", help="JPEG quality of the SDR picture."),
    init: Optional[Path] = typer.Option(None, "--init", help="Initial weights (.hdrkit); default: shipped."),
    method: str = typer.Option("mlp", "--method", help="mlp (embedded MLP) or gainmap (Ultra HDR JPEG)."),
    map_scale: int = typer.Option(4, "--map-scale", help="gainmap: map downscale per axis (1, 2, 4, 8)."),
    map_quality: int = typer.Option(95, "--map-quality", help="gainmap: JPEG quality of the gain map."),
    map_channels: int = typer.Option(3, "--map-channels", help="gainmap: 3 (per channel) or 1."),
    map_gamut: str = typer.Option("base", "--map-gamut", help="gainmap: base or bt2020 (see hdrkit encode)."),
    base_gamut: str = typer.Option("bt709", "--base-gamut", help="gainmap: bt709 or p3d65 SDR base."),
    fmt: str = typer.Option("jpg", "--format", help="Output format: jpg, png or tif (MLP embedded)."),
    address: Optional[str] = ADDRESS_OPT, workers: Optional[int] = WORKERS_OPT, threads: int = THREADS_OPT,
    resume: bool = RESUME_OPT, dry_run: bool = DRY_OPT, manifest: Optional[Path] = MANIFEST_OPT,
) -> None:
    """`hdrkit encode` on every HDR master (NAME.exr / NAME_hdr.png, with NAME_sdr.* as its SDR grade when
    present): OUT_DIR/NAME.jpg.  Deterministic: the same bytes as `hdrkit encode --threads 1`."""
    from hdrkit.batch import EncodeOp

    op = EncodeOp(tmo=tmo, steps=steps, lr=lr, quant=quant, quality=quality,
                  init=str(init) if init is not None else None, method=method, map_scale=map_scale,
                  map_quality=map_quality, map_channels=map_channels, map_gamut=map_gamut,
                  base_gamut=base_gamut, fmt=fmt)
    _run(op, source, out, address=address, workers=workers, threads=threads, resume=resume, dry_run=dry_run,
         manifest=manifest)


@batch_app.command("decode")
def batch_decode(
    source: str = SOURCE_ARG, out: str = OUT_OPT,
    fmt: str = typer.Option("png", "--format", help="png/tif (16-bit PQ BT.2020) or exr."),
    address: Optional[str] = ADDRESS_OPT, workers: Optional[int] = WORKERS_OPT, threads: int = THREADS_OPT,
    resume: bool = RESUME_OPT, dry_run: bool = DRY_OPT, manifest: Optional[Path] = MANIFEST_OPT,
) -> None:
    """`hdrkit decode` on every picture: OUT_DIR/NAME.png."""
    from hdrkit.batch import DecodeOp

    _run(DecodeOp(fmt=fmt), source, out, address=address, workers=workers, threads=threads, resume=resume,
         dry_run=dry_run, manifest=manifest)


@batch_app.command("expand")
def batch_expand(
    source: str = SOURCE_ARG, out: str = OUT_OPT,
    method: str = typer.Option(EXPAND_DEFAULT, "--method", "-m", help="As `hdrkit expand` (`hdrkit expand --list`)."),
    peak: Optional[float] = typer.Option(None, "--peak", help="Peak luminance in nits."),
    param: Optional[List[str]] = PARAM_OPT,
    fmt: str = typer.Option("png", "--format", help="png/tif (HDR10) or exr (linear nits)."),
    address: Optional[str] = ADDRESS_OPT, workers: Optional[int] = WORKERS_OPT, threads: int = THREADS_OPT,
    resume: bool = RESUME_OPT, dry_run: bool = DRY_OPT, manifest: Optional[Path] = MANIFEST_OPT,
) -> None:
    """`hdrkit expand` on every SDR picture: OUT_DIR/NAME.png."""
    from hdrkit._params import bind, parse_assignments
    from hdrkit.batch import ExpandOp
    from hdrkit.cli.expand import _CLI_PARAMS
    from hdrkit.errors import InputError
    from hdrkit.expand import METHODS
    from hdrkit.expand.learned import METHODS as LEARNED

    if method not in METHODS:  # the checks and parameter binding of `hdrkit expand`
        raise InputError(f"unknown expansion method {method!r}; choose one of {', '.join(METHODS)}")
    params = bind(METHODS[method], method, parse_assignments(param), hidden=_CLI_PARAMS)
    if peak is not None:
        params["peak"] = peak
    if method in LEARNED:
        params["device"] = "cpu"
    _run(ExpandOp(method=method, params=params, fmt=fmt), source, out, address=address, workers=workers,
         threads=threads, resume=resume, dry_run=dry_run, manifest=manifest)


@batch_app.command("tonemap")
def batch_tonemap(
    source: str = SOURCE_ARG, out: str = OUT_OPT,
    method: str = typer.Option(DEFAULT_OPERATOR, "--method", "-m",
                               help=f"Operator: {operator_names()} (`hdrkit tonemap --list`)."),
    lut: Optional[Path] = typer.Option(None, "--lut", help="A .cube LUT for --method lut."),
    param: Optional[List[str]] = PARAM_OPT,
    master: bool = typer.Option(False, "--master/--no-master", help="Master each input first (--peak/--mid)."),
    peak: float = typer.Option(1000.0, "--peak", help="With --master: mastering peak in nits."),
    mid: float = typer.Option(26.0, "--mid", help="With --master: nits of the log-average luminance."),
    fmt: str = typer.Option("png", "--format", help="png, jpg or tif (8-bit BT.709 BT.1886)."),
    address: Optional[str] = ADDRESS_OPT, workers: Optional[int] = WORKERS_OPT, threads: int = THREADS_OPT,
    resume: bool = RESUME_OPT, dry_run: bool = DRY_OPT, manifest: Optional[Path] = MANIFEST_OPT,
) -> None:
    """`hdrkit tonemap` on every HDR picture: OUT_DIR/NAME.png."""
    from hdrkit.batch import TonemapOp
    from hdrkit.cli.tonemap import operator_params

    tmo, params = operator_params(method, lut, param)  # the registry and parameter binding of `hdrkit tonemap`
    _run(TonemapOp(method=tmo.name, params=params, master=master, peak=peak, mid=mid, fmt=fmt), source, out,
         address=address, workers=workers, threads=threads, resume=resume, dry_run=dry_run, manifest=manifest)


@batch_app.command("eval")
def batch_eval(
    source: str = SOURCE_ARG, out: str = OUT_OPT,
    test: Optional[str] = typer.Option(None, "--test", help="Folder of test images named like the references "
                                        "in SOURCE (not needed with a list of REF,TEST lines)."),
    metrics: Optional[str] = typer.Option(None, "--metrics", help="Comma-separated subset (default: all but cvvdp)."),
    address: Optional[str] = ADDRESS_OPT, workers: Optional[int] = WORKERS_OPT, threads: int = THREADS_OPT,
    resume: bool = RESUME_OPT, dry_run: bool = DRY_OPT, manifest: Optional[Path] = MANIFEST_OPT,
) -> None:
    """`hdrkit eval --json` on every (reference, test) pair: OUT_DIR/NAME.json (the metrics, one file per pair)."""
    from hdrkit.batch import EvalOp

    keys = None if metrics is None else tuple(k.strip() for k in metrics.split(",") if k.strip())
    _run(EvalOp(metrics=keys), source, out, address=address, workers=workers, threads=threads, resume=resume,
         dry_run=dry_run, manifest=manifest, test_dir=test)


def register(app: typer.Typer) -> None:
    app.add_typer(batch_app, name="batch")
