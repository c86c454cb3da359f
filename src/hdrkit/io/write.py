"""``write_image``: an :class:`~hdrkit.io.image.Image` → file, format from the extension, written atomically."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hdrkit.errors import FormatError, InputError
from hdrkit.io.atomic import atomic_path
from hdrkit.io.image import Image
from hdrkit.io.read import format_of


def _for_integer(img: Image, bits: int) -> Image:
    """Images that integer formats cannot hold as they are (linear light) go to the format's default encoding."""
    from hdrkit.color.convert import convert

    if img.transfer == "linear":
        return convert(img, "bt2020", "pq") if bits > 8 else convert(img, "bt709", "bt1886")
    return img


def _quantise(x: np.ndarray, bits: int, threads: int = 1) -> np.ndarray:
    """``rint(clip(x, 0, 1) * (2^bits - 1))`` as uint8/uint16; rows split over ``threads`` threads."""
    top = (1 << bits) - 1
    out = np.empty(x.shape, np.uint16 if bits > 8 else np.uint8)

    def rows(r: slice) -> None:
        y = np.clip(x[r], 0.0, 1.0, dtype=np.float32 if x.dtype == np.float32 else np.float64)  # in place
        y *= top
        out[r] = np.rint(y, out=y)

    if x.ndim == 0:
        rows(slice(None))
    else:
        _row_map(rows, x.shape[0], threads)
    return out


def _row_map(fn, height: int, threads: int) -> list:
    """``[fn(rows) for rows in slices of range(height)]``, over ``threads`` threads (4 slices each) when > 1."""
    n = max(1, min(int(threads), height))
    if n == 1:
        return [fn(slice(None))]
    from concurrent.futures import ThreadPoolExecutor

    cuts = [height * i // (4 * n) for i in range(4 * n + 1)]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, [slice(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]))


def _linear(img: Image, nits_per_unit: Optional[float] = None) -> Image:
    """Linear light for float formats: a linear image keeps its scale; a PQ/HLG/SDR one gets 1.0 = 100 nits
    (what EXR/HDR/PFM readers assume), unless ``nits_per_unit`` says otherwise."""
    from hdrkit.color.convert import convert
    from hdrkit.color.transfer import LINEAR_NITS_PER_UNIT

    if nits_per_unit is None and img.transfer != "linear":
        nits_per_unit = LINEAR_NITS_PER_UNIT
    return convert(img, transfer="linear", nits_per_unit=nits_per_unit)


def encode_png(img: Image, bits: int, chunks: Optional[list[tuple[bytes, bytes]]] = None,
               compression: int = 6, threads: int = 1) -> bytes:
    """PNG bytes of ``img`` at ``bits`` per channel with its colour chunks (+ ``chunks``).  ``compression`` 0-9
    is the zlib level: <= 1 is the fast mode (:func:`hdrkit.io.png.encode_fast`: Up filter, ISA-L deflate in
    pieces over ``threads`` threads; 4K 16-bit PQ frame: ~0.15 s CPU vs 1.3 s for libpng's level 1 RLE, file
    12 % smaller); above, OpenCV (libpng, adaptive filters)."""
    img = _for_integer(img, bits)
    q = _quantise(img.pixels, bits, threads)
    if img.alpha is not None:
        return _png_of_codes(q, img, bits, chunks, compression, threads,
                             alpha=_quantise(img.alpha, bits)[..., None])
    return _png_of_codes(q, img, bits, chunks, compression, threads)


def encode_png_codes(codes: np.ndarray, primaries: str, transfer: str, chunks: Optional[list[tuple[bytes, bytes]]] = None,
                     compression: int = 1, threads: int = 1) -> bytes:
    """PNG bytes of integer code values already quantised as :func:`encode_png` does (``(H, W, 3)`` uint16 =
    ``rint(clip(x, 0, 1) * 65535)``, or uint8), meaning ``primaries`` / ``transfer`` (PQ or SDR: the colour
    chunks are computed from the codes) -- the same file as :func:`encode_png` of the float picture."""
    codes = np.asarray(codes)
    bits = {np.dtype(np.uint16): 16, np.dtype(np.uint8): 8}.get(codes.dtype)
    if bits is None or codes.ndim != 3 or codes.shape[2] != 3:
        raise InputError(f"PNG codes must be H x W x 3 uint8 or uint16, got {codes.dtype} {codes.shape}")
    if transfer not in ("pq", "srgb", "bt1886"):
        raise InputError(f"PNG codes carry PQ or SDR code values, not {transfer}")
    return _png_of_codes(codes, Image(np.zeros((1, 1, 3), np.float32), primaries, transfer), bits, chunks,
                         compression, threads)


def _png_of_codes(q: np.ndarray, img: Image, bits: int, chunks, compression: int, threads: int,
                  alpha: Optional[np.ndarray] = None) -> bytes:
    """The PNG of quantised codes ``q`` of ``img`` (for its primaries and transfer; its pixels only for HLG's
    light levels); ``alpha`` codes ``(H, W, 1)`` appended as a fourth channel."""
    from hdrkit.io import png

    colour = colour_chunks(img, q, bits, threads)
    if alpha is not None:
        q = np.concatenate([q, alpha], axis=-1)
    extra = [(b"cICP", png.cicp_payload(img.primaries, img.transfer))] + colour + list(chunks or [])
    if compression <= 1:
        return png.encode_fast(q, threads=threads, level=int(compression), chunks=extra)
    import cv2

    q = q[..., [2, 1, 0, 3]] if alpha is not None else q[..., ::-1]
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(q), [cv2.IMWRITE_PNG_COMPRESSION, int(compression)])
    if not ok:
        raise FormatError("OpenCV could not encode the PNG")
    return png.insert_chunks(buf.tobytes(), extra)


