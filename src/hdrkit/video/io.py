"""Video files in and out with PyAV (FFmpeg inside the ``av`` wheel; no system ffmpeg needed).

Reading (:class:`VideoReader`)
    Planar Y'CbCr (8/10/12-bit, any chroma subsampling, any codec FFmpeg decodes) or RGB frames.  The
    Y'CbCr → R'G'B' matrix and the range come from the stream's tags (ITU-T H.273); **an untagged stream is
    BT.709 when it is HD (width > 1024 or height > 576) and BT.601 below** — the convention of players and of
    BT.709 itself, not swscale's silent BT.601 fallback.  An untagged range is narrow ("tv") except for the
    ``yuvj*`` formats.  We do the conversion ourselves (``hdrkit.video._kernels``), never through swscale.
    SDR frames come out as BT.709 R'G'B' code values (BT.1886, what :mod:`hdrkit.expand` takes); HDR frames
    (transfer SMPTE ST 2084 or ARIB STD-B67) as absolute linear BT.2020 nits.

Writing (:class:`VideoWriter`)
    HDR10: HEVC Main 10 (libx265) or AV1 10-bit (SVT-AV1), ``yuv420p10le`` (or ``yuv444p10le`` for mezzanine
    use: 4:2:0 alone caps PU-PSNR near 39 dB on textured content), colour tags BT.2020 / SMPTE 2084 /
    BT.2020-NCL, narrow range, mastering display (SMPTE ST 2086) and content light level (CTA-861.3) metadata
    — x265: ``hdr10=1:repeat-headers=1:master-display=...:max-cll=...`` (SEI on every IRAP); SVT-AV1:
    ``mastering-display=...:content-light=...`` (metadata OBUs).  MP4 gets the ``hvc1`` tag (what Apple
    players require).  SDR (for ``tonemap``): H.264 / HEVC / AV1 8-bit BT.709.
    Audio and subtitle streams of a source are copied packet for packet (:meth:`VideoWriter.copy_streams`).
    The writer streams: it holds no frame beyond the encoder's own look-ahead.
"""

from __future__ import annotations

import os
import struct
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from hdrkit.errors import FormatError, InputError
from hdrkit.video import _kernels as K

# ITU-T H.273 code points (= FFmpeg's AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace)
_PRIMARIES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 12: "p3d65"}
_TRANSFERS = {1: "bt709", 6: "bt709", 14: "bt709", 15: "bt709", 13: "srgb", 16: "pq", 18: "hlg", 4: "gamma22"}
_MATRICES = {1: "bt709", 5: "bt601", 6: "bt601", 9: "bt2020", 0: "rgb"}
_CODE = {"bt709": 1, "bt2020": 9, "pq": 16, "hlg": 18}

#: Output codecs: name → (FFmpeg encoder, default CRF, default preset).  The HDR10 defaults are chosen so that a
#: synthetic, finely textured HDR10 clip written and read back loses ≤ 1 dB PU-PSNR beyond what 4:2:0 alone
#: costs (``scripts/bench_video.py roundtrip``, docs/VIDEO.md): x265 CRF 8 with the chroma QPs lowered by 12
#: (:data:`HDR_X265_PARAMS`; on that texture the chroma planes, not luma, lose most), SVT-AV1 CRF 3 without
#: temporal filtering and adaptive quantisation (:data:`HDR_SVTAV1_PARAMS`; both smooth fine texture away).
HDR_CODECS = {"hevc": ("libx265", 8, "faster"), "av1": ("libsvtav1", 3, "10")}
#: Extra encoder parameters of the HDR10 writer (any CRF).
HDR_X265_PARAMS = ("cbqpoffs=-12", "crqpoffs=-12")
HDR_SVTAV1_PARAMS = ("enable-tf=0", "aq-mode=0")
SDR_CODECS = {"h264": ("libx264", 18, "fast"), "hevc": ("libx265", 20, "faster"), "av1": ("libsvtav1", 32, "10")}
#: Containers accepted for output.
CONTAINERS = (".mkv", ".mp4", ".mov")

