"""Fuzz targets: every reader and parser of untrusted bytes in hdrkit, with seed inputs.

A target takes ``bytes`` and must either return or raise an :class:`hdrkit.errors.HdrkitError`; any other
exception is an *escape* (a bug).  Run them with atheris (``fuzz/run_atheris.py``, the long run, see
``docs/ROBUSTNESS.md``) or hypothesis (``tests/robustness/test_fuzz_short.py``, the short CI pass).
"""

from __future__ import annotations

import atexit
import io
import os
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Dict, List

import numpy as np

_TMP = Path(tempfile.mkdtemp(prefix="hdrkit-fuzz-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)


def _as_file(data: bytes, ext: str) -> Path:
    p = _TMP / f"{os.getpid()}-{ext}.{ext}"
    p.write_bytes(data)
    return p


def _reader(ext: str) -> Callable[[bytes], None]:
    def target(data: bytes) -> None:
        from hdrkit.io import read_image

        read_image(_as_file(data, ext), allow_nonfinite=bool(data[-1:] == b"\x01"))
    target.__name__ = f"read_{ext}"
    return target


def read_codes8(data: bytes) -> None:
    """The decoder's SDR read: a JPEG straight to its 8-bit codes (``hdrkit.io.read.read_codes8``)."""
    from hdrkit.io.read import read_codes8 as read

    read(_as_file(data, "jpg"))


def png_info(data: bytes) -> None:
    from hdrkit.errors import HdrkitError
    from hdrkit.io import png
    from hdrkit.io.read import describe_file

    try:  # the header-only walk of describe_file (chunks before IDAT, read as far as needed) on its own
        describe_file(_as_file(data, "png"))
    except HdrkitError:
        pass
    info = png.read_info(data)
    png.check_capacity(info)


def exr_header(data: bytes) -> None:
    from hdrkit.io import exr

    exr.parse_header(data)


def radiance_header(data: bytes) -> None:
    from hdrkit.io import radiance

    radiance.parse_header(data)


def pfm_header(data: bytes) -> None:
    from hdrkit.io import pfm

    pfm.read_header(data)


def ultrahdr_parse(data: bytes) -> None:
    from hdrkit.codec import ultrahdr

    ultrahdr.is_ultrahdr(data)
    ultrahdr.parse_ultrahdr(data)


def ultrahdr_read(data: bytes) -> None:
    from hdrkit.codec import ultrahdr

    ultrahdr.read_ultrahdr(_as_file(data, "jpg"))


def xmp_gainmap(data: bytes) -> None:
    from hdrkit.codec import ultrahdr

    ultrahdr.xmp_decode(data, 1 + 2 * (len(data) & 1))


def iso_gainmap(data: bytes) -> None:
    from hdrkit.codec import ultrahdr

    ultrahdr.iso_decode(data, (None, 1, 3)[len(data) % 3])


def mpf_index(data: bytes) -> None:
    from hdrkit.codec import ultrahdr

    ultrahdr.mpf_entries(data)


def jpeg_segments(data: bytes) -> None:
    from hdrkit.io import jpeg

    segs, _ = jpeg.segments(data)
    jpeg.icc_profile(segs)
    jpeg.stream_end(data)


def xmp_packet(data: bytes) -> None:
    from hdrkit.io import xmp

    root = xmp.parse(data)
    xmp.properties(root, xmp.HDRGM)
    xmp.container_items(root)


def icc_profile(data: bytes) -> None:
    from hdrkit.io import icc

    icc.describe(icc.read(data))


def container(data: bytes) -> None:
    from hdrkit.codec.container import unpack

    unpack(data)


def metadata_carriers(data: bytes) -> None:
    from hdrkit.codec import adapters
    from hdrkit.errors import HdrkitError

    for extract in (adapters.png_extract, adapters.jpeg_extract, adapters.tiff_extract):
        try:
            extract(data)
        except HdrkitError:
            pass


def video_shot_metadata(data: bytes) -> None:
    """Per-shot video metadata: a shot record, a track (the Matroska attachment) and SEI NAL units of a packet
    (H.264 / HEVC, length-prefixed and Annex B), each record's network chain (``hdrkit.video.metadata``)."""
    from hdrkit.errors import HdrkitError
    from hdrkit.video import metadata as M

    for parse in (M.unpack_record, M.unpack_track):
        try:
            parse(data)
        except HdrkitError:
            pass
    for codec in ("h264", "hevc"):
        for size in (0, 4):
            try:
                chain = M.ShotDecoder()
                for r in M.records_in_packet(data, codec, size):
                    chain.add(r, 16, 12)
            except HdrkitError:
                pass


def cube_lut(data: bytes) -> None:
    from hdrkit.tonemap import lut

    lut.read_cube(_as_file(data, "cube"))


def zip_lut(data: bytes) -> None:
    from hdrkit.tonemap import lut

    lut.read_cube(_as_file(data, "zip"))


TARGETS: Dict[str, Callable[[bytes], None]] = {
    **{f"read_{e}": _reader(e) for e in ("png", "exr", "hdr", "pfm", "tif", "jpg", "avif")},
    "read_codes8": read_codes8, "png_info": png_info, "exr_header": exr_header, "radiance_header": radiance_header, "pfm_header": pfm_header,
    "ultrahdr_parse": ultrahdr_parse, "ultrahdr_read": ultrahdr_read, "xmp_gainmap": xmp_gainmap,
    "iso_gainmap": iso_gainmap, "mpf_index": mpf_index, "container": container,
    "jpeg_segments": jpeg_segments, "xmp_packet": xmp_packet, "icc_profile": icc_profile,
    "metadata_carriers": metadata_carriers, "video_shot_metadata": video_shot_metadata, "cube_lut": cube_lut, "zip_lut": zip_lut,
}


def run_one(name: str, data: bytes) -> None:
    """Run target ``name`` on ``data``: hdrkit errors are expected outcomes, anything else propagates."""
    from hdrkit.errors import HdrkitError

    try:
        TARGETS[name](data)
    except HdrkitError:
        pass


# -------------------------------------------------------------------------------------------------- seeds
def seeds(name: str) -> List[bytes]:
    """Small valid inputs each target starts from (made here, no fixtures)."""
    from hdrkit.io import Image
    from hdrkit.io.write import encode_pillow

    rng = np.random.default_rng(0)
    px = (rng.random((12, 16, 3)) * 0.9).astype(np.float32)
    img = Image(px, "bt709", "bt1886")

    def file_bytes(ext: str, **kw) -> bytes:
        from hdrkit.io import write_image

        p = _TMP / f"seed.{ext}"
        write_image(p, img, **kw)
        return p.read_bytes()

    def uhdr() -> bytes:
        from hdrkit.codec.ultrahdr import encode_ultrahdr

        return encode_ultrahdr((px * 255).astype(np.uint8), px * 500 + 1, scale=2).data

    def encoded_png() -> bytes:
        from hdrkit.codec.adapters import png_embed
        from hdrkit.codec.container import Container, pack
        from hdrkit.models.siren import SirenConfig, param_shapes

        cfg = SirenConfig(color=(4,), spatial=(4,), merge=(4,))
        w = {k: rng.standard_normal(s).astype(np.float32) for k, s in param_shapes(cfg).items()}
        return png_embed(file_bytes("png"), pack(Container(cfg=cfg, weights=w, width=16, height=12)))

    def encoded_png_gamma() -> bytes:  # the default family (container version 2)
        from hdrkit.codec.adapters import png_embed
        from hdrkit.codec.container import Container, pack
        from hdrkit.models.gammanet import GammaConfig, init_params

        cfg = GammaConfig()
        return png_embed(file_bytes("png"), pack(Container(cfg=cfg, weights=init_params(cfg), width=16, height=12)))

    ext = {"read_png": "png", "read_exr": "exr", "read_hdr": "hdr", "read_pfm": "pfm", "read_tif": "tif",
           "read_jpg": "jpg", "read_codes8": "jpg", "read_avif": "avif", "png_info": "png", "exr_header": "exr",
           "radiance_header": "hdr", "pfm_header": "pfm"}.get(name)
    if ext is not None:
        out = [file_bytes(ext)]
        if ext in ("png", "tif"):
            out.append(file_bytes(ext, bit_depth=16))
        if ext == "exr":
            out.append(file_bytes(ext, half=True))
        return out
    if name in ("ultrahdr_parse", "ultrahdr_read"):
        return [uhdr(), encode_pillow(img, "jpeg")]
    if name in ("xmp_gainmap", "xmp_packet"):
        from hdrkit.codec.ultrahdr import XMP_NS, parse_ultrahdr
        from hdrkit.io.jpeg import segments

        f = parse_ultrahdr(uhdr())
        segs, _ = segments(f.data, f.gainmap_offset)
        return [s.payload[len(XMP_NS):] for s in segs if s.payload.startswith(XMP_NS)]
    if name == "iso_gainmap":
        from hdrkit.codec.ultrahdr import ISO_NS, parse_ultrahdr
        from hdrkit.io.jpeg import segments

        f = parse_ultrahdr(uhdr())
        segs, _ = segments(f.data, f.gainmap_offset)
        return [s.payload[len(ISO_NS):] for s in segs if s.payload.startswith(ISO_NS)]
    if name == "mpf_index":
        from hdrkit.codec.ultrahdr import MPF_ID
        from hdrkit.io.jpeg import segments

        segs, _ = segments(uhdr())
        return [s.payload for s in segs if s.payload.startswith(MPF_ID)]
    if name == "jpeg_segments":
        return [uhdr(), encode_pillow(img, "jpeg")]
    if name == "icc_profile":
        from hdrkit.io import icc

        return [icc.make("p3d65", "srgb"), icc.make("bt2020", "pq")]
    if name == "container":
        from hdrkit.codec.adapters import png_extract

        return [png_extract(encoded_png()), png_extract(encoded_png_gamma())]
    if name == "metadata_carriers":
        return [encoded_png(), encoded_png_gamma(), uhdr()]
    if name == "video_shot_metadata":
        from hdrkit.codec.container import Container, pack
        from hdrkit.models.gammanet import GammaConfig, init_params
        from hdrkit.video import metadata as M

        blob = pack(Container(cfg=GammaConfig(), weights=init_params(), width=16, height=12))
        recs = [M.pack_record(M.ShotRecord(0, 0, 10, 0, (1, 1000), blob)),
                M.pack_record(M.ShotRecord(1, 10, 5, 417, (1, 1000), blob, delta=True), deflate=True)]
        return [recs[0], M.pack_track(recs), M.join_nals([M.sei_nal(r, "h264") for r in recs] + [b"\x65\x88"], 4),
                M.join_nals([M.sei_nal(recs[0], "hevc")], 0)]
    cube = b"TITLE \"t\"\nLUT_3D_SIZE 2\n" + b"".join(
        f"{r} {g} {b}\n".encode() for b in (0, 1) for g in (0, 1) for r in (0, 1))
    if name == "cube_lut":
        return [cube]
    if name == "zip_lut":
        import zipfile

        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("a.cube", cube)
        return [buf.getvalue()]
    raise KeyError(name)
