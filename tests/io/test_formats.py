"""Image I/O: round trips per format, colour signalling, and bad input."""

from __future__ import annotations

import hashlib
import struct
import zlib

import numpy as np
import pytest

from hdrkit import color as C
from hdrkit.errors import FormatError, InputError
from hdrkit.io import Image, read_image, write_image


def _pq_image(h=32, w=48, seed=0):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 65536, (h, w, 3)).astype(np.float32) / 65535.0
    return Image(codes, "bt2020", "pq")


def test_pq_png_exr_pq_png_round_trip_changes_no_code_by_more_than_one(tmp_path):
    img = _pq_image()
    write_image(tmp_path / "a.png", img)
    a = read_image(tmp_path / "a.png")
    assert (a.primaries, a.transfer, a.meta["bit_depth"]) == ("bt2020", "pq", 16)
    write_image(tmp_path / "b.exr", a)
    b = read_image(tmp_path / "b.exr")
    assert (b.primaries, b.transfer, b.nits_per_unit) == ("bt2020", "linear", 100.0)  # float: 1.0 = 100 nits
    write_image(tmp_path / "c.png", b)
    c = read_image(tmp_path / "c.png")
    diff = np.abs(np.round(a.pixels * 65535) - np.round(c.pixels * 65535))
    assert diff.max() <= 1


def test_pq_png_exr_round_trip_on_real_image(shared_data, tmp_path):
    src = read_image(shared_data / "hdr" / "forest.exr")
    write_image(tmp_path / "a.png", C.convert(src, "bt2020", "pq"))
    a = read_image(tmp_path / "a.png")
    write_image(tmp_path / "b.exr", a)
    write_image(tmp_path / "c.png", read_image(tmp_path / "b.exr"))
    c = read_image(tmp_path / "c.png")
    assert np.abs(np.round(a.pixels * 65535) - np.round(c.pixels * 65535)).max() <= 1


def test_png_carries_cicp_and_defaults(tmp_path):
    from hdrkit.io import png

    img = _pq_image()
    write_image(tmp_path / "a.png", img)
    info = png.read_info((tmp_path / "a.png").read_bytes())
    assert info.cicp == (9, 16, 0, 1) and info.bit_depth == 16
    # Without cICP (a PNG from another tool): 16-bit means HDR10, 8-bit means BT.709 BT.1886.
    import cv2

    cv2.imwrite(str(tmp_path / "plain16.png"), np.zeros((4, 4, 3), np.uint16))
    cv2.imwrite(str(tmp_path / "plain8.png"), np.zeros((4, 4, 3), np.uint8))
    assert read_image(tmp_path / "plain16.png").encoding() == "BT.2020 PQ"
    p8 = read_image(tmp_path / "plain8.png")
    assert (p8.primaries, p8.transfer, p8.nits_per_unit) == ("bt709", "bt1886", 203.0)
    # HLG signalled by cICP reads back as HLG.
    write_image(tmp_path / "hlg.png", Image(img.pixels, "bt2020", "hlg"))
    assert read_image(tmp_path / "hlg.png").transfer == "hlg"


def test_png_private_chunk_round_trip(tmp_path):
    payload = bytes(range(256)) * 3
    write_image(tmp_path / "a.png", _pq_image(), png_chunks=[(b"hdKt", payload)])
    assert read_image(tmp_path / "a.png").meta["png_chunks"] == [(b"hdKt", payload)]


def test_exr_attributes_half_alpha_and_grey(tmp_path):
    import OpenEXR

    rng = np.random.default_rng(1)
    rgb = rng.uniform(0, 50, (8, 9, 3)).astype(np.float32)
    alpha = rng.uniform(0, 1, (8, 9)).astype(np.float32)
    img = Image(rgb, "p3d65", "linear", 2.5, alpha=alpha)
    write_image(tmp_path / "a.exr", img)
    back = read_image(tmp_path / "a.exr")
    assert (back.primaries, back.transfer, back.nits_per_unit) == ("p3d65", "linear", 2.5)
    np.testing.assert_array_equal(back.pixels, rgb)
    np.testing.assert_array_equal(back.alpha, alpha)
    write_image(tmp_path / "h.exr", img, half=True)
    h = read_image(tmp_path / "h.exr")
    np.testing.assert_allclose(h.pixels, rgb, rtol=1e-3)
    y = rng.uniform(0, 4, (5, 6)).astype(np.float32)
    OpenEXR.File({"type": OpenEXR.scanlineimage}, {"Y": y}).write(str(tmp_path / "y.exr"))
    g = read_image(tmp_path / "y.exr")
    np.testing.assert_array_equal(g.pixels, np.repeat(y[..., None], 3, -1))
    assert (g.primaries, g.nits_per_unit) == ("bt709", 100.0)  # OpenEXR defaults: Rec.709, 1.0 = 100 nits


