"""Start-up stays cheap: no subcommand imports torch to show its help or to refuse a missing input (torch
alone costs seconds of start-up; speed itself is measured in docs/CODEC.md, not here)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_CODE = """
import sys
from hdrkit.cli.main import main, app
names = sorted(c.name for c in app.registered_commands) + sorted(g.name for g in app.registered_groups)
for args in [["--help"]] + [[n, "--help"] for n in names] + [[n, "/nonexistent/x.exr", "-o", sys.argv[1]]
                                                             for n in ("encode", "decode", "expand", "pairs")]:
    try:
        main(args)
    except SystemExit:
        pass
    if "torch" in sys.modules:
        print("TORCH", args)
        break
else:
    print("OK", len(names))
"""


def test_help_and_missing_inputs_never_import_torch(tmp_path):
    r = subprocess.run([sys.executable, "-c", _CODE, str(tmp_path / "out.png")], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().splitlines()[-1].startswith("OK"), r.stdout[-2000:]
