"""``read_image``: any supported file → :class:`~hdrkit.io.image.Image` (pixels + their meaning)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hdrkit.errors import FormatError, InputError
from hdrkit.io.image import Image
from hdrkit.io.limits import Budget, check_pixels, read_input

#: Default pixel budget (see :mod:`hdrkit.io.limits`; ``hdrkit --max-pixels`` changes it per run).
MAX_PIXELS = Budget().max_pixels

#: Exceptions tifffile raises for a corrupt or unsupported file (``TiffFileError`` is a ``ValueError``).
TIFF_DECODE_ERRORS = (ValueError, OSError, KeyError, IndexError, TypeError, EOFError, ZeroDivisionError,
                      OverflowError, NotImplementedError, RuntimeError, __import__("struct").error)

#: Exceptions Pillow's decoders raise for a corrupt or unsupported file (mapped to ``FormatError`` where they arise).
PIL_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError, TypeError, ZeroDivisionError,
                     OverflowError, NotImplementedError, RuntimeError, __import__("struct").error)


EXTENSIONS = {
    ".exr": "exr", ".hdr": "hdr", ".rgbe": "hdr", ".pic": "hdr", ".pfm": "pfm", ".png": "png",
    ".tif": "tiff", ".tiff": "tiff", ".jpg": "jpeg", ".jpeg": "jpeg", ".jpe": "jpeg", ".avif": "avif",
}


def format_of(path: str | os.PathLike) -> str:
    ext = Path(path).suffix.lower()
    if ext not in EXTENSIONS:
        raise FormatError(f"unsupported file extension {ext or '(none)'!r} for {Path(path).name}; "
                          f"supported: {', '.join(sorted(EXTENSIONS))}")
    return EXTENSIONS[ext]


def _to_float(arr: np.ndarray, scale: float) -> np.ndarray:
    """``arr / scale`` as float32 without a second full-size temporary."""
    out = np.empty(arr.shape, np.float32)
    np.divide(arr, np.float32(scale), out=out, casting="unsafe")
    return out


def _channels(name: str, arr: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Split a decoded array into RGB and alpha; grey becomes RGB; 2-channel and others are refused."""
    if arr.ndim == 2:
        return np.broadcast_to(arr[..., None], arr.shape + (3,)), None
    if arr.ndim != 3:
        raise FormatError(f"{name}: unsupported pixel layout with shape {arr.shape}")
    c = arr.shape[-1]
    if c == 1:
        return np.broadcast_to(arr, arr.shape[:2] + (3,)), None
    if c == 3:
        return arr, None
    if c == 4:
        return arr[..., :3], arr[..., 3]
    raise FormatError(f"{name}: unsupported number of channels ({c}); hdrkit reads grey, RGB and RGBA")


def _integer_meaning(bits: int) -> tuple[str, str]:
    return ("bt2020", "pq") if bits > 8 else ("bt709", "bt1886")


def _untagged(bits: int) -> tuple[str, str, str]:
    prim, tr = _integer_meaning(bits)
    if bits > 8:
        return prim, tr, "untagged: assumed HDR10 (PQ BT.2020, the HDRTV4K dataset convention)"
    return prim, tr, "untagged: assumed SDR BT.709 γ2.4 (hdrkit's SDR convention)"


def _from_icc(profile: Optional[bytes]) -> Optional[tuple[str, str, str]]:
    """(primaries, transfer, source) named by an ICC profile, when hdrkit knows both."""
    from hdrkit.errors import MetadataError
    from hdrkit.io import icc

    if not profile:
        return None
    try:
        info = icc.read(profile)
    except MetadataError:
        return None
    if info.primaries is None or info.transfer is None:
        return None
    return info.primaries, info.transfer, f"ICC profile ({icc.describe(info)})"


