"""Ultra HDR JPEG (Ultra HDR image format v1 / ISO 21496-1): writer and reader.

File layout we write (``google/libultrahdr`` ``JpegR::appendGainMap``, Ultra HDR v1 spec)::

    primary JPEG   SOI
                   [APP0 JFIF of the SDR JPEG, when present]
                   APP1  "http://ns.adobe.com/xap/1.0/\\0" + XMP: hdrgm:Version and the GContainer directory
                         (Item:Semantic Primary / GainMap, Item:Length = size of the gain-map JPEG)
                   APP2  "urn:iso:std:iso:ts:21496:-1\\0" + minimum_version u16 = 0, writer_version u16 = 0
                   APP2  "MPF\\0" + big-endian TIFF-style MP Index IFD (MPFVersion "0100", NumberOfImages 2,
                         MPEntry x2: attribute, size, offset, 2 x dependent image u16).  Offsets count from the
                         byte after "MPF\\0"; the primary's offset is 0.
                   the SDR JPEG's remaining segments and entropy-coded data ... EOI
    gain-map JPEG  SOI
                   APP1  XMP with the hdrgm fields (GainMapMin/Max, Gamma, OffsetSDR/HDR, HDRCapacityMin/Max,
                         BaseRenditionIsHDR=False); per-channel values as rdf:Seq for a multichannel map
                   APP2  ISO 21496-1 metadata (version, flags, common denominator, headroom, per channel
                         min/max/gamma/offsets as signed/unsigned 32-bit fractions, big-endian)
                   the map JPEG's segments ... EOI

Everything read from a file is untrusted: segments are walked with bounds checks, XMP is scanned with bounded
regular expressions (never fed to an XML parser), the ISO block and the MPF index are parsed field by field, and
every problem is a :class:`hdrkit.errors.MetadataError` (or :class:`FormatError` for a non-JPEG) with a one-line
message.  When the gain map is applied in BT.2020 (our default: ``use_base_colour_space`` False in the ISO
block) the XMP cannot say so; readers that only know XMP apply it in the base image's primaries.
"""

from __future__ import annotations

import io
import math
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

from hdrkit.codec.gainmap import DENOMINATOR, GainMap, GainMapMetadata, decode_map_jpeg
from hdrkit.errors import FormatError, InputError, MetadataError
from hdrkit.io import icc, jpeg, xmp
from hdrkit.io.jpeg import segments as header_segments

XMP_NS = b"http://ns.adobe.com/xap/1.0/\x00"
ISO_NS = b"urn:iso:std:iso:ts:21496:-1\x00"
MPF_ID = b"MPF\x00"
HDRGM_URI = "http://ns.adobe.com/hdr-gain-map/1.0/"
MAX_SEGMENT = 65533  # payload bytes of one APPn segment
MAX_XMP = 65502
_MPF_PRIMARY = 0x030000  # MPEntry attribute: baseline MP primary image, JPEG


def _app(marker: int, payload: bytes) -> bytes:
    try:
        return jpeg.app_segment(marker, payload)
    except ValueError as exc:
        raise InputError(str(exc)) from None


# ---------------------------------------------------------------------------------------------- ISO 21496-1
def iso_encode(meta: GainMapMetadata) -> bytes:
    """ISO 21496-1 gain map metadata block (after the namespace), common-denominator form, big-endian."""
    meta.validate()
    D = DENOMINATOR
    multi = meta.channels == 3 and not (
        len(set(meta.min_log2)) == len(set(meta.max_log2)) == len(set(meta.gamma))
        == len(set(meta.offset_sdr)) == len(set(meta.offset_hdr)) == 1)
    flags = (0x80 if multi else 0) | (0x40 if meta.use_base_colour_space else 0) | 0x08
    out = struct.pack(">HHB", 0, 0, flags)
    out += struct.pack(">III", D, round(meta.capacity_min * D), round(meta.capacity_max * D))
    for c in range(3 if multi else 1):
        out += struct.pack(">iiIii", round(meta.min_log2[c] * D), round(meta.max_log2[c] * D),
                           round(meta.gamma[c] * D), round(meta.offset_sdr[c] * D), round(meta.offset_hdr[c] * D))
    return out


