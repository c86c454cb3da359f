"""Per-shot neural metadata of an SDR video: the binary formats (pure functions on bytes, no PyAV).

An SDR video encoded by ``hdrkit video encode`` carries, for every shot, one embedded network of the codec's
gamma-map family (:mod:`hdrkit.models.gammanet`) in a **shot record**; the record wraps the codec's own
metadata blob (:mod:`hdrkit.codec.container`, version 2) and says which frames it applies to.

Shot record, version 1 (integers little-endian)::

    offset size  field
    0      8     magic b"HDRKSHOT"
    8      2     version (u16) = 1
    10     2     flags (u16): bit 0 DELTA (the blob's weights are added to the previous shot's decoded
                 weights), bit 1 DEFLATE (the blob is zlib-compressed); a reader rejects unknown bits
    12     4     total length of the record including the CRC (u32)
    16     4     shot index (u32), 0 for the first shot
    20     4     first frame (u32, presentation order, 0 = the first frame of the stream)
    24     4     frame count (u32)
    28     8     start time stamp (i64) of the first frame, in
    36     8     time base numerator, denominator (u32, u32; both > 0) of the stream it was written into
    44     4     MaxCLL, MaxFALL of the whole master (u16, u16; CTA-861.3, nits)
    48     1     mastering display primaries (u8: 0 = P3-D65, 1 = BT.2020), 3 bytes reserved (0)
    52     8     mastering display max, min luminance (f32, f32; nits)
    60     4     stored blob length (u32)
    64     4     blob length once inflated (u32; = stored length without DEFLATE), at most :data:`MAX_BLOB`
    68     ...   the blob (a :func:`hdrkit.codec.container.pack` container, maybe deflated)
    -4     4     CRC-32 (zlib) of every byte before it

The **track** (the Matroska attachment ``hdrkit-shots.bin``: untimed, so the records carry their own frame
numbers and time stamps)::

    0  8  magic b"HDRKTRAK"; 8 u16 version = 1; 10 u16 flags = 0; 12 u32 total length incl. CRC;
    16 u32 record count; then per record: u32 length + the record; -4 CRC-32

**SEI carriage**: each record also travels in the SDR bitstream as an H.264 / HEVC *user data unregistered*
SEI message (payloadType 5: the 16-byte :data:`SEI_UUID` then the record) in the access unit of the shot's
first frame, so it survives any stream-copy remux; :func:`sei_nal` builds the NAL unit (emulation prevention
included) and :func:`records_in_packet` finds records in a packet (length-prefixed ``avcC``/``hvcC`` NAL units
or an Annex B byte stream).

Parsing reads fields one by one with bounds checks; nothing is unpickled, inflation is bounded, and every
problem raises :class:`hdrkit.errors.MetadataError` with a one-line message (never another exception).
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from hdrkit.errors import InputError, MetadataError

MAGIC = b"HDRKSHOT"
TRACK_MAGIC = b"HDRKTRAK"
VERSION = 1
FLAG_DELTA = 1
FLAG_DEFLATE = 2
_KNOWN_FLAGS = FLAG_DELTA | FLAG_DEFLATE
#: 16-byte UUID of hdrkit's SEI user data unregistered messages (uuid5(NAMESPACE_URL, "hdrkit.video.shot/1")).
SEI_UUID = bytes.fromhex("773b0717e37653ccab1af0672d54bd76")
_HEAD = struct.Struct("<8sHHIIIIqIIHHB3xffII")
HEAD_SIZE = _HEAD.size  # 68
#: Bounds on what a reader accepts (a shot's network is a few KB).
MAX_BLOB = 1 << 20
MAX_RECORDS = 1 << 16
MAX_TRACK = 64 << 20
MASTERING_PRIMARIES = ("p3d65", "bt2020")


@dataclass
class ShotRecord:
    """One shot's metadata: the codec blob (:mod:`hdrkit.codec.container`) and where it applies."""

    index: int
    first_frame: int
    frames: int
    pts: int
    time_base: tuple  # (num, den)
    blob: bytes
    delta: bool = False
    max_cll: int = 0
    max_fall: int = 0
    mastering: str = "p3d65"
    mastering_max: float = 1000.0
    mastering_min: float = 0.0001

    @property
    def start_seconds(self) -> float:
        return self.pts * self.time_base[0] / self.time_base[1]


