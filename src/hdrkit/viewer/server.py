"""Local HTTP server for the viewer: 127.0.0.1 only, a random free port, serving the page and exactly the files it
was given (``/files/<index>/<name>``); every other path, ``../`` tricks included, is a 404.  Standard library only.
"""

from __future__ import annotations

import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Sequence

from hdrkit.errors import InputError
from hdrkit.viewer import static_files

HOST = "127.0.0.1"
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".png": "image/png",
          ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}


class ViewerServer:
    """``ViewerServer(files)``: bound at construction (port 0 = a random free port); ``url`` opens the page with
    the first file; ``serve_forever()`` / ``close()``; also a context manager running in a background thread."""

    def __init__(self, files: Sequence[str | Path], port: int = 0):
        self.files = [Path(f) for f in files]
        if not self.files:
            raise InputError("give at least one picture to view")
        for f in self.files:
            if not f.is_file():
                raise InputError(f"no such file: {f}")
        routes = {"/": static_files()["index.html"]}
        routes.update({f"/{name}": p for name, p in static_files().items()})
        for i, f in enumerate(self.files):
            routes[f"/files/{i}/{urllib.parse.quote(f.name)}"] = f
        self.routes = routes

        class Handler(BaseHTTPRequestHandler):
            server_version = "hdrkit-viewer"

            def log_message(self, *args) -> None:  # library code prints nothing
                pass

            def do_HEAD(self) -> None:
                self._serve(body=False)

            def do_GET(self) -> None:
                self._serve(body=True)

            def _serve(self, body: bool) -> None:
                path = urllib.parse.urlsplit(self.path).path
                target = routes.get(path)
                try:
                    data = target.read_bytes() if target is not None else None
                except OSError:
                    data = None
                if data is None:
                    self.send_error(HTTPStatus.NOT_FOUND)
                    return
                self.send_response(HTTPStatus.OK)
                self.send_header("Content-Type", _TYPES.get(target.suffix.lower(), "application/octet-stream"))
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Cache-Control", "no-store")
                self.send_header("X-Content-Type-Options", "nosniff")
                self.end_headers()
                if body:
                    self.wfile.write(data)

        try:
            self.httpd = ThreadingHTTPServer((HOST, int(port)), Handler)
        except OSError as exc:
            raise InputError(f"cannot listen on {HOST}:{port} ({exc.strerror or exc})") from None
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        return self.httpd.server_address[:2]

    @property
    def url(self) -> str:
        query = "&".join(f"file={urllib.parse.quote(p[1:], safe='')}" for p in self.routes if p.startswith("/files/"))
        return f"http://{HOST}:{self.port}/?{query}"

    def serve_forever(self) -> None:
        self.httpd.serve_forever(poll_interval=0.2)

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()

    def __enter__(self) -> "ViewerServer":
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.close()
