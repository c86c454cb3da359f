"""``read_image``: any supported file → :class:`~hdrkit.io.image.Image` (pixels + their meaning)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import numpy as np

from hdrkit.errors import FormatError, InputError
from hdrkit.io.image import Image

#: Refuse images above this many pixels before decoding them (≈ 3 GB as float32 RGB).
MAX_PIXELS = 1 << 28
MAX_SIDE = 1 << 17

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


def _check_size(name: str, width: int, height: int) -> None:
    if width <= 0 or height <= 0:
        raise FormatError(f"{name}: invalid image size {width}×{height}")
    if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
        raise FormatError(f"{name}: image size {width}×{height} is too large (limit {MAX_PIXELS:,} pixels)")


def _channels(name: str, arr: np.ndarray) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Split a decoded array into RGB and alpha; grey becomes RGB; 2-channel and others are refused."""
    if arr.ndim == 2:
        return np.repeat(arr[..., None], 3, axis=-1), None
    if arr.ndim != 3:
        raise FormatError(f"{name}: unsupported pixel layout with shape {arr.shape}")
    c = arr.shape[-1]
    if c == 1:
        return np.repeat(arr, 3, axis=-1), None
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
    from hdrkit.io import png
    from hdrkit.io._quiet import cv2_silent, quiet_stderr

    info = png.read_info(data)
    _check_size(path.name, info.width, info.height)
    if info.color_type == 4:
        raise FormatError(f"{path.name}: unsupported PNG channels (2: grey + alpha); save it as grey, RGB or RGBA")
    if info.bit_depth not in (1, 2, 4, 8, 16):
        raise FormatError(f"{path.name}: unsupported PNG bit depth {info.bit_depth}")
    cv2 = cv2_silent()
    with quiet_stderr():
        arr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise FormatError(f"{path.name}: PNG pixel data is truncated or corrupt")
    if arr.ndim == 3 and arr.shape[-1] >= 3:
        arr = arr[..., [2, 1, 0] + ([3] if arr.shape[-1] == 4 else [])]
    bits = 16 if arr.dtype == np.uint16 else 8
    rgb, alpha = _channels(path.name, arr)
    scale = float(np.iinfo(arr.dtype).max)
    meta: dict[str, Any] = {"bit_depth": bits, "png_chunks": info.private_chunks}
    prim, tr, meta["colour_source"], narrow = _png_meaning(info, bits)
    if info.cicp is not None and meta["colour_source"].startswith("cICP"):
        meta["cicp"] = info.cicp
    if narrow:  # narrow range (H.273): black at 16·2^(n-8), white at 235·2^(n-8)
        k = float(1 << (bits - 8))
        px = (rgb.astype(np.float32) - 16.0 * k) / (219.0 * k)
    else:
        px = rgb.astype(np.float32) / scale
    return dict(pixels=px, alpha=None if alpha is None else alpha / scale,
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


def _read_pillow(path: Path, data: bytes, fmt: str) -> dict[str, Any]:
    import io

    from PIL import Image as PILImage
    from PIL import ImageOps

    PILImage.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        im = PILImage.open(io.BytesIO(data))
        _check_size(path.name, *im.size)
        meta: dict[str, Any] = {"bit_depth": 8}
        if fmt == "jpeg":
            meta["jpeg_app"] = [(m, bytes(p)) for m, p in getattr(im, "applist", [])]
        profile = im.info.get("icc_profile")
        im = ImageOps.exif_transpose(im)
        if im.mode in ("LA", "PA"):
            raise FormatError(f"{path.name}: unsupported channels (2: grey + alpha)")
        if im.mode not in ("RGB", "RGBA", "L"):
            im = im.convert("RGBA" if "A" in im.mode else "RGB")
        arr = np.asarray(im)
    except FormatError:
        raise
    except (OSError, ValueError, SyntaxError, PILImage.DecompressionBombError) as exc:
        raise FormatError(f"{path.name}: cannot decode {fmt.upper()} ({exc})") from None
    rgb, alpha = _channels(path.name, arr)
    prim, tr, meta["colour_source"] = _from_icc(profile) or _untagged(8)
    return dict(pixels=rgb.astype(np.float32) / 255.0, alpha=None if alpha is None else alpha / 255.0,
                primaries=prim, transfer=tr, meta=meta)


def _read_avif(path: Path, data: bytes) -> dict[str, Any]:
    from hdrkit.io import avif, png

    info = avif.info(data)
    if info.size is not None:  # refuse huge images before libavif allocates them
        _check_size(path.name, *info.size)
    arr = avif.decode(data)
    _check_size(path.name, arr.shape[1], arr.shape[0])
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
    return dict(pixels=rgb.astype(np.float32) / scale, alpha=None if alpha is None else alpha / scale,
                primaries=prim, transfer=tr, meta=meta)


def _read_tiff(path: Path, data: bytes) -> dict[str, Any]:
    import io

    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tf:
            page = tf.pages[0]
            shape = page.shape
            h, w = (shape[0], shape[1]) if page.planarconfig != 2 or len(shape) < 3 else (shape[1], shape[2])
            _check_size(path.name, w, h)
            arr = page.asarray()
            tags = {t.code: t.value for t in page.tags.values() if t.code >= 32768 and t.code != 34675}
            signalled = _tiff_signalling(page.description)
            profile = page.iccprofile
    except FormatError:
        raise
    except Exception as exc:  # tifffile raises many kinds for corrupt files
        raise FormatError(f"{path.name}: cannot decode TIFF ({str(exc).splitlines()[0] if str(exc) else exc})") from None
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
        px, a = rgb.astype(np.float32) / scale, (None if alpha is None else alpha / scale)
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

        if not data.startswith(exr.MAGIC):
            raise FormatError(f"{path.name}: not an OpenEXR file (bad magic number)")
        header = exr.read_header(path)
        _check_size(path.name, *size_from_exr(header))
        rgb, alpha, header = exr.read_pixels(path)
        meta["exr_header"] = {k: v for k, v in header.items() if isinstance(v, (str, int, float))}
        meta["bit_depth"] = header["pixel_bits"]
        if "whiteLuminance" in header:
            npu = float(header["whiteLuminance"])
        chroma = header.get("chromaticities")
        if chroma is not None:
            rgb, prim = _adopt_chromaticities(path.name, rgb, tuple(chroma), PRIMARIES)
    elif fmt == "hdr":
        from hdrkit.io import radiance

        _vars, w, h, exposure, chroma = radiance.parse_header(data)
        _check_size(path.name, w, h)
        rgb, alpha = radiance.decode(data), None
        npu = None
        if exposure not in (0.0, 1.0):
            rgb = rgb / np.float32(exposure)
        if chroma is not None:
            rgb, prim = _adopt_chromaticities(path.name, rgb, chroma, PRIMARIES)
    else:
        from hdrkit.io import pfm

        _c, w, h, _o, _off = pfm.read_header(data)
        _check_size(path.name, w, h)
        rgb, alpha = _channels(path.name, pfm.decode(data))
        chroma = None
    said = [n for n, v in (("chromaticities", chroma), ("whiteLuminance", npu)) if v is not None]
    meta["colour_source"] = ", ".join(said) + (" attribute" + ("s" if len(said) > 1 else "")) if said else \
        f"untagged {fmt.upper()}: assumed linear BT.709, 1.0 = 100 nits"
    if said and len(said) == 1:
        meta["colour_source"] += " (" + ("1.0 = 100 nits assumed" if npu is None else "BT.709 assumed") + ")"
    return dict(pixels=rgb, alpha=alpha, primaries=prim, transfer="linear", nits_per_unit=npu, meta=meta)


def size_from_exr(header: dict[str, Any]) -> tuple[int, int]:
    lo, hi = header["dataWindow"]
    return int(hi[0] - lo[0] + 1), int(hi[1] - lo[1] + 1)


def _adopt_chromaticities(name: str, rgb: np.ndarray, chroma: tuple[float, ...], known: dict) -> tuple[np.ndarray, str]:
    """Name the file's primaries, or convert unknown ones (e.g. ACES AP0) to BT.2020 with a Bradford CAT."""
    from hdrkit.color.primaries import D65, _xy_to_XYZ, npm_from_chromaticities, xyz_to_rgb_matrix

    c = np.asarray(chroma, dtype=np.float64)
    for pname, prims in known.items():
        if np.allclose(c, np.ravel(prims), atol=2e-3):
            return rgb, pname
    if len(c) != 8 or np.any(np.abs(c[1::2]) < 1e-9) or not np.isfinite(c).all():
        raise FormatError(f"{name}: malformed chromaticities {tuple(chroma)}")
    npm = npm_from_chromaticities((c[0], c[1]), (c[2], c[3]), (c[4], c[5]), (c[6], c[7]))
    bradford = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    src_w, dst_w = bradford @ _xy_to_XYZ((c[6], c[7])), bradford @ _xy_to_XYZ(D65)
    cat = np.linalg.inv(bradford) @ np.diag(dst_w / src_w) @ bradford
    m = xyz_to_rgb_matrix("bt2020") @ cat @ npm
    return (rgb.astype(np.float64) @ m.T).astype(np.float32), "bt2020"


def read_image(path: str | os.PathLike, *, primaries: Optional[str] = None, transfer: Optional[str] = None,
               nits_per_unit: Optional[float] = None, allow_nonfinite: bool = False) -> Image:
    """Read an image file and what its pixels mean.

    Formats: OpenEXR (half/float, RGB/RGBA/Y, ``chromaticities`` + ``whiteLuminance``), Radiance ``.hdr``
    (``PRIMARIES``/``EXPOSURE``), ``.pfm``, PNG 8/16-bit (``cICP`` honoured), TIFF 8/16-bit/float, JPEG, AVIF.
    Defaults where the file cannot say: see ``docs/ARCHITECTURE.md``.  ``primaries``, ``transfer`` and
    ``nits_per_unit`` override what the file says (they re-label, they do not convert).

    Raises ``InputError`` (missing file, NaN/Inf pixels) or ``FormatError`` (unsupported, truncated, corrupt,
    too large) with a one-line message.  The input file is only ever opened for reading.
    """
    p = Path(path)
    if not p.exists():
        raise InputError(f"no such file: {p}")
    if p.is_dir():
        raise InputError(f"{p} is a folder, not an image file")
    fmt = format_of(p)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {p}: {exc.strerror or exc}") from None
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


def describe_file(path: str | os.PathLike) -> str:
    """One phrase saying what a written image file holds, read back from the file itself:
    ``"1024×512 PNG 16-bit, BT.2020 PQ"``, ``"... EXR 32-bit float, BT.709 linear (1.0 = 100 nits)"``.
    PNG: from its chunks (IHDR, cICP, iCCP, ...) without decoding the pixels (a 4K 16-bit frame would take
    ~1 s); other formats are read back."""
    p = Path(path)
    fmt = format_of(p)
    info = None
    if fmt == "png":
        from hdrkit.io import png

        info = png.read_info(p.read_bytes())
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
