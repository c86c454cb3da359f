"""HDR shipped as SDR + an embedded meta-learned MLP: encode (adapt + embed) and decode.

``encode_arrays`` fits the network (Algorithm 2 from theta_init) to one (SDR, HDR) pair and returns the metadata
blob; ``encode_file`` does the whole job for files (tone maps when no SDR grade is given, compresses the SDR,
adapts on the pixels a decoder will read back, embeds the blob); ``decode_file`` reads an encoded picture and
returns the HDR rendition as PQ code values and absolute nits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

import numpy as np

from hdrkit.codec.container import Container, Signal, pack, unpack
from hdrkit.errors import InputError
from hdrkit.progress import ProgressFn

if TYPE_CHECKING:  # the fitting imports torch; decoding must not
    from hdrkit.codec.adapt import AdaptConfig, AdaptInfo
    from hdrkit.codec.adapt_gamma import GammaAdaptConfig

DEFAULT_QUANT = "fp16"


@dataclass
class EncodeResult:
    blob: bytes
    adapt_seconds: float
    info: "AdaptInfo"
    adapt_cpu_seconds: float = 0.0  # process CPU time of the adaptation (= wall time on an otherwise idle core)
    carrier: str = ""
    sdr_pixels: Optional[np.ndarray] = None  # what the decoder sees (uint8)
    added_bytes: int = 0  # what the written file adds to the plain SDR picture (encode_file; headers included)
    extra: dict = field(default_factory=dict)


def hdr_to_pq(hdr_nits: np.ndarray) -> np.ndarray:
    """Absolute BT.2020 nits -> PQ code values (negatives to 0, above 10,000 nits to 1)."""
    from hdrkit import color

    x = np.clip(np.asarray(hdr_nits, dtype=np.float32), 0, 10000)
    return np.asarray(color.pq_inverse_eotf(x), dtype=np.float32)


def default_adapt_config(theta_init: str | Path | None = None):
    """The default fitting settings of the family that ``theta_init`` holds (:class:`GammaAdaptConfig` for the
    gamma family, the default; :class:`AdaptConfig` for SIREN initialisations)."""
    from hdrkit.codec.weights import load_theta
    from hdrkit.models.gammanet import GammaConfig

    if theta_init is None:
        from hdrkit.codec.adapt_gamma import GammaAdaptConfig

        return GammaAdaptConfig()
    cfg, _ = load_theta(theta_init)
    if isinstance(cfg, GammaConfig):
        from hdrkit.codec.adapt_gamma import GammaAdaptConfig

        return GammaAdaptConfig()
    from hdrkit.codec.adapt import AdaptConfig

    return AdaptConfig()


def encode_arrays(
    sdr: np.ndarray,
    hdr_nits: np.ndarray,
    *,
    adapt_cfg: Optional[AdaptConfig | GammaAdaptConfig] = None,
    quant: str = DEFAULT_QUANT,
    theta_init: str | Path | None = None,
    peak_nits: Optional[float] = None,
    device=None,
    progress: Optional[ProgressFn] = None,
) -> EncodeResult:
    """Adapt the embedded network to (``sdr`` code values in [0,1] or uint8, ``hdr_nits`` BT.2020) and pack the
    blob.  The family is the one ``theta_init`` holds; with ``theta_init`` None it is chosen by the type of
    ``adapt_cfg``: None or a :class:`hdrkit.codec.adapt_gamma.GammaAdaptConfig` -> the shipped gamma-family
    initialisation (the default), a :class:`hdrkit.codec.adapt.AdaptConfig` -> the shipped SIREN theta_init."""
    from hdrkit.codec.adapt import AdaptConfig, adapt
    from hdrkit.codec.adapt_gamma import GammaAdaptConfig, adapt_gamma
    from hdrkit.codec.weights import load_theta
    from hdrkit.models.gammanet import GammaConfig

    if theta_init is None and isinstance(adapt_cfg, AdaptConfig):
        theta_init = "siren"
    if np.asarray(sdr).dtype == np.uint8:
        sdr_u8 = np.ascontiguousarray(sdr)
        sdr = np.asarray(sdr, dtype=np.float32) / 255.0
    else:
        sdr_u8 = None
    sdr = np.ascontiguousarray(sdr, dtype=np.float32)
    hdr_nits = np.asarray(hdr_nits, dtype=np.float32)
    if sdr.shape != hdr_nits.shape or sdr.ndim != 3 or sdr.shape[2] != 3:
        raise InputError(f"SDR {sdr.shape} and HDR {hdr_nits.shape} must be matching H x W x 3 images")
    if not (np.isfinite(sdr).all() and np.isfinite(hdr_nits).all()):
        raise InputError("input pixels contain NaN or Inf")
    cfg, theta = load_theta(theta_init)
    gamma = isinstance(cfg, GammaConfig)
    if adapt_cfg is None:
        adapt_cfg = GammaAdaptConfig() if gamma else AdaptConfig()
    if gamma != isinstance(adapt_cfg, GammaAdaptConfig):
        raise InputError(f"{type(adapt_cfg).__name__} does not fit the {'gamma' if gamma else 'SIREN'}-family "
                         f"initialisation {theta_init}")
    pq = hdr_to_pq(hdr_nits)
    t0, c0 = time.perf_counter(), time.process_time()
    if gamma:
        if device is not None and str(device) != "cpu":
            raise InputError("the gamma-map family fits on the CPU (it takes seconds); for a GPU use --init siren")
        if sdr_u8 is None:  # the decoder reads 8-bit codes
            sdr_u8 = np.clip(np.rint(sdr * 255), 0, 255).astype(np.uint8)
        weights, info = adapt_gamma(sdr_u8, pq, theta, cfg, adapt_cfg, progress=progress)
    else:
        params, info = adapt(sdr, pq, theta, cfg, adapt_cfg, device=device, progress=progress)
        weights = {k: v.numpy() for k, v in params.items()}
    seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
    peak = float(peak_nits) if peak_nits else float(max(np.max(hdr_nits), 1.0))
    c = Container(cfg=cfg, weights=weights, quant=quant,
                  hdr=Signal("bt2020", "pq", min(peak, 10000.0)), sdr=Signal("bt709", "bt1886", 203.0),
                  width=sdr.shape[1], height=sdr.shape[0])
    return EncodeResult(pack(c), seconds, info, adapt_cpu_seconds=cpu)


def decode_arrays(blob: bytes, sdr: np.ndarray, *, device=None, chunk: Optional[int] = None,
                  progress: Optional[ProgressFn] = None, threads: Optional[int] = None,
                  codes16: bool = False) -> np.ndarray:
    """PQ code values (H x W x 3, clipped to [0, 1]) from a blob and the SDR pixels it travelled with (on the
    CPU through the fused kernel, without importing torch; ``threads`` worker threads).  Metadata asking for
    more than the budget's ``max_decode_cost`` (parameters × pixels, :mod:`hdrkit.io.limits`) is refused first.
    ``codes16``: the 16-bit codes ``rint(PQ * 65535)`` (uint16) instead, straight from the gamma family's kernel
    (the other families quantise their float output the same way)."""
    from hdrkit.io.limits import check_decode_cost
    from hdrkit.models import gammanet

    c = unpack(blob)
    check_decode_cost("hdrkit metadata", sum(int(v.size) for v in c.weights.values()),
                      int(np.prod(np.shape(sdr)[:2])))
    if isinstance(c.cfg, gammanet.GammaConfig):  # output already in [0, 1]
        if device is not None and str(device) != "cpu":
            raise InputError("the gamma-family decoder runs on the CPU (--device cpu)")
        return gammanet.decode(c.weights, np.asarray(sdr), c.cfg, threads=threads, progress=progress,
                               codes16=codes16, **({"chunk": chunk} if chunk else {}))
    from hdrkit.models.fast import decode_pq

    out = decode_pq(c.weights, sdr, c.cfg, chunk=chunk, device=device, progress=progress, threads=threads)
    out = np.clip(out, 0.0, 1.0, out=out)
    if codes16:
        from hdrkit.io.write import _quantise

        return _quantise(out, 16, threads or 1)
    return out


def make_sdr(hdr_nits: np.ndarray, tmo: Optional[str] = None, tmo_params: Optional[dict] = None) -> np.ndarray:
    """SDR grade when none is given: the operator ``tmo`` of :data:`hdrkit.tonemap.OPERATORS` with
    ``tmo_params`` (default: :data:`hdrkit.tonemap.DEFAULT_OPERATOR`, the bundled YouTube LUT)."""
    from hdrkit.tonemap import DEFAULT_OPERATOR, tonemap

    return tonemap(np.asarray(hdr_nits, dtype=np.float32), tmo or DEFAULT_OPERATOR, **(tmo_params or {}))


def check_tmo(tmo: Optional[str]) -> None:
    """Refuse an unknown ``--tmo`` name (also when an SDR grade is given and it would not be used)."""
    from hdrkit.tonemap import get_operator

    if tmo is not None:
        get_operator(tmo)


def read_pair(hdr_path: str | Path, sdr_path: Optional[str | Path], tmo: Optional[str] = None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The HDR master as absolute BT.2020 nits (clipped to [0, 10000]) and its 8-bit SDR grade (read from
    ``sdr_path``, or made with ``tmo`` when it is None); shared by every ``hdrkit encode`` method."""
    from hdrkit import color
    from hdrkit.io import read_image

    check_tmo(tmo)
    hdr_img = read_image(hdr_path)
    hdr_nits = np.clip(color.to_nits(hdr_img), 0, 10000).astype(np.float32)
    if sdr_path is not None:
        sdr_img = read_image(sdr_path)
        if sdr_img.pixels.shape != hdr_img.pixels.shape:
            raise InputError(f"SDR {sdr_img.pixels.shape[1]}x{sdr_img.pixels.shape[0]} and HDR "
                             f"{hdr_img.pixels.shape[1]}x{hdr_img.pixels.shape[0]} sizes differ")
        if sdr_img.transfer in ("linear", "pq", "hlg"):
            raise InputError(f"{Path(sdr_path).name} is not an SDR picture (transfer {sdr_img.transfer})")
        sdr = sdr_img.pixels
    else:
        sdr = make_sdr(hdr_nits, tmo)
    return hdr_nits, np.clip(np.round(np.asarray(sdr) * 255), 0, 255).astype(np.uint8)


