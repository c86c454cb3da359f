"""HDR video shipped as an SDR video + one embedded network per shot (``hdrkit video encode`` / ``decode``).

Encode (:func:`encode_video`), three passes, memory bounded (one frame, the encoder's look-ahead and the
sampled pixels: at most :attr:`VideoEncodeConfig.max_pool` per shot):

1. the HDR master is read once: shots are detected on it (:mod:`hdrkit.video.shots`, online), the SDR is the
   grade (``SDR_GRADE``) or the master tone mapped per frame (``--tmo``, :func:`hdrkit.codec.api.make_sdr`);
   it is encoded 8-bit BT.709 (H.264 or HEVC) with a key frame at every shot start; ``samples`` random pixels
   of every frame are kept (PQ targets), and the master's MaxCLL / MaxFALL measured;
2. the encoded SDR is decoded to read the 8-bit codes a decoder will see at those pixels;
3. per shot, a gamma-map network (:mod:`hdrkit.models.gammanet`, codec v2's family) is fitted on the shot's
   samples -- pixels across space *and* time, with online hard example mining
   (:func:`hdrkit.codec.adapt_gamma.adapt_gamma_samples`) -- warm-started from the previous shot's decoded
   weights; it is stored absolute or as a delta on the previous shot, whichever is smaller (quantised like the
   codec's blobs: ``fp16`` by default); the SDR packets are copied into the output with the records
   (:mod:`hdrkit.video.carriage`: SEI at each shot start + Matroska attachment).

Decode (:func:`decode_video`): streams the SDR, gives each frame its shot's network (the numba kernel of
:func:`hdrkit.models.gammanet.decode`, or :func:`~hdrkit.models.gammanet.decode_torch` on CUDA) and writes
HDR10 with the master's mastering display and MaxCLL / MaxFALL (:class:`hdrkit.video.io.VideoWriter`).

The trade-off knob of the encoder is ``steps`` (Adam steps per shot, ~2.6 ms each on one core whatever the
resolution) and ``samples`` (pixels kept per frame); docs/VIDEO.md measures them.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np

from hdrkit.errors import InputError, MetadataError
from hdrkit.progress import ProgressFn, report
from hdrkit.video import shots as S
from hdrkit.video.io import ContentLight, MasteringDisplay, VideoReader, VideoWriter, content_light_of


@dataclass(frozen=True)
class VideoEncodeConfig:
    """Settings of :func:`encode_video` (defaults: docs/VIDEO.md)."""

    steps: int = 1000  # Adam steps per shot (the speed/quality knob)
    samples: int = 4096  # pixels sampled per frame
    max_pool: int = 1 << 20  # most samples kept per shot (long shots keep every 2nd, 4th... frame)
    ohem: float = 0.25  # share of each batch from the hardest samples
    quant: str = "fp16"  # weights quantisation (hdrkit.codec.container)
    delta: bool = True  # store a shot as a delta on the previous one when that is smaller
    warm_start: bool = True  # start each shot's fitting from the previous shot's decoded weights
    seed: int = 0

    def __post_init__(self) -> None:
        from hdrkit.codec.container import QUANT

        if self.steps < 0 or self.samples < 16 or self.max_pool < self.samples:
            raise InputError(f"need steps ≥ 0, samples ≥ 16 and max_pool ≥ samples, got {self.steps}, "
                             f"{self.samples}, {self.max_pool}")
        if self.quant not in QUANT:
            raise InputError(f"quantisation must be one of {sorted(QUANT)}, got {self.quant!r}")
        if not 0 <= self.ohem < 1:
            raise InputError(f"ohem share must be in [0, 1), got {self.ohem}")


@dataclass
class ShotInfo:
    index: int
    first_frame: int
    frames: int
    record_bytes: int
    delta: bool
    adapt_cpu_s: float
    val_loss: float


@dataclass
class VideoEncodeResult:
    output: str
    frames: int
    width: int
    height: int
    fps: float
    shots: List[ShotInfo]
    sdr_bytes: int  # the SDR video stream's packets, without the metadata
    metadata_bytes: int  # what the SEI NAL units add to the video stream
    attachment_bytes: int  # the Matroska attachment (0 for MP4)
    content_light: ContentLight
    seconds: float
    cpu_seconds: float
    passes: Dict[str, float] = field(default_factory=dict)


def sdr_codes(reader: VideoReader, frame) -> np.ndarray:
    """A decoded SDR frame as the 8-bit BT.709 R'G'B' codes both the encoder (pass 2) and the decoder use."""
    rgb = reader.convert(reader.to_rgb_prime(frame))
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)


