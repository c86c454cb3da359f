"""Ultra HDR JPEG writer/reader: structure (MPF, XMP, ISO 21496-1), other readers, round trip, hostile files."""

from __future__ import annotations

import io
import shutil
import struct
import subprocess

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hdrkit.codec import gainmap as G
from hdrkit.codec import ultrahdr as U
from hdrkit.errors import FormatError, HdrkitError, MetadataError
from hdrkit.metrics import pq_psnr

from _gm_synth import _pair


@pytest.fixture(scope="module")
def uhdr(tmp_path_factory):
    sdr, hdr = _pair(h=64, w=96, seed=5, wide=True)
    path = tmp_path_factory.mktemp("uhdr") / "pair.jpg"
    res = U.write_ultrahdr(path, sdr, hdr, scale=1, quality=100, map_quality=100, multichannel=True,
                           map_gamut="bt2020")
    return path, res, sdr, hdr


def test_round_trip_scale1_q100_multichannel(uhdr):
    path, res, _, hdr = uhdr
    out, f = U.decode_ultrahdr(path)
    assert f.source == "iso" and f.located_by == "mpf"
    assert float(pq_psnr(hdr, out)) >= 45.0


def test_mpf_offset_points_at_gainmap_soi(uhdr):
    path, res, _, _ = uhdr
    data = path.read_bytes()
    segs, _ = U.header_segments(data)
    mpf = [s for s in segs if s.marker == 0xE2 and s.payload.startswith(b"MPF\x00")][0]
    entries = U.mpf_entries(mpf.payload)
    base = mpf.start + 8  # FF E2 + length + "MPF\0"
    (a0, size0, off0), (_, size1, off1) = entries
    assert a0 == 0x030000 and off0 == 0
    assert data[base + off1:base + off1 + 2] == b"\xff\xd8"
    assert size0 == base + off1 and size0 + size1 == len(data)
    assert data[size0 - 2:size0] == b"\xff\xd9"  # the primary ends with EOI right before the gain map


def test_pillow_and_opencv_open_primary_and_agree_on_mpf(uhdr):
    import cv2
    from PIL import Image

    path, res, _, _ = uhdr
    with Image.open(path) as im:
        assert im.size == (96, 64)
        px = np.asarray(im.convert("RGB"))
        mp = im._getmp()  # Pillow's own MPF parser: an independent reading of our index
        offset = im.info["mpoffset"] + mp[0xB002][1]["DataOffset"]
        assert "hdr-gain-map" in str(im.info.get("xmp", b""))
    np.testing.assert_array_equal(px, res.sdr_pixels)
    assert path.read_bytes()[offset:offset + 2] == b"\xff\xd8"
    assert offset == U.parse_ultrahdr(path.read_bytes()).gainmap_offset
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None and bgr.shape == (64, 96, 3)
    assert np.abs(bgr[..., ::-1].astype(int) - px.astype(int)).max() <= 2  # IDCT rounding may differ


def test_gainmap_image_is_a_jpeg_with_hdrgm_xmp_and_iso(uhdr):
    path, res, _, _ = uhdr
    f = U.parse_ultrahdr(path.read_bytes())
    segs, _ = U.header_segments(f.gainmap_jpeg)
    xmp = [s for s in segs if s.marker == 0xE1 and s.payload.startswith(U.XMP_NS)]
    iso = [s for s in segs if s.marker == 0xE2 and s.payload.startswith(U.ISO_NS)]
    assert xmp and iso
    fields = U.xmp_fields(xmp[0].payload)
    assert fields["Version"] == "1.0" and fields["BaseRenditionIsHDR"] == "False"
    # both carriers say the same (XMP cannot signal the BT.2020 application space)
    m_iso = U.iso_decode(iso[0].payload[len(U.ISO_NS):], 3)
    m_xmp = U.xmp_decode(xmp[0].payload[len(U.XMP_NS):], 3)
    assert m_iso.min_log2 == m_xmp.min_log2 and m_iso.max_log2 == m_xmp.max_log2
    assert m_iso.capacity_max == m_xmp.capacity_max and not m_iso.use_base_colour_space
    # the primary's XMP GContainer length equals the gain-map image size
    psegs, _ = U.header_segments(path.read_bytes())
    pxmp = [s for s in psegs if s.marker == 0xE1 and s.payload.startswith(U.XMP_NS)][0].payload
    assert f'Item:Length="{f.gainmap_size}"'.encode() in pxmp
    piso = [s for s in psegs if s.marker == 0xE2 and s.payload.startswith(U.ISO_NS)][0].payload
    assert piso[len(U.ISO_NS):] == b"\x00\x00\x00\x00"  # version-only block on the primary


