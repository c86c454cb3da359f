"""Generators of bad (and a few valid but huge) input files, made small and fast in the test.

Each generator writes into ``folder`` and returns the command-line arguments of the ``hdrkit`` run that must
fail with one line.  Shared by ``test_bad_input_cli.py`` (one subprocess per case) and the fuzz seeds.
"""

from __future__ import annotations

import io
import os
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np


# ------------------------------------------------------------------------------------------------- builders
def png_chunk(ctype: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + ctype + payload + struct.pack(">I", zlib.crc32(ctype + payload))


def flat_png(width: int, height: int, bit_depth: int = 16, value: int = 0) -> bytes:
    """A *valid* RGB PNG of one flat colour, built in O(height) time and O(width) memory whatever its size:
    every row is deflated to the same bytes after a full flush, and the Adler-32 is combined per row."""
    bpp = 3 * bit_depth // 8
    row = b"\x00" + bytes([value]) * (width * bpp)
    comp = zlib.compressobj(9)
    head = comp.compress(row) + comp.flush(zlib.Z_FULL_FLUSH)
    body = comp.compress(row) + comp.flush(zlib.Z_FULL_FLUSH)
    tail = comp.flush()[:-4]  # the final empty block; the Adler-32 is recomputed below
    adler = 1
    for _ in range(height):
        adler = zlib.adler32(row, adler)
    stream = head + body * (height - 1) + tail + struct.pack(">I", adler)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", stream)
            + png_chunk(b"IEND", b""))


def small_png(bits: int = 8) -> bytes:
    import cv2

    a = (np.random.default_rng(0).random((16, 24, 3)) * (2 ** bits - 1)).astype(np.uint16 if bits == 16 else np.uint8)
    return cv2.imencode(".png", a)[1].tobytes()


def small_jpeg(size=(24, 16)) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray((np.random.default_rng(1).random((size[1], size[0], 3)) * 255).astype(np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


def patch_sof(jpeg: bytes, width: int, height: int, start: int = 0) -> bytes:
    """The JPEG with its frame header (SOF0/1/2) claiming ``width×height``."""
    b = bytearray(jpeg)
    for marker in (b"\xff\xc0", b"\xff\xc1", b"\xff\xc2"):
        i = b.find(marker, start)
        if i >= 0:
            b[i + 5:i + 9] = struct.pack(">HH", height, width)
            return bytes(b)
    raise AssertionError("no SOF")


def exr_bytes(tmp: Path, header_extra: dict | None = None, size=(8, 6)) -> bytes:
    import OpenEXR

    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, **(header_extra or {})}
    px = np.random.default_rng(2).random((size[1], size[0], 3)).astype(np.float32)
    path = tmp / "_gen.exr"
    OpenEXR.File(header, {"RGB": px}).write(str(path))
    data = path.read_bytes()
    path.unlink()
    return data


def hdr_bytes(extra_header: bytes = b"") -> bytes:
    import cv2

    data = cv2.imencode(".hdr", np.random.default_rng(3).random((6, 8, 3)).astype(np.float32))[1].tobytes()
    end = data.find(b"\n\n")
    return data[:end + 1] + extra_header + data[end + 1:]


def ultrahdr_bytes() -> bytes:
    from hdrkit.codec.ultrahdr import encode_ultrahdr

    rng = np.random.default_rng(4)
    sdr = (rng.random((32, 48, 3)) * 255).astype(np.uint8)
    hdr = (rng.random((32, 48, 3)) * 800 + 1).astype(np.float32)
    return encode_ultrahdr(sdr, hdr, scale=4).data


def lut_zip(cube: bytes, *, method: int | None = None, encrypted: bool = False, corrupt: bool = False) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lut.cube", cube)
    b = bytearray(buf.getvalue())
    local, central = 0, b.find(b"PK\x01\x02")
    if encrypted:
        b[local + 6] |= 1
        b[central + 8] |= 1
    if method is not None:
        b[local + 8:local + 10] = struct.pack("<H", method)
        b[central + 10:central + 12] = struct.pack("<H", method)
    if corrupt:
        start = 30 + len("lut.cube")
        b[start + 2:start + 40] = b"\xff" * 38
    return bytes(b)


#: FIFOs and devices: refused by the reader, or earlier by the CLI's input expansion (files, folders, globs)
NOT_REGULAR = ("not a regular file", "not a file or a folder")

CUBE_2 = b"LUT_3D_SIZE 2\n" + b"".join(f"{r} {g} {b}\n".encode() for b in (0, 1) for g in (0, 1) for r in (0, 1))


# -------------------------------------------------------------------------------------------------- cases
def _w(folder: Path, name: str, data: bytes) -> Path:
    p = folder / name
    p.write_bytes(data)
    return p


def case_png_huge_after_iend(f: Path):
    ihdr = struct.pack(">IIBBBBB", 10000, 10000, 16, 2, 0, 0, 0)
    data = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + png_chunk(b"IEND", b"") + struct.pack(">I", 0x7FFFFFF0) + b"IDAT")
    return ["info", _w(f, "after_iend.png", data)], "truncated"


