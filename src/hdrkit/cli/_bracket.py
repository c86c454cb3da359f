"""Reading exposure brackets for the ``calibrate``, ``merge`` and ``fuse`` subcommands."""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

from hdrkit.errors import InputError


def read_bracket(paths: Sequence[Path]):
    """Read 8- or 16-bit images as integer code values; returns (list of uint8/uint16 arrays, first Image)."""
    import numpy as np

    from hdrkit.cli.common import resolve_input
    from hdrkit.io import read_image

    codes, first = [], None
    for p in paths:
        img = read_image(resolve_input(p))
        bits = int(img.meta.get("bit_depth", 8))
        if bits not in (8, 16):
            raise InputError(f"{Path(p).name}: brackets must be 8- or 16-bit images (got {bits}-bit data)")
        scale, dtype = (255.0, np.uint8) if bits == 8 else (65535.0, np.uint16)
        codes.append(np.round(np.clip(img.pixels, 0.0, 1.0) * scale).astype(dtype))
        first = first or img
    return codes, first


def bracket_times_for(paths: Sequence[Path], times: Optional[str]) -> list[float]:
    """Exposure times from ``--times`` (comma-separated seconds, fractions allowed) or else from EXIF."""
    from hdrkit.merge.bracket import parse_times
    from hdrkit.merge.exif import bracket_times

    if times is not None:
        t = parse_times(times)
        if len(t) != len(paths):
            raise InputError(f"--times gives {len(t)} exposure times for {len(paths)} images")
        return t
    return bracket_times(paths)


def check_count(paths: Sequence[Path], minimum: int = 2) -> None:
    if len(paths) < minimum:
        raise InputError(f"a bracket needs at least {minimum} images, got {len(paths)}")
