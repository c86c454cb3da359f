"""``hdrkit batch``: items, manifest, resume/idempotence (in-process loop), and on a real local Ray with two
worker processes: a worker SIGKILLed mid-run and a driver interrupted half-way (issue 19 acceptance)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from hdrkit.batch import (MANIFEST_NAME, EncodeOp, Manifest, TonemapOp, discover, plan, run_batch)
from hdrkit.errors import InputError

STEPS = "40"  # adaptation steps of the Ray tests: each item takes long enough to be killed mid-run


def _write_pair(folder: Path, name: str, seed: int, size=(40, 48)) -> None:
    from hdrkit import color
    from hdrkit.io import Image, write_image

    h, w = size
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    rng = np.random.default_rng(seed)
    base = np.stack([np.sin(3 * x + seed) + 1.2, np.cos(4 * y + 0.3 * seed) + 1.2, x + y + 0.3], -1)
    nits = (base * rng.uniform(50, 400)).astype(np.float32)
    nits[5:9, 5:9] *= 8
    write_image(folder / f"{name}_hdr.png", Image(color.pq_inverse_eotf(nits).astype(np.float32),
                                                  primaries="bt2020", transfer="pq"), bit_depth=16)
    sdr = np.clip((nits / nits.max()) ** (1 / 2.4), 0, 1).astype(np.float32)
    write_image(folder / f"{name}_sdr.png", Image(sdr, primaries="bt709", transfer="bt1886", nits_per_unit=203))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("pairs")
    for i in range(20):
        _write_pair(folder, f"p{i:02d}", i)
    return folder


def _hdr_only(tmp_path: Path, n: int = 3) -> Path:
    folder = tmp_path / "hdr"
    folder.mkdir()
    for i in range(n):
        _write_pair(folder, f"h{i}", i, size=(16, 20))
        (folder / f"h{i}_sdr.png").unlink()
        (folder / f"h{i}_hdr.png").rename(folder / f"h{i}.png")
    return folder


def _temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def _cli(*args: str) -> subprocess.Popen:
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1", COLUMNS="160")
    return subprocess.Popen([sys.executable, "-m", "hdrkit.cli.main", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env)


def _done_count(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(str(db), timeout=5) as c:
            return c.execute("SELECT COUNT(*) FROM items WHERE status = 'done'").fetchone()[0]
    except sqlite3.OperationalError:  # tables not created yet
        return 0


def _sequential_encode(pairs: Path, out: Path, capsys) -> None:
    """The reference: `hdrkit encode HDR SDR -o OUT --steps S --threads 1`, one file after the other."""
    from hdrkit.cli.main import main

    out.mkdir()
    for i in range(20):
        code = main(["encode", str(pairs / f"p{i:02d}_hdr.png"), str(pairs / f"p{i:02d}_sdr.png"),
                     "-o", str(out / f"p{i:02d}.jpg"), "--steps", STEPS, "--threads", "1"])
        assert code == 0
    capsys.readouterr()


# -- items ----------------------------------------------------------------------------------------------------

def test_discover_pairs_the_layout_of_hdrkit_pairs(tmp_path):
    for n in ("a_hdr.png", "a_sdr.png", "b.exr", "c_sdr.png", "notes.txt"):
        (tmp_path / n).write_bytes(b"x")
    items = {it.name: it for it in discover("encode", tmp_path)}
    assert sorted(items) == ["a", "b", "c"]
    assert [Path(p).name for p in items["a"].inputs] == ["a_hdr.png", "a_sdr.png"]
    assert [Path(p).name for p in items["b"].inputs] == ["b.exr"] and items["b"].error is None
    assert "has no HDR master" in items["c"].error


def test_discover_reports_colliding_outputs_and_reads_lists(tmp_path):
    (tmp_path / "x.png").write_bytes(b"x")
    (tmp_path / "x.exr").write_bytes(b"x")
    (tmp_path / "y.png").write_bytes(b"x")
    items = {it.name: it for it in discover("tonemap", tmp_path)}
    assert "several inputs would write the same output x" in items["x"].error and items["y"].error is None
    lst = tmp_path / "list.txt"
    lst.write_text("# hdr, sdr\nx.exr, y.png\n\n/abs/z_hdr.exr\ny.png,x.exr,x.png\n")
    items = {it.name: it for it in discover("encode", lst)}
    assert items["x"].inputs == (str(tmp_path / "x.exr"), str(tmp_path / "y.png"))
    assert items["z"].inputs == ("/abs/z_hdr.exr",)
    assert "3 paths" in items["y"].error
    with pytest.raises(InputError, match="--test"):
        discover("eval", tmp_path)


# -- resume and idempotence (same driver code, in-process loop: no Ray start-up) ------------------------------

def test_rerun_skips_done_items_and_redoes_changed_ones(tmp_path):
    src, out = _hdr_only(tmp_path), tmp_path / "out"
    op = TonemapOp(method="bt2446a")
    rep = run_batch(op, discover("tonemap", src), out, backend="loop")
    assert (rep.done, rep.failed, rep.skipped) == (3, 0, 0)
    first = {p.name: p.read_bytes() for p in out.glob("*.png")}
    assert sorted(first) == ["h0.png", "h1.png", "h2.png"]
    with pytest.raises(InputError, match="--resume"):
        run_batch(op, discover("tonemap", src), out, backend="loop")
    rep = run_batch(op, discover("tonemap", src), out, backend="loop", resume=True)
    assert (rep.ran, rep.skipped) == (0, 3)
    # same bytes, new mtime: still done (content hash); new content: redone; a deleted output: redone
    data = (src / "h0.png").read_bytes()
    (src / "h0.png").write_bytes(data)
    os.utime(src / "h0.png", ns=(1, 1))
    _write_pair(src, "h1", 99, size=(16, 20))
    (src / "h1_sdr.png").unlink()
    (src / "h1_hdr.png").rename(src / "h1.png")
    (out / "h2.png").unlink()
    entries = {e.item.name: e for e in plan(op, discover("tonemap", src), out, Manifest(out / MANIFEST_NAME))}
    assert {n: (e.action, e.reason) for n, e in entries.items()} == {
        "h0": ("skip", "done"), "h1": ("run", "input changed"), "h2": ("run", "output missing or changed")}
    rep = run_batch(op, discover("tonemap", src), out, backend="loop", resume=True)
    assert (rep.ran, rep.skipped) == (2, 1)
    assert (out / "h2.png").read_bytes() == first["h2.png"]  # deterministic output
    assert (out / "h1.png").read_bytes() != first["h1.png"]
    # other options: every item is redone
    rep = run_batch(TonemapOp(method="clip"), discover("tonemap", src), out, backend="loop", resume=True)
    assert (rep.ran, rep.skipped) == (3, 0)
    with Manifest(out / MANIFEST_NAME) as m:
        assert [r["status"] for r in m.runs()] == ["finished"] * 4  # the refused run never started


def test_bad_items_are_listed_and_do_not_stop_the_job(tmp_path):
    src, out = _hdr_only(tmp_path), tmp_path / "out"
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    rep = run_batch(TonemapOp(), discover("tonemap", src), out, backend="loop")
    assert rep.done == 3 and rep.failed == 1
    (name, err), = rep.failures
    assert name == "broken" and "\n" not in err and err
    assert _temp_files(out) == [] and not (out / "broken.png").exists()
    with Manifest(out / MANIFEST_NAME) as m:
        rec = m.items()["broken"]
        assert rec.status == "failed" and rec.error == err


def test_uri_folders_through_pyarrow_filesystems(tmp_path):
    """file:// URIs take the remote path (pyarrow filesystem: list, stat, fetch, upload) that s3:// / gs:// use."""
    src, local_out, remote_out = _hdr_only(tmp_path), tmp_path / "local", tmp_path / "remote"
    op = TonemapOp(method="bt2446a")
    run_batch(op, discover("tonemap", src), local_out, backend="loop")
    uri_items = discover("tonemap", src.as_uri())
    assert [it.inputs[0] for it in uri_items] == [f"{src.as_uri()}/h{i}.png" for i in range(3)]
    with pytest.raises(InputError, match="--manifest"):
        run_batch(op, uri_items, remote_out.as_uri(), backend="loop")
    db = tmp_path / "remote.sqlite"
    rep = run_batch(op, uri_items, remote_out.as_uri(), backend="loop", manifest_path=db)
    assert (rep.done, rep.failed) == (3, 0)
    assert sorted(p.name for p in remote_out.iterdir()) == ["h0.png", "h1.png", "h2.png"]  # no temporary left
    for i in range(3):
        assert (remote_out / f"h{i}.png").read_bytes() == (local_out / f"h{i}.png").read_bytes()
    rep = run_batch(op, uri_items, remote_out.as_uri(), backend="loop", manifest_path=db, resume=True)
    assert (rep.ran, rep.skipped) == (0, 3)


