"""Behaviour every subcommand shares: one operator vocabulary (the registry, seen through each command's help),
-y/-n/--quiet, output folders created as needed, folder/glob inputs, parameter errors that name the valid
parameters, the progress bar's ETA and long-run warning."""

from __future__ import annotations

import re

import numpy as np
import pytest

from cli_helpers import assert_clean_error, assert_one_line_error, cli, run

from hdrkit.io import Image, read_image, write_image
from hdrkit.tonemap import OPERATORS


@pytest.fixture()
def hdr_dir(tmp_path):
    """Two small linear HDR EXRs (a gradient and a bright patch) in a folder."""
    d = tmp_path / "hdr"
    d.mkdir()
    yy, xx = np.mgrid[0:24, 0:32] / 32.0
    for name, scale in (("a", 1.0), ("b", 3.0)):
        px = np.stack([xx, 0.8 * xx + yy, 0.5 + 0.0 * xx], -1).astype(np.float32) * scale
        px[4:8, 4:10] = 40.0  # 4000 nits
        write_image(d / f"{name}.exr", Image(px, "bt709", "linear", nits_per_unit=100.0))
    return d


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch):
    monkeypatch.setenv("COLUMNS", "160")


def _help(capsys, *cmd: str) -> str:
    code, out, err = cli(capsys, *cmd, "--help")
    assert code == 0, err
    return re.sub(r"[\s│]+", " ", out)  # rich wraps help text in a box


def _error(capsys, pattern: str, *args) -> None:
    """``hdrkit ARGS`` in-process fails with one ``error: ...`` line containing ``pattern``."""
    code, out, err = cli(capsys, *args)
    assert_one_line_error(code, err, pattern, out)


# ------------------------------------------------------------------------------------------- one vocabulary
def test_every_operator_is_named_in_each_commands_help(capsys):
    """The registry, enumerated through the help of every command that takes an operator; operators that need
    a parameter (a file) are left out only where the command has no -p."""
    helps = {" ".join(c): _help(capsys, *c) for c in (["tonemap"], ["encode"], ["pairs"], ["video", "tonemap"],
                                                     ["video", "pairs"])}
    for name, op in OPERATORS.items():
        for cmd in ("tonemap", "video tonemap"):  # these take -p
            assert re.search(rf"\b{name}\b", helps[cmd]), (cmd, name)
        for cmd in ("encode", "pairs", "video pairs"):
            assert bool(re.search(rf"\b{name}\b", helps[cmd])) == (not op.required), (cmd, name)
    for text in helps.values():  # the old per-command names are gone
        assert not re.search(r"\breinhard\b(?!2002)|reinhard, camera", text)


def test_tonemap_list_shows_every_parameter_of_every_operator(capsys):
    code, out, err = cli(capsys, "tonemap", "--list")
    assert code == 0, err
    blocks = dict(re.findall(r"^(\w+): .*?\n((?:    .*\n?)*)", out, flags=re.M))
    assert set(blocks) == set(OPERATORS)
    for name, op in OPERATORS.items():
        listed = re.findall(r"^    (\w+)", blocks[name], flags=re.M)
        assert listed == [p.name for p in op.parameters()], name


def test_each_operator_runs_through_tonemap_encode_and_pairs(tmp_path, hdr_dir, capsys):
    src = hdr_dir / "a.exr"
    for name, op in OPERATORS.items():
        if op.extra == "ocio":
            pytest.importorskip("PyOpenColorIO")
        extra = ["--lut", _youtube_cube()] if op.required else []
        code, _, err = cli(capsys, "tonemap", src, "-o", tmp_path / f"t_{name}.png", "-m", name, *extra)
        assert code == 0, (name, err)
        sdr = read_image(tmp_path / f"t_{name}.png")
        assert sdr.meta["bit_depth"] == 8 and sdr.transfer == "bt1886"
        if op.required:
            continue
        code, _, err = cli(capsys, "encode", src, "-o", tmp_path / f"e_{name}.jpg", "--method", "gainmap",
                           "--tmo", name)
        assert code == 0, (name, err)
    names = [n for n, op in OPERATORS.items() if not op.required]
    code, out, err = cli(capsys, "pairs", hdr_dir, "-o", tmp_path / "pairs", "--tmo", ",".join(names))
    assert code == 0, err
    for name in names:
        assert (tmp_path / "pairs" / f"a_{name}_sdr.png").is_file()


def test_the_virtual_camera_operator_takes_every_camera_parameter():
    from dataclasses import fields

    from hdrkit.data.camera import CameraParams

    assert [p.name for p in OPERATORS["eilertsen2017"].parameters()] == [f.name for f in fields(CameraParams)]


