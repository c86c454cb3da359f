"""Entry point of the ``hdrkit`` command.

Each subcommand lives in its own module exposing ``register(app)``; they are listed here explicitly.  Heavy
imports (numpy, torch, OpenCV) happen inside the command functions so that ``hdrkit --help`` stays fast.
"""

from __future__ import annotations

import importlib
import sys

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
) -> None:
    """HDR imaging toolkit."""


for _name in _COMMAND_MODULES:
    importlib.import_module(f"hdrkit.cli.{_name}").register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; hdrkit errors become ``error: ...`` on stderr and exit code 2."""
    try:
        app(args=argv, prog_name="hdrkit", standalone_mode=True)
    except SystemExit as exc:  # typer/click exit paths
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except HdrkitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
