"""The in-browser viewer: a static, dependency-free page (HTML + JS + GLSL/WGSL generated in JS) that parses the
hdrkit container and runs the embedded network on the GPU (WebGPU compute shader, WebGL2 fallback), plus the
local HTTP server behind ``hdrkit view``.  See docs/VIEWER.md.
"""

from __future__ import annotations

from pathlib import Path

#: Folder of the page (index.html and its scripts), shipped as package data.
STATIC_DIR = Path(__file__).resolve().parent / "static"


def static_files() -> dict[str, Path]:
    """``{name: path}`` of the page's files (the only page paths the server answers)."""
    return {p.name: p for p in sorted(STATIC_DIR.iterdir()) if p.is_file() and p.suffix in (".html", ".js")}


__all__ = ["STATIC_DIR", "static_files"]
