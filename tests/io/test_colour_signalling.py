"""Colour signalling read and written the way other software does (issue 12): ICC (checked with LittleCMS via
Pillow's ImageCms), PNG cICP / iCCP / sRGB / gAMA / cHRM / mDCV / cLLI, AVIF nclx (checked with libavif's
``avifdec --info`` when installed), LZW TIFF, float outputs' scale, and the CLI success lines."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess
import sys

import cv2
import numpy as np
import pytest
from PIL import Image as PILImage
from PIL import ImageCms

from hdrkit import color
from hdrkit.io import Image, png, read_image, write_image
from hdrkit.io import icc as ICC
from hdrkit.io.read import describe_file


def _gradient(h=32, w=48):
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    return np.stack([xx * 12 + 1, yy * 9 + 1, 60 + 40 * np.sin(xx / 6)], -1).astype(np.float32)


def _png16_untagged(tmp_path, name="u.png"):
    a = (np.random.default_rng(0).uniform(0, 1, (8, 12, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / name), a)  # OpenCV writes no colour chunk at all
    return tmp_path / name, a[..., ::-1]


def test_p3_tagged_jpeg_is_read_as_p3(tmp_path):
    px = np.random.default_rng(1).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    PILImage.fromarray(px).save(tmp_path / "p3.jpg", quality=95, icc_profile=ICC.make("p3d65", "srgb"))
    img = read_image(tmp_path / "p3.jpg")
    assert (img.primaries, img.transfer) == ("p3d65", "srgb") and "ICC" in img.meta["colour_source"]
    # LittleCMS's own sRGB profile on a JPEG is read as sRGB
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    PILImage.fromarray(px).save(tmp_path / "s.jpg", quality=95, icc_profile=srgb)
    assert (read_image(tmp_path / "s.jpg").primaries, read_image(tmp_path / "s.jpg").transfer) == ("bt709", "srgb")


def test_real_p3_photos_are_read_as_p3(shared_data):
    for name in ("libultrahdr_apple_gainmap_new.jpg", "pixel6pro_05.jpg"):
        path = shared_data / "interop" / name
        if path.exists():
            assert read_image(path).primaries == "p3d65"


def test_16bit_png_tags_win_over_the_pq_convention(tmp_path):
    path, codes = _png16_untagged(tmp_path)
    plain = read_image(path)
    assert (plain.primaries, plain.transfer) == ("bt2020", "pq") and "untagged" in plain.meta["colour_source"]
    data = path.read_bytes()
    lcms_srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    cases = {
        "iccp": ([(b"iCCP", png.iccp_payload(lcms_srgb))], ("bt709", "srgb")),
        "srgb": ([(b"sRGB", b"\x00")], ("bt709", "srgb")),
        "gama22": ([(b"gAMA", struct.pack(">I", 45455))], ("bt709", "srgb")),
        "gama_chrm_p3": ([(b"gAMA", struct.pack(">I", 45455)),
                          (b"cHRM", struct.pack(">8I", 31270, 32900, 68000, 32000, 26500, 69000, 15000, 6000))],
                         ("p3d65", "srgb")),
        "linear": ([(b"gAMA", struct.pack(">I", 100000))], ("bt709", "linear")),
    }
    for name, (chunks, want) in cases.items():
        p = tmp_path / f"{name}.png"
        p.write_bytes(png.insert_chunks(data, chunks))
        img = read_image(p)
        assert (img.primaries, img.transfer) == want, (name, img.meta["colour_source"])
        np.testing.assert_array_equal(np.round(img.pixels * 65535), codes)  # pixels untouched


def test_cicp_narrow_range_is_honoured(tmp_path):
    k = 256
    a = np.array([[[16 * k] * 3, [235 * k] * 3, [126 * k] * 3]], np.uint16)
    cv2.imwrite(str(tmp_path / "n.png"), a)
    p = tmp_path / "n.png"
    p.write_bytes(png.insert_chunks(p.read_bytes(), [(b"cICP", bytes([1, 13, 0, 0]))]))
    img = read_image(p)
    np.testing.assert_allclose(img.pixels[0, :, 0], [0.0, 1.0, 110 / 219], atol=1e-6)


def test_hdr10_png_carries_mdcv_and_clli(tmp_path):
    nits = _gradient()
    write_image(tmp_path / "h.png", Image(color.pq_inverse_eotf(nits), "bt2020", "pq"))
    chunks = {c: p for c, p, _ in png.iter_chunks((tmp_path / "h.png").read_bytes())}
    assert chunks[b"cICP"] == bytes([9, 16, 0, 1])
    max_cll, max_fall = (v / 10000 for v in struct.unpack(">II", chunks[b"cLLI"]))
    assert abs(max_cll - nits.max()) < 0.01 * nits.max()
    assert abs(max_fall - nits.max(-1).mean()) < 0.01 * max_fall
    xy = np.array(struct.unpack(">8H", chunks[b"mDCV"][:16])) * 0.00002
    np.testing.assert_allclose(xy, [0.708, 0.292, 0.170, 0.797, 0.131, 0.046, 0.3127, 0.3290], atol=2e-5)


def test_sdr_outputs_carry_an_icc_profile_littlecms_agrees_with(tmp_path):
    """SDR outputs are BT.1886 γ2.4 and now say so: LittleCMS converting mid-grey from the embedded profile to
    sRGB gives the γ2.4 -> sRGB value, not the code value unchanged."""
    grey = Image(np.full((4, 4, 3), 128 / 255, np.float32), "bt709", "bt1886")
    for ext in ("jpg", "png", "tif"):
        write_image(tmp_path / f"g.{ext}", grey, quality=100)
        with PILImage.open(tmp_path / f"g.{ext}") as im:
            prof = im.info.get("icc_profile")
            assert prof, ext
            t = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(prof)),
                                        ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")), "RGB", "RGB")
            out = np.asarray(ImageCms.applyTransform(im.convert("RGB"), t))[0, 0, 0]
        want = color.srgb_inverse_eotf(color.bt1886_eotf(128 / 255)) * 255
        assert abs(int(out) - want) <= 1.5, (ext, out, want)
        assert read_image(tmp_path / f"g.{ext}").transfer == "bt1886"


def test_lzw_tiff_reads(tmp_path):
    a = (np.random.default_rng(2).uniform(0, 1, (8, 12, 3)) * 65535).astype(np.uint16)
    cv2.imwrite(str(tmp_path / "l.tif"), a)  # OpenCV's default TIFF compression is LZW
    import tifffile

    with tifffile.TiffFile(tmp_path / "l.tif") as tf:
        assert tf.pages[0].compression == 5  # LZW
    img = read_image(tmp_path / "l.tif")
    np.testing.assert_array_equal(np.round(img.pixels * 65535), a[..., ::-1])
    assert "untagged" in img.meta["colour_source"]


# ----------------------------------------------------------------------------------------------------- AVIF
def _pq_image():
    return Image(color.pq_inverse_eotf(_gradient(48, 64)).astype(np.float32), "bt2020", "pq")


def test_hdr_avif_is_10_bit_pq_with_nclx_and_reads_back(tmp_path):
    from hdrkit.io import avif

    pq = _pq_image()
    write_image(tmp_path / "lossless.avif", pq, quality=100)
    write_image(tmp_path / "q95.avif", pq, quality=95)
    write_image(tmp_path / "default.avif", pq)
    default = avif.info((tmp_path / "default.avif").read_bytes())
    assert default.bits == 10 and default.nclx[:3] == (9, 16, 9)  # the acceptance: 10-bit, nclx 9/16/9 ...
    d = np.abs(np.round(read_image(tmp_path / "default.avif").pixels * 1023) - np.round(pq.pixels * 1023))
    assert d.max() <= 1  # ... and within 1 ten-bit code
    for name in ("lossless", "q95"):
        data = (tmp_path / f"{name}.avif").read_bytes()
        info = avif.info(data)
        assert info.bits == 10 and info.nclx[:2] == (9, 16) and info.nclx[3] == 1
        back = read_image(tmp_path / f"{name}.avif")
        assert back.encoding() == "BT.2020 PQ" and back.meta["bit_depth"] == 10
        d = np.abs(np.round(back.pixels * 1023) - np.round(pq.pixels * 1023))
        if name == "lossless":
            assert d.max() <= 1
        else:
            assert d.mean() <= 1.0
    assert avif.info((tmp_path / "q95.avif").read_bytes()).nclx[2] == 9
    # HLG and SDR
    write_image(tmp_path / "hlg.avif", pq.to(transfer="hlg"))
    assert avif.info((tmp_path / "hlg.avif").read_bytes()).nclx[:2] == (9, 18)
    write_image(tmp_path / "sdr.avif", Image(np.full((8, 8, 3), 0.5, np.float32), "bt709", "srgb"))
    sdr = avif.info((tmp_path / "sdr.avif").read_bytes())
    assert sdr.bits == 8 and sdr.nclx[:2] == (1, 13)


@pytest.mark.skipif(shutil.which("avifdec") is None, reason="avifdec (Debian libavif-bin) not installed")
def test_avifdec_reads_our_nclx(tmp_path):
    write_image(tmp_path / "h.avif", _pq_image())
    out = subprocess.run(["avifdec", "--info", str(tmp_path / "h.avif")], capture_output=True, text=True,
                         timeout=60).stdout
    fields = {k.strip(" *"): v.strip() for k, _, v in (ln.partition(":") for ln in out.splitlines()) if v}
    assert fields["Bit Depth"] == "10" and fields["Color Primaries"] == "9"
    assert fields["Transfer Char."] == "16" and fields["Matrix Coeffs."] == "9" and fields["Range"] == "Full"


@pytest.mark.skipif(shutil.which("avifenc") is None, reason="avifenc (Debian libavif-bin) not installed")
def test_avifenc_10bit_pq_is_read_as_hdr(tmp_path):
    """A 10-bit PQ AVIF made by avifenc (from a 16-bit PNG with cICP) is read as 10-bit PQ, not 8-bit SDR."""
    pq = _pq_image()
    write_image(tmp_path / "src.png", pq)
    r = subprocess.run(["avifenc", "-d", "10", "-y", "444", "--cicp", "9/16/9", "-l", str(tmp_path / "src.png"),
                        str(tmp_path / "a.avif")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    back = read_image(tmp_path / "a.avif")
    assert back.meta["bit_depth"] == 10 and back.encoding() == "BT.2020 PQ"
    assert np.abs(np.round(back.pixels * 1023) - np.round(pq.pixels * 1023)).max() <= 1


# --------------------------------------------------------------------------------------- float outputs, CLI
def _run(*args):
    return subprocess.run([sys.executable, "-m", "hdrkit.cli.main", *args], capture_output=True, text=True,
                          timeout=120)


def test_float_outputs_keep_primaries_and_scale(tmp_path):
    nits = _gradient()
    write_image(tmp_path / "in.exr", Image(nits / 100.0, "bt709", "linear", 100.0))
    assert _run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "a.exr")).returncode == 0
    a = read_image(tmp_path / "a.exr")
    assert (a.primaries, a.nits_per_unit) == ("bt709", 100.0)
    assert _run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "b.exr"), "--nits-per-unit", "203") \
        .returncode == 0
    b = read_image(tmp_path / "b.exr")
    assert b.nits_per_unit == 203.0
    np.testing.assert_allclose(b.nits("bt709"), nits, rtol=1e-5)
    # from PQ: 1.0 = 100 nits (what EXR readers assume), not 1 nit
    write_image(tmp_path / "pq.png", Image(color.pq_inverse_eotf(nits), "bt2020", "pq"))
    assert _run("convert", str(tmp_path / "pq.png"), "-o", str(tmp_path / "c.exr")).returncode == 0
    assert read_image(tmp_path / "c.exr").nits_per_unit == 100.0
    # --nits-per-unit is never silently dropped
    r = _run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / "d.png"), "--nits-per-unit", "203")
    assert r.returncode == 2 and "nits-per-unit" in r.stderr and not (tmp_path / "d.png").exists()


@pytest.mark.parametrize("ext", ["exr", "hdr", "pfm", "png", "tif", "jpg", "avif"])
def test_convert_success_line_describes_the_written_file(tmp_path, ext):
    write_image(tmp_path / "in.exr", Image(_gradient() / 100.0, "bt709", "linear", 100.0))
    r = _run("convert", str(tmp_path / "in.exr"), "-o", str(tmp_path / f"o.{ext}"))
    assert r.returncode == 0, r.stderr
    back = read_image(tmp_path / f"o.{ext}")
    assert back.encoding() in r.stdout and describe_file(tmp_path / f"o.{ext}") in r.stdout
    assert f"{back.meta['bit_depth']}-bit" in r.stdout


def test_info_says_which_assumption_it_made(tmp_path):
    path, _ = _png16_untagged(tmp_path)
    r = _run("info", str(path))
    assert r.returncode == 0 and "untagged: assumed HDR10" in r.stdout
    p = tmp_path / "s.png"
    p.write_bytes(png.insert_chunks(path.read_bytes(), [(b"sRGB", b"\x00")]))
    assert "sRGB chunk" in _run("info", str(p)).stdout


def test_16bit_tiff_with_an_icc_profile_is_read_by_it(tmp_path):
    import tifffile

    a = (np.random.default_rng(3).uniform(0, 1, (8, 12, 3)) * 65535).astype(np.uint16)
    lcms_srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tifffile.imwrite(tmp_path / "icc.tif", a, photometric="rgb", iccprofile=lcms_srgb)
    img = read_image(tmp_path / "icc.tif")
    assert (img.primaries, img.transfer) == ("bt709", "srgb") and "ICC" in img.meta["colour_source"]
    tifffile.imwrite(tmp_path / "plain.tif", a, photometric="rgb")
    assert read_image(tmp_path / "plain.tif").encoding() == "BT.2020 PQ"


@pytest.mark.parametrize("ext", ["png", "tif", "exr", "hdr", "pfm"])
def test_decode_success_line_describes_the_written_file(tmp_path, ext):
    """`hdrkit decode` of a gain-map JPEG (and of an MLP picture) says what it wrote, read back from it; float
    outputs keep the map's gamut at 1.0 = 100 nits."""
    from hdrkit.codec import ultrahdr as U

    yy, xx = np.mgrid[0:32, 0:48].astype(np.float32)
    sdr = np.stack([xx * 5, yy * 7, 128 + 0 * xx], -1).astype(np.uint8)
    hdr = color.convert_primaries(color.srgb_eotf(sdr / 255.0), "bt709", "bt2020") * 203 * (1 + (xx > 30))[..., None]
    U.write_ultrahdr(tmp_path / "g.jpg", sdr, hdr.astype(np.float32), base_primaries="p3d65")
    r = _run("decode", str(tmp_path / "g.jpg"), "-o", str(tmp_path / f"o.{ext}"))
    assert r.returncode == 0, r.stderr
    assert describe_file(tmp_path / f"o.{ext}") in r.stdout and "gain map" in r.stdout
    back = read_image(tmp_path / f"o.{ext}")
    if ext in ("exr", "hdr", "pfm"):
        assert back.transfer == "linear"
        if ext != "pfm":  # PFM has no primaries field: BT.709 by convention
            assert back.primaries == "p3d65"
        if ext == "exr":
            assert back.nits_per_unit == 100.0
    else:
        assert back.encoding() == "BT.2020 PQ"
    ref, _ = U.decode_ultrahdr(tmp_path / "g.jpg")
    tol = 0.01 * ref.max(-1, keepdims=True) + 0.05  # RGBE: 8-bit mantissa shared by the three channels
    assert np.all(np.abs(back.nits() - ref) <= (tol if ext == "hdr" else 0.02 * ref + 0.05))