def test_each_op_writes_what_its_command_writes(tmp_path, capsys):
    """decode / expand / eval / encode (gain map) items: the same bytes (or metrics) as the single-file commands."""
    from hdrkit.batch import DecodeOp, EvalOp, ExpandOp
    from hdrkit.cli.main import main

    src = _hdr_only(tmp_path, 2)
    enc, dec, exp, ev, single = (tmp_path / n for n in ("enc", "dec", "exp", "ev", "single"))
    single.mkdir()
    assert run_batch(EncodeOp(method="gainmap"), discover("encode", src), enc, backend="loop").done == 2
    assert run_batch(DecodeOp(), discover("decode", enc), dec, backend="loop").done == 2
    assert run_batch(ExpandOp(method="akyuz2007"), discover("expand", enc), exp, backend="loop").done == 2
    rep = run_batch(EvalOp(metrics=("pq_psnr",)), discover("eval", src, dec), ev, backend="loop")
    assert rep.done == 2
    for i in range(2):
        for args, batch_out in (
                (["encode", src / f"h{i}.png", "--method", "gainmap", "-o", single / f"h{i}.jpg"], enc / f"h{i}.jpg"),
                (["decode", enc / f"h{i}.jpg", "-o", single / f"d{i}.png"], dec / f"h{i}.png"),
                (["expand", enc / f"h{i}.jpg", "-m", "akyuz2007", "-o", single / f"e{i}.png"], exp / f"h{i}.png")):
            assert main([str(a) for a in args]) == 0
            assert Path(args[-1]).read_bytes() == batch_out.read_bytes(), args
        assert main(["eval", str(src / f"h{i}.png"), str(dec / f"h{i}.png"), "--json", "--metrics", "pq_psnr"]) == 0
        expected = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["pq_psnr"]
        got = json.loads((ev / f"h{i}.json").read_text())["pq_psnr"]
        assert got == pytest.approx(expected, rel=1e-9) and rep.results[f"h{i}"]["pq_psnr"] == got