def iso_decode(data: bytes, channels: Optional[int] = None) -> GainMapMetadata:
    """Parse an ISO 21496-1 metadata block field by field (bounds-checked) into :class:`GainMapMetadata`.

    ``channels``: planes of the map image (1 or 3), when known; defaults to 3 for a multichannel block else 1.
    """
    pos = 0

    def take(fmt: str):
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(data):
            raise MetadataError("ISO 21496-1 gain map metadata is truncated")
        vals = struct.unpack(fmt, data[pos:pos + size])
        pos += size
        return vals

    min_version, _writer = take(">HH")
    if min_version != 0:
        raise MetadataError(f"unsupported ISO 21496-1 gain map metadata version {min_version}")
    (flags,) = take(">B")
    multi = bool(flags & 0x80)
    if flags & 0x04:
        raise MetadataError("gain maps with an HDR base rendition are not supported")
    n = 3 if multi else 1
    if flags & 0x08:
        d, base_h, alt_h = take(">III")
        fr = [take(">iiIii") for _ in range(n)]
        if d == 0:
            raise MetadataError("ISO 21496-1 gain map metadata has a zero denominator")
        vals = [tuple(v / d for v in f) for f in fr]
        cap_min, cap_max = base_h / d, alt_h / d
    else:
        bn, bd, an, ad = take(">IIII")
        fr = [take(">iIiIIIiIiI") for _ in range(n)]
        if bd == 0 or ad == 0 or any(f[i] == 0 for f in fr for i in (1, 3, 5, 7, 9)):
            raise MetadataError("ISO 21496-1 gain map metadata has a zero denominator")
        vals = [(f[0] / f[1], f[2] / f[3], f[4] / f[5], f[6] / f[7], f[8] / f[9]) for f in fr]
        cap_min, cap_max = bn / bd, an / ad
    if not multi:
        vals = vals * 3
    mn, mx, gm, osdr, ohdr = (tuple(float(v[i]) for v in vals) for i in range(5))
    ch = channels if channels in (1, 3) else (3 if multi else 1)
    return GainMapMetadata(min_log2=mn, max_log2=mx, gamma=gm, offset_sdr=osdr, offset_hdr=ohdr,
                           capacity_min=float(cap_min), capacity_max=float(cap_max), channels=ch,
                           use_base_colour_space=bool(flags & 0x40)).validate()


# ------------------------------------------------------------------------------------------------------ XMP
def _fmt(x: float) -> str:
    return repr(float(x))


def xmp_primary(gainmap_length: int) -> bytes:
    """XMP packet of the primary image: hdrgm version and the GContainer directory."""
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="hdrkit">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:Container="http://ns.google.com/photos/1.0/container/" '
        'xmlns:Item="http://ns.google.com/photos/1.0/container/item/" '
        f'xmlns:hdrgm="{HDRGM_URI}" hdrgm:Version="1.0">'
        "<Container:Directory><rdf:Seq>"
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/></rdf:li>'
        '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" Item:Mime="image/jpeg" '
        f'Item:Length="{int(gainmap_length)}"/></rdf:li>'
        "</rdf:Seq></Container:Directory></rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


_XMP_FIELDS = {
    "GainMapMin": "min_log2", "GainMapMax": "max_log2", "Gamma": "gamma", "OffsetSDR": "offset_sdr",
    "OffsetHDR": "offset_hdr",
}


def xmp_gainmap(meta: GainMapMetadata) -> bytes:
    """XMP packet of the gain-map image with the ``hdrgm`` fields (rdf:Seq per channel when they differ)."""
    meta.validate()
    attrs, elems = [f'hdrgm:Version="1.0"'], []
    for xmp_name, attr in _XMP_FIELDS.items():
        v = getattr(meta, attr)
        if len(set(v)) == 1:
            attrs.append(f'hdrgm:{xmp_name}="{_fmt(v[0])}"')
        else:
            lis = "".join(f"<rdf:li>{_fmt(x)}</rdf:li>" for x in v)
            elems.append(f"<hdrgm:{xmp_name}><rdf:Seq>{lis}</rdf:Seq></hdrgm:{xmp_name}>")
    attrs += [f'hdrgm:HDRCapacityMin="{_fmt(meta.capacity_min)}"',
              f'hdrgm:HDRCapacityMax="{_fmt(meta.capacity_max)}"', 'hdrgm:BaseRenditionIsHDR="False"']
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/" x:xmptk="hdrkit">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        f'<rdf:Description rdf:about="" xmlns:hdrgm="{HDRGM_URI}" ' + " ".join(attrs) + ">"
        + "".join(elems) + "</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"