def pack_record(r: ShotRecord, deflate: Optional[bool] = None) -> bytes:
    """Serialise a record; ``deflate`` None compresses the blob only when that saves bytes."""
    if not (0 <= r.index < 2**32 and 0 <= r.first_frame < 2**32 and 0 < r.frames < 2**32):
        raise InputError(f"shot record fields out of range ({r.index}, {r.first_frame}, {r.frames})")
    num, den = (int(v) for v in r.time_base)
    if not (0 < num < 2**32 and 0 < den < 2**32) or not -(2**63) <= int(r.pts) < 2**63:
        raise InputError(f"invalid time stamp {r.pts} × {num}/{den}")
    if r.mastering not in MASTERING_PRIMARIES:
        raise InputError(f"mastering primaries must be one of {MASTERING_PRIMARIES}, got {r.mastering!r}")
    if not (0 < len(r.blob) <= MAX_BLOB):
        raise InputError(f"shot blob of {len(r.blob)} bytes (1 .. {MAX_BLOB})")
    body = r.blob
    packed = zlib.compress(body, 9)
    use = (len(packed) < len(body)) if deflate is None else bool(deflate)
    stored = packed if use else body
    flags = (FLAG_DELTA if r.delta else 0) | (FLAG_DEFLATE if use else 0)
    total = HEAD_SIZE + len(stored) + 4
    head = _HEAD.pack(MAGIC, VERSION, flags, total, r.index, r.first_frame, r.frames, int(r.pts), num, den,
                      int(min(max(r.max_cll, 0), 65535)), int(min(max(r.max_fall, 0), 65535)),
                      MASTERING_PRIMARIES.index(r.mastering), float(r.mastering_max), float(r.mastering_min),
                      len(stored), len(body))
    data = head + stored
    return data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


def _inflate(data: bytes, size: int) -> bytes:
    try:
        d = zlib.decompressobj()
        out = d.decompress(data, size + 1)
    except zlib.error:
        raise MetadataError("hdrkit shot metadata is corrupt (bad deflate stream)") from None
    if len(out) != size or not d.eof or d.unconsumed_tail or d.unused_data:
        raise MetadataError("hdrkit shot metadata is corrupt (inflated size mismatch)")
    return out


def unpack_record(data: bytes) -> ShotRecord:
    """Parse and validate one record (CRC, bounds, versions); the blob is returned as stored in the record
    (inflated), not yet parsed: :func:`hdrkit.codec.container.unpack` does that."""
    data = bytes(data)
    if len(data) < HEAD_SIZE + 4 or not data.startswith(MAGIC):
        raise MetadataError("not an hdrkit shot record (bad magic)")
    (_, version, flags, total, index, first, frames, pts, num, den, cll, fall, prim, mmax, mmin, n_stored,
     n_raw) = _HEAD.unpack_from(data, 0)
    if version != VERSION:
        raise MetadataError(f"hdrkit shot metadata version {version} is not supported (this hdrkit reads {VERSION})")
    if flags & ~_KNOWN_FLAGS:
        raise MetadataError(f"hdrkit shot metadata has unknown flags 0x{flags:04x}")
    if total != len(data):
        raise MetadataError(f"hdrkit shot metadata is truncated or padded ({len(data)} bytes, header says {total})")
    (crc,) = struct.unpack_from("<I", data, total - 4)
    if zlib.crc32(data[:total - 4]) & 0xFFFFFFFF != crc:
        raise MetadataError("hdrkit shot metadata is corrupt (CRC mismatch)")
    if n_stored != total - HEAD_SIZE - 4 or not 0 < n_raw <= MAX_BLOB or n_stored == 0:
        raise MetadataError("hdrkit shot metadata has an inconsistent blob length")
    if num == 0 or den == 0 or frames == 0:
        raise MetadataError("hdrkit shot metadata has an invalid time base or frame count")
    if prim >= len(MASTERING_PRIMARIES):
        raise MetadataError(f"hdrkit shot metadata has unknown mastering primaries code {prim}")
    if not (math.isfinite(mmax) and math.isfinite(mmin) and 0 <= mmin < mmax <= 10000):
        raise MetadataError(f"hdrkit shot metadata has invalid mastering luminance {mmin}, {mmax}")
    stored = data[HEAD_SIZE:total - 4]
    if flags & FLAG_DEFLATE:
        blob = _inflate(stored, n_raw)
    else:
        if n_raw != n_stored:
            raise MetadataError("hdrkit shot metadata has an inconsistent blob length")
        blob = stored
    return ShotRecord(index, first, frames, pts, (num, den), blob, bool(flags & FLAG_DELTA), cll, fall,
                      MASTERING_PRIMARIES[prim], float(mmax), float(mmin))


