"""``hdrkit view``: open hdrkit pictures (and Ultra HDR JPEGs) in the browser viewer, decoded on the GPU."""

from __future__ import annotations

from pathlib import Path
from typing import List

import typer


def view(
    files: List[Path] = typer.Argument(..., help="Pictures written by `hdrkit encode` (PNG/JPEG) or Ultra HDR JPEGs."),
    no_browser: bool = typer.Option(False, "--no-browser", help="Only serve; print the address, open nothing."),
    port: int = typer.Option(0, "--port", help="Port on 127.0.0.1 (default: a random free port)."),
) -> None:
    """Serve the viewer page and FILES on 127.0.0.1 and open it in the browser; Ctrl-C stops the server."""
    from hdrkit.viewer.server import ViewerServer

    server = ViewerServer(files, port=port)
    typer.echo(f"hdrkit viewer at {server.url}  (Ctrl-C stops it)")
    if not no_browser:
        import webbrowser

        if not webbrowser.open(server.url):
            typer.echo("no browser could be started: open the address above")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        typer.echo("stopped")
    finally:
        server.close()


def register(app: typer.Typer) -> None:
    app.command("view")(view)