def test_options_hash_follows_option_file_content(tmp_path):
    from hdrkit.batch.run import options_hash

    init = tmp_path / "theta.hdrkit"
    init.write_bytes(b"a")
    h1 = options_hash(EncodeOp(init=str(init)))
    init.write_bytes(b"b")
    assert options_hash(EncodeOp(init=str(init))) != h1
    assert options_hash(EncodeOp(steps=5)) != options_hash(EncodeOp(steps=6))
    assert options_hash(EncodeOp(steps=5)) == options_hash(EncodeOp(steps=5))


# -- CLI without Ray ---------------------------------------------------------------------------------------------

def test_without_ray_one_line_install_hint(tmp_path, capsys, monkeypatch):
    from hdrkit.cli.main import main

    src = _hdr_only(tmp_path, 1)
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError, as on a machine without it
    code = main(["batch", "tonemap", str(src), "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip().splitlines() == ["error: hdrkit batch needs Ray: pip install 'hdrkit[ray]'"]
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_what_would_run(tmp_path, capsys):
    from hdrkit.cli.main import main

    src = _hdr_only(tmp_path, 2)
    code = main(["batch", "tonemap", str(src), "-o", str(tmp_path / "out"), "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and "h0" in out and "h1" in out and "2 to run, 0 already done" in out
    assert not (tmp_path / "out").exists()


# -- acceptance on a local Ray: 2 worker processes, 1 thread each -----------------------------------------------

def _worker_pids(driver_pid: int) -> list[int]:
    """Ray Data worker processes (``ray::MapWorker(MapBatches(BatchWorker))``) descended from the driver."""
    parent, title = {}, {}
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
                parent[int(d.name)] = int(stat[stat.rindex(")") + 2:].split()[1])
                title[int(d.name)] = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except (OSError, ValueError):
                pass

    def descends(pid: int) -> bool:
        for _ in range(20):
            pid = parent.get(pid, 0)
            if pid == driver_pid:
                return True
            if pid <= 1:
                return False
        return False

    return sorted(p for p, t in title.items() if "BatchWorker" in t and descends(p))


def test_worker_killed_mid_run_job_completes_byte_identical(pairs, tmp_path, capsys):
    out = tmp_path / "out"
    proc = _cli("batch", "encode", pairs, "-o", out, "--steps", STEPS, "--workers", "2", "--threads", "1")
    db, killed, deadline = out / MANIFEST_NAME, None, time.time() + 240
    while proc.poll() is None and time.time() < deadline:
        if killed is None and _done_count(db) >= 2:
            pids = _worker_pids(proc.pid)
            if len(pids) == 2:
                killed = pids[0]
                os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    assert killed is not None, "the job finished before a worker could be killed"
    assert [ln for ln in stderr.splitlines() if ln.strip() and not ln.startswith("batch: ")] == []  # no Ray noise
    with sqlite3.connect(str(db)) as c:
        rows = c.execute("SELECT name, status, worker FROM items").fetchall()
    assert len(rows) == 20 and {r[1] for r in rows} == {"done"}
    workers = {r[2].rsplit(":", 1)[1] for r in rows}
    assert str(killed) not in workers or len(workers) >= 3  # the replacement process did the rest
    names = sorted(p.name for p in out.iterdir())
    # each output exactly once, nothing else but the manifest and the log of Ray's own messages
    assert names == sorted([MANIFEST_NAME, ".hdrkit-batch.log"] + [f"p{i:02d}.jpg" for i in range(20)])
    ref = tmp_path / "sequential"
    _sequential_encode(pairs, ref, capsys)
    for i in range(20):
        assert (out / f"p{i:02d}.jpg").read_bytes() == (ref / f"p{i:02d}.jpg").read_bytes(), i


def test_driver_interrupted_then_resume_runs_only_missing_items(pairs, tmp_path):
    out = tmp_path / "out"
    args = ("batch", "encode", pairs, "-o", out, "--steps", STEPS, "--workers", "2")
    proc = _cli(*args)
    db, deadline = out / MANIFEST_NAME, time.time() + 240
    while proc.poll() is None and time.time() < deadline and _done_count(db) < 6:
        time.sleep(0.05)
    assert proc.poll() is None, "the job finished before it could be interrupted"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and stderr.strip().splitlines()[-1].startswith("error: interrupted"), stderr
    assert _temp_files(out) == []
    with sqlite3.connect(str(db)) as c:
        done_before = {r[0] for r in c.execute("SELECT name FROM items WHERE status = 'done'")}
        assert c.execute("SELECT status FROM runs").fetchall() == [("interrupted",)]
    assert 6 <= len(done_before) < 20
    resumed = _cli(*args, "--resume")
    _, stderr = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, stderr
    with sqlite3.connect(str(db)) as c:
        runs = c.execute("SELECT id, status, planned, done, skipped FROM runs ORDER BY id").fetchall()
        second = {r[0] for r in c.execute("SELECT name FROM items WHERE run_id = ?", (runs[-1][0],))}
        statuses = {r[0] for r in c.execute("SELECT status FROM items")}
    assert runs[-1][1:] == ("finished", 20 - len(done_before), 20 - len(done_before), len(done_before)), stderr
    assert second == {f"p{i:02d}" for i in range(20)} - done_before  # only the missing items ran
    assert statuses == {"done"}
    assert sorted(p.name for p in out.glob("*.jpg")) == [f"p{i:02d}.jpg" for i in range(20)]
    assert _temp_files(out) == []
