"""Helpers shared by the CLI tests: run ``hdrkit`` in a subprocess or in-process, and check that an error is
one clean line (exit 2, ``error: ...``, no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    """``python -m hdrkit.cli.main ARGS`` with one torch thread and a wide terminal."""
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "hdrkit.cli.main", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=env, timeout=120)


def assert_one_line_error(code: int, err: str, pattern: str, out: str = "") -> None:
    assert code == 2, err
    assert "Traceback" not in err + out
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and pattern in lines[0], err


def assert_clean_error(proc: subprocess.CompletedProcess, pattern: str) -> None:
    """A subprocess run of :func:`run` failed with exactly one ``error: ...`` line containing ``pattern``."""
    assert_one_line_error(proc.returncode, proc.stderr, pattern, proc.stdout)


def cli(capsys, *args) -> tuple[int, str, str]:
    """``hdrkit ARGS`` in-process: (exit code, stdout, stderr)."""
    from hdrkit.cli.main import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err
