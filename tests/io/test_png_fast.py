"""The fast PNG writer (Up filter, ISA-L deflate split over threads, pigz-style) and the decode-path
helpers around it: files read back bit-exact by three independent readers (libpng via imagecodecs, OpenCV,
Pillow), a valid zlib stream (checked Adler-32), and the same numbers as the plain numpy formulas."""

from __future__ import annotations

import io
import zlib

import numpy as np
import pytest

from hdrkit.io import Image, png, read_image, write_image
from hdrkit.io.read import read_codes8
from hdrkit.io.write import _quantise, light_levels


def _idat(data: bytes) -> bytes:
    return b"".join(p for t, p, _ in png.iter_chunks(data) if t == b"IDAT")


def _readers(data: bytes, tmp_path) -> list[np.ndarray]:
    import cv2
    import imagecodecs
    from PIL import Image as PILImage

    f = tmp_path / "x.png"
    f.write_bytes(data)
    cv = cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
    if cv.ndim == 3:
        cv = cv[..., [2, 1, 0, 3]] if cv.shape[2] == 4 else cv[..., ::-1]
    out = [imagecodecs.png_decode(data), cv]
    im = PILImage.open(io.BytesIO(data))
    if png.read_info(data).bit_depth == 8:  # Pillow reduces 16-bit RGB to 8 bits: it checks 8-bit files only
        out.append(np.asarray(im))
    return out


def _spec_reader(data: bytes, shape, dtype) -> np.ndarray:
    """PNG §9 by hand for the filter types used (0 None, 2 Up): inflate, undo the filters row by row."""
    rows = np.frombuffer(zlib.decompress(_idat(data)), np.uint8).reshape(shape[0], -1)
    prev = np.zeros(rows.shape[1] - 1, np.uint8)
    out = []
    for r in rows:
        assert r[0] in (0, 2)
        cur = r[1:] + (prev if r[0] == 2 else 0)
        out.append(cur)
        prev = cur
    return np.frombuffer(np.stack(out).tobytes(), ">u2" if dtype == np.uint16 else np.uint8).reshape(shape)


@pytest.mark.parametrize("dtype,channels,threads", [(np.uint16, 3, 2), (np.uint16, 3, 3), (np.uint8, 4, 2),
                                                    (np.uint8, 1, 1), (np.uint16, 4, 8), (np.uint8, 3, 1)])
def test_round_trip_bit_exact_three_readers(dtype, channels, threads, tmp_path):
    rng = np.random.default_rng(channels * threads)
    top = np.iinfo(dtype).max
    q = rng.integers(0, top + 1, size=(37, 53, channels), dtype=np.int64)
    q[:10] = q[:1]  # runs (what the RLE strategy and the Up filter meet in real frames)
    q = q.astype(dtype)
    data = png.encode_fast(q if channels > 1 else q[..., 0], threads=threads, chunks=[(b"tEXt", b"k\x00v")])
    ref = q if channels > 1 else q[..., 0]
    readers = _readers(data, tmp_path) + [_spec_reader(data, ref.shape, dtype).astype(dtype)]
    assert len(readers) >= 3
    for arr in readers:
        assert arr.dtype == dtype and np.array_equal(arr, ref)
    raw = zlib.decompress(_idat(data))  # zlib checks the combined Adler-32
    assert len(raw) == 37 * (1 + 53 * channels * q.itemsize)
    assert (b"tEXt", b"k\x00v") in [(t, p) for t, p, _ in png.iter_chunks(data)]


def test_more_threads_than_rows(tmp_path):
    q = np.arange(2 * 5 * 3, dtype=np.uint16).reshape(2, 5, 3) * 2000
    for t in (1, 2, 16):
        assert all(np.array_equal(a, q) for a in _readers(png.encode_fast(q, threads=t), tmp_path))