def _youtube_cube():
    from hdrkit.tonemap import youtube_lut_path

    return youtube_lut_path()


def test_same_operator_same_pixels_in_tonemap_and_encode(tmp_path, hdr_dir, capsys):
    """`encode --tmo X` grades the SDR with exactly the operator `tonemap -m X` applies."""
    from hdrkit.codec.api import read_pair

    src = hdr_dir / "b.exr"
    assert cli(capsys, "tonemap", src, "-o", tmp_path / "t.png", "-m", "reinhard2002")[0] == 0
    _, sdr_u8 = read_pair(src, None, "reinhard2002")
    t = np.round(read_image(tmp_path / "t.png").pixels * 255).astype(np.uint8)
    np.testing.assert_array_equal(t, sdr_u8)


def test_parameter_errors_name_the_valid_parameters(tmp_path, hdr_dir, capsys):
    src = hdr_dir / "a.exr"
    _error(capsys, "clip has no parameter 'gamma'; its parameters: exposure, white",
           "tonemap", src, "-o", tmp_path / "x.png", "-m", "clip", "-p", "gamma=2")
    _error(capsys, "parameter key must be a number",
           "tonemap", src, "-o", tmp_path / "x.png", "-m", "reinhard2002", "-p", "key=bright")
    _error(capsys, "did you mean 'reinhard2002'", "tonemap", src, "-o", tmp_path / "x.png", "-m", "reinhard")
    _error(capsys, "unknown tone mapping operator 'camera'", "encode", src, "-o", tmp_path / "x.jpg", "--tmo", "camera")
    _error(capsys, "needs parameter lut", "pairs", hdr_dir, "-o", tmp_path / "p", "--tmo", "lut")
    _error(capsys, "masia2009 has no parameter 'gamma'; its parameters: peak, min_gamma",
           "expand", tmp_path / "x.png", "-o", tmp_path / "y.exr", "-m", "masia2009", "-p", "gamma=1.5")
    assert not any(tmp_path.glob("x.*")) and not (tmp_path / "p").exists()
    # in a real process too: one line, no Python "unexpected keyword argument"
    proc = run("tonemap", src, "-o", tmp_path / "x.png", "-m", "bt2446a", "-p", "peak=600")
    assert_clean_error(proc, "bt2446a has no parameter 'peak'; its parameters: l_hdr, l_sdr, primaries")
    assert "unexpected keyword" not in proc.stderr


def test_expand_help_examples_work_for_the_methods_they_name(tmp_path, capsys):
    from hdrkit.cli.expand import PARAM_EXAMPLES
    from hdrkit.expand import METHODS

    text = _help(capsys, "expand")
    examples = re.findall(r"(\w+=[\w.]+) for (\w+)", text)
    assert {m for _, m in examples} == set(METHODS) and dict((m, e) for e, m in examples) == PARAM_EXAMPLES
    sdr = tmp_path / "sdr.png"
    yy, xx = np.mgrid[0:32, 0:48] / 48.0
    write_image(sdr, Image(np.stack([xx, yy, 0.5 + 0 * xx], -1), "bt709", "bt1886"), bit_depth=8)
    for example, method in examples:
        code, _, err = cli(capsys, "expand", sdr, "-o", tmp_path / f"{method}.exr", "-m", method, "-p", example)
        if code and "weights" in err and "are missing" in err:  # a learned method whose model is not shipped yet:
            assert err.count("\n") == 1  # the parameter was accepted, the missing model is the one-line error
            continue
        assert code == 0, (method, example, err)


# ------------------------------------------------------------------------------------------- -y / -n / -q
def test_every_command_takes_the_global_options(capsys):
    from hdrkit.cli.main import _COMMAND_MODULES

    for name in _COMMAND_MODULES:
        cmds = [[name]]
        top = cli(capsys, name, "--help")[1]
        if "─ Commands ─" in top:  # a group (train, bench, video): each of its commands
            cmds = [[name, sub] for sub in re.findall(r"│ ([a-z][\w-]+) ", top.split("─ Commands ─")[1])]
            assert cmds, name
        for cmd in cmds:
            text = _help(capsys, *cmd)
            for opt in ("-y, --yes", "-n, --no-overwrite", "-q, --quiet"):
                short, long = opt.split(", ")
                assert re.search(rf"{long}\b.*?{short}\b", text), (cmd, opt)