def encode_file(
    hdr_path: str | Path,
    sdr_path: Optional[str | Path],
    out: str | Path,
    *,
    tmo: Optional[str] = None,
    adapt_cfg: Optional[AdaptConfig] = None,
    quant: str = DEFAULT_QUANT,
    quality: int = 95,
    theta_init: str | Path | None = None,
    device=None,
    progress: Optional[ProgressFn] = None,
) -> EncodeResult:
    """Read the HDR master (and SDR grade), adapt, write ``out`` = SDR picture + embedded MLP."""
    from hdrkit.codec.adapters import SdrWriter
    from hdrkit.io import format_of

    format_of(out)  # an unsupported output extension is refused before any work
    hdr_nits, sdr_u8 = read_pair(hdr_path, sdr_path, tmo)
    writer = SdrWriter(out, sdr_u8, quality)
    seen = writer.pixels()
    res = encode_arrays(seen, hdr_nits, adapt_cfg=adapt_cfg, quant=quant, theta_init=theta_init, device=device,
                        progress=progress)
    res.added_bytes = writer.commit(res.blob)
    res.carrier = writer.kind
    res.sdr_pixels = seen
    return res


def decode_file(path: str | Path, *, device=None, chunk: Optional[int] = None,
                progress: Optional[ProgressFn] = None, threads: Optional[int] = None,
                codes16: bool = False) -> tuple[np.ndarray, Container]:
    """``(pq H x W x 3 in [0, 1], container)`` from an encoded picture; ``MetadataError`` when it has none.
    ``codes16``: the PQ as uint16 codes (:func:`decode_arrays`)."""
    from hdrkit.codec.adapters import read_blob
    from hdrkit.errors import MetadataError
    from hdrkit.io.read import read_codes8

    blob = read_blob(path)
    c = unpack(blob)
    sdr = _read_codes_warming(path, c, device, codes16)  # the 8-bit codes the encoder saw
    h, w = sdr.shape[:2]
    if (c.width, c.height) != (w, h):
        raise MetadataError(f"{Path(path).name} is {w}x{h} but its hdrkit metadata was made for "
                            f"{c.width}x{c.height} (the picture was resized after encoding)")
    return decode_arrays(blob, sdr, device=device, chunk=chunk, progress=progress, threads=threads,
                         codes16=codes16), c