def pack_track(records: List[bytes]) -> bytes:
    """The attachment: packed records (:func:`pack_record` output) in shot order."""
    body = struct.pack("<I", len(records)) + b"".join(struct.pack("<I", len(r)) + r for r in records)
    total = 16 + len(body) + 4
    data = TRACK_MAGIC + struct.pack("<HHI", VERSION, 0, total) + body
    return data + struct.pack("<I", zlib.crc32(data) & 0xFFFFFFFF)


def unpack_track(data: bytes) -> List[ShotRecord]:
    data = bytes(data)
    if len(data) < 24 or not data.startswith(TRACK_MAGIC):
        raise MetadataError("not an hdrkit shot track (bad magic)")
    version, flags, total = struct.unpack_from("<HHI", data, 8)
    if version != VERSION:
        raise MetadataError(f"hdrkit shot track version {version} is not supported (this hdrkit reads {VERSION})")
    if flags != 0:
        raise MetadataError(f"hdrkit shot track has unknown flags 0x{flags:04x}")
    if total != len(data) or total > MAX_TRACK:
        raise MetadataError(f"hdrkit shot track is truncated or padded ({len(data)} bytes, header says {total})")
    (crc,) = struct.unpack_from("<I", data, total - 4)
    if zlib.crc32(data[:total - 4]) & 0xFFFFFFFF != crc:
        raise MetadataError("hdrkit shot track is corrupt (CRC mismatch)")
    (count,) = struct.unpack_from("<I", data, 16)
    if count > MAX_RECORDS:
        raise MetadataError(f"hdrkit shot track has too many records ({count})")
    pos, end, out = 20, total - 4, []
    for _ in range(count):
        if pos + 4 > end:
            raise MetadataError("hdrkit shot track is truncated")
        (n,) = struct.unpack_from("<I", data, pos)
        if n > end - pos - 4:
            raise MetadataError("hdrkit shot track is truncated")
        out.append(unpack_record(data[pos + 4:pos + 4 + n]))
        pos += 4 + n
    if pos != end:
        raise MetadataError("hdrkit shot track has trailing bytes")
    return out


# ------------------------------------------------------------------------------------------- SEI (H.264/HEVC)
def escape_rbsp(rbsp: bytes) -> bytes:
    """Insert emulation-prevention bytes: ``00 00 0x`` (x ≤ 3) → ``00 00 03 0x`` (H.264 7.4.1, HEVC 7.4.2)."""
    out = bytearray()
    zeros = 0
    for b in rbsp:
        if zeros >= 2 and b <= 3:
            out.append(3)
            zeros = 0
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def unescape_rbsp(ebsp: bytes) -> bytes:
    """Remove emulation-prevention bytes (``00 00 03`` → ``00 00``)."""
    if b"\x00\x00\x03" not in ebsp:
        return bytes(ebsp)
    out = bytearray()
    zeros = 0
    for b in ebsp:
        if zeros >= 2 and b == 3:
            zeros = 0
            continue
        out.append(b)
        zeros = zeros + 1 if b == 0 else 0
    return bytes(out)