#: Chromaticities of the mastering display primaries (R, G, B) by name.
_DISPLAY_PRIMARIES = {
    "p3d65": ((0.680, 0.320), (0.265, 0.690), (0.150, 0.060)),
    "bt2020": ((0.708, 0.292), (0.170, 0.797), (0.131, 0.046)),
}
_D65 = (0.3127, 0.3290)


def _av():
    try:
        import av
    except ImportError:  # pragma: no cover - the `video` extra is missing
        raise InputError("video support needs PyAV: pip install 'hdrkit[video]'") from None
    av.logging.set_level(None)  # FFmpeg's own log lines would break the one-line error contract
    return av


@dataclass(frozen=True)
class MasteringDisplay:
    """SMPTE ST 2086 mastering display colour volume: primaries (R, G, B) and white as CIE xy, luminance in nits."""

    primaries: tuple = _DISPLAY_PRIMARIES["p3d65"]
    white: tuple = _D65
    max_nits: float = 1000.0
    min_nits: float = 0.0001

    @classmethod
    def named(cls, name: str = "p3d65", max_nits: float = 1000.0, min_nits: float = 0.0001) -> "MasteringDisplay":
        if name not in _DISPLAY_PRIMARIES:
            raise InputError(f"unknown mastering display primaries {name!r}; choose {', '.join(_DISPLAY_PRIMARIES)}")
        if not (np.isfinite(max_nits) and np.isfinite(min_nits) and 0 <= min_nits < max_nits <= 10000):
            raise InputError(f"mastering display luminance must satisfy 0 ≤ min < max ≤ 10000, got {min_nits}, {max_nits}")
        return cls(_DISPLAY_PRIMARIES[name], _D65, float(max_nits), float(min_nits))

    def x265(self) -> str:
        """x265 ``master-display``: ``G(x,y)B(x,y)R(x,y)WP(x,y)L(max,min)``, xy in 1/50000, L in 1/10000 nits."""
        (r, g, b), w = self.primaries, self.white

        def xy(p):
            return f"({round(p[0] * 50000)},{round(p[1] * 50000)})"

        return f"G{xy(g)}B{xy(b)}R{xy(r)}WP{xy(w)}L({round(self.max_nits * 10000)},{round(self.min_nits * 10000)})"

    def svtav1(self) -> str:
        """SVT-AV1 ``mastering-display``: the same fields as decimals."""
        (r, g, b), w = self.primaries, self.white

        def xy(p):
            return f"({p[0]:.4f},{p[1]:.4f})"

        return f"G{xy(g)}B{xy(b)}R{xy(r)}WP{xy(w)}L({self.max_nits:g},{self.min_nits:g})"


@dataclass(frozen=True)
class ContentLight:
    """CTA-861.3 content light level: MaxCLL and MaxFALL in nits (integers in the bitstream)."""

    max_cll: int
    max_fall: int


def content_light_of(nits_frames_max: float, nits_frames_fall: float) -> ContentLight:
    """Round measured MaxCLL / MaxFALL to the bitstream's integers (MaxFALL ≤ MaxCLL)."""
    cll = int(min(max(round(nits_frames_max), 0), 65535))
    return ContentLight(cll, int(min(max(round(nits_frames_fall), 0), cll)))


def frame_light(nits: np.ndarray) -> tuple[float, float]:
    """(max, mean) over pixels of ``max(R, G, B)`` in nits: one frame's contribution to MaxCLL / MaxFALL."""
    m = np.asarray(nits).max(axis=-1)
    return float(m.max()), float(m.mean())


@dataclass
class VideoInfo:
    """What :func:`probe` reads from a file (``as_dict`` is what ``hdrkit video info --json`` prints)."""

    path: str
    container: str
    codec: str
    profile: Optional[str]
    width: int
    height: int
    fps: float
    frames: Optional[int]  # from the container; None when it does not say
    duration: Optional[float]
    pix_fmt: str
    bit_depth: int
    chroma: str  # "420" | "422" | "444" | "rgb"
    primaries: str
    transfer: str
    matrix: str
    full_range: bool
    tagged: dict = field(default_factory=dict)  # which of primaries/transfer/matrix/range the file stated
    mastering_display: Optional[dict] = None
    content_light: Optional[dict] = None
    other_streams: list = field(default_factory=list)

    @property
    def is_hdr(self) -> bool:
        return self.transfer in ("pq", "hlg")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["hdr"] = self.is_hdr
        return d


