"""Progress reporting.  Library code never prints; long operations accept a ``progress`` callback."""

from __future__ import annotations

from typing import Callable, Optional

#: ``progress(done, total, description)`` -- called by long-running library functions.
ProgressFn = Callable[[int, int, str], None]


def report(progress: Optional[ProgressFn], done: int, total: int, description: str = "") -> None:
    """Call ``progress`` if one was given."""
    if progress is not None:
        progress(done, total, description)
