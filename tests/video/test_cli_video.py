"""``hdrkit video ...``: outputs, one-line errors with exit 2, nothing left behind."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import gradient_frames, write_hdr, write_sdr

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cli"))
from cli_helpers import assert_one_line_error, cli  # noqa: E402


def _listing(folder: Path) -> set[str]:
    return {p.name for p in folder.iterdir()}


def test_expand_info_tonemap_eval_end_to_end(capsys, sdr_clip_cut, tmp_path):
    out = tmp_path / "hdr.mp4"
    code, o, e = cli(capsys, "video", "expand", sdr_clip_cut, "-o", out, "--codec", "hevc")
    assert code == 0, e
    assert "2 shot(s)" in o and "MaxCLL" in o
    code, o, e = cli(capsys, "video", "info", out, "--json")
    d = json.loads(o)
    assert d["hdr"] and d["profile"] == "Main 10" and d["content_light"]["max_cll"] > 0
    code, o, e = cli(capsys, "video", "info", out)
    assert "mastering display" in o and "-> HDR" in o
    sdr = tmp_path / "back.mkv"
    code, o, e = cli(capsys, "video", "tonemap", out, "-o", sdr, "--method", "reinhard2002")
    assert code == 0, e
    code, o, e = cli(capsys, "video", "info", sdr, "--json")
    assert not json.loads(o)["hdr"] and json.loads(o)["frames"] == 40
    per_frame = tmp_path / "pf.mkv"
    assert cli(capsys, "video", "expand", sdr_clip_cut, "-o", per_frame, "--smooth", "0")[0] == 0
    rep = tmp_path / "rep"
    code, o, e = cli(capsys, "video", "eval", out, per_frame, "--json", "--report", rep)
    assert code == 0, e
    s = json.loads(o[: o.rindex("}") + 1])
    assert s["frames"] == 40 and s["pu_psnr_mean"] > 30 and "warping_error_test" in s and "mabd_mse_jiang2019" in s
    html = (rep / "index.html").read_text()
    assert "Flicker plot" in html and "<polyline" in html


def _zero_length(path: Path) -> Path:
    import av

    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=24)
    s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
    c.close()
    return path


def _odd(path: Path) -> Path:
    import av

    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=24)
    s.width, s.height, s.pix_fmt = 65, 49, "yuv444p"
    for i in range(3):
        f = av.VideoFrame.from_ndarray(np.full((49, 65, 3), 100, np.uint8), format="rgb24").reformat(format="yuv444p")
        f.pts = i
        c.mux(s.encode(f))
    c.mux(s.encode(None))
    c.close()
    return path


@pytest.mark.parametrize("case", ["truncated", "not_video", "unknown_codec", "odd", "zero", "hdr", "no_file",
                                  "bad_codec", "bad_container", "global_param"])
def test_bad_input_is_one_line_exit_2_and_no_output(capsys, tmp_path, case):
    good = write_sdr(tmp_path / "good.mkv", gradient_frames(12))
    args = []
    if case == "truncated":
        src = tmp_path / "cut.mkv"
        src.write_bytes(good.read_bytes()[: good.stat().st_size // 3])
        pattern = "truncated"
    elif case == "not_video":
        src = tmp_path / "notes.mp4"
        src.write_text("this is not a video\n" * 50)
        pattern = "not a readable video"
    elif case == "unknown_codec":
        src = tmp_path / "unk.mkv"
        src.write_bytes(good.read_bytes().replace(b"V_MPEG4/ISO/AVC", b"V_HDRKIT/NOPE/X"))
        pattern = "unsupported video codec"
    elif case == "odd":
        src, pattern = _odd(tmp_path / "odd.mkv"), "odd frame size"
    elif case == "zero":
        src, pattern = _zero_length(tmp_path / "zero.mkv"), "zero.mkv"
    elif case == "hdr":
        src = write_hdr(tmp_path / "hdr.mkv", [np.full((48, 64, 3), 100.0, np.float32)] * 3)
        pattern = "already HDR"
    elif case == "no_file":
        src, pattern = tmp_path / "missing.mp4", "does not exist"
    elif case == "bad_codec":
        src, pattern, args = good, "unsupported HDR10 codec", ["--codec", "vp9"]
    elif case == "global_param":  # the smoothed baseline has no per-frame parameters: never silently ignored
        src, pattern, args = good, "takes no operator parameters", ["--method", "masia2017", "--param", "min_gamma=2"]
    else:
        src, pattern = good, "video output must be"
    before = _listing(tmp_path)
    out = tmp_path / ("out.avi" if case == "bad_container" else "out.mkv")
    code, o, e = cli(capsys, "video", "expand", src, "-o", out, *args)
    assert_one_line_error(code, e, pattern, o)
    assert _listing(tmp_path) == before  # no output, no temp file


def test_tonemap_refuses_sdr_and_eval_refuses_sdr(capsys, sdr_clip, tmp_path):
    code, o, e = cli(capsys, "video", "tonemap", sdr_clip, "-o", tmp_path / "x.mp4")
    assert_one_line_error(code, e, "is SDR", o)
    code, o, e = cli(capsys, "video", "eval", sdr_clip, sdr_clip)
    assert_one_line_error(code, e, "not HDR", o)


def test_pairs_writes_clip_pairs(capsys, tmp_path):
    from hdrkit.io import write_image
    from hdrkit.io.image import Image

    rng = np.random.default_rng(0)
    pano = (rng.uniform(0.1, 2.0, (32, 64, 3)) * 50).astype(np.float32)
    src = tmp_path / "in"
    src.mkdir()
    write_image(src / "p.exr", Image(pano, "bt2020", "linear", 1.0))
    out = tmp_path / "clips"
    code, o, e = cli(capsys, "video", "pairs", src, "-o", out, "--frames", "4", "--size", "64x32", "--seed", "7")
    assert code == 0, e
    assert _listing(out) == {"p_c00_hdr.mkv", "p_c00_sdr.mp4", "p_c00.json"}
    meta = json.loads((out / "p_c00.json").read_text())
    assert meta["params"]["frames"] == 4 and meta["source"] == "p.exr"
    code, o, e = cli(capsys, "video", "pairs", src, "-o", tmp_path / "c2", "--size", "65x32")
    assert_one_line_error(code, e, "--size", o)


def test_av1_output_keeps_the_terminal_free_of_encoder_logs(sdr_clip, tmp_path):
    """SVT-AV1 prints its configuration on file descriptor 2; the CLI (not the library) turns that off with
    SVT_LOG, so a successful `video expand --codec av1` writes only its own lines."""
    import os
    import subprocess

    out = tmp_path / "a.mkv"
    env = {k: v for k, v in os.environ.items() if k != "SVT_LOG"}
    proc = subprocess.run([sys.executable, "-m", "hdrkit.cli.main", "video", "expand", str(sdr_clip), "-o", str(out),
                           "--codec", "av1", "-q"], capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert out.exists() and "Svt[" not in proc.stderr + proc.stdout
