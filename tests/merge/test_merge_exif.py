"""EXIF exposure reading (Pillow JPEG/PNG, tifffile TIFF), exposure folding, auto CRF, progress reports."""

from __future__ import annotations

import numpy as np
import pytest

from hdrkit.errors import InputError
from hdrkit.merge import crf_gamma, merge, simulate_bracket
from hdrkit.merge.exif import bracket_times, read_exposure

from merge_testlib import READ, SHOT, log2_error, well_exposed


def _exif(time_num, time_den, fnum, iso):
    from PIL import Image as PILImage, TiffImagePlugin

    ex = PILImage.Exif()
    ifd = ex.get_ifd(0x8769)
    ifd[0x829A] = TiffImagePlugin.IFDRational(time_num, time_den)
    ifd[0x829D] = TiffImagePlugin.IFDRational(*fnum)
    ifd[0x8827] = iso
    return ex.tobytes()


@pytest.mark.parametrize("ext", ["jpg", "png"])
def test_read_exposure_pillow(tmp_path, ext):
    from PIL import Image as PILImage

    p = tmp_path / f"a.{ext}"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p, exif=_exif(1, 60, (28, 10), 400))
    e = read_exposure(p)
    assert e.time == pytest.approx(1 / 60) and e.f_number == pytest.approx(2.8) and e.iso == 400


def test_read_exposure_tiff_both_readers(tmp_path):
    from PIL import Image as PILImage

    from hdrkit.merge.exif import _EXPOSURE_TIME, _FNUMBER, _ISO, _from_tifffile

    p = tmp_path / "a.tif"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p, exif=_exif(1, 250, (8, 1), 200))
    e = read_exposure(p)
    assert (e.time, e.f_number, e.iso) == (pytest.approx(0.004), pytest.approx(8.0), 200)
    # the tifffile fallback (16-bit TIFFs Pillow cannot open) reads the same Exif IFD
    tags = _from_tifffile(p)
    assert tags[_EXPOSURE_TIME] == (1, 250) and tags[_FNUMBER] == (8, 1) and tags[_ISO] == 200
    plain = tmp_path / "b.tif"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    assert read_exposure(plain).time is None


def test_bracket_times_fold_iso_and_aperture(tmp_path):
    from PIL import Image as PILImage

    paths = []
    # (time, f-number, ISO): relative exposure t · ISO/ISO₁ · (N₁/N)²
    for k, (num, den, fnum, iso) in enumerate([(1, 100, (4, 1), 100), (1, 100, (4, 1), 400), (1, 25, (8, 1), 100)]):
        p = tmp_path / f"e{k}.jpg"
        PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(p, exif=_exif(num, den, fnum, iso))
        paths.append(p)
    assert bracket_times(paths) == pytest.approx([0.01, 0.04, 0.04 * (4 / 8) ** 2])
    plain = tmp_path / "plain.jpg"
    PILImage.fromarray(np.zeros((8, 8, 3), np.uint8)).save(plain)
    with pytest.raises(InputError, match="plain.jpg has no EXIF ExposureTime"):
        bracket_times(paths + [plain])


def test_auto_crf_and_progress(forest):
    times = [1 / 8, 1 / 2, 2, 8]
    b = simulate_bracket(forest[::2, ::2], times, crf_gamma(2.2), 8, SHOT, READ, np.random.default_rng(41))
    calls = []
    r = merge(b, times, progress=lambda done, total, desc: calls.append((done, total, desc)))  # crf estimated
    assert log2_error(r, forest[::2, ::2], well_exposed(b), per_channel_scale=True) < 0.02
    assert calls[-1][0] == calls[-1][1] and all(isinstance(c[2], str) for c in calls)
