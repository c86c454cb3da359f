"""``hdrkit calibrate / merge / fuse / expand``: end to end on files, EXIF times, one-line errors (exit 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_one_line_error as _one_line_error, cli, run

from hdrkit.io import read_image

TIMES = [1 / 8, 1 / 2, 2]


def _save_png(path: Path, arr: np.ndarray, time: float | None) -> Path:
    from PIL import Image as PILImage, TiffImagePlugin

    im = PILImage.fromarray(arr)
    if time is None:
        im.save(path)
    else:
        exif = PILImage.Exif()
        ifd = exif.get_ifd(0x8769)
        num, den = (1, round(1 / time)) if time < 1 else (round(time), 1)
        ifd[0x829A] = TiffImagePlugin.IFDRational(num, den)
        ifd[0x829D] = TiffImagePlugin.IFDRational(8, 1)
        ifd[0x8827] = 100
        im.save(path, exif=exif.tobytes())
    return path


@pytest.fixture(scope="module")
def scene(shared_data):
    from hdrkit.merge import crf_gamma, simulate_bracket

    e = read_image(shared_data / "hdr" / "forest.exr").pixels.astype(np.float64)[::4, ::4]
    e = np.maximum(e, 0) * (0.18 / np.median(e))
    return e, simulate_bracket(e, TIMES, crf_gamma(2.2), 8, 2e-5, 2e-4, np.random.default_rng(31))


@pytest.fixture()
def files(tmp_path, scene):
    _, b = scene
    exif = [_save_png(tmp_path / f"exif{k}.png", z, t) for k, (z, t) in enumerate(zip(b, TIMES))]
    plain = [_save_png(tmp_path / f"plain{k}.png", z, None) for k, z in enumerate(b)]
    return exif, plain


def test_merge_with_exif_times(tmp_path, files, scene, capsys):
    e, b = scene
    out = tmp_path / "out.exr"
    code, _, err = cli(capsys, "merge", *files[0], "-o", out, "--crf", "gamma2.2", "--preview", tmp_path / "p.png")
    assert code == 0, err
    prev = read_image(tmp_path / "p.png")
    assert prev.meta["bit_depth"] == 8 and prev.transfer == "bt1886" and 0.05 < prev.pixels.mean() < 0.95
    r = read_image(out)
    assert r.transfer == "linear" and r.nits_per_unit == pytest.approx(100.0)
    m = np.zeros(e.shape[:2], bool)
    for z in b:
        m |= np.all((z > 25) & (z < 230), axis=-1)
    err_log2 = np.abs(np.log2(r.pixels[m]) - np.log2(e[m])).mean()
    assert err_log2 < 0.02
    # a glob the shell did not expand names the same bracket (sorted by name)
    code, _, err = cli(capsys, "merge", str(tmp_path / "exif*.png"), "-o", tmp_path / "glob.exr", "--crf", "gamma2.2")
    assert code == 0, err
    np.testing.assert_array_equal(read_image(tmp_path / "glob.exr").pixels, r.pixels)


def test_calibrate_then_merge(tmp_path, files, capsys):
    from hdrkit.merge import crf_gamma, load_crf

    crf_file = tmp_path / "crf.json"
    code, _, err = cli(capsys, "calibrate", *files[1], "--times", "1/8,1/2,2", "-o", crf_file)
    assert code == 0, err
    est, true = load_crf(crf_file), crf_gamma(2.2).normalized()
    i = slice(13, 243)
    assert np.sqrt(np.mean((est.table[i] / true.table[i] - 1) ** 2)) < 0.02
    out = tmp_path / "merged.exr"
    code, _, err = cli(capsys, "merge", *files[1], "--times", "0.125,0.5,2", "--crf", crf_file, "--align",
                       "--deghost", "-o", out)
    assert code == 0, err
    assert np.all(np.isfinite(read_image(out).pixels))


def test_fuse(tmp_path, files, capsys):
    out = tmp_path / "fused.png"
    code, _, err = cli(capsys, "fuse", *files[1], "-o", out)
    assert code == 0, err
    img = read_image(out)
    assert img.meta["bit_depth"] == 8 and img.pixels.shape == read_image(files[1][0]).pixels.shape


@pytest.mark.parametrize("method", ["linear", "akyuz2007", "masia2009", "masia2017", "huo2014", "kovaleski2014"])
def test_expand_writes_hdr10_png_and_exr(tmp_path, files, capsys, method):
    from hdrkit import color
    from hdrkit.expand import expand

    src = files[1][1]
    png, exr = tmp_path / "out.png", tmp_path / "out.exr"
    assert cli(capsys, "expand", src, "-o", png, "--method", method)[0] == 0
    assert cli(capsys, "expand", src, "-o", exr, "--method", method)[0] == 0
    hdr10 = read_image(png)
    assert hdr10.transfer == "pq" and hdr10.primaries == "bt2020" and hdr10.meta["bit_depth"] == 16
    ref = expand(read_image(src).pixels, method)
    nits_png = color.to_nits(hdr10)
    assert np.all(np.isfinite(nits_png))
    # 16-bit PQ quantisation: well under 0.1 % relative above 1 nit
    bright = ref > 1
    assert np.abs(nits_png[bright] / ref[bright] - 1).max() < 2e-3
    lin = read_image(exr)
    assert np.allclose(color.to_nits(lin), ref, rtol=1e-5, atol=1e-4)


def test_expand_params_and_errors(tmp_path, files, capsys):
    src = files[1][1]
    assert cli(capsys, "expand", src, "-o", tmp_path / "a.exr", "--method", "akyuz2007", "--param", "gamma=1.5",
               "--peak", "600")[0] == 0
    code, _, err = cli(capsys, "expand", src, "-o", tmp_path / "b.exr", "--method", "nope")
    _one_line_error(code, err, "unknown expansion method")
    code, _, err = cli(capsys, "expand", src, "-o", tmp_path / "b.exr", "--param", "gamma")
    _one_line_error(code, err, "NAME=VALUE")
    code, _, err = cli(capsys, "expand", tmp_path / "a.exr", "-o", tmp_path / "c.png")
    _one_line_error(code, err, "already HDR")
    assert not (tmp_path / "b.exr").exists() and not (tmp_path / "c.png").exists()


def test_bracket_errors(tmp_path, files, capsys):
    exif, plain = files
    out = tmp_path / "x.exr"
    code, _, err = cli(capsys, "merge", *plain, "-o", out)
    _one_line_error(code, err, "no EXIF ExposureTime")
    code, _, err = cli(capsys, "merge", plain[0], "--times", "1", "-o", out)
    _one_line_error(code, err, "at least 2")
    small = _save_png(tmp_path / "small.png", np.zeros((10, 12, 3), np.uint8), 0.5)
    code, _, err = cli(capsys, "merge", exif[0], small, "-o", out, "--crf", "gamma2.2")
    _one_line_error(code, err, "same size")
    code, _, err = cli(capsys, "merge", *exif, "--times", "1,2", "-o", out)
    _one_line_error(code, err, "--times gives 2")
    code, _, err = cli(capsys, "calibrate", *plain, "-o", tmp_path / "crf.json")
    _one_line_error(code, err, "no EXIF")
    code, _, err = cli(capsys, "fuse", plain[0], "-o", tmp_path / "f.png")
    _one_line_error(code, err, "at least 2")
    assert not out.exists() and not (tmp_path / "crf.json").exists() and not (tmp_path / "f.png").exists()
    assert not list(tmp_path.glob(".*tmp*"))


def test_no_traceback_in_a_real_process(tmp_path, files):
    proc = run("merge", files[1][0], "-o", tmp_path / "x.exr")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().startswith("error: ")