def sdr_codes_at(reader: VideoReader, frame, pos: np.ndarray) -> np.ndarray:
    """:func:`sdr_codes` of the pixels at flat positions ``pos`` only ``(N, 3)``: the same per-pixel conversion
    (the reader's chroma is nearest-neighbour, so gathering the planes first is exact)."""
    from hdrkit.video import _kernels as K
    from hdrkit.video.io import ycbcr_matrices

    if reader.info.chroma == "rgb":
        return sdr_codes(reader, frame).reshape(-1, 3)[pos]
    y, cb, cr, sx, sy = reader.frame_planes(frame)
    W = y.shape[1]
    r, c = pos // W, pos % W
    ys = np.ascontiguousarray(y[r, c])[:, None]
    cbs = np.ascontiguousarray(cb[r >> sy, c >> sx])[:, None]
    crs = np.ascontiguousarray(cr[r >> sy, c >> sx])[:, None]
    out = np.empty((len(pos), 1, 3), np.float32)
    m_in, _ = ycbcr_matrices(reader.info.matrix)
    K.planes_to_rgb(ys, cbs, crs, 0, 0, reader.frame_quant(frame), m_in, out)
    rgb = reader.convert(out)
    return np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8).reshape(-1, 3)


def _mastering_of(md: Optional[dict], peak: float) -> MasteringDisplay:
    if md and md.get("has_luminance") and md.get("max_nits", 0) > 0:
        prim = "bt2020" if md.get("has_primaries") and md["primaries"][0][0] > 0.69 else "p3d65"
        lo = float(md.get("min_nits", 0.0001))
        hi = float(md["max_nits"])
        if 0 <= lo < hi <= 10000:
            return MasteringDisplay.named(prim, max_nits=hi, min_nits=lo)
    return MasteringDisplay.named("p3d65", max_nits=max(min(peak, 10000.0), 100.0))


class _Pool:
    """Sampled pixels of the frames of one shot: ``(frame, flat positions, PQ targets)``, bounded."""

    def __init__(self, first: int, max_pool: int):
        self.first, self.max_pool, self.every = first, max_pool, 1
        self.frames: Dict[int, tuple] = {}

    def wants(self, t: int) -> bool:
        return (t - self.first) % self.every == 0

    def add(self, t: int, pos: np.ndarray, pq: np.ndarray) -> None:
        self.frames[t] = (pos, pq)
        while sum(len(p) for p, _ in self.frames.values()) > self.max_pool:
            self.every *= 2
            self.frames = {k: v for k, v in self.frames.items() if (k - self.first) % self.every == 0}


def _light_of_pq(pq: np.ndarray) -> tuple[float, float]:
    """:func:`hdrkit.video.io.frame_light` from PQ code values (the EOTF is monotonic: max(R,G,B) is taken on
    the code values, then one channel is linearised)."""
    from hdrkit import color

    m = np.asarray(color.pq_eotf(np.asarray(pq, np.float32).max(axis=-1)), np.float64)
    return float(m.max()), float(m.mean())


def _positions(seed: int, t: int, n: int, count: int) -> np.ndarray:
    return np.random.default_rng([seed, t]).integers(0, n, count).astype(np.int64)


