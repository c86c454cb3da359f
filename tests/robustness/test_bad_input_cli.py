"""Issue 21: every bad input at the command line is one ``error:`` line, exit 2, within 5 s and 500 MB.

Each case makes its (tiny) file in the test and runs ``python -m hdrkit.cli.main`` in a subprocess; the peak
resident memory of that child comes from ``os.wait4`` (its own ``ru_maxrss``), the time from the wall clock.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bad_inputs import CASES

LIMIT_S = 5.0          # CPU seconds of the child (user + system): the machine running the suite may be shared
LIMIT_WALL_S = 120.0   # a hang shows up here whatever the load (torch imports take ~10 s on a busy machine)
LIMIT_RSS_MB = 500


#: Runs hdrkit as *its* child and reports that child's own rusage: measured from the test process directly,
#: Linux would count the pytest process's RSS copied at fork time into the child's peak.
_RUNNER = """
import os, resource, subprocess, sys
code = subprocess.call(sys.argv[2:], stdin=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[1], "w").write(f"{code} {u.ru_utime + u.ru_stime} {u.ru_maxrss}")
"""


def run_measured(args, cwd) -> tuple[int, str, str, float, float, float]:
    """(exit code, stdout, stderr, wall seconds, CPU seconds, peak RSS in MB) of ``hdrkit ARGS`` in a fresh
    process."""
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", COLUMNS="160")
    stats = cwd / "_rusage"
    cmd = [sys.executable, "-c", _RUNNER, str(stats), sys.executable, "-m", "hdrkit.cli.main",
           *map(os.fsdecode, args)]
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, cwd=cwd, env=env, timeout=LIMIT_WALL_S + 5)
    except subprocess.TimeoutExpired:
        return -1, "", "hung", time.monotonic() - t0, float("nan"), float("nan")
    wall = time.monotonic() - t0
    code, cpu, rss_kb = stats.read_text().split()
    stats.unlink()
    return (int(code), proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"), wall,
            float(cpu), int(rss_kb) / 1024)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Every case run once, two at a time."""
    from concurrent.futures import ThreadPoolExecutor

    def one(name):
        folder = tmp_path_factory.mktemp(name)
        args, pattern = CASES[name](folder)
        return name, (folder, pattern, run_measured(args, folder))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(pool.map(one, sorted(CASES)))


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_is_one_line(case, results):
    tmp_path, pattern, (code, out, err, wall, cpu, rss) = results[case]
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 2, (code, err[-2000:])
    assert len(lines) == 1 and lines[0].startswith("error: "), err[-2000:]
    assert any(p in lines[0] for p in ((pattern,) if isinstance(pattern, str) else pattern)), lines[0]
    assert "Traceback" not in err + out
    assert ".hdrkit-" not in lines[0] and ".tmp" not in lines[0], lines[0]  # never names a temporary file
    assert cpu < LIMIT_S and wall < LIMIT_WALL_S, f"{case}: {cpu:.1f} s CPU, {wall:.1f} s wall"
    assert rss < LIMIT_RSS_MB, f"{case}: {rss:.0f} MB"
    assert not any(p.name.startswith(".hdrkit-") for p in tmp_path.iterdir())  # no temporary file left
    assert not any(p.name.startswith("o.") for p in tmp_path.iterdir())  # no output either


if __name__ == "__main__":  # print the measured table: python tests/robustness/test_bad_input_cli.py
    import tempfile
    from pathlib import Path

    print(f"{'case':28s} {'exit':>4s} {'wall s':>7s} {'cpu s':>6s} {'RSS MB':>7s}  stderr")
    for name in sorted(CASES):
        with tempfile.TemporaryDirectory() as d:
            args, _ = CASES[name](Path(d))
            code, out, err, wall, cpu, rss = run_measured(args, Path(d))
            print(f"{name:28s} {code:4d} {wall:7.2f} {cpu:6.2f} {rss:7.0f}  {err.strip()[:110]}")
