"""Silence an encoder library that writes to the process's stderr (SVT-AV1 prints its configuration to fd 2).

This redirects file descriptor 2 for the duration of the block: process-wide, so it is used only around the
video encoder's open/encode calls (the image readers and writers in :mod:`hdrkit.io` never do this).
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Redirect file descriptor 2 to /dev/null for the duration of the block."""
    try:
        sys.stderr.flush()
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (e.g. captured): nothing to silence
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)