def _float(text: str, name: str) -> float:
    text = str(text)
    if not re.fullmatch(_NUM, text.strip(" \t\r\n")):
        raise MetadataError(f"XMP gain map field {name} is not a number: {text[:20]!r}")
    v = float(text.strip(" \t\r\n"))  # str.strip() also drops control characters float() refuses
    if not math.isfinite(v):
        raise MetadataError(f"XMP gain map field {name} is not finite")
    return v


def xmp_fields(packet: bytes, ns: str = xmp.HDRGM) -> Dict[str, object]:
    """Properties in namespace ``ns`` (default ``hdrgm``) of an XMP packet: ``{name: str | [str, ...]}``,
    attribute and element forms alike (parsed by :mod:`hdrkit.io.xmp`)."""
    if len(packet) > MAX_XMP * 4:
        raise MetadataError("XMP packet is too large")
    if packet.startswith(XMP_NS):
        packet = packet[len(XMP_NS):]
    out: Dict[str, object] = {}
    for name, value in xmp.properties(xmp.parse(packet), ns).items():
        if isinstance(value, list):
            if not 1 <= len(value) <= 3:
                raise MetadataError(f"XMP gain map field {name} has {len(value)} values (expected 1 or 3)")
        elif not isinstance(value, str):
            raise MetadataError(f"XMP gain map field {name} is a structure, not a value")
        out[name] = value
    return out


def xmp_decode(packet: bytes, channels: int = 3) -> GainMapMetadata:
    """:class:`GainMapMetadata` from the gain-map image's XMP (Adobe ``hdrgm`` 1.0; defaults per the spec)."""
    f = xmp_fields(packet)
    if "Version" not in f:
        raise MetadataError("XMP has no hdrgm:Version (not a gain map)")
    if str(f.get("BaseRenditionIsHDR", "False")).strip().lower() == "true":
        raise MetadataError("gain maps with an HDR base rendition are not supported")
    if "GainMapMax" not in f or "HDRCapacityMax" not in f:
        raise MetadataError("XMP gain map metadata lacks hdrgm:GainMapMax or hdrgm:HDRCapacityMax")
    defaults = {"GainMapMin": "0", "Gamma": "1", "OffsetSDR": "0.015625", "OffsetHDR": "0.015625"}
    kw = {}
    for xmp_name, attr in _XMP_FIELDS.items():
        raw = f.get(xmp_name, defaults.get(xmp_name))
        vals = [_float(x, xmp_name) for x in (raw if isinstance(raw, list) else [raw])]
        if len(vals) == 1:
            vals = vals * 3
        if len(vals) != 3:
            raise MetadataError(f"XMP gain map field {xmp_name} must have 1 or 3 values")
        kw[attr] = tuple(vals)
    cap_min = _float(str(f.get("HDRCapacityMin", "0")), "HDRCapacityMin")
    cap_max = _float(str(f["HDRCapacityMax"]), "HDRCapacityMax")
    return GainMapMetadata(capacity_min=cap_min, capacity_max=cap_max, channels=channels,
                           use_base_colour_space=True, **kw).validate()


# ------------------------------------------------------------------------------------------------------ MPF
def mpf_payload(primary_size: int, gainmap_size: int, gainmap_offset: int) -> bytes:
    """APP2 payload ``"MPF\\0" + MP Index IFD`` (big-endian) for a primary and one gain-map image."""
    entries_offset = 8 + 2 + 3 * 12 + 4  # TIFF header, tag count, 3 tags, next-IFD offset
    body = b"MM\x00\x2a" + struct.pack(">I", 8)
    body += struct.pack(">H", 3)
    body += struct.pack(">HHI", 0xB000, 7, 4) + b"0100"
    body += struct.pack(">HHII", 0xB001, 4, 1, 2)
    body += struct.pack(">HHII", 0xB002, 7, 32, entries_offset)
    body += struct.pack(">I", 0)
    body += struct.pack(">IIIHH", _MPF_PRIMARY, primary_size, 0, 0, 0)
    body += struct.pack(">IIIHH", 0, gainmap_size, gainmap_offset, 0, 0)
    return MPF_ID + body


