"""The import-linter contracts of .importlinter (the layering of docs/ARCHITECTURE.md) hold, and the checker
really reads the code: a contract the code breaks is reported as broken."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _lint(config: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    return subprocess.run([exe, str(config), "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                          timeout=300)


def test_layers_contract_is_kept():
    proc = _lint(ROOT / ".importlinter")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 kept, 0 broken" in proc.stdout


def test_a_contract_the_code_breaks_is_reported(tmp_path):
    """Swap two layers that really depend on each other (codec uses models): the checker says broken."""
    text = (ROOT / ".importlinter").read_text()
    assert "\n    codec\n" in text and "\n    models : meta\n" in text
    swapped = text.replace("\n    codec\n", "\n    @CODEC@\n").replace("\n    models : meta\n", "\n    codec\n")
    swapped = swapped.replace("\n    @CODEC@\n", "\n    models : meta\n")
    cfg = tmp_path / "swapped.ini"
    cfg.write_text(swapped)
    proc = _lint(cfg)
    assert proc.returncode != 0 and "BROKEN" in proc.stdout.upper()
    assert "hdrkit.codec" in proc.stdout and "hdrkit.models" in proc.stdout