def _parse_mastering(raw: bytes) -> Optional[dict]:
    """FFmpeg ``AVMasteringDisplayMetadata``: 10 AVRationals (R,G,B xy; white xy; min; max) + 2 ints."""
    if len(raw) < 88:
        return None
    v = struct.unpack("<20i2i", raw[:88])

    def q(k):
        return v[2 * k] / v[2 * k + 1] if v[2 * k + 1] else 0.0

    prim = [(round(q(2 * c), 5), round(q(2 * c + 1), 5)) for c in range(3)]
    return {"primaries": prim, "white": (round(q(6), 5), round(q(7), 5)),
            "min_nits": round(q(8), 6), "max_nits": round(q(9), 4),
            "has_primaries": bool(v[20]), "has_luminance": bool(v[21])}


def _parse_cll(raw: bytes) -> Optional[dict]:
    if len(raw) < 8:
        return None
    cll, fall = struct.unpack("<2I", raw[:8])
    return {"max_cll": cll, "max_fall": fall}


def _side_data(frame) -> tuple[Optional[dict], Optional[dict]]:
    md = cl = None
    for sd in frame.side_data:
        try:
            name = sd.type.name
        except (AttributeError, ValueError):
            continue
        if name == "MASTERING_DISPLAY_METADATA":
            md = _parse_mastering(bytes(sd))
        elif name == "CONTENT_LIGHT_LEVEL":
            cl = _parse_cll(bytes(sd))
    return md, cl


def _open_input(path: str | os.PathLike):
    av = _av()
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p} does not exist")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not a video file")
    try:
        container = av.open(str(p), "r")
    except av.FFmpegError as exc:
        raise FormatError(f"{p.name} is not a readable video file ({_why(exc)})") from None
    if not container.streams.video:
        container.close()
        raise FormatError(f"{p.name} has no video stream")
    if container.streams.video[0].codec_context is None:
        container.close()
        raise FormatError(f"{p.name}: unsupported video codec (this FFmpeg build cannot decode it)")
    return container