def test_adler32_combine_matches_zlib():
    rng = np.random.default_rng(1)
    x, y = rng.bytes(70000), rng.bytes(123457)
    assert png._adler32_combine(zlib.adler32(x), zlib.adler32(y), len(y)) == zlib.adler32(x + y)
    assert png._adler32_combine(zlib.adler32(x), zlib.adler32(b""), 0) == zlib.adler32(x)


def test_write_image_fast_png_same_pixels_as_libpng_level_6(tmp_path):
    rng = np.random.default_rng(3)
    img = Image(rng.random((64, 96, 3), dtype=np.float32), primaries="bt2020", transfer="pq")
    write_image(tmp_path / "fast.png", img, png_compression=1, threads=2)
    write_image(tmp_path / "slow.png", img, png_compression=6)
    a, b = read_image(tmp_path / "fast.png"), read_image(tmp_path / "slow.png")
    assert np.array_equal(a.pixels, b.pixels) and (a.primaries, a.transfer) == ("bt2020", "pq")
    meta = lambda p: [(t, q) for t, q, _ in png.iter_chunks(p.read_bytes()) if t not in (b"IDAT",)]  # noqa: E731
    assert meta(tmp_path / "fast.png") == meta(tmp_path / "slow.png")  # cICP, mDCV, cLLI identical


def test_quantise_threads_identical():
    rng = np.random.default_rng(4)
    x = (rng.random((101, 7, 3), dtype=np.float32) * 1.4 - 0.2).astype(np.float32)
    for bits in (8, 16):
        ref = _quantise(x, bits)
        assert np.array_equal(ref, np.clip(np.rint(np.clip(x, 0, 1) * ((1 << bits) - 1)), 0, None)
                              .astype(ref.dtype))
        assert np.array_equal(_quantise(x, bits, threads=3), ref)


def test_light_levels_from_codes_match_direct_formula():
    from hdrkit.color.transfer import pq_eotf

    rng = np.random.default_rng(5)
    codes = rng.integers(0, 65536, size=(40, 30, 3)).astype(np.uint16)
    img = Image(codes / np.float32(65535), primaries="bt2020", transfer="pq")
    nits = np.asarray(pq_eotf(codes.astype(np.float64) / 65535)).max(axis=-1)
    cll, fall = light_levels(img, codes)
    assert cll == nits.max()
    assert fall == pytest.approx(nits.mean(), rel=1e-12)
    assert light_levels(img, codes, threads=3) == (cll, fall)  # integer histogram: the same bits on any split


def test_read_codes8_is_the_rounded_read_image(tmp_path):
    from PIL import Image as PILImage

    rng = np.random.default_rng(6)
    arr = rng.integers(0, 256, size=(24, 40, 3), dtype=np.uint8)
    for name in ("a.jpg", "a.png"):
        p = tmp_path / name
        PILImage.fromarray(arr).save(p, quality=90) if name.endswith("jpg") else PILImage.fromarray(arr).save(p)
        ref = np.clip(np.rint(read_image(p).pixels * 255), 0, 255).astype(np.uint8)
        got = read_codes8(p)
        assert got.dtype == np.uint8 and got.shape == (24, 40, 3) and np.array_equal(got, ref)
    PILImage.fromarray(arr[..., 0]).save(tmp_path / "g.jpg")  # grey JPEG: three equal channels
    assert np.array_equal(read_codes8(tmp_path / "g.jpg"),
                          np.clip(np.rint(read_image(tmp_path / "g.jpg").pixels * 255), 0, 255).astype(np.uint8))


def test_isal_fast_path_present():
    """The fast path (ISA-L deflate through python-isal) must be there: missing, it warns and this fails."""
    assert png._isal() is not None


