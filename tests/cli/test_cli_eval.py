"""``hdrkit eval``: JSON equals hdrkit.metrics.evaluate, folders, clean errors (exit 2), the HTML report and a
headless-Chromium screenshot of it."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

from cli_helpers import assert_clean_error as _clean_error, run

from hdrkit.io import Image, read_image, write_image
from hdrkit.metrics import evaluate


def _scene(h=96, w=160, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 20 * (1 + np.sin(x / 7.0)) * (1 + np.cos(y / 9.0)) + 0.5
    img = np.stack([base, base * 0.8, base * 1.2], axis=-1) * rng.lognormal(0, 0.02, (h, w, 3))
    img[20:40, 30:60] = 3000.0  # a highlight
    return img.astype(np.float32)


@pytest.fixture
def pair(tmp_path):
    ref = _scene()
    test = (ref * np.random.default_rng(1).lognormal(0, 0.08, ref.shape)).astype(np.float32)
    # EXR default meaning: linear BT.2020? we state it explicitly: 1.0 = 1 nit
    write_image(tmp_path / "ref.exr", Image(ref, "bt2020", "linear", 1.0))
    write_image(tmp_path / "test.exr", Image(test, "bt2020", "linear", 1.0))
    return tmp_path / "ref.exr", tmp_path / "test.exr"


def test_json_equals_evaluate(pair):
    ref, test = pair
    proc = run("eval", str(ref), str(test), "--json")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    want = evaluate(read_image(ref).nits("bt2020"), read_image(test).nits("bt2020"))
    assert list(got) == list(want)
    for k in ("pu_psnr", "pu_psnr_y", "pu_ssim", "pu_msssim", "delta_itp", "pq_psnr", "pq_ssim"):
        assert got[k] == pytest.approx(want[k], rel=1e-12)
    assert 0 < got["pu_ssim"] < 1 and got["delta_itp"] > 0


def test_table_and_subset(pair):
    ref, test = pair
    proc = run("eval", str(ref), str(test), "--metrics", "pu_psnr,delta_itp")
    assert proc.returncode == 0, proc.stderr
    assert "pu_psnr" in proc.stdout and "delta_itp" in proc.stdout and "pq_ssim" not in proc.stdout
    _clean_error(run("eval", str(ref), str(test), "--metrics", "nope"), "unknown metric")


def test_folders_per_image_and_mean(tmp_path, pair):
    ref, test = pair
    a, b = tmp_path / "A", tmp_path / "B"
    a.mkdir(), b.mkdir()
    shutil.copy(ref, a / "one.exr"), shutil.copy(test, b / "one.exr")
    shutil.copy(ref, a / "two.exr"), shutil.copy(ref, b / "two.exr")
    shutil.copy(ref, a / "only_in_a.exr")
    proc = run("eval", str(a), str(b), "--json", "--metrics", "pu_psnr,delta_itp")
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout)
    assert [r["name"] for r in got["images"]] == ["one.exr", "two.exr"]
    assert got["images"][1]["delta_itp"] == 0 and got["images"][1]["pu_psnr"] == "inf"
    assert got["mean"]["delta_itp"] == pytest.approx(got["images"][0]["delta_itp"] / 2)


def test_errors_exit_2(tmp_path, pair):
    ref, test = pair
    small = tmp_path / "small.exr"
    write_image(small, Image(_scene(48, 80), "bt2020", "linear", 1.0))
    _clean_error(run("eval", str(ref), str(small)), "48")
    bad = tmp_path / "bad.exr"
    bad.write_bytes(b"not an exr at all" * 10)
    _clean_error(run("eval", str(ref), str(bad)), "bad.exr")
    _clean_error(run("eval", str(ref), str(tmp_path / "missing.exr")), "missing.exr")
    _clean_error(run("eval", str(ref), str(tmp_path)), "two files or two folders")
    # nothing half-written when the report cannot be made
    (tmp_path / "afile").write_text("x")
    proc = run("eval", str(ref), str(test), "--report", str(tmp_path / "afile" / "dir"))
    _clean_error(proc, "is a file")
    # a report folder is created as needed; an existing report needs -y
    assert run("eval", str(ref), str(test), "--report", str(tmp_path / "new" / "rep")).returncode == 0
    assert (tmp_path / "new" / "rep" / "index.html").is_file()
    _clean_error(run("eval", str(ref), str(test), "--report", str(tmp_path / "new" / "rep")), "pass -y")


def test_sdr_input_warns(tmp_path, pair):
    ref, _ = pair
    sdr = tmp_path / "sdr.png"
    px = np.clip(read_image(ref).pixels / 100.0, 0, 1) ** (1 / 2.4)
    write_image(sdr, Image(px.astype(np.float32), "bt709", "bt1886"), bit_depth=8)
    proc = run("eval", str(ref), str(sdr), "--json", "--metrics", "pu_psnr")
    assert proc.returncode == 0, proc.stderr
    assert "warning:" in proc.stderr and "SDR" in proc.stderr
    json.loads(proc.stdout)  # stdout stays one JSON object


def test_inputs_untouched_and_report_written(pair, tmp_path):
    ref, test = pair
    before = [ref.read_bytes(), test.read_bytes()]
    out = tmp_path / "rep"
    proc = run("eval", str(ref), str(test), "--report", str(out), "--metrics", "pu_psnr,delta_itp")
    assert proc.returncode == 0, proc.stderr
    assert [ref.read_bytes(), test.read_bytes()] == before
    html = (out / "index.html").read_text()
    assert html.count("data:image/jpeg;base64,") >= 9  # 3 exposures × 2 + 2 maps + colour bars
    assert "<svg" in html and "pu_psnr" in html and "delta_itp" in html
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # self-contained
    assert [p.name for p in out.iterdir()] == ["index.html"]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def test_report_screenshot_in_headless_chromium(pair, tmp_path):
    browser = _chromium()
    if browser is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium)")
    ref, test = pair
    out = tmp_path / "rep"
    assert run("eval", str(ref), str(test), "--report", str(out), "--metrics", "pu_psnr").returncode == 0
    shot = tmp_path / "shot.png"
    with tempfile.TemporaryDirectory() as profile:
        proc = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
             "--window-size=1200,1000", f"--screenshot={shot}", (out / "index.html").as_uri()],
            capture_output=True, text=True, timeout=90,
        )
    assert shot.exists(), proc.stderr
    from PIL import Image as PILImage

    px = np.asarray(PILImage.open(shot).convert("RGB")).astype(np.float64)
    assert px.shape[:2] == (1000, 1200)
    # The previews were drawn: the region where the first preview row sits is far from a blank page,
    # and the highlight patch (clipped to white at +0 EV) and the dark gaps make strong contrast there.
    region = px[250:700, :]
    assert region.std() > 30
    assert (region.mean(axis=-1) < 128).mean() > 0.05  # dark pixels exist: not an empty white page


def test_cvvdp_missing_is_a_clean_error(pair):
    from hdrkit.metrics import cvvdp_available

    if cvvdp_available():
        pytest.skip("the cvvdp extra is installed here")
    ref, test = pair
    _clean_error(run("eval", str(ref), str(test), "--cvvdp"), "ColorVideoVDP is not available")