def icc_profile_for(img: Image) -> bytes:
    """The ICC profile describing ``img``'s encoding (primaries + transfer; PQ/HLG via the ``cicp`` tag)."""
    from hdrkit.io import icc

    return icc.make(img.primaries, img.transfer)


def light_levels(img: Image, codes: Optional[np.ndarray] = None, bits: int = 16,
                 threads: int = 1) -> tuple[float, float]:
    """(MaxCLL, MaxFALL) in cd/m² of an image (CTA-861.3: the brightest pixel's max(R,G,B), and the frame mean
    of max(R,G,B)).  For PQ with its quantised ``codes`` given: max(R,G,B) is taken on the codes (PQ is
    monotonic per channel) and turned into nits by a table -- the values the file holds, at little cost: a
    histogram of the codes (rows split over ``threads`` threads), whose top bin gives MaxCLL (the table is
    increasing) and whose table-weighted sum gives MaxFALL."""
    if img.transfer == "pq" and codes is not None:
        from hdrkit.color.transfer import pq_eotf

        lut = np.asarray(pq_eotf(np.arange(1 << bits, dtype=np.float64) / ((1 << bits) - 1)), np.float64)
        def hist(r: slice) -> np.ndarray:
            c = codes[r]
            m = np.maximum(np.maximum(c[..., 0], c[..., 1]), c[..., 2])  # 3x faster than .max(-1)
            return np.bincount(m.ravel(), minlength=1 << bits)

        counts = _row_map(hist, codes.shape[0], threads)
        counts = counts[0] if len(counts) == 1 else np.sum(counts, axis=0)
        n = int(counts.sum())
        return float(lut[np.flatnonzero(counts)[-1]]) if n else 0.0, float(counts @ lut / max(n, 1))
    from hdrkit.color.convert import to_nits

    m = np.max(np.clip(to_nits(img), 0, 10000), axis=-1)
    return float(m.max()), float(m.mean(dtype=np.float64))


def colour_chunks(img: Image, codes: Optional[np.ndarray] = None, bits: int = 16,
                  threads: int = 1) -> list[tuple[bytes, bytes]]:
    """PNG chunks that say what the pixels mean besides cICP: ``mDCV`` + ``cLLI`` for PQ/HLG (mastering display
    = the container's primaries with the content's peak as its max luminance, since the real mastering display
    is unknown), ``iCCP`` for SDR (for viewers that predate cICP)."""
    from hdrkit.io import png

    if img.transfer in ("pq", "hlg"):
        cll, fall = light_levels(img, codes, bits, threads)
        return [(b"mDCV", png.mdcv_payload(img.primaries, max(cll, 1.0))), (b"cLLI", png.clli_payload(cll, fall))]
    return [(b"iCCP", png.iccp_payload(icc_profile_for(img)))]