def case_png_bomb_16k(f: Path):
    return ["info", _w(f, "bomb16k.png", flat_png(16384, 16384))], "pixel budget"


def case_png_bomb_ratio(f: Path):
    return ["info", _w(f, "ratio.png", flat_png(6000, 6000, 8))], "decompression bomb"


def case_png_truncated_idat(f: Path):
    good = small_png(16)
    i = good.find(b"IDAT")
    n = struct.unpack(">I", good[i - 4:i])[0]
    payload = bytearray(good[i + 4:i + 4 + n])
    payload[10:40] = b"\x00" * 30
    bad = good[:i - 4] + png_chunk(b"IDAT", bytes(payload)) + good[i + 8 + n:]
    return ["convert", _w(f, "corrupt.png", bad), "-o", f / "out.exr"], "corrupt"


def case_jpeg_truncated_huge(f: Path):
    return ["info", _w(f, "trunc.jpg", patch_sof(small_jpeg(), 10000, 10000)[:762])], "decompression bomb"


def case_jpeg_truncated(f: Path):
    j = small_jpeg((64, 64))
    return ["info", _w(f, "cut.jpg", j[:len(j) // 2])], "JPEG"


def case_tiff_huge(f: Path):
    return ["info", _w(f, "huge.tif", _tiff_claiming(20000))], "pixel budget"


def case_tiff_bomb(f: Path):
    return ["info", _w(f, "bomb.tif", _tiff_claiming(10000))], "decompression bomb"


def _tiff_claiming(side: int) -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, np.zeros((4, 4, 3), np.uint16), photometric="rgb")
    b = bytearray(buf.getvalue())
    # ImageWidth (256) / ImageLength (257) tags of the first IFD: SHORT or LONG values in place
    ifd = struct.unpack("<I", b[4:8])[0]
    (count,) = struct.unpack("<H", b[ifd:ifd + 2])
    for k in range(count):
        e = ifd + 2 + 12 * k
        tag, typ = struct.unpack("<HH", b[e:e + 4])
        if tag in (256, 257):
            b[e + 8:e + 12] = struct.pack("<I", side) if typ == 4 else struct.pack("<HH", side, 0)
    return bytes(b)


def case_tiff_garbage(f: Path):
    return ["info", _w(f, "garbage.tif", b"II*\x00\x08\x00\x00\x00" + b"\xff" * 40)], "TIFF"


def case_exr_truncated(f: Path):
    d = exr_bytes(f, size=(64, 64))
    return ["info", _w(f, "trunc.exr", d[:len(d) * 2 // 3])], "OpenEXR"


def case_exr_chroma_collinear(f: Path):
    d = exr_bytes(f, {"chromaticities": (0.1, 0.1, 0.2, 0.2, 0.3, 0.3, 0.3127, 0.329)})
    return ["info", _w(f, "collinear.exr", d)], "chromaticities"


def case_exr_chroma_wrong_type(f: Path):
    d = exr_bytes(f, {"chromaticitiez": "not numbers"})
    d = d.replace(b"chromaticitiez\0", b"chromaticities\0")  # same length: an opaque attribute of that name
    return ["info", _w(f, "opaque.exr", d)], "chromaticities"


def case_hdr_primaries_collinear(f: Path):
    d = hdr_bytes(b"PRIMARIES=0.1 0.1 0.2 0.2 0.3 0.3 0.3127 0.329\n")
    return ["info", _w(f, "collinear.hdr", d)], "chromaticities"


def case_hdr_tiny_exposure(f: Path):
    return ["info", _w(f, "exposure.hdr", hdr_bytes(b"EXPOSURE=1e-300\n"))], "NaN or Inf"


def case_hdr_truncated(f: Path):
    d = hdr_bytes()
    return ["info", _w(f, "cut.hdr", d[:len(d) - 40])], "Radiance"


def case_avif_corrupt(f: Path):
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.full((16, 16, 3), 128, np.uint8)).save(buf, "AVIF")
    b = bytearray(buf.getvalue())
    b[len(b) // 2:] = b"\x00" * (len(b) - len(b) // 2)
    return ["info", _w(f, "bad.avif", bytes(b))], "AVIF"


def case_uhdr_primary_huge(f: Path):
    d = ultrahdr_bytes()
    return ["decode", _w(f, "primary.jpg", patch_sof(d, 20000, 20000)), "-o", f / "o.exr"], "pixel budget"


def case_uhdr_gainmap_huge(f: Path):
    from hdrkit.codec.ultrahdr import parse_ultrahdr

    d = ultrahdr_bytes()
    off = parse_ultrahdr(d).gainmap_offset
    return ["decode", _w(f, "gainmap.jpg", patch_sof(d, 30000, 30000, off)), "-o", f / "o.exr"], "gain map"


def case_uhdr_xmp_control(f: Path):
    from hdrkit.codec.gainmap import GainMapMetadata
    from hdrkit.codec.ultrahdr import assemble, encode_sdr_jpeg, xmp_gainmap

    meta = GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(2.0,) * 3, gamma=(1.0,) * 3, offset_sdr=(1 / 64,) * 3,
                           offset_hdr=(1 / 64,) * 3, capacity_min=0.0, capacity_max=2.0, channels=1)
    prim = encode_sdr_jpeg(np.zeros((16, 16, 3), np.uint8))
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((4, 4), np.uint8), "L").save(buf, "JPEG")
    data = assemble(prim, buf.getvalue(), meta, write_iso=False)
    xmp = xmp_gainmap(meta)
    i = data.find(b'hdrgm:GainMapMax="', data.find(xmp[:40]) if xmp[:40] in data else 0)
    i = data.find(b'hdrgm:GainMapMax="', i) + len(b'hdrgm:GainMapMax="')
    data = data[:i] + b"\x1c" + data[i + 1:]  # same length: segment sizes stay right
    return ["decode", _w(f, "xmp.jpg", data), "-o", f / "o.exr"], ("GainMapMax", "XMP")


def case_fifo(f: Path):
    p = f / "fifo.png"
    os.mkfifo(p)
    return ["info", p], NOT_REGULAR


def case_fifo_convert(f: Path):
    p = f / "fifo2.png"
    os.mkfifo(p)
    return ["convert", p, "-o", f / "o.exr"], NOT_REGULAR


def case_fifo_decode(f: Path):
    p = f / "fifo3.png"
    os.mkfifo(p)
    return ["decode", p, "-o", f / "o.exr"], NOT_REGULAR


def case_dev_zero_png(f: Path):
    p = f / "zero.png"
    p.symlink_to("/dev/zero")
    return ["info", p], NOT_REGULAR


def case_dev_zero_pfm(f: Path):
    p = f / "zero.pfm"
    p.symlink_to("/dev/zero")
    return ["convert", p, "-o", f / "o.exr"], NOT_REGULAR


def case_output_folder_impossible(f: Path):
    src = _w(f, "ok.png", small_png())
    return ["convert", src, "-o", "/proc/self/nope/o.exr"], ("does not exist", "cannot create", "cannot write")


def case_output_folder_unwritable(f: Path):
    src = _w(f, "ok2.png", small_png())
    return ["convert", src, "-o", "/proc/self/o.exr"], "cannot write"


def case_output_under_a_file(f: Path):
    src = _w(f, "ok3.png", small_png())
    return ["tonemap", src, "-o", src / "o.png"], ("does not exist", "is a file")


def case_eval_report_unwritable(f: Path):
    src = _w(f, "ok4.png", small_png(16))
    return ["eval", src, src, "--report", "/proc/self/report"], ("cannot create report folder", "cannot create output folder")


def case_encode_unknown_extension(f: Path):
    src = _w(f, "hdr.png", small_png(16))
    return ["encode", src, "-o", f / "out.xyz"], "out.xyz"


def case_tmo_bogus_with_sdr(f: Path):
    hdr = _w(f, "h.png", small_png(16))
    sdr = _w(f, "s.png", small_png(8))
    return ["encode", hdr, sdr, "--tmo", "bogus", "-o", f / "e.png"], "bogus"


def case_lut_encrypted(f: Path):
    src = _w(f, "t.png", small_png(16))
    return ["tonemap", src, "-m", "lut", "--lut", _w(f, "enc.zip", lut_zip(CUBE_2, encrypted=True)),
            "-o", f / "o.png"], "encrypted"


def case_lut_unknown_method(f: Path):
    src = _w(f, "t2.png", small_png(16))
    return ["tonemap", src, "-m", "lut", "--lut", _w(f, "meth.zip", lut_zip(CUBE_2, method=99)),
            "-o", f / "o.png"], "compression method"


def case_lut_corrupt_stream(f: Path):
    src = _w(f, "t3.png", small_png(16))
    return ["tonemap", src, "-m", "lut", "--lut", _w(f, "corrupt.zip", lut_zip(CUBE_2 * 40, corrupt=True)),
            "-o", f / "o.png"], "zip"


def case_lut_huge_cube(f: Path):
    src = _w(f, "t4.png", small_png(16))
    big = b"LUT_3D_SIZE 256\n" + b"0.5 0.5 0.5\n" * (3 << 20)
    return ["tonemap", src, "-m", "lut", "--lut", _w(f, "huge.zip", lut_zip(big)), "-o", f / "o.png"], "too large"


def _encoded_png(f: Path, name: str, cfg, width: int, height: int, size=(24, 16)) -> Path:
    import math

    import cv2

    from hdrkit.codec.adapters import embed_file
    from hdrkit.codec.container import Container, pack
    from hdrkit.models.siren import param_shapes

    weights = {k: np.zeros(s, np.float32) for k, s in param_shapes(cfg).items()}
    assert sum(math.prod(s) for s in param_shapes(cfg).values()) > 0
    src = _w(f, "_plain_" + name, cv2.imencode(".png", np.zeros((size[1], size[0], 3), np.uint8))[1].tobytes())
    dst = f / name
    embed_file(src, dst, pack(Container(cfg=cfg, weights=weights, width=width, height=height)))
    return dst


def case_decode_cost(f: Path):
    from hdrkit.models.siren import SirenConfig

    cfg = SirenConfig(merge=(1024, 1024, 1024))  # ~2.2 M parameters, under the container's 4 M limit
    return ["decode", _encoded_png(f, "cost.png", cfg, 1024, 512, (1024, 512)), "-o", f / "o.exr"], "decode-cost"


def case_metadata_size_zero(f: Path):
    from hdrkit.models.siren import SirenConfig

    return ["decode", _encoded_png(f, "zero.png", SirenConfig(), 0, 0), "-o", f / "o.exr"], "0x0"


CASES = {name[5:]: fn for name, fn in sorted(globals().items()) if name.startswith("case_")}