def mpf_entries(payload: bytes) -> List[Tuple[int, int, int]]:
    """Parse an MPF APP2 payload (starting with ``"MPF\\0"``): ``[(attribute, size, offset), ...]`` with offsets
    relative to the byte after ``"MPF\\0"``."""
    if not payload.startswith(MPF_ID):
        raise MetadataError("not an MPF segment")
    b = payload[4:]
    if len(b) < 8 or b[:4] not in (b"MM\x00\x2a", b"II\x2a\x00"):
        raise MetadataError("MPF index has no valid TIFF header")
    e = ">" if b[:2] == b"MM" else "<"

    def u(fmt: str, at: int):
        size = struct.calcsize(fmt)
        if at < 0 or at + size > len(b):
            raise MetadataError("MPF index is truncated")
        return struct.unpack(e + fmt, b[at:at + size])

    (ifd,) = u("I", 4)
    (count,) = u("H", ifd)
    if count > 64:
        raise MetadataError("MPF index has too many tags")
    n_images, entries_at, entries_len = None, None, None
    for i in range(count):
        tag, typ, cnt = u("HHI", ifd + 2 + 12 * i)
        if tag == 0xB001:
            (n_images,) = u("I", ifd + 2 + 12 * i + 8)
        elif tag == 0xB002:
            entries_len = cnt
            (entries_at,) = u("I", ifd + 2 + 12 * i + 8)
    if entries_at is None or n_images is None:
        raise MetadataError("MPF index lacks NumberOfImages or MPEntry")
    if not 1 <= n_images <= 16 or entries_len != 16 * n_images:
        raise MetadataError("MPF index has an inconsistent number of images")
    return [tuple(u("III", entries_at + 16 * k)) for k in range(n_images)]


# ------------------------------------------------------------------------------------------------- writer
def assemble(primary_jpeg: bytes, gainmap_jpeg: bytes, meta: GainMapMetadata, *, write_iso: bool = True,
             base_icc: Optional[bytes] = None, map_icc: Optional[bytes] = None) -> bytes:
    """Ultra HDR JPEG bytes from a plain SDR JPEG and a plain gain-map JPEG (any APPn they had is dropped,
    except the primary's JFIF APP0).  ``write_iso=False`` writes XMP only (Ultra HDR v1.0 files; such readers
    apply the map in the base image's primaries).  ``base_icc``: ICC profile of the primary (its gamut);
    ``map_icc``: ICC profile of the gain-map image, naming the application colour space when
    ``meta.use_base_colour_space`` is False (ISO 21496-1)."""
    psegs, psos = header_segments(primary_jpeg)
    gsegs, gsos = header_segments(gainmap_jpeg)
    # gain-map image: SOI, XMP, [ICC], ISO, its non-APP segments, scan data
    g_rest = b"".join(gainmap_jpeg[s.start:s.end] for s in gsegs if not 0xE0 <= s.marker <= 0xEF)
    iso = _app(0xE2, ISO_NS + iso_encode(meta)) if write_iso else b""
    g_icc = b"".join(_app(m, p) for m, p in jpeg.icc_segments(map_icc)) if map_icc else b""
    secondary = b"\xff\xd8" + _app(0xE1, XMP_NS + xmp_gainmap(meta)) + g_icc + iso + g_rest + gainmap_jpeg[gsos:]
    jfif = b"".join(primary_jpeg[s.start:s.end] for s in psegs[:1] if s.marker == 0xE0)
    p_rest = b"".join(primary_jpeg[s.start:s.end] for s in psegs if not 0xE0 <= s.marker <= 0xEF)
    head = b"\xff\xd8" + jfif + _app(0xE1, XMP_NS + xmp_primary(len(secondary)))
    if base_icc:
        head += b"".join(_app(m, p) for m, p in jpeg.icc_segments(base_icc))
    if write_iso:
        head += _app(0xE2, ISO_NS + struct.pack(">HH", 0, 0))
    tail = p_rest + primary_jpeg[psos:]
    mpf_len = len(_app(0xE2, mpf_payload(0, 0, 0)))
    primary_size = len(head) + mpf_len + len(tail)
    mpf_base = len(head) + 8  # FF E2, length, "MPF\0"
    mpf = _app(0xE2, mpf_payload(primary_size, len(secondary), primary_size - mpf_base))
    out = head + mpf + tail + secondary
    assert len(head) + len(mpf) + len(tail) == primary_size
    return out


def encode_sdr_jpeg(sdr_u8: np.ndarray, quality: int = 95) -> bytes:
    """Plain baseline JPEG of the SDR picture (Pillow; 4:4:4 at quality >= 90, as ``hdrkit.io`` writes)."""
    from PIL import Image as PILImage

    if not 1 <= int(quality) <= 100:
        raise InputError(f"JPEG quality must be in 1..100, got {quality}")
    buf = io.BytesIO()
    PILImage.fromarray(np.ascontiguousarray(sdr_u8), "RGB").save(
        buf, "JPEG", quality=int(quality), subsampling=0 if quality >= 90 else 2)
    return buf.getvalue()