def _from_gama_chrm(gamma: Optional[float], chrm: Optional[tuple]) -> Optional[tuple[str, str, str]]:
    """PNG gAMA/cHRM (or similar) to the nearest hdrkit encoding; None when neither is present."""
    from hdrkit.color.primaries import PRIMARIES

    if gamma is None and chrm is None:
        return None
    prim, note = "bt709", []
    if chrm is not None:
        w, rgb = chrm[:2], chrm[2:]
        for name, p in PRIMARIES.items():
            if np.allclose(list(rgb) + list(w), np.ravel(p), atol=4e-3):
                prim = name
                break
        else:
            note.append("cHRM primaries unknown, read as BT.709")
    tr = "srgb"
    if gamma is not None:
        display = 1.0 / gamma
        tr = min((("linear", 1.0), ("srgb", 2.2), ("bt1886", 2.4)), key=lambda c: abs(c[1] - display))[0]
        if min(abs(display - g) for g in (1.0, 2.2, 2.4)) > 0.05:
            note.append(f"gamma {display:.3g} read as the nearest of 1.0/2.2/2.4")
    src = "gAMA/cHRM" if gamma is not None and chrm is not None else ("gAMA" if gamma is not None else "cHRM")
    return prim, tr, src + (f" ({'; '.join(note)})" if note else "")


def _read_png(path: Path, data: bytes) -> dict[str, Any]:
    import imagecodecs

    from hdrkit.io import png

    try:
        info = png.read_info(data)
    except FormatError as exc:
        raise FormatError(f"{path.name}: {exc}") from None
    if info.color_type == 4:
        raise FormatError(f"{path.name}: unsupported PNG channels (2: grey + alpha); save it as grey, RGB or RGBA")
    if info.bit_depth not in (1, 2, 4, 8, 16) or info.channels == 0:
        raise FormatError(f"{path.name}: unsupported PNG bit depth {info.bit_depth} / colour type {info.color_type}")
    check_pixels(path.name, info.width, info.height, len(data))
    try:
        png.check_capacity(info)
    except FormatError as exc:
        raise FormatError(f"{path.name}: {exc}") from None
    try:
        arr = imagecodecs.png_decode(data)
    except (imagecodecs.PngError, ValueError) as exc:  # libpng's message, raised (never printed) by imagecodecs
        raise FormatError(f"{path.name}: PNG pixel data is truncated or corrupt ({exc})") from None
    if arr.shape[:2] != (info.height, info.width):
        raise FormatError(f"{path.name}: PNG decoded to {arr.shape[:2]}, not its declared size")
    bits = 16 if arr.dtype == np.uint16 else 8
    rgb, alpha = _channels(path.name, arr)
    scale = float(np.iinfo(arr.dtype).max)
    meta: dict[str, Any] = {"bit_depth": bits, "png_chunks": info.private_chunks}
    prim, tr, meta["colour_source"], narrow = _png_meaning(info, bits)
    if info.cicp is not None and meta["colour_source"].startswith("cICP"):
        meta["cicp"] = info.cicp
    px = _to_float(rgb, scale)
    if narrow:  # narrow range (H.273): black at 16·2^(n-8), white at 235·2^(n-8)
        k = float(1 << (bits - 8))
        px -= np.float32(16.0 * k / scale)
        px *= np.float32(scale / (219.0 * k))
    return dict(pixels=px, alpha=None if alpha is None else _to_float(alpha, scale),
                primaries=prim, transfer=tr, meta=meta)


def _png_meaning(info, bits: int) -> tuple[str, str, str, bool]:
    """(primaries, transfer, where that came from, narrow range) of a PNG, in PNG 3rd edition precedence:
    cICP, then iCCP, then sRGB, then gAMA/cHRM; else hdrkit's convention for the bit depth."""
    from hdrkit.io import png

    if info.cicp is not None:
        p, t, m, full = info.cicp
        if p in png.CICP_PRIMARIES and t in png.CICP_TRANSFER and m == 0:
            return png.CICP_PRIMARIES[p], png.CICP_TRANSFER[t], f"cICP {p}/{t}/{m}/{full}", full == 0
    found = _from_icc(info.icc) or (("bt709", "srgb", "sRGB chunk") if info.srgb else None) \
        or _from_gama_chrm(info.gamma, info.chrm) or _untagged(bits)
    return (*found, False)


