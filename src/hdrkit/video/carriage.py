"""Carriage of per-shot metadata (:mod:`hdrkit.video.metadata`) in video files, with PyAV.

Two carriers, both written by :func:`remux_with_records`:

* **SEI** (every container, H.264 and HEVC): each shot's record as a *user data unregistered* SEI message in
  the access unit of the shot's first frame (which the encoder makes a key frame).  It is part of the video
  bitstream, so any stream-copy remux keeps it (``ffmpeg -i in.mkv -c copy out.mp4``, PyAV packet copy,
  MKV ↔ MP4 ↔ MOV ↔ MPEG-TS), and players ignore user data they do not know.  A re-encode drops it.
* **Matroska attachment** ``hdrkit-shots.bin`` (``.mkv`` only; MP4 has no attachments): the whole track,
  records in shot order with their first frame numbers.  FFmpeg copies attachments only when asked
  (``-map 0``); a decoder falls back to it when the bitstream carries no records.

:class:`RecordCollector` is the decoder's side: it sees every video packet before it is decoded and maps
each decoded frame to its shot (SEI: the shot starts at the time stamp of the packet that carried its record;
attachment: at the record's first frame number).
"""

from __future__ import annotations

import bisect
import os
from pathlib import Path
from typing import Dict, List, Optional

from hdrkit.errors import FormatError, MetadataError
from hdrkit.video import metadata as M

ATTACHMENT_NAME = "hdrkit-shots.bin"
ATTACHMENT_MIME = "application/x-hdrkit-shots"
_CODECS = {"h264": "h264", "hevc": "hevc"}


def _codec_of(stream) -> str:
    name = stream.codec_context.name if stream.codec_context is not None else ""
    name = {"libx264": "h264", "libx265": "hevc"}.get(name, name)
    if name not in _CODECS:
        raise MetadataError(f"hdrkit video metadata travels in H.264 or HEVC streams; this one is {name or '?'}")
    return name


def remux_with_records(src: str | os.PathLike, dst: str | os.PathLike, records: List[bytes],
                       start_pts: List[int]) -> int:
    """Copy every stream of ``src`` into ``dst`` (packets unchanged) and add the packed ``records``: an SEI in
    the video packet whose time stamp is ``start_pts[k]`` (the ``src`` video stream's time base), and in
    ``.mkv`` the attachment.  Returns the bytes the metadata added to the video packets (SEI NAL units)."""
    import av

    from hdrkit.video.io import _av, _why

    _av()
    if len(records) != len(start_pts):
        raise ValueError("one start time stamp per record")
    where: Dict[int, bytes] = dict(zip((int(p) for p in start_pts), records))
    added = 0
    with av.open(str(src), "r") as inp:
        vin = inp.streams.video[0]
        codec = _codec_of(vin)
        size = M.nal_length_size(vin.codec_context.extradata, codec)
        fmt = {".mkv": "matroska", ".mp4": "mp4", ".mov": "mov"}[Path(dst).suffix.lower()]
        with av.open(str(dst), "w", format=fmt) as out:
            streams = {}
            for s in inp.streams:
                if s.type in ("video", "audio", "subtitle"):
                    streams[s.index] = out.add_stream_from_template(s)
            if fmt == "matroska":
                out.add_attachment(ATTACHMENT_NAME, ATTACHMENT_MIME, M.pack_track(records))
            seen = set()
            try:
                for packet in inp.demux(*[inp.streams[i] for i in streams]):
                    if packet.dts is None and packet.size == 0:
                        continue
                    if packet.stream.index == vin.index and packet.pts is not None and int(packet.pts) in where \
                            and int(packet.pts) not in seen:
                        rec = where[int(packet.pts)]
                        seen.add(int(packet.pts))
                        data = M.insert_sei(bytes(packet), rec, codec, size)
                        added += len(data) - packet.size
                        new = av.Packet(data)
                        new.pts, new.dts, new.time_base = packet.pts, packet.dts, packet.time_base
                        new.is_keyframe = packet.is_keyframe
                        if packet.duration:
                            new.duration = packet.duration
                        packet = new
                        packet.stream = streams[vin.index]
                    else:
                        packet.stream = streams[packet.stream_index]
                    out.mux(packet)
            except av.FFmpegError as exc:
                raise FormatError(f"writing {Path(dst).name} failed ({_why(exc)})") from None
    missing = set(where) - seen
    if missing:
        raise FormatError(f"no video packet at time stamp(s) {sorted(missing)[:3]} for the shot metadata")
    return added


