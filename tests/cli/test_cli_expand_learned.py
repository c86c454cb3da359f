"""``hdrkit expand --method unet|metahdr``: files, folders, MetaHDR adaptation from exposures, one-line errors."""

from __future__ import annotations


import numpy as np
import pytest

from cli_helpers import cli

from hdrkit.io import read_image


@pytest.fixture()
def bracket(tmp_path):
    from PIL import Image as PILImage

    from hdrkit.data import CameraParams
    from hdrkit.expand.learned_data import shoot

    h, w = 48, 80
    yy, xx = np.mgrid[0:h, 0:w] / w
    base = 30 + 50 * (0.5 + 0.5 * np.sin(9 * xx + 4 * yy))
    master = np.stack([base, 0.9 * base, 0.7 * base], axis=-1)
    master[8:20, 10:40] = 900.0
    cam = CameraParams(n=0.9, sigma=0.6, saturated=0.08, noise=0.0, seed=0)
    shots, times = shoot(master.astype(np.float32), cam, (0.0, -2.0, 2.0))
    paths = []
    for name, s in zip(("mid", "dark", "bright"), shots):
        PILImage.fromarray(s).save(tmp_path / f"{name}.png")
        paths.append(tmp_path / f"{name}.png")
    return paths, [t / times[0] for t in times]


@pytest.mark.parametrize("method", ["unet", "metahdr"])
def test_expand_learned_writes_hdr10_png_and_exr(tmp_path, bracket, capsys, method):
    from hdrkit import color
    from hdrkit.expand import expand

    src = bracket[0][0]
    png, exr = tmp_path / "out.png", tmp_path / "out.exr"
    assert cli(capsys, "expand", src, "-o", png, "--method", method)[0] == 0
    assert cli(capsys, "expand", src, "-o", exr, "--method", method)[0] == 0
    hdr10 = read_image(png)
    assert hdr10.transfer == "pq" and hdr10.primaries == "bt2020" and hdr10.meta["bit_depth"] == 16
    ref = expand(read_image(src).pixels, method)
    assert np.allclose(color.to_nits(read_image(exr)), ref, rtol=1e-4, atol=1e-3)
    bright = ref > 1
    assert np.abs(color.to_nits(hdr10)[bright] / ref[bright] - 1).max() < 2e-3


def test_expand_folder_with_progress(tmp_path, bracket, capsys):
    src_dir = bracket[0][0].parent
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, _ = cli(capsys, "expand", src_dir, "-o", out_dir, "--method", "unet", "--format", "exr")
    assert code == 0 and "wrote 3 HDR images" in out
    assert sorted(p.name for p in out_dir.iterdir()) == ["bright.exr", "dark.exr", "mid.exr"]


@pytest.mark.parametrize("labels", ["true", "simulated"])
def test_expand_metahdr_adapts_from_exposures(tmp_path, bracket, capsys, labels):
    (mid, dark, bright), times = bracket
    out = tmp_path / "a.exr"
    args = ["expand", mid, dark, bright, "-o", out, "--method", "metahdr", "--adapt-with", labels]
    if labels == "true":
        args += ["--times", f"{times[1]},{times[2]}"]
    code, _, err = cli(capsys, *args)
    assert code == 0, err
    single = tmp_path / "s.exr"
    assert cli(capsys, "expand", mid, "-o", single, "--method", "metahdr")[0] == 0
    a, s = read_image(out).pixels, read_image(single).pixels
    assert np.isfinite(a).all() and not np.allclose(a, s)  # the adapted model differs from the single shot


def test_expand_learned_errors_leave_no_output(tmp_path, bracket, capsys):
    (mid, dark, bright), _ = bracket
    out = tmp_path / "x.exr"
    cases = [
        (["--method", "unet", "--adapt-with", "true", dark], "metahdr"),
        (["--method", "metahdr", "--adapt-with", "true", dark, bright], "EXIF"),
        (["--method", "metahdr", "--adapt-with", "true", dark, bright, "--times", "1,2,3"], "values for 2"),
        (["--method", "metahdr", "--adapt-with", "sometimes", dark], "true"),
        (["--method", "metahdr", "--adapt-with", "simulated"], "exposures"),
    ]
    for extra, pattern in cases:
        code, _, err = cli(capsys, "expand", mid, "-o", out, *extra)
        assert code == 2 and pattern in err and len(err.strip().splitlines()) == 1, (extra, err)
    code, _, err = cli(capsys, "expand", mid.parent, "-o", mid.parent, "--method", "unet")
    assert code == 2 and "differ" in err
    assert not out.exists()
    assert sorted(p.name for p in mid.parent.iterdir()) == ["bright.png", "dark.png", "mid.png"]
