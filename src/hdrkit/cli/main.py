"""Entry point of the ``hdrkit`` command.

Each subcommand lives in its own module exposing ``register(app)``; they are listed here explicitly.  Heavy
imports (numpy, torch, OpenCV) happen inside the command functions so that ``hdrkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import sys
import threading
from typing import Optional

import typer

from hdrkit import __version__
from hdrkit.errors import HdrkitError

#: Subcommand modules under ``hdrkit.cli``, in the order ``--help`` lists them.
_COMMAND_MODULES = [
    "info",
    "convert",
    "eval",
    "encode",
    "decode",
    "train",
    "bench",
    "demo",
    "calibrate",
    "merge",
    "fuse",
    "expand",
    "tonemap",
    "master",
    "pairs",
    "view",
    "video",
    "batch",
]

app = typer.Typer(
    name="hdrkit",
    help="HDR imaging toolkit: inverse tone mapping, HDR as SDR + tiny neural decoder, classical HDR, metrics.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hdrkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version and exit."
    ),
    max_pixels: Optional[int] = typer.Option(
        None, "--max-pixels", metavar="N",
        help="Pixel budget per decoded image (default 134,217,728 = 16384×8192; about 12 bytes per pixel as "
             "float32). Files over it, or whose header claims far more pixels than their size can hold, are "
             "refused before decoding; N also accepts any compression ratio up to N pixels.",
    ),
) -> None:
    """HDR imaging toolkit."""
    if max_pixels is not None:
        from hdrkit.io.limits import set_budget

        set_budget(max_pixels)


for _name in _COMMAND_MODULES:
    importlib.import_module(f"hdrkit.cli.{_name}").register(app)

#: Options every subcommand takes (added by :func:`build_command`; the policy lives in ``hdrkit.cli.common``).
GLOBAL_OPTIONS = {
    "hdrkit_yes": (("-y", "--yes"), "Overwrite existing outputs (default: an existing output is an error)."),
    "hdrkit_no_overwrite": (("-n", "--no-overwrite"),
                            "Never overwrite: skip outputs that exist (resumes a folder run)."),
    "hdrkit_quiet": (("-q", "--quiet"), "No progress bars, warnings or 'wrote' lines; errors still print."),
}


def _with_global_options(fn):
    """``fn`` with the :data:`GLOBAL_OPTIONS` added to its signature; they set the run policy, then ``fn`` runs."""
    import functools
    import inspect

    from hdrkit.cli import common

    sig = inspect.signature(fn, eval_str=True)
    taken = {d for p in sig.parameters.values() if isinstance(p.default, typer.models.OptionInfo)
             for d in (p.default.default, *(p.default.param_decls or ())) if isinstance(d, str)}
    extra = []
    for name, (decls, help_text) in GLOBAL_OPTIONS.items():
        extra.append(inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, annotation=bool,
            default=typer.Option(False, *[d for d in decls if d not in taken], help=help_text,
                                 rich_help_panel="Global options")))

    @functools.wraps(fn)
    def run(*args, hdrkit_yes=False, hdrkit_no_overwrite=False, hdrkit_quiet=False, **kwargs):
        common.set_policy(hdrkit_yes, hdrkit_no_overwrite, hdrkit_quiet)
        return fn(*args, **kwargs)

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind == inspect.Parameter.VAR_KEYWORD else p
              for p in sig.parameters.values()]
    run.__signature__ = sig.replace(parameters=params + extra)
    run.__annotations__ = {p.name: p.annotation for p in run.__signature__.parameters.values()
                           if p.annotation is not inspect.Parameter.empty}
    return run


def _add_global_options(typer_app: typer.Typer) -> None:
    """Give every command of ``typer_app`` (and of its sub-apps, e.g. ``train``, ``bench``) the global options."""
    for info in typer_app.registered_commands:
        if info.callback is not None and not getattr(info.callback, "_hdrkit_global", False):
            info.callback = _with_global_options(info.callback)
            info.callback._hdrkit_global = True
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            _add_global_options(group.typer_instance)


def build_command():
    """The click command behind ``hdrkit``, with the global options on every subcommand."""
    _add_global_options(app)
    return typer.main.get_command(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; hdrkit errors become ``error: ...`` on stderr and exit code 2 (folders the run created for
    its outputs are removed again when still empty).  Run as the program (``argv`` None: the ``hdrkit`` script,
    ``python -m hdrkit.cli.main``) the process then ends at once: streams flushed and ``atexit`` handlers run as
    at a normal exit, but without the interpreter's teardown of every module, which after a numba kernel was
    loaded costs 0.15–0.25 s (clearing ~100,000 compiler objects) -- a quarter of a 4K ``decode``."""
    code = _main(argv)
    if argv is None and threading.active_count() == 1:  # other threads still running: a normal exit joins them
        _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    import atexit

    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # closed or broken pipe: what a normal exit would also lose
            pass
    atexit._run_exitfuncs()
    os._exit(code)


def _main(argv: list[str] | None) -> int:
    """What :func:`main` does, returning the exit code."""
    from hdrkit.cli.common import remove_created_dirs, set_policy

    # SVT-AV1 (the AV1 encoder inside PyAV) prints its configuration on file descriptor 2 unless SVT_LOG says
    # otherwise; errors only (1).  Set here, where the CLI owns the process, never in library code.
    os.environ.setdefault("SVT_LOG", "1")

    _quiet_libraries()
    try:
        build_command().main(args=argv, prog_name="hdrkit", standalone_mode=True)
    except SystemExit as exc:  # typer/click exit paths
        code = exc.code
        code = code if isinstance(code, int) else (0 if code is None else 1)
        if code:
            remove_created_dirs()
        return code
    except HdrkitError as exc:
        remove_created_dirs()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        remove_created_dirs()
        print("error: interrupted", file=sys.stderr)
        return 130
    finally:
        set_policy()  # back to the defaults for whatever runs next in this process
    return 0


def _quiet_libraries() -> None:
    """The one line ``error: ...`` is all a user sees: library warnings (Pillow, numpy, tifffile's log records)
    are not printed by the command (``python -W ...`` or ``PYTHONWARNINGS`` still show them).  Process-wide, so
    done here, by the program, never by library code."""
    import logging
    import warnings

    if not sys.warnoptions:
        warnings.simplefilter("ignore")
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