def test_isal_pieces_make_one_valid_zlib_stream():
    """The sync-flushed ISA-L pieces and the combined Adler-32 form one zlib stream that zlib itself inflates
    (checksum verified) to the Up-filtered rows."""
    q = np.random.default_rng(3).integers(0, 65536, (64, 50, 3)).astype(np.uint16)
    q[20:40] = 1000  # runs as well as noise
    data = png.encode_fast(q, threads=3)
    idat = b"".join(p for t, p, _ in png.iter_chunks(data) if t == b"IDAT")
    rows = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(64, 1 + 50 * 6)
    assert (rows[:, 0] == 2).all()
    raw = np.cumsum(rows[:, 1:], axis=0, dtype=np.uint8)  # undo Up
    assert np.array_equal(raw.view(">u2").reshape(q.shape), q)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_zlib_only_fallback_same_pixels(threads, tmp_path, monkeypatch):
    monkeypatch.setattr(png, "_ISAL", False)
    q = ((np.arange(30 * 20 * 3).reshape(30, 20, 3) * 37) % 65536).astype(np.uint16)
    data = png.encode_fast(q.astype(np.uint16), threads=threads)
    assert all(np.array_equal(a, q) for a in _readers(data, tmp_path))
    assert all(np.array_equal(a, q) for a in _readers(png.encode_fast(q.astype(np.uint16), threads=threads,
                                                                         level=0), tmp_path))


def test_jpeg_exif_orientation_applied_by_both_readers(tmp_path):
    """An EXIF Orientation tag turns the picture (read_image and read_codes8 alike), as Pillow's own
    exif_transpose does; without the tag nothing turns."""
    from PIL import Image as PILImage
    from PIL import ImageOps

    arr = np.random.default_rng(8).integers(0, 256, (16, 24, 3), dtype=np.uint8)
    for orient, shape in ((6, (24, 16, 3)), (3, (16, 24, 3)), (None, (16, 24, 3))):
        p = tmp_path / f"o{orient}.jpg"
        exif = PILImage.Exif()
        if orient:
            exif[0x0112] = orient
        PILImage.fromarray(arr).save(p, quality=95, exif=exif.tobytes())
        want = np.asarray(ImageOps.exif_transpose(PILImage.open(p)))
        got = read_codes8(p)
        assert got.shape == shape and np.array_equal(got, want)
        assert np.array_equal(np.clip(np.rint(read_image(p).pixels * 255), 0, 255).astype(np.uint8), want)


def test_describe_png_reads_only_the_head(tmp_path, monkeypatch):
    """describe_file on a PNG parses the chunks before IDAT (its meaning) and reads no further than needed, but
    still refuses a PNG whose header chunks are corrupt; read_info(head_only) agrees with the whole-file read."""
    from hdrkit.io import limits
    from hdrkit.io.read import describe_file
    from hdrkit.errors import FormatError

    q = np.random.default_rng(2).integers(0, 65536, (300, 400, 3)).astype(np.uint16)
    data = png.encode_fast(q, threads=2, chunks=[(b"cICP", png.cicp_payload("bt2020", "pq")),
                                                 (b"zzZz", b"x" * 100_000)])  # a large chunk before IDAT
    p = tmp_path / "a.png"
    p.write_bytes(data)
    sizes = []
    real = limits.read_input

    def spy(path, **kw):
        out = real(path, **kw)
        sizes.append(len(out))
        return out

    monkeypatch.setattr("hdrkit.io.read.read_input", spy)
    assert describe_file(p) == "400×300 PNG 16-bit, BT.2020 PQ"
    assert max(sizes) < len(data)  # the head was enough (after one larger read for the 100 kB chunk)
    whole, head = png.read_info(data), png.read_info(data[:150_000], head_only=True)
    assert (head.width, head.height, head.bit_depth, head.cicp, head.private_chunks) == (
        whole.width, whole.height, whole.bit_depth, whole.cicp, whole.private_chunks)
    bad = bytearray(data)
    bad[40] ^= 0xFF  # inside the cICP chunk: CRC mismatch
    p.write_bytes(bytes(bad))
    with pytest.raises(FormatError):
        describe_file(p)