def _sei_size(n: int) -> bytes:
    return b"\xff" * (n // 255) + bytes([n % 255])


def sei_nal(record: bytes, codec: str) -> bytes:
    """One SEI NAL unit (header included, no start code / length prefix) holding ``record`` as user data
    unregistered: ``codec`` ``"h264"`` (nal_unit_type 6) or ``"hevc"`` (PREFIX_SEI_NUT 39, layer 0, TemporalId 0)."""
    payload = SEI_UUID + bytes(record)
    rbsp = b"\x05" + _sei_size(len(payload)) + payload + b"\x80"
    if codec == "h264":
        header = b"\x06"
    elif codec == "hevc":
        header = bytes([39 << 1, 1])
    else:
        raise InputError(f"SEI carriage supports h264 and hevc, not {codec!r}")
    return header + escape_rbsp(rbsp)


def _sei_type(nal: bytes, codec: str) -> bool:
    if codec == "h264":
        return len(nal) >= 1 and nal[0] & 0x1F == 6
    return len(nal) >= 2 and (nal[0] >> 1) & 0x3F in (39, 40)


def is_vcl(nal: bytes, codec: str) -> bool:
    """Whether a NAL unit carries slice data (the SEI must precede the first one of its access unit)."""
    if codec == "h264":
        return len(nal) >= 1 and 1 <= nal[0] & 0x1F <= 5
    return len(nal) >= 2 and (nal[0] >> 1) & 0x3F < 32


def split_nals(data: bytes, length_size: int) -> List[bytes]:
    """NAL units of a packet: ``length_size`` 1/2/4-byte big-endian prefixes (``avcC``/``hvcC``), or 0 for an
    Annex B byte stream (start codes).  Malformed framing raises :class:`MetadataError`."""
    data = bytes(data)
    out: List[bytes] = []
    if length_size == 0:
        i, n = 0, len(data)
        starts = []
        while True:
            j = data.find(b"\x00\x00\x01", i)
            if j < 0:
                break
            starts.append(j + 3)
            i = j + 3
        for k, s in enumerate(starts):
            e = starts[k + 1] - 3 if k + 1 < len(starts) else n
            nal = data[s:e]
            while nal.endswith(b"\x00"):  # trailing_zero_8bits / the zero byte of a 4-byte start code
                nal = nal[:-1]
            if nal:
                out.append(nal)
        return out
    if length_size not in (1, 2, 4):
        raise MetadataError(f"invalid NAL length size {length_size}")
    pos = 0
    while pos < len(data):
        if pos + length_size > len(data):
            raise MetadataError("truncated NAL unit length")
        n = int.from_bytes(data[pos:pos + length_size], "big")
        pos += length_size
        if n > len(data) - pos:
            raise MetadataError("NAL unit overruns its packet")
        out.append(data[pos:pos + n])
        pos += n
    return out


def join_nals(nals: List[bytes], length_size: int) -> bytes:
    if length_size == 0:
        return b"".join(b"\x00\x00\x00\x01" + n for n in nals)
    return b"".join(len(n).to_bytes(length_size, "big") + n for n in nals)


def sei_user_data(nal: bytes, codec: str) -> List[bytes]:
    """The user-data-unregistered payloads (UUID included) of one SEI NAL unit; other SEI messages skipped."""
    hdr = 1 if codec == "h264" else 2
    rbsp = unescape_rbsp(nal[hdr:])
    out, pos, n = [], 0, len(rbsp)
    while pos < n and not (rbsp[pos] == 0x80 and pos == n - 1):
        ptype = 0
        while pos < n and rbsp[pos] == 0xFF:
            ptype += 255
            pos += 1
        if pos >= n:
            raise MetadataError("truncated SEI message")
        ptype += rbsp[pos]
        pos += 1
        size = 0
        while pos < n and rbsp[pos] == 0xFF:
            size += 255
            pos += 1
        if pos >= n:
            raise MetadataError("truncated SEI message")
        size += rbsp[pos]
        pos += 1
        if size > n - pos:
            raise MetadataError("SEI message overruns its NAL unit")
        if ptype == 5:
            out.append(rbsp[pos:pos + size])
        pos += size
    return out


def records_in_packet(data: bytes, codec: str, length_size: int) -> List[ShotRecord]:
    """hdrkit shot records in the SEI NAL units of one packet (other SEI, other NAL units ignored)."""
    out = []
    for nal in split_nals(data, length_size):
        if _sei_type(nal, codec):
            for p in sei_user_data(nal, codec):
                if p[:16] == SEI_UUID:
                    out.append(unpack_record(p[16:]))
    return out


def insert_sei(data: bytes, record: bytes, codec: str, length_size: int) -> bytes:
    """A packet with ``record``'s SEI NAL unit inserted before its first slice (after AUD / parameter sets)."""
    nals = split_nals(data, length_size)
    k = next((i for i, nal in enumerate(nals) if is_vcl(nal, codec)), len(nals))
    return join_nals(nals[:k] + [sei_nal(record, codec)] + nals[k:], length_size)


def nal_length_size(extradata: Optional[bytes], codec: str) -> int:
    """NAL length-prefix size from ``avcC`` (H.264) / ``hvcC`` (HEVC) extradata; 0 (Annex B) when the
    extradata is absent or itself Annex B."""
    ed = bytes(extradata or b"")
    if not ed or ed.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01")):
        return 0
    if codec == "h264":
        if len(ed) < 5 or ed[0] != 1:
            raise MetadataError("invalid avcC extradata")
        return (ed[4] & 3) + 1
    if len(ed) < 23 or ed[0] != 1:
        raise MetadataError("invalid hvcC extradata")
    return (ed[21] & 3) + 1


# --------------------------------------------------------------------------------------------- weights chain
@dataclass
class ShotDecoder:
    """Turns records (in shot order) into each shot's network: deltas are added to the previous shot's decoded
    weights, exactly as the encoder computed them (float32)."""

    weights: Dict[int, dict] = field(default_factory=dict)
    containers: Dict[int, object] = field(default_factory=dict)

    def add(self, r: ShotRecord, width: int, height: int):
        from hdrkit.codec.container import unpack
        from hdrkit.models.gammanet import GammaConfig

        if r.index in self.containers:
            return self.containers[r.index]
        c = unpack(r.blob)
        if not isinstance(c.cfg, GammaConfig):
            raise MetadataError("hdrkit video metadata holds a network of another family than the gamma map")
        if (c.width, c.height) != (width, height):
            raise MetadataError(f"the video is {width}x{height} but its hdrkit metadata was made for "
                                f"{c.width}x{c.height} (it was resized after encoding)")
        if r.delta:
            base = self.containers.get(r.index - 1)
            if base is None:
                raise MetadataError(f"shot {r.index}'s metadata is a delta on shot {r.index - 1}, which is missing")
            if base.cfg != c.cfg:
                raise MetadataError(f"shot {r.index}'s delta does not match shot {r.index - 1}'s architecture")
            c.weights = delta_apply(base.weights, c.weights)
            if not all(np.all(np.isfinite(v)) for v in c.weights.values()):
                raise MetadataError(f"shot {r.index}'s weights are not finite")
        self.containers[r.index] = c
        return c


def delta_apply(base: dict, delta: dict) -> dict:
    """``base + delta`` per tensor in float32 (encoder and decoder share this function)."""
    with np.errstate(over="ignore", invalid="ignore"):
        return {k: (np.asarray(base[k], np.float32) + np.asarray(delta[k], np.float32)).astype(np.float32)
                for k in base}
