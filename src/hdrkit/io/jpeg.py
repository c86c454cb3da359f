"""JPEG at marker-segment level: the one segment walker every JPEG path of hdrkit uses.

Pixels are decoded by Pillow / libjpeg; this module only walks, splices and extracts marker segments so that
metadata (APPn: JFIF, Exif, XMP, ICC, MPF, ISO 21496-1, hdrkit's own) round-trips, and it finds where one JPEG
stream ends inside a file that holds several (MPF / Ultra HDR).

Everything read from a file is untrusted: every length is bounds-checked and every problem is a
:class:`hdrkit.errors.FormatError` (not a JPEG at all) or :class:`hdrkit.errors.MetadataError` (corrupt header)
with a one-line message.

References: ITU-T T.81 (JPEG) Annex B (marker segments, byte stuffing, RST markers); ICC.1:2022 Annex B.4
(embedding ICC profiles in JPEG: ``"ICC_PROFILE\\0"`` + sequence number + count, APP2).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

from hdrkit.errors import FormatError, MetadataError

SOI = b"\xff\xd8"
#: payload bytes one APPn segment holds (65,535 minus the 2-byte length field)
MAX_SEGMENT = 65533
ICC_ID = b"ICC_PROFILE\x00"
XMP_ID = b"http://ns.adobe.com/xap/1.0/\x00"
EXIF_ID = b"Exif\x00\x00"
#: payload bytes of ICC data per APP2 segment (after the 14-byte ICC header)
ICC_CHUNK = MAX_SEGMENT - len(ICC_ID) - 2


@dataclass(frozen=True)
class Segment:
    """One marker segment of a JPEG header."""

    marker: int   # 0xE0..0xEF (APPn), 0xDB (DQT), 0xC0 (SOF0), ...
    start: int    # offset of the segment's 0xFF
    end: int      # offset just past the segment
    payload: bytes

    def startswith(self, marker: int, ident: bytes) -> bool:
        return self.marker == marker and self.payload.startswith(ident)


def segments(data: bytes, start: int = 0) -> Tuple[List[Segment], int]:
    """Marker segments of the JPEG that starts at ``data[start]``, up to its first SOS.

    Returns ``(segments, offset of the SOS marker)``.  Raises :class:`FormatError` when ``data[start:]`` does not
    begin with SOI and :class:`MetadataError` when the header is truncated or corrupt.
    """
    if data[start:start + 2] != SOI:
        raise FormatError("not a JPEG file (no SOI marker)")
    pos, n, segs = start + 2, len(data), []
    while True:
        if pos + 2 > n:
            raise MetadataError("JPEG header is truncated (no start of scan)")
        if data[pos] != 0xFF:
            raise MetadataError(f"JPEG header is corrupt (expected a marker at byte {pos})")
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
            continue
        if marker == 0xDA:
            return segs, pos
        if marker in (0xD8, 0xD9) or 0xD0 <= marker <= 0xD7 or marker == 0x01:
            raise MetadataError(f"unexpected JPEG marker 0x{marker:02X} in the header")
        if pos + 4 > n:
            raise MetadataError("JPEG header is truncated")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if length < 2 or pos + 2 + length > n:
            raise MetadataError("JPEG segment length runs past the end of the file")
        segs.append(Segment(marker, pos, pos + 2 + length, bytes(data[pos + 4:pos + 2 + length])))
        pos += 2 + length


def stream_end(data: bytes, start: int = 0) -> int:
    """Offset just past the EOI of the JPEG stream that starts at ``data[start]``, found by walking its segments
    and scanning its entropy-coded data (stuffed ``FF 00`` and ``RSTn`` are data; progressive files have several
    scans).  This is how the primary image's end is found when an MPF index declares a wrong size (some Pixel
    camera files declare it a few hundred bytes short).  :class:`MetadataError` when no EOI is found."""
    pos = segments(data, start)[1]
    n = len(data)
    while True:
        # pos is at a marker inside or after the header: SOS or another table segment between scans
        if pos + 2 > n or data[pos] != 0xFF:
            raise MetadataError("JPEG stream is truncated (no end-of-image marker)")
        marker = data[pos + 1]
        if marker == 0xD9:
            return pos + 2
        if marker == 0xFF:
            pos += 1
            continue
        if 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if pos + 4 > n:
            raise MetadataError("JPEG stream is truncated")
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        pos += 2 + length
        if marker != 0xDA:
            continue
        # entropy-coded data: runs until a 0xFF that is not followed by 0x00 or RSTn
        while True:
            pos = data.find(b"\xff", pos)
            if pos < 0 or pos + 1 >= n:
                raise MetadataError("JPEG stream is truncated (no end-of-image marker)")
            nxt = data[pos + 1]
            if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                pos += 2
            elif nxt == 0xFF:
                pos += 1
            else:
                break


def app_segment(marker: int, payload: bytes) -> bytes:
    """Bytes of one APPn segment (marker 0xE0..0xEF) holding ``payload`` (at most :data:`MAX_SEGMENT` bytes)."""
    if not 0xE0 <= marker <= 0xEF:
        raise ValueError("JPEG metadata segments must be APP0..APP15")
    if len(payload) > MAX_SEGMENT:
        raise ValueError(f"a JPEG APPn segment holds at most {MAX_SEGMENT:,} bytes, got {len(payload):,}")
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def splice(data: bytes, insert: Sequence[Tuple[int, bytes]] = (), *, drop=None, after: Sequence[int] = (0xE0,)
           ) -> bytes:
    """Rewrite a JPEG's header: remove the segments for which ``drop(segment)`` is true and insert APPn segments
    ``[(marker, payload), ...]`` after SOI and the leading run of segments whose marker is in ``after`` (by
    default the JFIF APP0, which must come first).  Scan data is copied untouched."""
    segs, sos = segments(data)
    kept = [s for s in segs if drop is None or not drop(s)]
    lead = 0
    while lead < len(kept) and kept[lead].marker in after:
        lead += 1
    out = bytearray(SOI)
    for s in kept[:lead]:
        out += data[s.start:s.end]
    for marker, payload in insert:
        out += app_segment(marker, payload)
    for s in kept[lead:]:
        out += data[s.start:s.end]
    out += data[sos:]
    return bytes(out)


def app_payloads(data: bytes, marker: int, ident: bytes, start: int = 0) -> List[bytes]:
    """Payloads (``ident`` stripped) of the APPn segments with ``marker`` whose payload starts with ``ident``."""
    return [s.payload[len(ident):] for s in segments(data, start)[0] if s.startswith(marker, ident)]


# ------------------------------------------------------------------------------------------------------- ICC
def icc_segments(profile: bytes) -> List[Tuple[int, bytes]]:
    """``[(0xE2, payload), ...]`` carrying an ICC profile (ICC.1 Annex B.4 chunking)."""
    parts = [profile[i:i + ICC_CHUNK] for i in range(0, len(profile), ICC_CHUNK)]
    if not parts or len(parts) > 255:
        raise ValueError("ICC profile is empty or too large for JPEG")
    return [(0xE2, ICC_ID + bytes([i + 1, len(parts)]) + p) for i, p in enumerate(parts)]


def icc_profile(segs: Sequence[Segment]) -> Optional[bytes]:
    """The ICC profile carried by a header's APP2 ``ICC_PROFILE`` segments, reassembled in sequence order;
    ``None`` when there is none.  :class:`MetadataError` when the chunks are inconsistent."""
    chunks = {}
    count = None
    for s in segs:
        if not s.startswith(0xE2, ICC_ID):
            continue
        if len(s.payload) < len(ICC_ID) + 2:
            raise MetadataError("JPEG ICC profile segment is truncated")
        seq, cnt = s.payload[len(ICC_ID)], s.payload[len(ICC_ID) + 1]
        if count is None:
            count = cnt
        if cnt != count or not 1 <= seq <= cnt or seq in chunks:
            raise MetadataError("JPEG ICC profile segments are inconsistent")
        chunks[seq] = s.payload[len(ICC_ID) + 2:]
    if count is None:
        return None
    if len(chunks) != count:
        raise MetadataError(f"JPEG ICC profile has {len(chunks)} of {count} segments")
    return b"".join(chunks[i] for i in range(1, count + 1))


def frame_components(segs: Sequence[Segment]) -> int:
    """Number of colour components in the frame header (SOF0..SOF15, except DHT/JPG/DAC)."""
    for s in segs:
        if 0xC0 <= s.marker <= 0xCF and s.marker not in (0xC4, 0xC8, 0xCC) and len(s.payload) >= 6:
            return int(s.payload[5])
    raise MetadataError("JPEG has no frame header")


__all__ = ["EXIF_ID", "ICC_ID", "MAX_SEGMENT", "SOI", "Segment", "XMP_ID", "app_payloads", "app_segment",
           "frame_components", "icc_profile", "icc_segments", "segments", "splice", "stream_end"]
