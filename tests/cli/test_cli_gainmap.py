"""``hdrkit encode --method gainmap`` / ``hdrkit decode`` of Ultra HDR JPEGs, and their one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from cli_helpers import assert_clean_error as _clean_error, run

from hdrkit import color
from hdrkit.io import Image, read_image, write_image
from hdrkit.metrics import pq_psnr


def _pair_files(tmp: Path):
    yy, xx = np.mgrid[0:64, 0:96].astype(np.float32)
    hdr = np.stack([xx * 8 + 1, yy * 6 + 1, 40 + 30 * np.sin(xx / 5)], -1).astype(np.float32)
    hdr[10:20, 60:80] = 900.0
    write_image(tmp / "m.exr", Image(hdr / 100.0, primaries="bt2020", transfer="linear", nits_per_unit=100.0))
    sdr = np.clip(color.bt1886_inverse_eotf(np.clip(color.convert_primaries(hdr, "bt2020", "bt709") / 203, 0, 1)),
                  0, 1)
    write_image(tmp / "s.png", Image(sdr.astype(np.float32), primaries="bt709", transfer="bt1886"))
    return hdr


def test_encode_decode_gainmap_round_trip(tmp_path):
    hdr = _pair_files(tmp_path)
    p = run("encode", str(tmp_path / "m.exr"), str(tmp_path / "s.png"), "-o", str(tmp_path / "u.jpg"),
            "--method", "gainmap", "--map-scale", "1", "--map-quality", "100", "--quality", "100",
            "--map-gamut", "bt2020")  # the master has colours outside BT.709
    assert p.returncode == 0, p.stderr
    assert "Ultra HDR" in p.stdout
    d = run("decode", str(tmp_path / "u.jpg"), "-o", str(tmp_path / "u.exr"))
    assert d.returncode == 0, d.stderr
    out = color.to_nits(read_image(tmp_path / "u.exr"))
    assert float(pq_psnr(hdr, out)) >= 45.0


def test_gainmap_errors_are_one_line(tmp_path):
    _pair_files(tmp_path)
    _clean_error(run("encode", str(tmp_path / "m.exr"), "-o", str(tmp_path / "u.png"), "--method", "gainmap"),
                 ".jpg")
    assert not (tmp_path / "u.png").exists()
    _clean_error(run("encode", str(tmp_path / "m.exr"), "-o", str(tmp_path / "u.jpg"), "--method", "nope"),
                 "--method")
    _clean_error(run("encode", str(tmp_path / "m.exr"), "-o", str(tmp_path / "u.jpg"), "--method", "gainmap",
                     "--map-channels", "2"), "--map-channels")
    assert not (tmp_path / "u.jpg").exists()


@pytest.mark.slow  # adapts a SIREN from random init in a subprocess (~1 min on a busy 2-core machine)
def test_encode_target_from_distils_a_blind_method(tmp_path):
    from hdrkit.codec.api import decode_file
    from hdrkit.baselines.distill import distill_target

    _pair_files(tmp_path)
    p = run("encode", str(tmp_path / "s.png"), "-o", str(tmp_path / "d.png"), "--target-from", "akyuz2007",
            "--steps", "200", "--lr", "1e-3", "--init", "random")
    assert p.returncode == 0, p.stderr
    assert "distilled from akyuz2007" in p.stdout
    pq, _ = decode_file(tmp_path / "d.png")
    sdr = read_image(tmp_path / "s.png").pixels
    target = color.pq_inverse_eotf(distill_target(sdr, "akyuz2007"))
    naive = color.pq_inverse_eotf(np.clip(color.convert_primaries(color.bt1886_eotf(sdr), "bt709", "bt2020") * 203,
                                          0, None))
    # the MLP learnt the blind method's rendition: closer to it than the plain SDR is
    assert np.mean((pq - target) ** 2) < 0.5 * np.mean((naive - target) ** 2)
    _clean_error(run("encode", str(tmp_path / "s.png"), str(tmp_path / "s.png"), "-o", str(tmp_path / "e.png"),
                     "--target-from", "akyuz2007"), "--target-from")
