"""Carriers: PNG chunk, JPEG APPn (multi-segment), TIFF tag, EXR attribute, sidecar; re-saving drops them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image as PILImage

from hdrkit.codec import adapters
from hdrkit.io import jpeg
from hdrkit.codec.adapters import SdrWriter, embed_file, read_blob, sidecar_path
from hdrkit.errors import MetadataError

BLOB = bytes(np.random.default_rng(0).integers(0, 256, 18_000, dtype=np.uint8))
BIG = bytes(np.random.default_rng(1).integers(0, 256, 150_000, dtype=np.uint8))  # 3 JPEG segments
_yy, _xx = np.mgrid[0:24, 0:40]
SDR = np.clip(np.stack([_xx * 6, _yy * 10, 128 + 0 * _xx], -1)
              + np.random.default_rng(2).integers(-3, 4, (24, 40, 3)), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("ext", [".png", ".jpg", ".tif", ".avif"])
@pytest.mark.parametrize("blob", [BLOB, BIG])
def test_writer_round_trip_is_bit_exact_and_opens_as_plain_sdr(tmp_path, ext, blob):
    out = tmp_path / f"pic{ext}"
    w = SdrWriter(out, SDR, quality=95)
    seen = w.pixels()
    w.commit(blob)
    assert read_blob(out) == blob
    with PILImage.open(out) as im:  # an ordinary reader opens the picture
        arr = np.asarray(im.convert("RGB"))
    assert arr.shape == SDR.shape
    if ext in (".png", ".tif"):
        assert np.array_equal(arr, SDR) and np.array_equal(seen, SDR)
    else:
        # what the encoder adapted on is exactly what a decoder reads back
        assert np.array_equal(arr, seen)
        assert np.abs(arr.astype(int) - SDR).mean() < 8
    assert (ext == ".avif") == sidecar_path(out).exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporaries left


def test_jpeg_blob_is_split_over_segments_below_64k():
    data = adapters.jpeg_embed(_jpeg_bytes(), BIG)
    segs = [(s.marker, len(s.payload)) for s in jpeg.segments(data)[0] if s.marker == adapters.JPEG_MARKER]
    assert len(segs) == 3 and all(n <= 65533 for _, n in segs)
    assert adapters.jpeg_extract(data) == BIG
    # re-embedding replaces, never duplicates
    data2 = adapters.jpeg_embed(data, BLOB)
    assert adapters.jpeg_extract(data2) == BLOB


def _jpeg_bytes():
    buf = io.BytesIO()
    PILImage.fromarray(SDR).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def test_missing_jpeg_segment_is_reported():
    data = adapters.jpeg_embed(_jpeg_bytes(), BIG)
    segs = [(s.start, s.end) for s in jpeg.segments(data)[0] if s.marker == adapters.JPEG_MARKER]
    s0, p1 = segs[1]
    with pytest.raises(MetadataError, match="2 of 3"):
        adapters.jpeg_extract(data[:s0] + data[p1:])


@pytest.mark.parametrize("ext,fmt", [(".png", "PNG"), (".jpg", "JPEG")])
def test_pillow_resave_drops_metadata_with_a_clear_error(tmp_path, ext, fmt):
    out = tmp_path / f"pic{ext}"
    w = SdrWriter(out, SDR)
    w.pixels()
    w.commit(BLOB)
    resaved = tmp_path / f"resaved{ext}"
    with PILImage.open(out) as im:
        im.save(resaved, fmt)
    with pytest.raises(MetadataError, match="no hdrkit metadata"):
        read_blob(resaved)


def test_embed_into_existing_files(tmp_path):
    import OpenEXR

    src_png = tmp_path / "a.png"
    PILImage.fromarray(SDR).save(src_png)
    embed_file(src_png, tmp_path / "b.png", BLOB)
    assert read_blob(tmp_path / "b.png") == BLOB
    src_exr = tmp_path / "a.exr"
    OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage},
                 {"RGB": SDR.astype(np.float32) / 255}).write(str(src_exr))
    embed_file(src_exr, tmp_path / "b.exr", BIG)
    assert read_blob(tmp_path / "b.exr") == BIG
    src_tif = tmp_path / "a.tif"
    PILImage.fromarray(SDR).save(src_tif)
    embed_file(src_tif, tmp_path / "b.tif", BLOB)
    assert read_blob(tmp_path / "b.tif") == BLOB
    src_bmp = tmp_path / "a.bmp"
    PILImage.fromarray(SDR).save(src_bmp)
    embed_file(src_bmp, tmp_path / "b.bmp", BLOB)
    assert read_blob(tmp_path / "b.bmp") == BLOB and (tmp_path / "b.bmp.hdrkit").exists()
    # inputs untouched
    with pytest.raises(MetadataError):
        read_blob(src_png)


def test_corrupt_png_is_a_metadata_error(tmp_path):
    out = tmp_path / "pic.png"
    w = SdrWriter(out, SDR)
    w.pixels()
    w.commit(BLOB)
    data = bytearray(out.read_bytes())
    data[60] ^= 0xFF  # inside the hdRK chunk (inserted right after IHDR)
    bad = tmp_path / "bad.png"
    bad.write_bytes(bytes(data))
    with pytest.raises(MetadataError):
        read_blob(bad)


@pytest.mark.parametrize("ext", [".jpg", ".png", ".tif", ".avif"])
@pytest.mark.parametrize("blob_size", [10, 18_000, 70_000])
def test_commit_reports_exactly_what_the_file_adds(tmp_path, ext, blob_size):
    """Added bytes = size of the file with the blob - size of the same pixels written without it."""
    from hdrkit.codec.adapters import SdrWriter, jpeg_added_bytes, sidecar_path
    from hdrkit.io import Image, write_image

    sdr = np.random.default_rng(1).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    blob = bytes(np.random.default_rng(2).integers(0, 256, blob_size, dtype=np.uint8))
    out = tmp_path / f"a{ext}"
    w = SdrWriter(out, sdr, 90)
    w.pixels()
    added = w.commit(blob)
    plain = tmp_path / f"plain{ext}"
    if ext == ".jpg":
        plain.write_bytes(w._jpeg)
    elif ext == ".avif":
        plain.write_bytes(w._other)
    else:
        write_image(plain, Image(sdr.astype(np.float32) / 255, primaries="bt709", transfer="bt1886"),
                    bit_depth=8, quality=90)
    if ext == ".avif":
        assert added == sidecar_path(out).stat().st_size == blob_size
        assert out.stat().st_size == plain.stat().st_size
    else:
        assert added == out.stat().st_size - plain.stat().st_size
    if ext == ".jpg":
        assert added == jpeg_added_bytes(blob_size)
    if ext == ".png":
        assert added == blob_size + 12  # length, type, CRC
    assert added >= blob_size
    assert list(tmp_path.glob(".*plain*")) == []