def decode_jpeg_rgb(data: bytes, name: str = "JPEG") -> np.ndarray:
    """uint8 ``(H, W, 3)`` pixels of a JPEG (the first image in the stream), size checked against the pixel
    budget (:mod:`hdrkit.io.limits`) before decoding."""
    from hdrkit.io.read import PIL_DECODE_ERRORS, open_pillow

    img = open_pillow(data, "jpeg", name)
    try:
        with img:
            return np.asarray(img.convert("RGB"))
    except PIL_DECODE_ERRORS as exc:
        raise FormatError(f"{name}: cannot decode the JPEG ({exc})") from None


@dataclass
class UltraHdrResult:
    data: bytes            # the whole file
    primary_size: int      # bytes of the primary (SDR) JPEG inside the file
    gainmap: GainMap       # with the pixels a reader decodes
    sdr_pixels: np.ndarray  # uint8 SDR a reader decodes
    plain_size: int = 0    # bytes of the plain SDR JPEG (same pixels and quality, no gain map, no XMP/ISO/MPF)

    @property
    def added_bytes(self) -> int:
        """What the file adds to the plain SDR JPEG: gain-map image + XMP, ISO 21496-1 and MPF segments."""
        return len(self.data) - self.plain_size


def encode_ultrahdr(sdr_u8: np.ndarray, hdr_nits: np.ndarray, *, scale: int = 4, quality: int = 95,
                    map_quality: int = 95, multichannel: bool = True, gamma: float = 1.0,
                    base_primaries: str = "bt709", map_gamut: str = "base") -> UltraHdrResult:
    """Ultra HDR JPEG bytes of an (SDR uint8 ``(H, W, 3)`` sRGB/BT.709 code values, HDR BT.2020 nits) pair.

    ``base_primaries``: gamut of the base image written (``"bt709"``, or ``"p3d65"``: the SDR is converted to
    Display P3 code values, as phones write); the primary carries the ICC profile of that gamut.
    ``map_gamut``: ``"base"`` (default) applies the map in the base image's gamut -- what libultrahdr, Chrome,
    Android and gainmap-js all do, so every reader sees the same picture; ``"bt2020"`` applies it in BT.2020
    (restores colours outside the base gamut; signalled by ISO 21496-1 plus a BT.2020 ICC profile in the
    gain-map image; XMP-only readers such as libultrahdr apply it in the base gamut and see other colours).
    The SDR is JPEG-coded first and the gain map is computed against the *decoded* SDR, so the map also
    corrects the SDR's compression error where its resolution allows.
    """
    from hdrkit import color
    from hdrkit.codec import gainmap as G

    sdr_u8 = np.asarray(sdr_u8)
    if sdr_u8.dtype != np.uint8 or sdr_u8.ndim != 3 or sdr_u8.shape[2] != 3:
        raise InputError(f"SDR must be uint8 H x W x 3, got {sdr_u8.dtype} {sdr_u8.shape}")
    if base_primaries not in ("bt709", "p3d65", "bt2020"):
        raise InputError(f"base primaries must be bt709, p3d65 or bt2020, got {base_primaries!r}")
    if map_gamut not in ("base", "bt709", "p3d65", "bt2020"):
        raise InputError(f"map gamut must be base, bt709, p3d65 or bt2020, got {map_gamut!r}")
    space = "base" if map_gamut in ("base", base_primaries) else map_gamut
    if base_primaries != "bt709":
        lin = color.convert_primaries(color.srgb_eotf(sdr_u8.astype(np.float32) / 255.0), "bt709", base_primaries)
        sdr_u8 = np.round(np.clip(color.srgb_inverse_eotf(np.clip(lin, 0, 1)), 0, 1) * 255).astype(np.uint8)
    primary = encode_sdr_jpeg(sdr_u8, quality)
    seen = decode_jpeg_rgb(primary)
    gm, map_jpeg = G.encode(seen, hdr_nits, scale=scale, quality=map_quality, multichannel=multichannel,
                            gamma=gamma, base_primaries=base_primaries, space=space, align="corner")
    data = assemble(primary, map_jpeg, gm.metadata, base_icc=icc.make(base_primaries, "srgb"),
                    map_icc=None if space == "base" else icc.make(space, "linear"))
    return UltraHdrResult(data, parse_ultrahdr(data).primary_size, gm, seen, len(primary))