def test_existing_output_is_refused_unless_y_and_kept_with_n(tmp_path, hdr_dir, capsys):
    src, out = hdr_dir / "a.exr", tmp_path / "o.png"
    out.write_bytes(b"old")
    _error(capsys, "exists; pass -y to overwrite it", "tonemap", src, "-o", out)
    assert out.read_bytes() == b"old"
    code, _, err = cli(capsys, "tonemap", src, "-o", out, "-n")
    assert code == 0 and "skipped" in err and out.read_bytes() == b"old"
    assert cli(capsys, "tonemap", src, "-o", out, "-y")[0] == 0 and read_image(out).width == 32
    _error(capsys, "exclude each other", "tonemap", src, "-o", out, "-y", "-n")


def test_quiet_prints_nothing_but_errors(tmp_path, hdr_dir, capsys):
    assert cli(capsys, "convert", hdr_dir / "a.exr", "-o", tmp_path / "o.png", "-q") == (0, "", "")
    _error(capsys, "exists", "convert", hdr_dir / "a.exr", "-o", tmp_path / "o.png", "--quiet")
    code, out, _ = cli(capsys, "convert", hdr_dir / "a.exr", "-o", tmp_path / "o.png", "-y")
    assert code == 0 and out.startswith("wrote ")  # the policy is reset on every run


# ------------------------------------------------------------------------------------------- folders and globs
def test_output_folders_are_created_and_removed_again_on_failure(tmp_path, hdr_dir, capsys):
    out = tmp_path / "new" / "deeper" / "o.png"
    assert cli(capsys, "tonemap", hdr_dir / "a.exr", "-o", out)[0] == 0 and out.is_file()
    _error(capsys, "no parameter", "tonemap", hdr_dir / "a.exr", "-o", tmp_path / "fail" / "o.png", "-m", "clip",
           "-p", "x=1")
    assert not (tmp_path / "fail").exists()
    code, _, err = cli(capsys, "expand", hdr_dir.parent / "sdr_in", "-o", tmp_path / "e" / "f", "-m", "linear")
    assert code == 2 and not (tmp_path / "e").exists()


def test_folder_and_glob_inputs_write_a_folder_and_n_resumes(tmp_path, hdr_dir, capsys):
    out = tmp_path / "sdr"
    code, _, err = cli(capsys, "tonemap", hdr_dir, "-o", out, "--format", "jpg")
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["a.jpg", "b.jpg"]
    code, _, err = cli(capsys, "master", str(hdr_dir / "*.exr"), "-o", tmp_path / "m")  # unexpanded glob
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "m").iterdir()) == ["a.png", "b.png"]
    # resume: one output is missing, -n writes only that one and keeps the other
    (out / "a.jpg").unlink()
    mtime = (out / "b.jpg").stat().st_mtime_ns
    _error(capsys, "b.jpg exists", "tonemap", hdr_dir, "-o", out, "--format", "jpg")
    assert not (out / "a.jpg").exists()  # refused before any work
    assert cli(capsys, "tonemap", hdr_dir, "-o", out, "--format", "jpg", "-n")[0] == 0
    assert (out / "a.jpg").is_file() and (out / "b.jpg").stat().st_mtime_ns == mtime
    # several inputs need a folder; a glob matching nothing and a folder without images are errors
    _error(capsys, "need an output folder", "convert", hdr_dir / "a.exr", hdr_dir / "b.exr", "-o", tmp_path / "x.png")
    _error(capsys, "no image files match", "convert", str(tmp_path / "*.nothing"), "-o", tmp_path / "y")
    (tmp_path / "empty").mkdir()
    _error(capsys, "no image files", "convert", tmp_path / "empty", "-o", tmp_path / "y")
    assert not (tmp_path / "x.png").exists() and not (tmp_path / "y").exists()
    # expand: a folder of SDR images into a new folder
    code, _, err = cli(capsys, "expand", out, "-o", tmp_path / "hdr" / "new", "-m", "linear", "--format", "exr")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "hdr" / "new").iterdir()) == ["a.exr", "b.exr"]


def test_same_stem_inputs_are_refused(tmp_path, hdr_dir, capsys):
    other = tmp_path / "other"
    other.mkdir()
    (other / "a.exr").write_bytes((hdr_dir / "a.exr").read_bytes())
    _error(capsys, "would both write", "convert", hdr_dir, other, "-o", tmp_path / "o")


def test_demo_keep_creates_its_folder(tmp_path, capsys):
    keep = tmp_path / "new" / "kept"
    code, _, err = cli(capsys, "demo", "--keep", keep, "--steps", "2")
    assert code == 0, err
    assert sorted(p.suffix for p in keep.iterdir()) == [".jpg", ".png"]