def test_exr_with_aces_chromaticities_is_converted_like_colour(tmp_path):
    colour = pytest.importorskip("colour")
    import OpenEXR

    ap0 = (0.7347, 0.2653, 0.0, 1.0, 0.0001, -0.077, 0.32168, 0.33767)
    rgb = np.random.default_rng(2).uniform(0, 1, (4, 4, 3)).astype(np.float32)
    OpenEXR.File({"type": OpenEXR.scanlineimage, "chromaticities": ap0}, {"RGB": rgb}).write(str(tmp_path / "a.exr"))
    img = read_image(tmp_path / "a.exr")
    assert img.primaries == "bt2020"
    ref = colour.RGB_to_RGB(rgb.astype(np.float64), colour.RGB_COLOURSPACES["ACES2065-1"],
                            colour.RGB_COLOURSPACES["ITU-R BT.2020"], chromatic_adaptation_transform="Bradford")
    np.testing.assert_allclose(img.pixels, ref, rtol=2e-3, atol=2e-4)


def test_radiance_hdr_round_trip_keeps_primaries_and_exposure(tmp_path):
    rgb = np.random.default_rng(3).uniform(0.01, 20, (6, 10, 3)).astype(np.float32)
    img = Image(rgb, "bt2020", "linear", 100.0)
    write_image(tmp_path / "a.hdr", img)
    back = read_image(tmp_path / "a.hdr")
    assert back.primaries == "bt2020" and back.nits_per_unit == 100.0
    # RGBE shares one exponent per pixel: the error is bounded by the largest channel / 128.
    assert np.all(np.abs(back.pixels - rgb) <= rgb.max(-1, keepdims=True) / 128)
    data = (tmp_path / "a.hdr").read_bytes().replace(b"FORMAT=", b"EXPOSURE=2.0\nFORMAT=", 1)
    (tmp_path / "b.hdr").write_bytes(data)
    np.testing.assert_allclose(read_image(tmp_path / "b.hdr").pixels, back.pixels / 2, rtol=1e-6)


def test_pfm_round_trip_exact(tmp_path):
    rgb = np.random.default_rng(4).normal(0, 3, (7, 5, 3)).astype(np.float32)
    write_image(tmp_path / "a.pfm", Image(rgb, "bt709", "linear", 100.0))
    np.testing.assert_array_equal(read_image(tmp_path / "a.pfm").pixels, rgb)


@pytest.mark.parametrize("bits", [8, 16, 32])
def test_tiff_round_trip(tmp_path, bits):
    img = _pq_image(seed=bits)
    if bits == 8:
        img = Image(np.round(img.pixels * 255) / 255, "bt709", "bt1886")
    write_image(tmp_path / "a.tif", img, bit_depth=bits)
    back = read_image(tmp_path / "a.tif")
    if bits == 32:
        np.testing.assert_allclose(back.nits(), img.nits(), rtol=1e-5, atol=1e-6)
    else:
        assert back.transfer == img.transfer and back.meta["bit_depth"] == bits
        np.testing.assert_allclose(back.pixels, img.pixels, atol=0.5 / (2**bits - 1))


def test_jpeg_and_avif_sdr(tmp_path):
    rng = np.random.default_rng(5)
    sdr = Image(np.kron(rng.uniform(0, 1, (8, 8, 3)), np.ones((8, 8, 1))), "bt709", "bt1886")
    write_image(tmp_path / "a.jpg", sdr, quality=100, jpeg_segments=[(0xEB, b"hdrkit-test")])
    j = read_image(tmp_path / "a.jpg")
    assert (j.primaries, j.transfer) == ("bt709", "bt1886")
    assert np.abs(j.pixels - sdr.pixels).mean() < 0.01
    assert any(p == b"hdrkit-test" for _m, p in j.meta["jpeg_app"])
    write_image(tmp_path / "a.avif", sdr, quality=90)
    assert np.abs(read_image(tmp_path / "a.avif").pixels - sdr.pixels).mean() < 0.05