def open_pillow(data: bytes, fmt: str, name: str):
    """A lazily-decoded Pillow image of JPEG/AVIF ``data`` whose size has passed :func:`check_pixels`.

    The format's plugin class is used directly, so Pillow's process-wide ``MAX_IMAGE_PIXELS`` check (and its
    ``DecompressionBombWarning``) is replaced by hdrkit's per-thread budget, and no global setting is touched.
    """
    import io

    if fmt == "jpeg":
        from PIL.JpegImagePlugin import JpegImageFile as cls
    else:
        from PIL.AvifImagePlugin import AvifImageFile as cls
    try:
        im = cls(io.BytesIO(data))
    except PIL_DECODE_ERRORS as exc:
        raise FormatError(f"{name}: cannot decode {fmt.upper()} ({_first_line(exc)})") from None
    check_pixels(name, im.size[0], im.size[1], len(data))
    return im


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _read_pillow(path: Path, data: bytes, fmt: str, codes: bool = False) -> dict[str, Any]:
    """``codes``: ``pixels``/``alpha`` stay the file's uint8 code values (see :func:`read_codes8`)."""
    from PIL import ImageOps

    im = open_pillow(data, fmt, path.name)
    try:
        meta: dict[str, Any] = {"bit_depth": 8}
        if fmt == "jpeg":
            meta["jpeg_app"] = [(m, bytes(p)) for m, p in getattr(im, "applist", [])]
        profile = im.info.get("icc_profile")
        im.load()
        ImageOps.exif_transpose(im, in_place=True)  # not a copy of the whole picture when nothing turns
        if im.mode in ("LA", "PA"):
            raise FormatError(f"{path.name}: unsupported channels (2: grey + alpha)")
        if im.mode not in ("RGB", "RGBA", "L"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        arr = np.asarray(im)
    except PIL_DECODE_ERRORS as exc:
        raise FormatError(f"{path.name}: cannot decode {fmt.upper()} ({_first_line(exc)})") from None
    rgb, alpha = _channels(path.name, arr)
    prim, tr, meta["colour_source"] = _from_icc(profile) or _untagged(8)
    if codes:
        return dict(pixels=np.ascontiguousarray(rgb), alpha=alpha, primaries=prim, transfer=tr, meta=meta)
    return dict(pixels=_to_float(rgb, 255.0), alpha=None if alpha is None else _to_float(alpha, 255.0),
                primaries=prim, transfer=tr, meta=meta)


def _read_avif(path: Path, data: bytes) -> dict[str, Any]:
    from hdrkit.io import avif, png

    try:
        info = avif.info(data)
        if info.size is None:
            raise FormatError("AVIF has no image size (ispe) property")
        check_pixels(path.name, info.size[0], info.size[1], len(data))
        arr = avif.decode(data)
    except FormatError as exc:
        raise FormatError(exc if str(exc).startswith(path.name) else f"{path.name}: {exc}") from None
    bits = info.bits or (8 if arr.dtype == np.uint8 else 10)
    rgb, alpha = _channels(path.name, arr)
    scale = float((1 << bits) - 1)
    meta: dict[str, Any] = {"bit_depth": bits}
    found = None
    if info.nclx is not None:
        p, t, _m, _full = info.nclx
        meta["nclx"] = info.nclx
        if p in png.CICP_PRIMARIES and t in png.CICP_TRANSFER:
            found = png.CICP_PRIMARIES[p], png.CICP_TRANSFER[t], "nclx {}/{}/{}/{}".format(*info.nclx)
    found = found or _from_icc(info.icc) or _untagged(bits)
    prim, tr, meta["colour_source"] = found
    return dict(pixels=_to_float(rgb, scale), alpha=None if alpha is None else _to_float(alpha, scale),
                primaries=prim, transfer=tr, meta=meta)


def _read_tiff(path: Path, data: bytes) -> dict[str, Any]:
    import io

    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tf:
            page = tf.pages[0]
            shape = page.shape
            h, w = (shape[0], shape[1]) if page.planarconfig != 2 or len(shape) < 3 else (shape[1], shape[2])
            check_pixels(path.name, w, h, len(data))
            if int(np.prod(shape)) > 4 * w * h:
                raise FormatError(f"{path.name}: unsupported TIFF layout with shape {tuple(shape)}")
            arr = page.asarray(maxworkers=1)
            tags = {t.code: t.value for t in page.tags.values() if t.code >= 32768 and t.code != 34675}
            signalled = _tiff_signalling(page.description)
            profile = page.iccprofile
    except TIFF_DECODE_ERRORS as exc:
        raise FormatError(f"{path.name}: cannot decode TIFF ({_first_line(exc)})") from None
    if arr.ndim == 3 and arr.shape[0] in (3, 4) and arr.shape[-1] not in (3, 4):
        arr = np.moveaxis(arr, 0, -1)
    rgb, alpha = _channels(path.name, arr)
    meta: dict[str, Any] = {"tiff_tags": tags}
    if arr.dtype.kind == "f":
        meta["bit_depth"] = 32
        px, a = rgb.astype(np.float32), alpha
        prim, tr = "bt709", "linear"
    elif arr.dtype in (np.uint8, np.uint16):
        bits = 16 if arr.dtype == np.uint16 else 8
        meta["bit_depth"] = bits
        scale = float(np.iinfo(arr.dtype).max)
        px, a = _to_float(rgb, scale), (None if alpha is None else _to_float(alpha, scale))
        prim, tr, meta["colour_source"] = _from_icc(profile) or _untagged(bits)
    else:
        raise FormatError(f"{path.name}: unsupported TIFF sample type {arr.dtype} (use 8/16-bit or float)")
    if arr.dtype.kind == "f":
        from_icc = _from_icc(profile)
        if from_icc is not None:
            prim = from_icc[0]
        meta["colour_source"] = f"float TIFF: linear, primaries from {from_icc[2]}" if from_icc else \
            "untagged float TIFF: assumed linear BT.709, 1.0 = 100 nits"
    npu = None
    if signalled is not None:
        prim, tr, npu = signalled
        meta["colour_source"] = "hdrkit ImageDescription"
    return dict(pixels=px, alpha=a, primaries=prim, transfer=tr, nits_per_unit=npu, meta=meta)


def _tiff_signalling(description: str) -> tuple[str, str, float] | None:
    """hdrkit's own colour signalling in the TIFF ImageDescription (JSON), if present and well-formed."""
    import json

    from hdrkit.color.primaries import PRIMARIES
    from hdrkit.color.transfer import TRANSFERS

    if not description or not description.lstrip().startswith("{"):
        return None
    try:
        d = json.loads(description)["hdrkit"]
        prim, tr, npu = str(d["primaries"]), str(d["transfer"]), float(d["nits_per_unit"])
    except (ValueError, KeyError, TypeError):
        return None
    if prim in PRIMARIES and tr in TRANSFERS and npu > 0 and np.isfinite(npu):
        return prim, tr, npu
    return None


def _read_float(path: Path, data: bytes, fmt: str) -> dict[str, Any]:
    from hdrkit.color.primaries import PRIMARIES

    meta: dict[str, Any] = {"bit_depth": 32}
    prim = "bt709"
    npu = None
    if fmt == "exr":
        from hdrkit.io import exr

        facts = exr.parse_header(data, path.name)
        check_pixels(path.name, facts["width"], facts["height"], len(data))
        rgb, alpha, header = exr.read_pixels(data, path.name)
        meta["exr_header"] = {k: v for k, v in header.items() if isinstance(v, (str, int, float))}
        meta["bit_depth"] = header["pixel_bits"]
        npu = facts["whiteLuminance"]
        chroma = facts["chromaticities"]
        if chroma is not None:
            rgb, prim = _adopt_chromaticities(path.name, rgb, chroma, PRIMARIES)
    elif fmt == "hdr":
        from hdrkit.io import radiance

        _vars, w, h, exposure, chroma = radiance.parse_header(data, path.name)
        check_pixels(path.name, w, h, len(data))
        rgb, alpha = radiance.decode(data, path.name, (h, w)), None
        npu = None
        if exposure != 1.0:
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # non-finite results refused below
                rgb /= np.float32(exposure)
        if chroma is not None:
            rgb, prim = _adopt_chromaticities(path.name, rgb, chroma, PRIMARIES)
    else:
        from hdrkit.io import pfm

        _c, w, h, _o, _off = pfm.read_header(data)
        check_pixels(path.name, w, h, len(data))
        rgb, alpha = _channels(path.name, pfm.decode(data))
        chroma = None
    said = [n for n, v in (("chromaticities", chroma), ("whiteLuminance", npu)) if v is not None]
    meta["colour_source"] = ", ".join(said) + (" attribute" + ("s" if len(said) > 1 else "")) if said else \
        f"untagged {fmt.upper()}: assumed linear BT.709, 1.0 = 100 nits"
    if said and len(said) == 1:
        meta["colour_source"] += " (" + ("1.0 = 100 nits assumed" if npu is None else "BT.709 assumed") + ")"
    return dict(pixels=rgb, alpha=alpha, primaries=prim, transfer="linear", nits_per_unit=npu, meta=meta)


def _adopt_chromaticities(name: str, rgb: np.ndarray, chroma: tuple[float, ...], known: dict) -> tuple[np.ndarray, str]:
    """Name the file's primaries, or convert unknown ones (e.g. ACES AP0) to BT.2020 with a Bradford CAT."""
    from hdrkit.color.primaries import D65, _xy_to_XYZ, npm_from_chromaticities, xyz_to_rgb_matrix

    c = np.asarray(chroma, dtype=np.float64)
    for pname, prims in known.items():
        if np.allclose(c, np.ravel(prims), atol=2e-3):
            return rgb, pname
    if len(c) != 8 or np.any(np.abs(c[1::2]) < 1e-9) or not np.isfinite(c).all():
        raise FormatError(f"{name}: malformed chromaticities {tuple(chroma)}")
    # the primaries must span a triangle (collinear ones give a singular matrix) around a real white point
    r, g, b = c[0:2], c[2:4], c[4:6]
    area = (g[0] - r[0]) * (b[1] - r[1]) - (b[0] - r[0]) * (g[1] - r[1])
    if abs(area) < 1e-6 or np.any(np.abs(c) > 10):
        raise FormatError(f"{name}: chromaticities {tuple(round(float(v), 4) for v in c)} do not describe "
                          f"a colour space (collinear or out-of-range primaries)")
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    src_w, dst_w = bradford @ _xy_to_XYZ((c[6], c[7])), bradford @ _xy_to_XYZ(D65)
    try:
        npm = npm_from_chromaticities((c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7]))
        with np.errstate(divide="raise", invalid="raise", over="raise"):
            cat = np.linalg.inv(bradford) @ np.diag(dst_w / src_w) @ bradford
            m = xyz_to_rgb_matrix("bt2020") @ cat @ npm
    except (np.linalg.LinAlgError, FloatingPointError):
        raise FormatError(f"{name}: chromaticities {tuple(round(float(v), 4) for v in c)} give a singular "
                          f"colour matrix") from None
    if not np.isfinite(m).all():
        raise FormatError(f"{name}: chromaticities give a non-finite colour matrix")
    return (rgb.astype(np.float64) @ m.T).astype(np.float32), "bt2020"