def write_ultrahdr(path: str | Path, sdr_u8: np.ndarray, hdr_nits: np.ndarray, **kw) -> UltraHdrResult:
    """:func:`encode_ultrahdr` and write the file atomically (temp + rename)."""
    from hdrkit.io.atomic import atomic_write_bytes

    res = encode_ultrahdr(sdr_u8, hdr_nits, **kw)
    atomic_write_bytes(path, res.data)
    return res


# ------------------------------------------------------------------------------------------------- reader
@dataclass
class UltraHdrFile:
    primary_size: int      # bytes of the primary JPEG (found by scanning to its EOI, not taken from MPF)
    gainmap_offset: int
    gainmap_size: int
    metadata: GainMapMetadata
    source: str            # "iso", "xmp" (Adobe hdrgm) or "apple" (HDRGainMap): where the metadata came from
    located_by: str        # "mpf", "xmp" (GContainer) or "scan": how the gain-map image was found
    data: bytes
    base_icc: Optional[icc.IccInfo] = None   # the primary image's ICC profile, when it has one
    map_icc: Optional[icc.IccInfo] = None    # the gain-map image's ICC profile (alternate colour space)
    mpf_primary_size: Optional[int] = None   # primary size the MPF index declares (may be short)

    @property
    def primary(self) -> bytes:
        return self.data[:self.primary_size]

    @property
    def gainmap_jpeg(self) -> bytes:
        return self.data[self.gainmap_offset:self.gainmap_offset + self.gainmap_size]

    @property
    def base_primaries(self) -> str:
        """Primaries of the base image: its ICC profile's, else BT.709 (sRGB)."""
        return self.base_icc.primaries if self.base_icc is not None and self.base_icc.primaries else "bt709"

    @property
    def map_primaries(self) -> str:
        """Application colour space when the metadata says not to use the base's: the gain-map image's ICC
        profile, else BT.2020 (what hdrkit wrote before it added that profile)."""
        if self.map_icc is not None and self.map_icc.primaries:
            return self.map_icc.primaries
        return "bt2020"

    @property
    def curve(self) -> str:
        return "apple" if self.source == "apple" else "iso"

    @property
    def space(self) -> str:
        """Primaries in which the map is applied."""
        return self.base_primaries if self.metadata.use_base_colour_space else self.map_primaries


def is_ultrahdr(data: bytes) -> bool:
    """True when ``data`` is a JPEG whose header announces a gain map: an hdrgm XMP, an ISO 21496-1 block, or
    an MPF index next to an Apple maker note (Apple gain-map JPEGs announce it only in the gain-map image)."""
    try:
        segs, _ = header_segments(data)
    except (FormatError, MetadataError):
        return False
    mpf = False
    apple = False
    for s in segs:
        if s.marker == 0xE2 and s.payload.startswith(ISO_NS):
            return True
        if s.marker == 0xE1 and s.payload.startswith(XMP_NS) and HDRGM_URI.encode() in s.payload:
            return True
        mpf = mpf or (s.marker == 0xE2 and s.payload.startswith(MPF_ID))
        apple = apple or (s.marker == 0xE1 and s.payload.startswith(jpeg.EXIF_ID) and b"Apple iOS\0" in s.payload)
    return mpf and apple


def _icc_of(segs) -> Optional[icc.IccInfo]:
    profile = jpeg.icc_profile(segs)
    if profile is None:
        return None
    try:
        return icc.read(profile)
    except MetadataError:
        return None


def _apple_exif_headroom(segs) -> Optional[float]:
    """HDR headroom of a legacy Apple gain map from the primary's Exif maker note (tags 0x21 HDRHeadroom and
    0x30 HDRGain), with Apple's published piecewise estimate ("Applying Apple HDR effect to your photos")."""
    exif = [s.payload for s in segs if s.startswith(0xE1, jpeg.EXIF_ID)]
    if not exif:
        return None
    from PIL import Image as PILImage

    try:
        ex = PILImage.Exif()
        ex.load(exif[0][len(jpeg.EXIF_ID):])
        note = ex.get_ifd(0x8769).get(0x927C)
    except Exception:  # noqa: BLE001 - Pillow raises many kinds on corrupt Exif; no headroom then
        return None
    if not isinstance(note, bytes) or not note.startswith(b"Apple iOS\0") or note[12:14] != b"MM":
        return None
    vals = {}
    try:
        (count,) = struct.unpack(">H", note[14:16])
        for i in range(min(count, 256)):
            tag, typ, _cnt, off = struct.unpack(">HHII", note[16 + 12 * i:28 + 12 * i])
            if tag in (0x21, 0x30) and typ in (5, 10):
                num, den = struct.unpack(">ii" if typ == 10 else ">II", note[off:off + 8])
                if den:
                    vals[tag] = num / den
    except struct.error:
        return None
    if 0x21 not in vals or 0x30 not in vals:
        return None
    m33, m48 = vals[0x21], vals[0x30]
    if m33 < 1.0:
        stops = -20.0 * m48 + 1.8 if m48 <= 0.01 else -0.101 * m48 + 1.601
    else:
        stops = -70.0 * m48 + 3.0 if m48 <= 0.01 else -0.303 * m48 + 2.303
    return float(2.0 ** max(stops, 0.0))