def read_attachment(container) -> Optional[List[M.ShotRecord]]:
    """The records of the ``hdrkit-shots.bin`` attachment of an open input container, or None."""
    for s in container.streams:
        if s.type != "attachment":
            continue
        name = getattr(s, "name", None) or s.metadata.get("filename", "")
        if name != ATTACHMENT_NAME:
            continue
        data = getattr(s, "data", None)
        if data is None:
            continue
        return M.unpack_track(bytes(data))
    return None


class RecordCollector:
    """Per-shot networks of a stream, fed with every video packet before it is decoded (:meth:`packet`);
    :meth:`network` gives the container of a decoded frame."""

    def __init__(self, container, stream, width: int, height: int):
        self.codec = _codec_of(stream)
        self.length_size = M.nal_length_size(stream.codec_context.extradata, self.codec)
        self.width, self.height = width, height
        self.chain = M.ShotDecoder()
        self._starts: List[int] = []  # SEI: shot start time stamps (stream time base), sorted
        self._by_start: Dict[int, int] = {}
        self.first: Optional[M.ShotRecord] = None
        self.attached = read_attachment(container)
        self._frames: List[int] = []
        if self.attached:
            recs = sorted(self.attached, key=lambda r: r.index)
            for r in recs:
                self.chain.add(r, width, height)
            self._frames = [r.first_frame for r in recs]
            self._frame_index = [r.index for r in recs]
            self.first = recs[0]
        self.sei_records = 0

    def packet(self, packet) -> None:
        if packet.size == 0:
            return
        recs = M.records_in_packet(bytes(packet), self.codec, self.length_size)
        for r in recs:
            if packet.pts is None:
                raise MetadataError("a packet carrying hdrkit shot metadata has no time stamp")
            self.chain.add(r, self.width, self.height)
            pts = int(packet.pts)
            if pts not in self._by_start:
                bisect.insort(self._starts, pts)
            self._by_start[pts] = r.index
            self.sei_records += 1
            if self.first is None:
                self.first = r

    @property
    def found(self) -> bool:
        return self.first is not None

    def network(self, pts: Optional[int], index: int):
        """The container of the shot that frame ``index`` (time stamp ``pts``) belongs to."""
        if self._starts and pts is not None:
            k = bisect.bisect_right(self._starts, int(pts)) - 1
            if k >= 0:
                return self.chain.containers[self._by_start[self._starts[k]]]
        if self._frames:
            k = bisect.bisect_right(self._frames, index) - 1
            if k >= 0:
                return self.chain.containers[self._frame_index[k]]
        raise MetadataError(f"no hdrkit shot metadata covers frame {index}")


def first_records(path: str | os.PathLike, packets: int = 8) -> Optional[M.ShotRecord]:
    """The first shot record of a file (attachment, or SEI in its first ``packets`` video packets), or None:
    what the decoder checks before it writes anything."""
    from hdrkit.video.io import _open_input, _why

    import av

    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        try:
            coll = RecordCollector(container, stream, stream.codec_context.width, stream.codec_context.height)
        except MetadataError:
            raise
        if coll.found:
            return coll.first
        try:
            for k, packet in enumerate(container.demux(stream)):
                coll.packet(packet)
                if coll.found or k + 1 >= packets:
                    break
        except av.FFmpegError as exc:
            raise FormatError(f"{Path(path).name}: the video stream is damaged ({_why(exc)})") from None
        return coll.first
    finally:
        container.close()