def write_image(path: str | os.PathLike, img: Image, *, bit_depth: Optional[int] = None,
                quality: Optional[int] = None, half: bool = False,
                png_chunks: Optional[list[tuple[bytes, bytes]]] = None,
                jpeg_segments: Optional[list[tuple[int, bytes]]] = None,
                exr_attributes: Optional[dict[str, Any]] = None,
                tiff_extratags: Optional[list[tuple]] = None, png_compression: int = 6, threads: int = 1) -> Path:
    """Write ``img`` to ``path`` (format from the extension) atomically; returns the path.

    - ``.exr``: linear float32 (``half=True`` for float16), ``chromaticities`` and ``whiteLuminance`` written, so
      the file reads back with the same meaning.  Non-linear images are linearised (absolute nits).
    - ``.hdr`` / ``.pfm``: linear, rescaled so that 1.0 = 100 nits (what the reader assumes); ``.hdr`` keeps the
      primaries in a ``PRIMARIES=`` line (negative values cannot be stored in RGBE: clamped to 0); ``.pfm``
      is converted to BT.709 primaries (its readers assume them).
    - ``.png`` / ``.tif``: 8 or 16 bit (default 16 for PQ/HLG/linear, 8 for SDR); linear light is encoded as
      HDR10 (PQ BT.2020) at 16 bit and BT.1886 BT.709 at 8 bit; PNG gets a ``cICP`` chunk.  ``.tif`` with
      ``bit_depth=32`` stores linear float.
    - ``.jpg``: 8-bit, quality ``quality`` (default 95), with the ICC profile of its encoding.
    - ``.avif`` (libavif): PQ/HLG/linear at 10 bits (``bit_depth`` 12 possible) as HDR10/HLG, SDR at 8 bits,
      nclx colour signalling; ``quality`` 100 is lossless.
    - PNG also gets ``mDCV``/``cLLI`` (PQ/HLG) or ``iCCP`` (SDR); TIFF an ICC profile (8/16-bit).
    ``png_compression``: zlib level 0–9 of PNG output (default 6; 1 is ~2.5× faster for bulk data such as
    training pairs, for files ~2–20 % larger); at <= 1 the PNG is deflated in ``threads`` threads.
    Extra metadata carriers (used by :mod:`hdrkit.codec`): ``png_chunks`` [(type, payload)], ``jpeg_segments``
    [(marker 0xE0..0xEF, payload)] inserted after SOI/APP0, ``exr_attributes`` (bytes are base64 strings),
    ``tiff_extratags`` (tifffile ``extratags``).
    """
    path = Path(path)
    fmt = format_of(path)
    if bit_depth is not None and bit_depth not in ((8, 10, 12) if fmt == "avif" else (8, 16, 32)):
        raise InputError(f"bit depth must be {'8, 10 or 12 for AVIF' if fmt == 'avif' else '8, 16 or 32'}, "
                         f"got {bit_depth}")
    with atomic_path(path) as tmp:
        if fmt == "exr":
            from hdrkit.color.primaries import PRIMARIES
            from hdrkit.io import exr

            lin = _linear(img)
            chroma = tuple(np.ravel(PRIMARIES[lin.primaries]))
            exr.write(tmp, lin.pixels, lin.alpha, chroma, lin.nits_per_unit, half=half, attributes=exr_attributes)
        elif fmt == "hdr":
            from hdrkit.color.primaries import PRIMARIES
            from hdrkit.io import radiance

            lin = _linear(img, 100.0)
            prims = None if lin.primaries == "bt709" else tuple(np.ravel(PRIMARIES[lin.primaries]))
            tmp.write_bytes(radiance.encode(lin.pixels, prims))
        elif fmt == "pfm":
            from hdrkit.color.convert import convert
            from hdrkit.io import pfm

            tmp.write_bytes(pfm.encode(convert(img, "bt709", "linear", 100.0).pixels))
        elif fmt == "png":
            bits = bit_depth or (8 if img.transfer in ("srgb", "bt1886") else 16)
            if bits not in (8, 16):
                raise InputError("PNG holds 8 or 16 bits per channel")
            if not 0 <= int(png_compression) <= 9:
                raise InputError(f"PNG compression must be 0..9, got {png_compression}")
            tmp.write_bytes(encode_png(img, bits, png_chunks, compression=png_compression, threads=threads))
        elif fmt == "tiff":
            _write_tiff(tmp, img, bit_depth, tiff_extratags)
        elif fmt == "avif":
            tmp.write_bytes(encode_avif(img, bit_depth, quality))
        else:
            tmp.write_bytes(encode_pillow(img, fmt, quality, jpeg_segments))
    return path