def encode_video(master: str | os.PathLike, out: str | os.PathLike, sdr_grade: Optional[str | os.PathLike] = None,
                 *, tmo: Optional[str] = None, codec: str = "h264", crf: Optional[float] = None,
                 preset: Optional[str] = None, config: VideoEncodeConfig = VideoEncodeConfig(),
                 threshold: float = S.DEFAULT_THRESHOLD, min_length: int = S.DEFAULT_MIN_LENGTH,
                 progress: Optional[ProgressFn] = None) -> VideoEncodeResult:
    """Encode an HDR master (HDR10 / HLG video) as an SDR video (``out``: .mkv, .mp4 or .mov) carrying one
    gamma-map network per shot.  ``sdr_grade``: the SDR version of the same frames (else ``tmo`` makes it).
    Atomic: nothing is left behind on any error."""
    from hdrkit import color
    from hdrkit.codec.api import check_tmo, make_sdr
    from hdrkit.tonemap import DEFAULT_OPERATOR, get_operator
    from hdrkit.tonemap.lut import tonemap_lut_pq, youtube_lut
    from hdrkit.io.atomic import atomic_path
    from hdrkit.video.expand import _check_complete, _Rate
    from hdrkit.video.io import SDR_CODECS, _check_output, check_encodable

    t0, c0 = time.perf_counter(), time.process_time()
    out = Path(out)
    _check_output(out)
    if codec not in ("h264", "hevc") or codec not in SDR_CODECS:
        raise InputError(f"the SDR of a metadata-carrying video must be h264 or hevc (SEI carriage), got {codec!r}")
    check_tmo(tmo)
    with VideoReader(master) as hr:
        info = hr.info
    if not info.is_hdr:
        raise InputError(f"{Path(master).name} is SDR (transfer {info.transfer}); video encode takes an HDR master")
    W, H = info.width, info.height
    check_encodable(codec, W, H, "420", hdr=False)
    if sdr_grade is not None:
        with VideoReader(sdr_grade) as sr:
            si = sr.info
        if si.is_hdr:
            raise InputError(f"{Path(sdr_grade).name} is HDR (transfer {si.transfer}); the grade must be SDR")
        if (si.width, si.height) != (W, H):
            raise InputError(f"SDR grade {si.width}×{si.height} and master {W}×{H} sizes differ")
    cfg = config
    n_pix = W * H
    passes: Dict[str, float] = {}
    pools: List[_Pool] = []
    lights = [0.0, 0.0]
    cuts: List[int] = [0]
    with contextlib.ExitStack() as stack:
        tmpdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hdrkit-venc-")))
        sdr_tmp = tmpdir / f"sdr{out.suffix.lower() if out.suffix.lower() != '.mov' else '.mp4'}"
        # ---------------------------------------------------------------- pass 1: master -> SDR + samples
        hr = stack.enter_context(VideoReader(master))
        sr = stack.enter_context(VideoReader(sdr_grade)) if sdr_grade is not None else None
        grade = sr.frames() if sr is not None else None
        rate = hr.stream.average_rate or info.fps or 24
        fps = float(rate)
        copies = hr.copyable_streams()
        prog = _Rate(progress, "pass 1/3: SDR + samples", info.frames)
        lut_on_pq = get_operator(tmo or DEFAULT_OPERATOR).name == "youtube"
        lut = youtube_lut() if lut_on_pq else None
        prev_hsv = None
        t = 0
        with VideoWriter(sdr_tmp, W, H, rate, codec=codec, hdr=False, crf=crf, preset=preset) as wr, \
                ThreadPoolExecutor(1) as worker:
            # two stages on two cores: this thread reads the master (decode, Y'CbCr → PQ, samples, shots), the
            # worker tone maps and encodes the SDR; one worker keeps the order, ≤ 2 frames wait (bounded memory)
            pending: deque = deque()

            def submit(fn, *args) -> None:
                pending.append(worker.submit(fn, *args))
                while len(pending) > 2:
                    pending.popleft().result()

            def write(nits, pq, sdr, key) -> None:
                if sdr is None:
                    sdr = make_sdr(nits, tmo) if nits is not None else tonemap_lut_pq(pq, lut)
                wr.write_rgb_prime(np.asarray(sdr, np.float32), key=key)

            wr.copy_streams(copies)
            for frame in hr.decoded(copies, lambda p: submit(wr.mux_copy, p)):
                rgb = hr.to_rgb_prime(frame)
                if hr.info.transfer == "pq" and hr.info.primaries == "bt2020":
                    pq = np.clip(rgb, 0.0, 1.0)
                    # the default operator (the YouTube LUT) takes PQ code values: no EOTF round trip
                    nits = None if grade is not None or lut_on_pq else hr.convert(rgb)
                else:
                    nits = hr.convert(rgb)
                    pq = np.asarray(color.pq_inverse_eotf(np.clip(nits, 0, 10000)), np.float32)
                hsv = S.hsv_thumbnail(pq)
                score = S.content_score(prev_hsv, hsv)
                prev_hsv = hsv
                if t > 0 and score >= threshold and t - cuts[-1] >= min_length:
                    cuts.append(t)
                if t == 0 or cuts[-1] == t:
                    pools.append(_Pool(t, cfg.max_pool))
                mx, mean = _light_of_pq(pq)
                lights = [max(lights[0], mx), max(lights[1], mean)]
                if pools[-1].wants(t):
                    pos = _positions(cfg.seed, t, n_pix, cfg.samples)
                    pools[-1].add(t, pos, pq.reshape(-1, 3)[pos].astype(np.float32))
                sdr = None
                if grade is not None:
                    try:
                        sdr = next(grade)
                    except StopIteration:
                        raise InputError(f"the SDR grade has fewer frames than the master ({t})") from None
                submit(write, nits, pq, sdr, cuts[-1] == t)
                t += 1
                prog(t)
            while pending:
                pending.popleft().result()
            _check_complete(hr, t)
            if grade is not None and next(grade, None) is not None:
                raise InputError("the SDR grade has more frames than the master")
        n_frames = t
        md = hr.mastering_display
        passes["pass1_s"] = time.perf_counter() - t0
        # ---------------------------------------------------------------- pass 2: the codes a decoder sees
        t1 = time.perf_counter()
        want = {k: p for p in pools for k in p.frames}
        frame_pts: List[Optional[int]] = []
        codes_of: Dict[int, np.ndarray] = {}
        with VideoReader(sdr_tmp) as rd:
            prog = _Rate(progress, "pass 2/3: reading the SDR back", n_frames)
            for k, frame in enumerate(rd.decoded()):
                frame_pts.append(frame.pts)
                if k in want:
                    pos = want[k].frames[k][0]
                    codes_of[k] = sdr_codes_at(rd, frame, pos)
                prog(k + 1)
            tb = rd.stream.time_base
        if len(frame_pts) != n_frames:
            raise InputError(f"the SDR written has {len(frame_pts)} frames, the master {n_frames}")
        passes["pass2_s"] = time.perf_counter() - t1
        # ---------------------------------------------------------------- per-shot fitting
        t2 = time.perf_counter()
        light = content_light_of(lights[0], lights[1])
        mastering = _mastering_of(md, lights[0])
        shots, records, starts = _fit_shots(pools, codes_of, cuts, n_frames, frame_pts, (tb.numerator,
                                            tb.denominator), W, H, cfg, light, mastering, progress)
        passes["fit_s"] = time.perf_counter() - t2
        # ---------------------------------------------------------------- pass 3: remux with the records
        t3 = time.perf_counter()
        from hdrkit.video import carriage as C
        from hdrkit.video import metadata as M

        sdr_bytes = _video_bytes(sdr_tmp)
        with atomic_path(out) as tmp:
            added = C.remux_with_records(sdr_tmp, tmp, records, starts)
        attach = len(M.pack_track(records)) if out.suffix.lower() == ".mkv" else 0
        passes["pass3_s"] = time.perf_counter() - t3
    seconds = time.perf_counter() - t0
    return VideoEncodeResult(str(out), n_frames, W, H, fps, shots, sdr_bytes, added, attach, light, seconds,
                             time.process_time() - c0, passes)