def apple_decode(packet: bytes, channels: int, exif_headroom: Optional[float]) -> GainMapMetadata:
    """:class:`GainMapMetadata` of an Apple ``HDRGainMap`` gain map (XMP ``HDRGainMapHeadroom``, else the
    base image's maker-note headroom).  Apple's curve (``curve="apple"`` in :func:`gainmap.apply_gainmap`):
    ``HDR = SDR * (1 + (headroom - 1) * map**1.961)`` (Skia ``SkGainmapShader``); expressed here as a boost
    range [0, log2 headroom] with zero offsets and capacity [0, log2 headroom]."""
    root = xmp.parse(packet)
    f = xmp.properties(root, xmp.APPLE_GAINMAP)
    if "HDRGainMapVersion" not in f:
        raise MetadataError("XMP has no HDRGainMap:HDRGainMapVersion (not an Apple gain map)")
    headroom = _float(str(f["HDRGainMapHeadroom"]), "HDRGainMapHeadroom") if "HDRGainMapHeadroom" in f \
        else exif_headroom
    if headroom is None:
        raise MetadataError("Apple gain map gives no headroom (neither XMP HDRGainMapHeadroom nor maker note)")
    if not 1.0 < headroom <= 2.0 ** 16:
        raise MetadataError(f"Apple gain map headroom {headroom} is out of range")
    top = math.log2(headroom)
    return GainMapMetadata(min_log2=(0.0,) * 3, max_log2=(top,) * 3, gamma=(1.0,) * 3, offset_sdr=(0.0,) * 3,
                           offset_hdr=(0.0,) * 3, capacity_min=0.0, capacity_max=top, channels=channels,
                           use_base_colour_space=True).validate()


def parse_ultrahdr(data: bytes) -> UltraHdrFile:
    """Locate and parse the gain map of a gain-map JPEG (Ultra HDR / ISO 21496-1 / Adobe hdrgm / Apple).

    The primary image ends at its EOI, found by scanning (some Pixel camera files declare an MPF size a few
    hundred bytes short).  The gain-map image is the one the MPF index points at, else the one the XMP
    GContainer directory places after the primary, else the next JPEG after the primary.
    """
    segs, _ = header_segments(data)
    primary_end = jpeg.stream_end(data)
    mpf = [s for s in segs if s.startswith(0xE2, MPF_ID)]
    candidates: List[Tuple[int, str]] = []
    mpf_primary = None
    if mpf:
        entries = mpf_entries(mpf[0].payload)
        mpf_primary = entries[0][1]
        if len(entries) >= 2:
            candidates.append((mpf[0].start + 8 + entries[1][2], "mpf"))
    for s in segs:
        if s.startswith(0xE1, XMP_NS) and b"container" in s.payload:
            try:
                items = xmp.container_items(xmp.parse(s.payload[len(XMP_NS):]))
            except MetadataError:
                continue
            pos = primary_end
            for it in items[1:]:
                pos += int(_float(it.get("Padding", "0"), "Item:Padding"))
                if it.get("Semantic") == "GainMap":
                    candidates.append((pos, "xmp"))
                    break
                pos += int(_float(it.get("Length", "0"), "Item:Length"))
    nxt = data.find(b"\xff\xd8\xff", primary_end)
    if nxt >= 0:
        candidates.append((nxt, "scan"))
    offset = located = None
    for off, how in candidates:
        if primary_end <= off < len(data) - 4 and data[off:off + 2] == b"\xff\xd8":
            offset, located = off, how
            break
    if offset is None:
        raise MetadataError("JPEG has no gain map (no second image after the primary): not Ultra HDR")
    size = jpeg.stream_end(data, offset) - offset
    gsegs, _ = header_segments(data, offset)
    iso = [s for s in gsegs if s.startswith(0xE2, ISO_NS)]
    gxmp = [s.payload[len(XMP_NS):] for s in gsegs if s.startswith(0xE1, XMP_NS)]
    channels = 1 if jpeg.frame_components(gsegs) == 1 else 3
    if iso:
        meta, source = iso_decode(iso[0].payload[len(ISO_NS):], channels), "iso"
    elif gxmp and HDRGM_URI.encode() in gxmp[0]:
        meta, source = xmp_decode(gxmp[0], channels), "xmp"
    elif gxmp and xmp.APPLE_GAINMAP.encode() in gxmp[0]:
        meta, source = apple_decode(gxmp[0], channels, _apple_exif_headroom(segs)), "apple"
    else:
        raise MetadataError("second image carries neither ISO 21496-1, hdrgm nor Apple HDRGainMap metadata: "
                            "not a gain map")
    return UltraHdrFile(primary_end, offset, size, meta, source, located, data, _icc_of(segs), _icc_of(gsegs),
                        mpf_primary)