def _read_codes_warming(path, c: Container, device, codes16: bool = False) -> np.ndarray:
    """:func:`~hdrkit.io.read.read_codes8` of ``path`` while another thread builds the gamma family's fused
    kernel (llvmlite's import and the compilation, ~0.1-0.2 s of one-time start-up; the JPEG decode and the
    compilation release the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    from hdrkit.io.read import read_codes8
    from hdrkit.models import gammanet

    if not isinstance(c.cfg, gammanet.GammaConfig) or (device is not None and str(device) != "cpu"):
        return read_codes8(path)
    with ThreadPoolExecutor(1) as pool:  # a 1-pixel decode: the same argument types as the real one
        warm = pool.submit(gammanet.decode, c.weights, np.zeros((1, 1, 3), np.uint8), c.cfg, threads=1,
                           codes16=codes16)
        sdr = read_codes8(path)
        warm.result()
    return sdr


@dataclass
class DecodedFile:
    """What :func:`decode_to_file` wrote: ``source`` is ``"mlp"`` (hdrkit metadata) or ``"gainmap"``;
    ``detail`` describes the gain map; ``peak_nits`` is the content peak of hdrkit metadata."""

    source: str
    peak_nits: float = 0.0
    detail: str = ""


def decode_to_file(src: str | Path, out: str | Path, *, device=None, threads: Optional[int] = None,
                   progress: Optional[ProgressFn] = None) -> DecodedFile:
    """What ``hdrkit decode SRC -o OUT`` does: decode an hdrkit picture (embedded MLP) or any gain-map JPEG
    and write ``out`` atomically: .png/.tif = 16-bit PQ BT.2020 (HDR10); float formats (.exr/.hdr/.pfm) = PQ
    for hdrkit metadata, linear (1.0 = 100 nits, in the map's gamut) for a gain map."""
    from hdrkit.codec.ultrahdr import sniff_ultrahdr
    from hdrkit.errors import MetadataError
    from hdrkit.io import Image, write_image

    from hdrkit.models._fusednet import default_threads

    src, out = Path(src), Path(out)
    threads = threads or default_threads()  # the kernel's and the PNG writer's
    if out.suffix.lower() not in (".png", ".tif", ".tiff", ".exr", ".hdr", ".pfm"):
        raise InputError(f"cannot write HDR as {out.suffix or 'an extension-less file'}; use .png, .tif or .exr")
    bits = 16 if out.suffix.lower() in (".png", ".tif", ".tiff") else None
    if sniff_ultrahdr(src):  # gain-map JPEG: `hdrkit encode --method gainmap`, libultrahdr, a phone, Apple
        from hdrkit import color
        from hdrkit.codec.ultrahdr import decode_ultrahdr

        nits, f = decode_ultrahdr(src)
        if bits is None:  # float output: linear in the gamut the map was applied in, 1.0 = 100 nits
            lin = color.convert_primaries(nits, "bt2020", f.space) / 100.0
            img = Image(lin.astype("float32"), primaries=f.space, transfer="linear", nits_per_unit=100.0)
        else:
            img = Image(color.pq_inverse_eotf(nits).astype("float32"), primaries="bt2020", transfer="pq")
        write_image(out, img, bit_depth=bits, png_compression=1, threads=threads)
        kind = {"iso": "ISO 21496-1", "xmp": "Adobe hdrgm XMP", "apple": "Apple HDRGainMap"}[f.source]
        return DecodedFile("gainmap", detail=f"{f.metadata.channels}-channel gain map ({kind}, headroom "
                                              f"{2 ** f.metadata.capacity_max:.2f}x)")
    png16 = bits == 16 and out.suffix.lower() == ".png"  # the kernel writes the 16-bit codes themselves
    try:
        pq, c = decode_file(src, device=device, progress=progress, threads=threads, codes16=png16)
    except MetadataError as exc:
        if src.suffix.lower() in (".jpg", ".jpeg") and "no hdrkit metadata" in str(exc):
            raise MetadataError(f"{src.name} has no gain map and no hdrkit metadata: a plain JPEG, nothing to "
                                f"decode") from None
        raise
    if png16:
        from hdrkit.io import atomic_write_bytes
        from hdrkit.io.write import encode_png_codes

        atomic_write_bytes(out, encode_png_codes(pq, "bt2020", "pq", compression=1, threads=threads))
    else:
        write_image(out, Image(pq, primaries="bt2020", transfer="pq"), bit_depth=bits, png_compression=1,
                    threads=threads)
    return DecodedFile("mlp", peak_nits=float(c.hdr.nits))
