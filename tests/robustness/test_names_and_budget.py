"""Non-UTF-8 file names, the pixel budget and the generator of valid huge PNGs used by the bad-input suite."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from bad_inputs import flat_png, small_png


def _hdrkit(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1", COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "hdrkit.cli.main", *map(os.fsdecode, args)], capture_output=True,
                          cwd=cwd, env=env, timeout=120)


@pytest.mark.parametrize("ext", ["exr", "png", "hdr", "tif"])
def test_non_utf8_output_name(tmp_path, ext):
    """An output named with bytes that are not UTF-8 is written under exactly that name (EXR included)."""
    src = tmp_path / "in.png"
    src.write_bytes(small_png(16))
    out = os.fsencode(tmp_path) + b"/\xff\xfeout." + ext.encode()
    proc = _hdrkit("convert", src, "-o", os.fsdecode(out), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert os.path.isfile(out)
    assert not [n for n in os.listdir(tmp_path) if n.startswith(".hdrkit-")]


def test_non_utf8_input_name_is_one_line(tmp_path):
    bad = os.fsencode(tmp_path) + b"/\xff\xfemissing.png"
    proc = _hdrkit("info", os.fsdecode(bad), cwd=tmp_path)
    lines = proc.stderr.decode(errors="replace").strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: no such file"), lines


def test_flat_png_generator_is_valid():
    """The O(height) generator of huge flat PNGs makes files libpng (via OpenCV) decodes to the right pixels."""
    import cv2

    for w, h, bits, v in ((300, 200, 16, 7), (64, 33, 8, 200)):
        arr = cv2.imdecode(np.frombuffer(flat_png(w, h, bits, v), np.uint8), cv2.IMREAD_UNCHANGED)
        assert arr is not None and arr.shape == (h, w, 3)
        expect = v * 257 if bits == 16 else v
        assert arr.dtype == (np.uint16 if bits == 16 else np.uint8) and np.all(arr == expect)


def test_budget_is_settable(tmp_path):
    """A flat 3000×3000 16-bit PNG (58 KB) is refused as a likely bomb by default and read with --max-pixels."""
    p = tmp_path / "flat.png"
    p.write_bytes(flat_png(3000, 3000, 16, 3))
    from hdrkit.errors import FormatError
    from hdrkit.io import read_image
    from hdrkit.io.limits import budget

    with pytest.raises(FormatError, match="decompression bomb"):
        read_image(p)
    with budget(max_pixels=9_000_000):
        img = read_image(p)
    assert img.pixels.shape == (3000, 3000, 3) and np.allclose(img.pixels, 3 * 257 / 65535)
    with budget(max_pixels=8_999_999), pytest.raises(FormatError, match="pixel budget"):
        read_image(p)
    proc = _hdrkit("--max-pixels", "9000000", "info", p, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