def read_image(path: str | os.PathLike, *, primaries: Optional[str] = None, transfer: Optional[str] = None,
               nits_per_unit: Optional[float] = None, allow_nonfinite: bool = False) -> Image:
    """Read an image file and what its pixels mean.

    Formats: OpenEXR (half/float, RGB/RGBA/Y, ``chromaticities`` + ``whiteLuminance``), Radiance ``.hdr``
    (``PRIMARIES``/``EXPOSURE``), ``.pfm``, PNG 8/16-bit (``cICP`` honoured), TIFF 8/16-bit/float, JPEG, AVIF.
    Defaults where the file cannot say: see ``docs/ARCHITECTURE.md``.  ``primaries``, ``transfer`` and
    ``nits_per_unit`` override what the file says (they re-label, they do not convert).

    Raises ``InputError`` (missing file, not a regular file, NaN/Inf pixels) or ``FormatError`` (unsupported,
    truncated, corrupt, over the pixel budget of :mod:`hdrkit.io.limits`) with a one-line message, checked
    from the header and the file size before any large allocation.  The input file is only ever opened for
    reading; nothing process-wide is changed, so reads may run in several threads at once.
    """
    p = Path(path)
    fmt = format_of(p)
    data = read_input(p, what="image file")
    if not data:
        raise FormatError(f"{p.name}: file is empty")
    if fmt == "png":
        fields = _read_png(p, data)
    elif fmt == "jpeg":
        fields = _read_pillow(p, data, fmt)
    elif fmt == "avif":
        fields = _read_avif(p, data)
    elif fmt == "tiff":
        fields = _read_tiff(p, data)
    else:
        fields = _read_float(p, data, fmt)
    px = fields["pixels"]
    if not allow_nonfinite:
        bad = int(np.count_nonzero(~np.isfinite(px)))
        if bad:
            raise InputError(f"{p.name}: {bad} pixel values are NaN or Inf")
    fields["meta"].update(format=fmt, path=str(p))
    fields.setdefault("nits_per_unit", None)
    if primaries is not None:
        fields["primaries"] = primaries
    if transfer is not None:
        fields["transfer"] = transfer
        if nits_per_unit is None:
            fields["nits_per_unit"] = None
    if nits_per_unit is not None:
        fields["nits_per_unit"] = nits_per_unit
    return Image(**fields)