def read_ultrahdr(path: str | Path) -> Tuple[np.ndarray, GainMap, UltraHdrFile]:
    """``(SDR uint8 (H, W, 3), GainMap, parsed file)`` of a gain-map JPEG on disk."""
    from hdrkit.io.limits import read_input

    p = Path(path)
    data = read_input(p)
    f = parse_ultrahdr(data)
    sdr = decode_jpeg_rgb(f.primary, p.name)
    pixels = decode_map_jpeg(f.gainmap_jpeg, max_size=sdr.shape[:2])
    H, W = sdr.shape[:2]
    if pixels.shape[2] != f.metadata.channels:
        raise MetadataError("gain-map image channels disagree with its metadata")
    return sdr, GainMap(pixels, f.metadata, W, H, base_primaries=f.base_primaries, map_primaries=f.map_primaries,
                        curve=f.curve), f


def decode_ultrahdr(path: str | Path, *, display_peak_nits: Optional[float] = None,
                    sampling: str = "libultrahdr") -> Tuple[np.ndarray, UltraHdrFile]:
    """HDR absolute BT.2020 cd/m² ``(H, W, 3)`` of a gain-map JPEG (full boost unless ``display_peak_nits``).

    ``sampling``: how a smaller map is upsampled; ``"libultrahdr"`` (default) matches Google's reference decoder
    (corner-aligned inverse-distance weights), ``"bilinear"`` matches GPU readers (Chrome, gainmap-js)."""
    from hdrkit.codec import gainmap as G

    sdr, gm, f = read_ultrahdr(path)
    return G.decode(sdr, gm, display_peak_nits=display_peak_nits, sampling=sampling), f


__all__ = [
    "assemble", "decode_ultrahdr", "encode_ultrahdr", "header_segments", "is_ultrahdr", "iso_decode",
    "iso_encode", "mpf_entries", "mpf_payload", "parse_ultrahdr", "read_ultrahdr", "write_ultrahdr",
    "xmp_decode", "xmp_fields", "xmp_gainmap", "xmp_primary",
]


# --------------------------------------------------------------------------------------------------- files
def encode_file(hdr_path: str | Path, sdr_path: Optional[str | Path], out: str | Path, *,
                tmo: Optional[str] = None, quality: int = 95, scale: int = 4, map_quality: int = 95,
                multichannel: bool = True, gamma: float = 1.0, base_primaries: str = "bt709",
                map_gamut: str = "base") -> UltraHdrResult:
    """``hdrkit encode --method gainmap``: HDR master (+ SDR grade, else tone mapped with ``tmo``) -> Ultra HDR
    JPEG at ``out`` (written atomically)."""
    from hdrkit.codec.api import read_pair

    if Path(out).suffix.lower() not in (".jpg", ".jpeg"):
        raise InputError(f"an Ultra HDR gain-map file must be a .jpg, got {Path(out).name}")
    hdr_nits, sdr_u8 = read_pair(hdr_path, sdr_path, tmo)
    return write_ultrahdr(out, sdr_u8, hdr_nits, scale=scale, quality=quality, map_quality=map_quality,
                          multichannel=multichannel, gamma=gamma, base_primaries=base_primaries,
                          map_gamut=map_gamut)


def sniff_ultrahdr(path: str | Path) -> bool:
    """True when the file at ``path`` is a JPEG whose header announces a gain map (reads at most 256 KB).

    Raises :class:`InputError` for a missing path, a folder, a FIFO or a device (nothing is opened then)."""
    from hdrkit.io.limits import check_input_file

    check_input_file(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(1 << 18)
    except OSError:
        return False
    return is_ultrahdr(head)