def test_overrides_relabel_without_converting(tmp_path):
    img = _pq_image()
    write_image(tmp_path / "a.png", img)
    r = read_image(tmp_path / "a.png", transfer="hlg", primaries="bt709")
    assert (r.primaries, r.transfer, r.nits_per_unit) == ("bt709", "hlg", 1000.0)
    np.testing.assert_array_equal(r.pixels, read_image(tmp_path / "a.png").pixels)


# ------------------------------------------------------------------------------------------- bad input


def test_missing_file_and_unknown_extension(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "missing.exr")
    (tmp_path / "a.xyz").write_bytes(b"x")
    with pytest.raises(FormatError, match="unsupported file extension"):
        read_image(tmp_path / "a.xyz")


@pytest.mark.parametrize("ext", ["exr", "png", "hdr", "pfm", "jpg", "tif"])
def test_truncated_files_raise_format_error(tmp_path, ext):
    rgb = np.random.default_rng(6).uniform(0, 1, (64, 64, 3)).astype(np.float32)
    img = Image(rgb, "bt709", "linear", 100.0) if ext in ("exr", "hdr", "pfm") else Image(rgb, "bt709", "bt1886")
    write_image(tmp_path / f"a.{ext}", img)
    data = (tmp_path / f"a.{ext}").read_bytes()
    (tmp_path / f"t.{ext}").write_bytes(data[: len(data) // 2])
    with pytest.raises(FormatError):
        read_image(tmp_path / f"t.{ext}")


def test_text_file_named_exr(tmp_path):
    (tmp_path / "a.exr").write_text("this is not an image\n")
    with pytest.raises(FormatError, match="not an OpenEXR file"):
        read_image(tmp_path / "a.exr")


def test_two_channel_png_is_refused(tmp_path):
    from PIL import Image as PILImage

    PILImage.new("LA", (1, 1)).save(tmp_path / "la.png")
    with pytest.raises(FormatError, match="channels"):
        read_image(tmp_path / "la.png")


def test_nan_pixels_are_refused(tmp_path):
    rgb = np.ones((4, 4, 3), np.float32)
    rgb[1, 2, 0] = np.nan
    rgb[0, 0, 1] = np.inf
    write_image(tmp_path / "a.exr", Image(rgb, "bt709", "linear"))
    with pytest.raises(InputError, match="2 pixel values are NaN or Inf"):
        read_image(tmp_path / "a.exr")
    assert np.isnan(read_image(tmp_path / "a.exr", allow_nonfinite=True).pixels).sum() == 1


def test_absurd_dimensions_are_refused_before_decoding(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 200000, 200000, 16, 2, 0, 0, 0)
    chunk = struct.pack(">I", 13) + b"IHDR" + ihdr + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    iend = struct.pack(">I", 0) + b"IEND" + struct.pack(">I", zlib.crc32(b"IEND"))
    (tmp_path / "big.png").write_bytes(b"\x89PNG\r\n\x1a\n" + chunk + iend)
    with pytest.raises(FormatError, match="too large"):
        read_image(tmp_path / "big.png")
    (tmp_path / "big.pfm").write_bytes(b"PF\n100000 100000\n-1.0\n" + b"\0" * 64)
    with pytest.raises(FormatError, match="too large"):
        read_image(tmp_path / "big.pfm")


def test_png_with_flipped_byte_fails_crc(tmp_path):
    write_image(tmp_path / "a.png", _pq_image())
    data = bytearray((tmp_path / "a.png").read_bytes())
    data[60] ^= 0xFF
    (tmp_path / "b.png").write_bytes(bytes(data))
    with pytest.raises(FormatError):
        read_image(tmp_path / "b.png")


def test_failed_write_leaves_nothing_and_keeps_existing_file(tmp_path):
    out = tmp_path / "a.png"
    out.write_bytes(b"old")
    with pytest.raises(InputError):
        write_image(out, _pq_image(), bit_depth=12)
    assert out.read_bytes() == b"old"
    import hdrkit.io.write as W

    def boom(*a, **k):
        raise RuntimeError("disk full")

    orig = W.encode_png
    W.encode_png = boom
    try:
        with pytest.raises(RuntimeError):
            write_image(tmp_path / "new.png", _pq_image())
    finally:
        W.encode_png = orig
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_reading_never_modifies_the_input(shared_data, tmp_path):
    src = shared_data / "hdr" / "forest.exr"
    before = hashlib.sha256(src.read_bytes()).hexdigest()
    img = read_image(src)
    img.pixels *= 2
    assert hashlib.sha256(src.read_bytes()).hexdigest() == before