def read_codes8(path: str | os.PathLike) -> np.ndarray:
    """The 8-bit code values ``(H, W, 3)`` uint8 of a picture: exactly ``round(read_image(path).pixels * 255)``
    (clipped to 0..255), with the same checks and errors.  A JPEG is decoded straight to its codes, skipping
    the float32 pixels and their round trip (a 4K frame: ~0.9 s of CPU); other formats go through
    :func:`read_image`."""
    p = Path(path)
    if format_of(p) == "jpeg":
        data = read_input(p, what="image file")
        if not data:
            raise FormatError(f"{p.name}: file is empty")
        return np.array(_read_pillow(p, data, "jpeg", codes=True)["pixels"])  # writable, like the other path
    sdr = read_image(p).pixels * np.float32(255)  # in place: a 4K frame is 100 MB of floats
    np.rint(sdr, out=sdr)
    return np.clip(sdr, 0, 255, out=sdr).astype(np.uint8)


def describe_file(path: str | os.PathLike) -> str:
    """One phrase saying what a written image file holds, read back from the file itself:
    ``"1024×512 PNG 16-bit, BT.2020 PQ"``, ``"... EXR 32-bit float, BT.709 linear (1.0 = 100 nits)"``.
    PNG: from its chunks before the pixel data (IHDR, cICP, iCCP, ...), neither decoding nor reading the pixels
    (a 4K 16-bit frame would take ~1 s); other formats are read back."""
    p = Path(path)
    fmt = format_of(p)
    info = None
    if fmt == "png":  # the chunks before the first IDAT, read as far as needed (not a 4K frame's 25 MB)
        from hdrkit.io import png

        head = 1 << 16
        while True:
            data = read_input(p, head=head)
            try:
                info = png.read_info(data, head_only=True)
                break
            except FormatError:
                if len(data) < head:  # the whole file: really truncated or corrupt
                    raise
                head *= 8
    if info is not None and info.color_type in (0, 2, 3, 6):  # what _read_png would say, from the header
        bits = 16 if info.bit_depth == 16 else 8
        prim, tr, _src, _narrow = _png_meaning(info, bits)
        w, h, meaning = info.width, info.height, Image(np.zeros((1, 1, 3), np.float32), prim, tr)
    else:
        meaning = read_image(p, allow_nonfinite=True)
        w, h, bits = meaning.width, meaning.height, meaning.meta.get("bit_depth")
    floaty = fmt in ("exr", "hdr", "pfm") or bits == 32
    depth = f" {bits}-bit{' float' if floaty else ''}" if bits else ""
    return f"{w}×{h} {fmt.upper()}{depth}, {meaning.encoding()}"