def _video_bytes(path) -> int:
    import av

    with av.open(str(path)) as c:
        s = c.streams.video[0]
        return sum(p.size for p in c.demux(s))


def _fit_shots(pools, codes_of, cuts, n_frames, frame_pts, time_base, W, H, cfg: VideoEncodeConfig, light, mastering,
               progress):
    from hdrkit.codec.adapt_gamma import GammaAdaptConfig, adapt_gamma_samples
    from hdrkit.codec.container import Container, Signal, dequantised, pack
    from hdrkit.models.gammanet import GammaConfig, init_params
    from hdrkit.video import metadata as M

    gcfg = GammaConfig()
    acfg = GammaAdaptConfig(steps=cfg.steps, ohem=cfg.ohem, seed=cfg.seed)
    prev = None  # the previous shot's weights as the decoder reconstructs them
    shots, records, starts = [], [], []
    bounds = cuts + [n_frames]
    sig = dict(hdr=Signal("bt2020", "pq", float(mastering.max_nits)), sdr=Signal("bt709", "bt1886", 203.0),
               width=W, height=H)
    for k, pool in enumerate(pools):
        first, count = bounds[k], bounds[k + 1] - bounds[k]
        ts = sorted(pool.frames)
        pos = np.concatenate([pool.frames[t][0] for t in ts])
        pq = np.concatenate([pool.frames[t][1] for t in ts])
        codes = np.concatenate([codes_of[t] for t in ts])
        rc = np.stack([pos // W, pos % W], axis=1)
        theta = prev if (prev is not None and cfg.warm_start) else init_params(gcfg)
        c0 = time.process_time()
        w, info = adapt_gamma_samples(codes, pq, rc, H, W, theta, gcfg, acfg,
                                      progress=None if progress is None else
                                      (lambda d, tot, text, k=k: report(progress, d, tot, f"shot {k + 1}/"
                                                                        f"{len(pools)}: {text}")))
        cpu = time.process_time() - c0
        blob_abs = pack(Container(cfg=gcfg, weights=w, quant=cfg.quant, **sig))
        rec_abs = dequantised(w, cfg.quant)
        choice = (blob_abs, rec_abs, False)
        if cfg.delta and prev is not None:
            d = {n: (w[n] - prev[n]).astype(np.float32) for n in w}
            blob_d = pack(Container(cfg=gcfg, weights=d, quant=cfg.quant, **sig))
            rec_d = M.delta_apply(prev, dequantised(d, cfg.quant))
            rec_len = lambda b: len(M.pack_record(M.ShotRecord(0, 0, 1, 0, (1, 1), b)))  # noqa: E731
            if rec_len(blob_d) < rec_len(blob_abs):
                choice = (blob_d, rec_d, True)
        blob, prev, is_delta = choice
        pts = frame_pts[first]
        if pts is None:
            raise InputError(f"frame {first} of the SDR has no time stamp")
        rec = M.pack_record(M.ShotRecord(k, first, count, int(pts), time_base, blob, is_delta, light.max_cll,
                                         light.max_fall, "bt2020" if mastering.primaries[0][0] > 0.69 else "p3d65",
                                         mastering.max_nits, mastering.min_nits))
        records.append(rec)
        starts.append(int(pts))
        shots.append(ShotInfo(k, first, count, len(rec), is_delta, cpu, float(info.checks[-1][1]) if info.checks
                              else float("nan")))
    return shots, records, starts


# ------------------------------------------------------------------------------------------------- decode
@dataclass
class VideoDecodeResult:
    output: str
    frames: int
    width: int
    height: int
    shots: int
    device: str
    seconds: float
    cpu_seconds: float
    fps: float
    decode_seconds: float = 0.0  # the networks alone (kernel / CUDA), all frames


def resolve_decode_device(device: Optional[str]) -> str:
    """``None``/``"auto"`` → ``"cuda"`` when torch sees a CUDA GPU, else ``"cpu"`` (the numba kernel)."""
    if device in (None, "auto"):
        try:
            import torch

            return "cuda" if torch.cuda.is_available() else "cpu"
        except ImportError:
            return "cpu"
    if device == "cpu":
        return "cpu"
    if str(device).startswith("cuda"):
        try:
            import torch
        except ImportError:
            raise InputError("--device cuda needs torch") from None
        if not torch.cuda.is_available():
            raise InputError("--device cuda: torch sees no CUDA GPU")
        return str(device)
    raise InputError(f"--device must be auto, cpu or cuda, got {device!r}")


def decode_video(src: str | os.PathLike, dst: str | os.PathLike, *, codec: str = "hevc", crf: Optional[float] = None,
                 preset: Optional[str] = None, device: Optional[str] = None, threads: Optional[int] = None,
                 progress: Optional[ProgressFn] = None) -> VideoDecodeResult:
    """SDR video with per-shot metadata → HDR10 video (HEVC Main 10 / AV1 10-bit), atomically; audio and
    subtitles copied.  A file without hdrkit metadata raises :class:`MetadataError` before anything is written."""
    from hdrkit.io.atomic import atomic_path
    from hdrkit.models import gammanet
    from hdrkit.models._fusednet import default_threads
    from hdrkit.video.carriage import RecordCollector, first_records
    from hdrkit.video.expand import _check_complete, _Rate
    from hdrkit.video.io import _check_output, check_encodable

    t0, c0 = time.perf_counter(), time.process_time()
    dst = Path(dst)
    _check_output(dst)
    with VideoReader(src) as probe_reader:
        info = probe_reader.info
    if info.is_hdr:
        raise InputError(f"{Path(src).name} is already HDR ({info.transfer.upper()}); video decode takes the SDR "
                         "video that `hdrkit video encode` wrote")
    check_encodable(codec, info.width, info.height, "420", hdr=True)
    if info.codec not in ("h264", "hevc"):
        raise MetadataError(f"{Path(src).name} has no hdrkit shot metadata ({info.codec} video; hdrkit writes it "
                            "into H.264/HEVC)")
    first = first_records(src)
    if first is None:
        raise MetadataError(f"{Path(src).name} has no hdrkit shot metadata (not written by `hdrkit video encode`, "
                            "or re-encoded since)")
    dev = resolve_decode_device(device)
    threads = threads or default_threads()
    W, H = info.width, info.height
    light = ContentLight(first.max_cll, first.max_fall) if first.max_cll > 0 else None
    mastering = MasteringDisplay.named(first.mastering, max_nits=first.mastering_max, min_nits=first.mastering_min)
    n = 0
    dec_s = 0.0
    with VideoReader(src) as reader, atomic_path(dst) as tmp:
        coll = RecordCollector(reader.container, reader.stream, W, H)
        copies = reader.copyable_streams()
        with VideoWriter(tmp, W, H, reader.stream.average_rate or info.fps or 24, codec=codec, hdr=True,
                         crf=crf, preset=preset, mastering=mastering, light=light) as writer:
            writer.copy_streams(copies)
            prog = _Rate(progress, f"decoding ({dev})", info.frames)
            current, tables = None, None
            for frame in reader.decoded(copies, writer.mux_copy, on_video_packet=coll.packet):
                c = coll.network(frame.pts, n)
                codes = sdr_codes(reader, frame)
                td = time.perf_counter()
                if dev == "cpu":
                    pq = gammanet.decode(c.weights, codes, c.cfg, threads=threads)
                else:
                    if c is not current:
                        tables = gammanet.torch_tables(c.weights, c.cfg, H, W, dev)
                        current = c
                    pq = gammanet.decode_torch(c.weights, codes, c.cfg, dev, tables=tables)
                dec_s += time.perf_counter() - td
                writer.write_rgb_prime(pq)
                n += 1
                prog(n)
            _check_complete(reader, n)
    seconds = time.perf_counter() - t0
    return VideoDecodeResult(str(dst), n, W, H, len(coll.chain.containers), dev, seconds,
                             time.process_time() - c0, n / seconds if seconds > 0 else 0.0, dec_s)