def _why(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return " ".join(str(text).split())[:120]


def _subsampling(fmt) -> tuple[int, int]:
    """Chroma shifts from the pixel format name (PyAV's components carry no log2 fields)."""
    name = fmt.name
    if name.startswith(("yuv420", "yuvj420", "yuva420")):
        return 1, 1
    if name.startswith(("yuv422", "yuvj422", "yuva422")):
        return 1, 0
    if name.startswith(("yuv444", "yuvj444", "yuva444")):
        return 0, 0
    if name.startswith(("yuv411",)):
        return 2, 0
    if name.startswith(("yuv410",)):
        return 2, 2
    if name.startswith(("yuv440", "yuvj440")):
        return 0, 1
    return -1, -1


def _describe(container, stream, path: Path) -> VideoInfo:
    cc = stream.codec_context
    pix = cc.pix_fmt or "?"
    av = _av()
    try:
        vf = av.VideoFormat(pix)
    except (ValueError, av.FFmpegError):
        vf = None
    sx, sy = _subsampling(vf) if vf else (-1, -1)
    bits = int(vf.components[0].bits) if vf is not None else 8
    if vf is not None and (vf.is_rgb or pix.startswith(("gbr", "rgb", "bgr"))):
        chroma = "rgb"
    else:
        chroma = {(1, 1): "420", (1, 0): "422", (0, 0): "444"}.get((sx, sy), "?")
    w, h = int(cc.width), int(cc.height)
    hd = w > 1024 or h > 576
    prim_code, trc_code, mat_code = int(cc.color_primaries or 2), int(cc.color_trc or 2), int(cc.colorspace or 2)
    rng_code = int(cc.color_range or 0)
    tagged = {"primaries": prim_code in _PRIMARIES, "transfer": trc_code in _TRANSFERS,
              "matrix": mat_code in _MATRICES, "range": rng_code in (1, 2)}
    transfer = _TRANSFERS.get(trc_code, "bt709")
    matrix = _MATRICES.get(mat_code, "bt2020" if prim_code == 9 else ("bt709" if hd else "bt601"))
    primaries = _PRIMARIES.get(prim_code, "bt2020" if mat_code == 9 else "bt709")
    full = rng_code == 2 or (rng_code == 0 and pix.startswith("yuvj"))
    if chroma == "rgb":
        matrix, full = "rgb", True
    rate = stream.average_rate or stream.base_rate or stream.guessed_rate
    fps = float(rate) if rate else 0.0
    duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else (
        container.duration / 1e6 if container.duration else None)
    frames = int(stream.frames) if stream.frames else (int(round(duration * fps)) if duration and fps else None)
    others = []
    for s in container.streams:
        if s.index == stream.index:
            continue
        name = getattr(getattr(s, "codec_context", None), "name", None) or "?"
        others.append({"index": s.index, "type": s.type, "codec": name})
    profile = getattr(cc, "profile", None)
    codec = {"libdav1d": "av1", "libaom-av1": "av1"}.get(cc.name, cc.name)
    return VideoInfo(str(path), container.format.name, codec, str(profile) if profile else None, w, h, fps, frames,
                     duration, pix, bits, chroma, primaries, transfer, matrix, full, tagged, None, None, others)


def probe(path: str | os.PathLike, side_data: bool = True) -> VideoInfo:
    """Read a file's video description; with ``side_data``, decode the first frame for HDR10 metadata."""
    container = _open_input(path)
    try:
        stream = container.streams.video[0]
        info = _describe(container, stream, Path(path))
        if side_data:
            try:
                for frame in container.decode(stream):
                    info.mastering_display, info.content_light = _side_data(frame)
                    break
            except _av().FFmpegError as exc:
                raise FormatError(f"{Path(path).name}: cannot decode its video ({_why(exc)})") from None
        return info
    finally:
        container.close()


def ycbcr_matrices(matrix: str) -> tuple[np.ndarray, np.ndarray]:
    """(Y'CbCr → R'G'B', R'G'B' → Y'CbCr) full-range 3×3 matrices of ``matrix`` (bt709 | bt601 | bt2020)."""
    from hdrkit.color.ycbcr import _matrix

    fwd = _matrix(matrix)
    return np.linalg.inv(fwd), fwd


@dataclass
class Planes:
    """One decoded frame as Y'CbCr planes (views into FFmpeg's buffers are copied) and its index."""

    y: np.ndarray
    cb: np.ndarray
    cr: np.ndarray
    index: int


def _plane_array(plane, width: int, height: int, dtype) -> np.ndarray:
    itemsize = np.dtype(dtype).itemsize
    a = np.frombuffer(plane, dtype=dtype)
    return a.reshape(-1, plane.line_size // itemsize)[:height, :width]


class VideoReader:
    """Frames of a video file, one at a time (bounded memory).  Use as a context manager.

    ``frames()`` yields float32 ``H×W×3``: BT.709 R'G'B' code values for SDR (converted from the stream's primaries
    when they are not BT.709), absolute BT.2020 nits for HDR.  ``planes()`` yields the raw Y'CbCr planes.
    ``matrix``/``full_range``/``transfer`` override what the file says (or does not say).
    """

    def __init__(self, path: str | os.PathLike, matrix: Optional[str] = None, full_range: Optional[bool] = None,
                 transfer: Optional[str] = None):
        self.path = Path(path)
        self._container = _open_input(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self.info = _describe(self._container, self._stream, self.path)
        if matrix is not None:
            self.info.matrix = matrix
        if full_range is not None:
            self.info.full_range = bool(full_range)
        if transfer is not None:
            self.info.transfer = transfer
        if self.info.pix_fmt == "?":
            self.close()
            raise FormatError(f"{self.path.name}: no decodable video (the file is damaged or truncated)")
        if self.info.chroma not in ("420", "422", "444", "rgb"):
            self.close()
            raise FormatError(f"{self.path.name}: unsupported pixel format {self.info.pix_fmt}")
        if self.info.width < 2 or self.info.height < 2:
            self.close()
            raise FormatError(f"{self.path.name}: frame size {self.info.width}×{self.info.height} is too small")
        self.mastering_display: Optional[dict] = None
        self.content_light: Optional[dict] = None
        self.frames_read = 0

    # -- plumbing -------------------------------------------------------------------------------------------
    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self._container is not None:
            self._container.close()
            self._container = None

    @property
    def container(self):
        return self._container

    @property
    def stream(self):
        return self._stream

    def copyable_streams(self) -> list:
        """Audio and subtitle streams (copied through by :meth:`VideoWriter.copy_streams`)."""
        return [s for s in self._container.streams if s.type in ("audio", "subtitle")]

    def decoded(self, copy: Optional[list] = None, on_packet=None, on_video_packet=None) -> Iterator[Any]:
        """Decoded PyAV frames; packets of the streams in ``copy`` go to ``on_packet(packet)`` as they are read,
        and each video packet to ``on_video_packet(packet)`` before it is decoded."""
        av = _av()
        streams = [self._stream] + list(copy or [])
        try:
            for packet in self._container.demux(*streams):
                if packet.stream.index != self._stream.index:
                    if on_packet is not None and packet.dts is not None:
                        on_packet(packet)
                    continue
                if on_video_packet is not None:
                    on_video_packet(packet)
                for frame in packet.decode():
                    if self.frames_read == 0:
                        self.mastering_display, self.content_light = _side_data(frame)
                    self._check_frame(frame)
                    self.frames_read += 1
                    yield frame
        except av.FFmpegError as exc:
            raise FormatError(f"{self.path.name}: the video stream is damaged or truncated ({_why(exc)})") from None
        if self.frames_read == 0:
            raise InputError(f"{self.path.name} has no video frames")

    def _check_frame(self, frame) -> None:
        if frame.width != self.info.width or frame.height != self.info.height:
            raise FormatError(f"{self.path.name}: frame size changes mid-stream ({frame.width}×{frame.height}), "
                              "which hdrkit does not support")
        if frame.format.name != self.info.pix_fmt:
            self.info.pix_fmt = frame.format.name

    def frame_planes(self, frame) -> tuple[np.ndarray, np.ndarray, np.ndarray, int, int]:
        """(y, cb, cr, sx, sy) views of a decoded Y'CbCr frame (valid until the next frame)."""
        fmt = frame.format
        sx, sy = _subsampling(fmt)
        if sx < 0:
            raise FormatError(f"{self.path.name}: unsupported pixel format {fmt.name}")
        bits = int(fmt.components[0].bits)
        dtype = np.uint8 if bits <= 8 else np.uint16
        if bits > 8 and not fmt.name.endswith("le"):
            raise FormatError(f"{self.path.name}: unsupported pixel format {fmt.name}")
        w, h = frame.width, frame.height
        cw, ch = -(-w // (1 << sx)), -(-h // (1 << sy))
        return (_plane_array(frame.planes[0], w, h, dtype), _plane_array(frame.planes[1], cw, ch, dtype),
                _plane_array(frame.planes[2], cw, ch, dtype), sx, sy)

    def frame_quant(self, frame) -> np.ndarray:
        return K.plane_quant(int(frame.format.components[0].bits), self.info.full_range)

    def to_rgb_prime(self, frame) -> np.ndarray:
        """A decoded frame → float32 ``H×W×3`` R'G'B' code values in [0, 1] (the stream's own primaries/transfer)."""
        if self.info.chroma == "rgb":
            return frame.to_ndarray(format="rgb48le").astype(np.float32) / 65535.0
        y, cb, cr, sx, sy = self.frame_planes(frame)
        out = np.empty((frame.height, frame.width, 3), dtype=np.float32)
        m_in, _ = ycbcr_matrices(self.info.matrix)
        K.planes_to_rgb(y, cb, cr, sx, sy, self.frame_quant(frame), m_in, out)
        return out

    def frames(self) -> Iterator[np.ndarray]:
        """SDR: BT.709 R'G'B' code values; HDR: absolute BT.2020 nits (float32 ``H×W×3``)."""
        for frame in self.decoded():
            yield self.convert(self.to_rgb_prime(frame))

    def convert(self, rgb_prime: np.ndarray) -> np.ndarray:
        from hdrkit import color

        t = self.info.transfer
        if t in ("pq", "hlg"):
            nits = color.eotf(rgb_prime, t)
            return np.asarray(color.convert_primaries(nits, _prim(self.info.primaries), "bt2020"), np.float32)
        if self.info.primaries in ("bt709", "bt601"):
            return rgb_prime  # BT.601 primaries differ little from BT.709; hdrkit treats SDR as BT.709
        lin = color.bt1886_eotf(rgb_prime)
        lin = np.clip(color.convert_primaries(lin, _prim(self.info.primaries), "bt709"), 0, 1)
        return np.asarray(color.bt1886_inverse_eotf(lin), np.float32)


def _prim(name: str) -> str:
    return "bt709" if name == "bt601" else name


def check_encodable(codec: str, width: int, height: int, chroma: str = "420", hdr: bool = True) -> None:
    """Refuse, in one line, what the encoders cannot do (before any work is spent on a file)."""
    table = HDR_CODECS if hdr else SDR_CODECS
    if codec not in table:
        raise InputError(f"unsupported {'HDR10' if hdr else 'SDR'} codec {codec!r}; choose {', '.join(table)}")
    if chroma not in ("420", "444"):
        raise InputError(f"chroma must be 420 or 444, got {chroma!r}")
    if chroma == "420" and (width % 2 or height % 2):
        raise InputError(f"odd frame size {width}×{height}: 4:2:0 needs even sizes (use --chroma 444)")
    if codec == "av1" and chroma == "444":
        raise InputError("SVT-AV1 encodes 4:2:0 only; use --codec hevc for 4:4:4")
    if codec == "hevc" and width < 64:
        # libx265 (as bundled with PyAV 18) corrupts the heap on frames narrower than one 64-pixel CTU
        raise InputError(f"frame width {width} is below the 64 pixels x265 needs; use --codec av1")
    if width < 2 or height < 2:
        raise InputError(f"frame size {width}×{height} is too small to encode")


def _check_output(path: Path) -> str:
    ext = path.suffix.lower()
    if ext not in CONTAINERS:
        raise InputError(f"video output must be {', '.join(CONTAINERS)}, got {path.name!r}")
    return ext


class VideoWriter:
    """Encode frames to a file (the caller wraps the path in ``hdrkit.io.atomic.atomic_path``).

    Parameters
    ----------
    path : output ``.mkv`` / ``.mp4`` / ``.mov``.
    width, height : frame size (4:2:0 needs even sizes).
    fps : frame rate (a ``Fraction`` keeps 24000/1001 exact).
    codec : ``"hevc"`` or ``"av1"`` (HDR10), plus ``"h264"`` for SDR.
    hdr : ``True`` for HDR10 (10-bit BT.2020 PQ), ``False`` for SDR (8-bit BT.709 BT.1886).
    chroma : ``"420"`` or ``"444"`` (mezzanine).
    crf, preset : encoder quality and speed (codec defaults in :data:`HDR_CODECS` / :data:`SDR_CODECS`).
    mastering, light : HDR10 static metadata (default: P3-D65 1000-nit display; light omitted if None).
    """

    def __init__(self, path: str | os.PathLike, width: int, height: int, fps: Fraction | float, codec: str = "hevc",
                 hdr: bool = True, chroma: str = "420", crf: Optional[float] = None, preset: Optional[str] = None,
                 mastering: Optional[MasteringDisplay] = None, light: Optional[ContentLight] = None):
        av = _av()
        self.path = Path(path)
        ext = _check_output(self.path)
        table = HDR_CODECS if hdr else SDR_CODECS
        if codec not in table:
            raise InputError(f"unsupported {'HDR10' if hdr else 'SDR'} codec {codec!r}; choose {', '.join(table)}")
        check_encodable(codec, width, height, chroma, hdr)
        encoder, default_crf, default_preset = table[codec]
        crf = default_crf if crf is None else crf
        if not (0 <= float(crf) <= 63):
            raise InputError(f"--crf must lie in [0, 63], got {crf}")
        preset = default_preset if preset is None else str(preset)
        self.hdr, self.chroma, self.codec = hdr, chroma, codec
        self.bits = 10 if hdr else 8
        self.pix_fmt = ("yuv444p" if chroma == "444" else "yuv420p") + ("10le" if hdr else "")
        self.mastering = mastering or MasteringDisplay() if hdr else None
        self.light = light
        opts: dict[str, str] = {"crf": f"{crf:g}" if isinstance(crf, float) else str(crf), "preset": preset}
        if encoder == "libx265":
            params = ["log-level=error", "repeat-headers=1"]
            if hdr:
                params += ["hdr10=1"] + (["hdr10-opt=1"] if chroma == "420" else []) + [f"master-display={self.mastering.x265()}",
                           "colorprim=bt2020", "transfer=smpte2084", "colormatrix=bt2020nc", "range=limited"]
                params += list(HDR_X265_PARAMS)
                if light is not None:
                    params.append(f"max-cll={light.max_cll},{light.max_fall}")
            else:
                params += ["colorprim=bt709", "transfer=bt709", "colormatrix=bt709", "range=limited"]
            params += ["pools=2", "frame-threads=2"]
            opts["x265-params"] = ":".join(params)
        elif encoder == "libsvtav1":
            params = []
            if hdr:
                params += list(HDR_SVTAV1_PARAMS)
                params.append(f"mastering-display={self.mastering.svtav1()}")
                if light is not None:
                    params.append(f"content-light={light.max_cll},{light.max_fall}")
            if params:
                opts["svtav1-params"] = ":".join(params)
        elif encoder == "libx264":
            opts["x264-params"] = "log-level=error:threads=2"
        try:
            self._container = av.open(str(self.path), "w", format={".mkv": "matroska", ".mp4": "mp4",
                                                                    ".mov": "mov"}[ext])
            rate = Fraction(fps).limit_denominator(1001000) if not isinstance(fps, Fraction) else fps
            self._stream = self._container.add_stream(encoder, rate=rate, options=opts)
        except (av.FFmpegError, ValueError) as exc:
            raise FormatError(f"cannot open the {encoder} encoder ({_why(exc)})") from None
        s = self._stream
        s.width, s.height, s.pix_fmt = int(width), int(height), self.pix_fmt
        cc = s.codec_context
        cc.color_primaries = _CODE["bt2020" if hdr else "bt709"]
        cc.color_trc = _CODE["pq" if hdr else "bt709"]
        cc.colorspace = _CODE["bt2020" if hdr else "bt709"]
        cc.color_range = 1
        if encoder == "libx265" and ext in (".mp4", ".mov"):
            s.codec_tag = "hvc1"
        if encoder == "libsvtav1":
            cc.thread_count = 2
        self._copies: dict[int, Any] = {}
        self.frames = 0
        q = K.plane_quant(self.bits, False)
        self._q = q
        self._hi = float(2**self.bits - 1)
        _, self._m = ycbcr_matrices("bt2020" if hdr else "bt709")
        self._sub = 1 if chroma == "420" else 0
        self.width, self.height = int(width), int(height)
        self._closed = False

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, *rest) -> None:
        self.close(flush=exc_type is None)

    def copy_streams(self, streams: list) -> None:
        """Add output streams copied from ``streams`` (audio/subtitle streams of an input container)."""
        av = _av()
        for s in streams:
            try:
                self._copies[s.index] = self._container.add_stream_from_template(s)
            except (av.FFmpegError, ValueError) as exc:
                raise FormatError(f"cannot copy {s.type} stream {s.index} ({s.codec_context.name}) into "
                                  f"{self.path.suffix}: {_why(exc)}; try .mkv") from None

    def mux_copy(self, packet) -> None:
        out = self._copies.get(packet.stream.index)
        if out is None:
            return
        packet.stream = out
        self._mux([packet])

    def new_planes(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        dtype = np.uint16 if self.bits > 8 else np.uint8
        cw, ch = (self.width // 2, self.height // 2) if self._sub else (self.width, self.height)
        return (np.empty((self.height, self.width), dtype), np.empty((ch, cw), dtype), np.empty((ch, cw), dtype))

    def write_rgb_prime(self, rgb_prime: np.ndarray, key: bool = False) -> None:
        """Encode R'G'B' code values in [0, 1] (PQ BT.2020 for HDR10, BT.1886 BT.709 for SDR); ``key``: make
        this frame an intra (key) frame."""
        rgb = np.ascontiguousarray(rgb_prime, dtype=np.float32)
        if rgb.shape != (self.height, self.width, 3):
            raise InputError(f"frame of shape {rgb.shape} for a {self.width}×{self.height} video")
        y, cb, cr = self.new_planes()
        K.rgb_to_planes(rgb, self._sub, self._q, self._m, self._hi, y, cb, cr)
        self.write_planes(y, cb, cr, key=key)

    def write_nits(self, nits: np.ndarray) -> None:
        """Encode absolute linear BT.2020 nits (HDR10 only)."""
        from hdrkit import color

        if not self.hdr:
            raise InputError("write_nits needs an HDR10 writer")
        self.write_rgb_prime(np.asarray(color.pq_inverse_eotf(np.clip(nits, 0, 10000)), dtype=np.float32))

    def write_nits_bands(self, bands) -> None:
        """Encode one frame of absolute linear BT.2020 nits (HDR10 only) given as row bands: an iterable of
        ``(r0, rows)`` (``rows``: ``n×W×3``, in order, covering the frame; with 4:2:0, ``r0`` and ``n`` even except
        at the bottom).  Only the output planes and one band's R'G'B' are held; the frame encoded is the same
        as :meth:`write_nits` of the whole frame, bit for bit."""
        from hdrkit import color

        if not self.hdr:
            raise InputError("write_nits_bands needs an HDR10 writer")
        y, cb, cr = self.new_planes()
        done = 0
        for r0, rows in bands:
            n = rows.shape[0]
            if r0 != done or rows.shape[1:] != (self.width, 3) or (self._sub and (r0 % 2 or (n % 2 and r0 + n != self.height))):
                raise InputError(f"band of rows {r0}…{r0 + n - 1} ({rows.shape}) does not continue a "
                                 f"{self.width}×{self.height} frame at row {done}")
            rgb = np.asarray(color.pq_inverse_eotf(np.clip(rows, 0, 10000)), dtype=np.float32)
            c0, c1 = (r0 // 2, (r0 + n) // 2) if self._sub else (r0, r0 + n)
            K.rgb_to_planes(rgb, self._sub, self._q, self._m, self._hi, y[r0:r0 + n], cb[c0:c1], cr[c0:c1])
            done = r0 + n
        if done != self.height:
            raise InputError(f"bands end at row {done} of a {self.height}-row frame")
        self.write_planes(y, cb, cr)

    def write_planes(self, y: np.ndarray, cb: np.ndarray, cr: np.ndarray, key: bool = False) -> None:
        av = _av()
        frame = av.VideoFrame(self.width, self.height, self.pix_fmt)
        for plane, arr in zip(frame.planes, (y, cb, cr)):
            itemsize = arr.dtype.itemsize
            view = np.frombuffer(plane, dtype=arr.dtype).reshape(-1, plane.line_size // itemsize)
            view[: arr.shape[0], : arr.shape[1]] = arr
        frame.pts = self.frames
        frame.color_range = 1
        if key:
            frame.pict_type = av.video.frame.PictureType.I
        self.frames += 1
        self._encode(frame)

    def _encode(self, frame) -> None:
        av = _av()
        try:
            packets = self._stream.encode(frame)
        except av.FFmpegError as exc:
            raise FormatError(f"encoding failed ({_why(exc)})") from None
        self._mux(packets)

    def _mux(self, packets) -> None:
        av = _av()
        try:
            self._container.mux(packets)
        except av.FFmpegError as exc:
            raise FormatError(f"writing {self.path.name} failed ({_why(exc)})") from None

    def close(self, flush: bool = True) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if flush:
                if self.frames == 0:
                    raise InputError("no frames to write")
                self._encode(None)
        finally:
            try:
                self._container.close()
            except _av().FFmpegError as exc:
                if flush:
                    raise FormatError(f"finishing {self.path.name} failed ({_why(exc)})") from None
