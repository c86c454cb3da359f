"""Progress reporting.  Library code never prints; long operations accept a ``progress`` callback."""

from __future__ import annotations

from typing import Callable, Optional

#: ``progress(done, total, description)`` -- called by long-running library functions.
ProgressFn = Callable[[int, int, str], None]


def report(progress: Optional[ProgressFn], done: int, total: int, description: str = "") -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total, description)


def console_progress(interval: float = 30.0) -> ProgressFn:
    """A :data:`ProgressFn` for command-line entry points (``python -m …`` trainers): prints a timestamped line
    ``HH:MM:SS done/total description`` at most every ``interval`` seconds, and at the end."""
    import time

    last = [0.0]

    def progress(done: int, total: int, what: str) -> None:
        if time.time() - last[0] > interval or done == total:
            last[0] = time.time()
            print(f"{time.strftime('%H:%M:%S')} {done}/{total} {what}", flush=True)

    return progress