def test_iso_block_layout_by_hand():
    """Byte-level check of the common-denominator form (libultrahdr ``encodeGainmapMetadata``)."""
    meta = G.GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(2.5,) * 3, gamma=(1.0,) * 3,
                             offset_sdr=(1 / 64,) * 3, offset_hdr=(1 / 64,) * 3, capacity_max=2.5, channels=1)
    b = U.iso_encode(meta)
    D = G.DENOMINATOR
    expected = struct.pack(">HHB", 0, 0, 0x08) + struct.pack(">III", D, 0, int(2.5 * D)) + \
        struct.pack(">iiIii", 0, int(2.5 * D), D, D // 64, D // 64)
    assert b == expected
    assert U.iso_decode(b, 1) == meta
    # the explicit-denominator form parses too
    frac = struct.pack(">HHB", 0, 0, 0) + struct.pack(">IIII", 0, 1, 5, 2) + \
        struct.pack(">iIiIIIiIiI", 0, 1, 5, 2, 1, 1, 1, 64, 1, 64)
    m2 = U.iso_decode(frac, 1)
    assert m2.max_log2 == (2.5,) * 3 and m2.capacity_max == 2.5 and m2.offset_sdr == (1 / 64,) * 3


def test_single_channel_grey_map_and_xmp_only_file(tmp_path):
    sdr, hdr = _pair(h=40, w=60)
    res = U.encode_ultrahdr(sdr, hdr, scale=2, quality=90, map_quality=90, multichannel=False)
    f = U.parse_ultrahdr(res.data)
    assert f.metadata.channels == 1 and G.decode_map_jpeg(f.gainmap_jpeg).shape == (20, 30, 1)
    # a file with XMP only (Ultra HDR v1.0 writers): decodes, applying the map in the base colour space
    from dataclasses import replace

    meta709 = replace(f.metadata, use_base_colour_space=True)
    data = U.assemble(U.encode_sdr_jpeg(sdr, 90), f.gainmap_jpeg, meta709, write_iso=False)
    g = U.parse_ultrahdr(data)
    assert g.source == "xmp" and g.metadata.use_base_colour_space and g.located_by == "mpf"
    assert g.metadata.max_log2 == f.metadata.max_log2
    p = tmp_path / "xmp_only.jpg"
    p.write_bytes(data)
    out, _ = U.decode_ultrahdr(p)
    assert float(pq_psnr(hdr, out)) > 30


def test_not_ultrahdr_and_stripped_files(tmp_path):
    sdr, hdr = _pair(h=32, w=32)
    plain = U.encode_sdr_jpeg(sdr, 90)
    assert not U.is_ultrahdr(plain)
    with pytest.raises(MetadataError, match="not Ultra HDR"):
        U.parse_ultrahdr(plain)
    with pytest.raises(FormatError):
        U.parse_ultrahdr(b"\x89PNG\r\n\x1a\n")
    res = U.encode_ultrahdr(sdr, hdr, scale=1)
    assert U.is_ultrahdr(res.data)
    # cut the file inside the gain map: offsets now point past the end
    with pytest.raises(MetadataError):
        U.parse_ultrahdr(res.data[:-100])
    # a Pillow re-save keeps the pixels and drops the gain map
    from PIL import Image

    buf = io.BytesIO()
    Image.open(io.BytesIO(res.data)).save(buf, "JPEG", quality=90)
    with pytest.raises(MetadataError):
        U.parse_ultrahdr(buf.getvalue())


def test_wrong_mpf_offset_and_size_fall_back_to_scanning():
    """A wrong MPF gain-map offset, or a primary size declared short (Pixel 6 Pro camera files), still reads:
    the primary's end is found by scanning to its EOI and the gain map is the next JPEG."""
    sdr, hdr = _pair(h=32, w=32)
    good = U.encode_ultrahdr(sdr, hdr, scale=1).data
    ref = U.parse_ultrahdr(good)
    data = bytearray(good)
    segs, _ = U.header_segments(bytes(data))
    mpf = [s for s in segs if s.marker == 0xE2 and s.payload.startswith(b"MPF\x00")][0]
    entry1 = mpf.start + 8 + 8 + 2 + 36 + 4  # first MPEntry
    entry2 = entry1 + 16
    data[entry2 + 8:entry2 + 12] = struct.pack(">I", 7)  # offset 7: not an SOI
    data[entry1 + 4:entry1 + 8] = struct.pack(">I", ref.primary_size - 300)  # primary declared 300 B short
    f = U.parse_ultrahdr(bytes(data))
    assert f.located_by in ("xmp", "scan") and f.mpf_primary_size == ref.primary_size - 300
    assert (f.primary_size, f.gainmap_offset, f.gainmap_size) == (ref.primary_size, ref.gainmap_offset,
                                                                  ref.gainmap_size)
    # no second image at all: one line saying so
    with pytest.raises(MetadataError, match="no gain map"):
        U.parse_ultrahdr(good[:ref.primary_size])


def test_write_is_atomic_on_bad_input(tmp_path):
    sdr, hdr = _pair(h=32, w=32)
    out = tmp_path / "x.jpg"
    with pytest.raises(HdrkitError):
        U.write_ultrahdr(out, sdr, hdr[:8])
    assert not out.exists() and list(tmp_path.iterdir()) == []


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_fuzzed_files_never_crash(data):
    """Random byte flips / truncations of a valid file: the parser returns or raises an hdrkit error."""
    base = _FUZZ_BASE
    buf = bytearray(base)
    for _ in range(data.draw(st.integers(1, 8))):
        i = data.draw(st.integers(0, len(buf) - 1))
        buf[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(len(buf) // 2, len(buf)))
    try:
        U.parse_ultrahdr(bytes(buf[:cut]))
    except HdrkitError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=0, max_size=200))
def test_fuzzed_iso_and_xmp_blocks(blob):
    for fn in (lambda b: U.iso_decode(b), lambda b: U.xmp_decode(b), lambda b: U.mpf_entries(b"MPF\x00" + b)):
        try:
            fn(blob)
        except HdrkitError:
            pass


def _make_fuzz_base() -> bytes:
    sdr, hdr = _pair(h=16, w=16)
    return U.encode_ultrahdr(sdr, hdr, scale=2, quality=80, map_quality=80).data


_FUZZ_BASE = _make_fuzz_base()


@pytest.mark.skipif(shutil.which("exiftool") is None, reason="exiftool not installed")
def test_exiftool_reads_mpf_and_hdrgm(uhdr):
    path, res, _, _ = uhdr
    out = subprocess.run(["exiftool", "-G1", "-a", "-s", str(path)], capture_output=True, text=True,
                         timeout=60).stdout
    assert "NumberOfImages" in out and "MPImageStart" in out
    f = U.parse_ultrahdr(path.read_bytes())
    starts = [ln for ln in out.splitlines() if "MPImageStart" in ln]
    assert any(ln.split(":")[-1].strip() == str(f.gainmap_offset) for ln in starts)
    # hdrgm fields of the embedded gain-map image
    out2 = subprocess.run(["exiftool", "-b", "-MPImage2", str(path)], capture_output=True, timeout=60).stdout
    assert out2[:2] == b"\xff\xd8" and len(out2) == f.gainmap_size


_GMJS = r"""
import { readFileSync } from 'node:fs'
const mod = await import('@monogrid/gainmap-js')
const r = await mod.extractGainmapFromJPEG(new Uint8Array(readFileSync(process.argv[2])))
console.log(JSON.stringify({sdr: r.sdr.length, gainMap: r.gainMap.length, metadata: r.metadata,
                            gm0: r.gainMap[0], gm1: r.gainMap[1]}))
"""


def test_gainmap_js_reads_our_file(uhdr, tmp_path):
    """Independent reader: @monogrid/gainmap-js (npm; prefers ISO 21496-1, falls back to XMP).  Optional: set
    HDRKIT_GAINMAP_JS_DIR to a folder where `npm install @monogrid/gainmap-js@3.7.3` was run."""
    import json
    import os

    folder = os.environ.get("HDRKIT_GAINMAP_JS_DIR")
    if shutil.which("node") is None or not folder or not (
            __import__("pathlib").Path(folder) / "node_modules" / "@monogrid" / "gainmap-js").is_dir():
        pytest.skip("node + @monogrid/gainmap-js not available (set HDRKIT_GAINMAP_JS_DIR)")
    path, res, _, _ = uhdr
    script = __import__("pathlib").Path(folder) / "hdrkit_read.mjs"
    script.write_text(_GMJS)
    out = subprocess.run(["node", str(script), str(path)], capture_output=True, text=True, timeout=60, cwd=folder)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout)
    f = U.parse_ultrahdr(path.read_bytes())
    assert r["gainMap"] == f.gainmap_size and (r["gm0"], r["gm1"]) == (0xFF, 0xD8)
    assert r["sdr"] >= f.primary_size - 4  # the SDR it hands back is our primary (it may trim trailing bytes)
    m = r["metadata"]
    assert tuple(m["gainMapMin"]) == f.metadata.min_log2 and tuple(m["gainMapMax"]) == f.metadata.max_log2
    assert tuple(m["offsetSdr"]) == f.metadata.offset_sdr and m["hdrCapacityMax"] == f.metadata.capacity_max


def test_added_bytes_are_the_file_minus_the_plain_sdr_jpeg():
    """Gain map + XMP + ISO + MPF: everything the file adds to the plain JPEG of the same pixels and quality
    (the primary's own size inside the file already holds the XMP/ISO/MPF headers, so it under-counts)."""
    sdr, hdr = _pair(h=40, w=60)
    res = U.encode_ultrahdr(sdr, hdr, scale=2, quality=90, map_quality=90)
    plain = U.encode_sdr_jpeg(sdr, 90)
    f = U.parse_ultrahdr(res.data)
    assert res.added_bytes == len(res.data) - len(plain)
    assert res.added_bytes == f.gainmap_size + (f.primary_size - len(plain))
    assert f.primary_size > len(plain)  # the headers the old count missed