def _write_tiff(tmp: Path, img: Image, bit_depth: Optional[int], extratags) -> None:
    import tifffile

    bits = bit_depth or (8 if img.transfer in ("srgb", "bt1886") else 16)
    if bits == 32:
        lin = _linear(img)
        data = lin.pixels if lin.alpha is None else np.concatenate([lin.pixels, lin.alpha[..., None]], -1)
        extrasamples = None if lin.alpha is None else (2,)
    else:
        enc = _for_integer(img, bits)
        data = _quantise(enc.pixels, bits)
        if enc.alpha is not None:
            data = np.concatenate([data, _quantise(enc.alpha, bits)[..., None]], -1)
        extrasamples = None if enc.alpha is None else (2,)
    enc_img = lin if bits == 32 else enc
    desc = json.dumps({"hdrkit": {"primaries": enc_img.primaries, "transfer": enc_img.transfer,
                                  "nits_per_unit": enc_img.nits_per_unit}})
    icc = None if bits == 32 else icc_profile_for(enc_img)
    tifffile.imwrite(tmp, data, photometric="rgb", compression="zlib", extrasamples=extrasamples,
                     extratags=extratags or (), description=desc, metadata=None, iccprofile=icc)


def encode_avif(img: Image, bit_depth: Optional[int] = None, quality: Optional[int] = None) -> bytes:
    """AVIF bytes: PQ/HLG (and linear light, encoded as HDR10) at 10 bits (or ``bit_depth`` 12), SDR at 8, with
    the nclx of the encoding (libavif through :mod:`hdrkit.io.avif`).  Without ``quality``, HDR is coded
    losslessly as 4:4:4 Y'CbCr (within 1 code of the input) and SDR at quality 95; ``quality=100`` is lossless
    RGB (identity matrix)."""
    from hdrkit.color.convert import convert
    from hdrkit.io import avif, png

    if img.transfer == "linear":
        img = convert(img, "bt2020", "pq")
    bits = bit_depth or (10 if img.transfer in ("pq", "hlg") else 8)
    c = _quantise(img.pixels, bits)
    a = None if img.alpha is None else _quantise(img.alpha, bits)
    # HDR by default: lossless 4:4:4 Y'CbCr (nclx e.g. 9/16/9, within 1 code; q95 moves PQ codes by up to ~25)
    hdr_default = quality is None and bits > 8
    q = 100 if hdr_default else (95 if quality is None else int(quality))
    return avif.encode(c, bits, png.PRIMARIES_CICP[img.primaries], png.TRANSFER_CICP[img.transfer], q, alpha=a,
                       ycbcr=hdr_default)


def encode_pillow(img: Image, fmt: str, quality: Optional[int] = None,
                  segments: Optional[list[tuple[int, bytes]]] = None) -> bytes:
    """8-bit JPEG bytes of an SDR (or any non-linear) image, with the ICC profile of its encoding; linear light
    is encoded BT.1886 first."""
    from PIL import Image as PILImage

    img = _for_integer(img, 8)
    q = 95 if quality is None else int(quality)
    if not 1 <= q <= 100:
        raise InputError(f"quality must be in 1..100, got {q}")
    pil = PILImage.fromarray(_quantise(img.pixels, 8), "RGB")
    buf = io.BytesIO()
    if fmt == "jpeg":
        from hdrkit.io import jpeg

        pil.save(buf, "JPEG", quality=q, subsampling=0 if q >= 90 else 2)
        data = buf.getvalue()
        return insert_jpeg_segments(data, jpeg.icc_segments(icc_profile_for(img)) + list(segments or []))
    raise InputError(f"{fmt} is not written by Pillow")


def insert_jpeg_segments(data: bytes, segments: list[tuple[int, bytes]]) -> bytes:
    """Insert APPn segments after SOI and any leading APP0 (JFIF) segment (:func:`hdrkit.io.jpeg.splice`)."""
    from hdrkit.io import jpeg

    return jpeg.splice(data, segments)