# ------------------------------------------------------------------------------------------- progress
def test_progress_has_an_eta_and_warns_once_about_a_long_run(monkeypatch, capsys):
    from rich.progress import TimeRemainingColumn

    from hdrkit.cli import common

    clock = [1000.0]
    monkeypatch.setattr(common.time, "monotonic", lambda: clock[0])
    columns = []
    import rich.progress

    orig = rich.progress.Progress.__init__

    def spy(self, *cols, **kw):
        columns.extend(cols)
        orig(self, *cols, **kw)

    monkeypatch.setattr(rich.progress.Progress, "__init__", spy)
    common.set_policy()
    with common.rich_progress("work", long_run_s=300.0) as progress:
        progress(0, 100, "")
        clock[0] += 40.0
        progress(1, 100, "")  # a slow first step (start-up, JIT compilation) does not count
        clock[0] += 1.0
        progress(2, 100, "")
        clock[0] += 9.0
        progress(10, 100, "")  # 50 s + 90 × 10/9 s = 150 s in all (elapsed / done × total would say 500 s)
        clock[0] += 1.0
        progress(11, 100, "")
    assert "warning" not in capsys.readouterr().err
    clock[0] = 1000.0
    with common.rich_progress("work", long_run_s=60.0) as progress:
        progress(0, 100, "")
        clock[0] += 5.0
        progress(1, 100, "")
        clock[0] += 5.0
        progress(2, 100, "")  # 5 s after the first step: too early to judge (< 10 s)
        clock[0] += 10.0
        progress(4, 100, "")  # 5 s per step from the first one on: 20 s + 96 × 5 s = 8 min in all
        progress(5, 100, "")
    err = capsys.readouterr().err
    assert any(isinstance(c, TimeRemainingColumn) for c in columns)
    assert err.count("warning: this run will take about 8 min in all") == 1, err
    common.set_policy(quiet=True)
    clock[0] = 1000.0
    with common.rich_progress("work", long_run_s=60.0) as progress:
        progress(0, 100, "")
        clock[0] += 30.0
        progress(1, 100, "")
    assert capsys.readouterr().err == ""
    common.set_policy()


# ------------------------------------------------------------------------------------------- encode/decode/info
def test_encode_decode_info_take_folders_and_info_reports_hdrkit_metadata(tmp_path, hdr_dir, capsys):
    import json

    from hdrkit.codec.adapters import read_blob
    from hdrkit.codec.container import unpack

    enc = tmp_path / "enc"
    code, _, err = cli(capsys, "encode", hdr_dir, "-o", enc, "--steps", "2", "--format", "png")
    assert code == 0, err
    assert sorted(p.name for p in enc.iterdir()) == ["a.png", "b.png"]
    code, _, err = cli(capsys, "decode", str(enc / "*.png"), "-o", tmp_path / "dec", "--format", "exr")
    assert code == 0, err
    assert sorted(p.name for p in (tmp_path / "dec").iterdir()) == ["a.exr", "b.exr"]
    code, out, err = cli(capsys, "info", enc, hdr_dir / "a.exr", "--json")
    assert code == 0, err
    recs = {r["file"]: r for r in json.loads(out)}
    meta = recs[str(enc / "a.png")]["hdrkit"]
    blob = read_blob(enc / "a.png")
    c = unpack(blob)
    assert meta["bytes"] == len(blob) and meta["carrier"] == "png" and meta["quant"] == c.quant
    assert meta["parameters"] == sum(v.size for v in c.weights.values())
    assert meta["architecture"]["model"] == type(c.cfg).__name__
    from dataclasses import asdict

    assert {k: v for k, v in meta["architecture"].items() if k != "model"} == {
        k: list(v) if isinstance(v, tuple) else v for k, v in asdict(c.cfg).items()}  # the default: gamma family
    assert meta["architecture"]["hidden"] == list(c.cfg.hidden)
    assert recs[str(hdr_dir / "a.exr")]["hdrkit"] is None
    code, out, _ = cli(capsys, "info", enc / "a.png")
    assert code == 0 and f"hdrkit     {len(blob):,} bytes of metadata (png): {type(c.cfg).__name__}" in out
    # an SDR folder must match the HDR stems
    (tmp_path / "sdr").mkdir()
    write_image(tmp_path / "sdr" / "zzz.png", Image(np.zeros((4, 4, 3), np.float32), "bt709", "bt1886"), bit_depth=8)
    _error(capsys, "no SDR grade in", "encode", hdr_dir, tmp_path / "sdr", "-o", tmp_path / "e2")
