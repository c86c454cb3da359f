"""The ``hdrkit`` command: info, convert, --version, and one-line errors with exit code 2 for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cli_helpers import assert_clean_error as _assert_clean_error, run

from hdrkit.io import Image, read_image, write_image


def test_version_and_help():
    from hdrkit import __version__

    assert run("--version").stdout.strip() == f"hdrkit {__version__}"
    out = run("--help").stdout
    assert "info" in out and "convert" in out


def test_info_on_shipped_sample_json():
    proc = run("info", "sample:courtyard", "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert (s["width"], s["height"], s["transfer"]) == (256, 128, "linear")
    assert 0 < s["min_nits"] < s["median_nits"] < s["max_nits"]


def test_info_on_real_exr(shared_data):
    proc = run("info", str(shared_data / "hdr" / "forest.exr"))
    assert proc.returncode == 0, proc.stderr
    assert "1024×512" in proc.stdout and "median" in proc.stdout and "nits" in proc.stdout


def test_info_luminance_matches_closed_form(tmp_path):
    # A PQ image whose code values are known: min/median/max luminance follow from ST 2084 directly.
    from hdrkit.color import pq_inverse_eotf

    nits = np.array([0.1, 100.0, 1000.0], dtype=np.float64)
    codes = np.repeat(pq_inverse_eotf(nits)[None, :, None], 3, axis=2).astype(np.float32)
    write_image(tmp_path / "a.exr", Image(codes, "bt2020", "pq").to(transfer="linear"))
    s = json.loads(run("info", str(tmp_path / "a.exr"), "--json").stdout)
    assert s["min_nits"] == pytest.approx(0.1, rel=1e-4)
    assert s["median_nits"] == pytest.approx(100.0, rel=1e-4)
    assert s["max_nits"] == pytest.approx(1000.0, rel=1e-4)


def test_convert_exr_to_pq_png_and_back(tmp_path):
    rgb = np.random.default_rng(0).uniform(0, 30, (16, 24, 3)).astype(np.float32)
    write_image(tmp_path / "in.exr", Image(rgb, "bt709", "linear", 100.0))
    proc = run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "out.png"))
    assert proc.returncode == 0, proc.stderr
    png = read_image(tmp_path / "out.png")
    assert png.encoding() == "BT.2020 PQ" and png.meta["bit_depth"] == 16
    # 16-bit PQ quantisation in BT.2020, seen back in BT.709: error bounded relative to the pixel's largest channel.
    ref = rgb * 100.0
    assert np.all(np.abs(png.nits("bt709") - ref) <= 2e-3 * ref.max(-1, keepdims=True) + 1e-3)
    proc = run("convert", str(tmp_path / "out.png"), "-o", str(tmp_path / "back.exr"), "--primaries", "bt709")
    assert proc.returncode == 0, proc.stderr
    back = read_image(tmp_path / "back.exr")
    assert back.primaries == "bt709" and back.nits_per_unit == 100.0  # float files: 1.0 = 100 nits
    np.testing.assert_allclose(back.nits("bt709"), ref, rtol=2e-3, atol=2e-3 * ref.max())


def test_convert_sdr_jpeg_to_linear_bt2020_nits(tmp_path):
    sdr = np.full((8, 8, 3), 1.0, np.float32)
    write_image(tmp_path / "in.jpg", Image(sdr, "bt709", "bt1886"), quality=100)
    proc = run("convert", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "out.exr"), "--primaries", "bt2020")
    assert proc.returncode == 0, proc.stderr
    out = read_image(tmp_path / "out.exr")
    np.testing.assert_allclose(out.nits(), 203.0, rtol=1e-3)  # SDR white = 203 nits (BT.2408)


@pytest.mark.parametrize("case", ["truncated_exr", "text_exr", "two_channel_png", "missing"])
def test_bad_inputs_exit_2_one_line_no_output(tmp_path, case):
    if case == "truncated_exr":
        write_image(tmp_path / "a.exr", Image(np.random.default_rng(1).uniform(0, 1, (64, 64, 3)), "bt709", "linear"))
        data = (tmp_path / "a.exr").read_bytes()
        src = tmp_path / "bad.exr"
        src.write_bytes(data[: len(data) // 2])
    elif case == "text_exr":
        src = tmp_path / "bad.exr"
        src.write_text("just some text\n")
    elif case == "two_channel_png":
        from PIL import Image as PILImage

        src = tmp_path / "bad.png"
        PILImage.new("LA", (1, 1)).save(src)
    else:
        src = tmp_path / "missing.exr"
    _assert_clean_error(run("info", str(src)), src.name)
    out = tmp_path / "out.png"
    _assert_clean_error(run("convert", str(src), "-o", str(out)), src.name)
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out")]  # no temp file left behind


def test_convert_refuses_bad_options_and_overwriting_input(tmp_path):
    write_image(tmp_path / "in.exr", Image(np.ones((4, 4, 3)), "bt709", "linear"))
    _assert_clean_error(run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "o.png"), "--transfer", "gamma9"),
                        "unknown transfer")
    _assert_clean_error(run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "o.bmp")), "extension")
    _assert_clean_error(run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "in.exr")), "also an input")
    # a failed run removes the output folders it created
    _assert_clean_error(run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "nodir" / "sub" / "o.png"),
                            "--transfer", "gamma9"), "unknown transfer")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.exr"]
