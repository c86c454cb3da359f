"""Carriers of the metadata blob inside ordinary image files (each still opens as the plain SDR picture).

* PNG: private ancillary chunk ``hdRK`` (ancillary, private, not safe to copy: an editor that changes the pixels
  must drop it), inserted after IHDR with :func:`hdrkit.io.png.insert_chunks`.
* JPEG: APP15 segments ``b"HDRKIT\\0" + u16 index + u16 count + data`` right after SOI/APP0/APP1, split over
  as many segments as needed (each segment holds at most 65,522 bytes of the blob).
* TIFF: private tag 65117 (type UNDEFINED) on the first page.
* OpenEXR: string attribute ``hdrkitMLP`` holding the blob in base64 (the binding rejects raw bytes).
* Anything else: a sidecar file ``<name>.hdrkit`` next to the picture, holding the raw blob.

A file that has lost its metadata (re-saved by another tool) makes :func:`read_blob` raise
``MetadataError("... has no hdrkit metadata ...")``.
"""

from __future__ import annotations

import base64
import io
import struct
from pathlib import Path
from typing import Optional

import numpy as np

from hdrkit.errors import FormatError, InputError, MetadataError
from hdrkit.io.atomic import atomic_path, atomic_write_bytes
from hdrkit.io.limits import check_input_file, read_input
from hdrkit.io.read import TIFF_DECODE_ERRORS

PNG_CHUNK = b"hdRK"
JPEG_MARKER = 0xEF  # APP15
JPEG_ID = b"HDRKIT\x00"
JPEG_MAX_DATA = 65535 - 2 - len(JPEG_ID) - 4  # length field counts itself
TIFF_TAG = 65117
EXR_ATTRIBUTE = "hdrkitMLP"
SIDECAR_SUFFIX = ".hdrkit"

EMBEDDED_FORMATS = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff", ".exr": "exr"}


def carrier_of(path: str | Path) -> str:
    """``"png" | "jpeg" | "tiff" | "exr" | "sidecar"`` from the file extension."""
    return EMBEDDED_FORMATS.get(Path(path).suffix.lower(), "sidecar")


def sidecar_path(path: str | Path) -> Path:
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


# ---------------------------------------------------------------------------------------------------- PNG
def png_embed(data: bytes, blob: bytes) -> bytes:
    from hdrkit.io.png import insert_chunks, iter_chunks

    kept = [(c, p) for c, p, _ in iter_chunks(data)]  # validates the file
    if any(c == PNG_CHUNK for c, _ in kept):
        data = _png_strip(data)
    return insert_chunks(data, [(PNG_CHUNK, blob)])


def _png_strip(data: bytes) -> bytes:
    from hdrkit.io.png import SIGNATURE, iter_chunks, make_chunk

    out = bytearray(SIGNATURE)
    for c, p, _ in iter_chunks(data):
        if c != PNG_CHUNK:
            out += make_chunk(c, p)
    return bytes(out)


def png_extract(data: bytes) -> Optional[bytes]:
    from hdrkit.io.png import iter_chunks

    try:
        found = [p for c, p, _ in iter_chunks(data) if c == PNG_CHUNK]
    except FormatError as exc:
        raise MetadataError(f"cannot read hdrkit metadata: {exc}") from None
    if len(found) > 1:
        raise MetadataError("PNG holds more than one hdrkit metadata chunk")
    return found[0] if found else None


# --------------------------------------------------------------------------------------------------- JPEG
def _jpeg_header(data: bytes):
    from hdrkit.io import jpeg

    try:
        return jpeg.segments(data)[0]
    except FormatError:
        raise MetadataError("not a JPEG file (no SOI marker)") from None


def jpeg_embed(data: bytes, blob: bytes) -> bytes:
    from hdrkit.io import jpeg

    parts = [blob[i:i + JPEG_MAX_DATA] for i in range(0, len(blob), JPEG_MAX_DATA)] or [b""]
    if len(parts) > 0xFFFF:
        raise InputError("metadata too large for JPEG APP segments")
    segs = [(JPEG_MARKER, JPEG_ID + struct.pack(">HH", i, len(parts)) + part) for i, part in enumerate(parts)]
    _jpeg_header(data)
    # after SOI and any leading APP0 (JFIF) / APP1 (Exif/XMP) segments; drop older hdrkit segments
    return jpeg.splice(data, segs, drop=lambda s: s.startswith(JPEG_MARKER, JPEG_ID), after=(0xE0, 0xE1))


def jpeg_extract(data: bytes) -> Optional[bytes]:
    pieces: dict[int, bytes] = {}
    count = None
    for s in _jpeg_header(data):
        if not s.startswith(JPEG_MARKER, JPEG_ID):
            continue
        p = s.payload[len(JPEG_ID):]
        if len(p) < 4:
            raise MetadataError("hdrkit JPEG segment is truncated")
        idx, cnt = struct.unpack(">HH", p[:4])
        if count is None:
            count = cnt
        if cnt != count or idx >= cnt or idx in pieces:
            raise MetadataError("hdrkit JPEG segments are inconsistent (corrupt file)")
        pieces[idx] = p[4:]
    if count is None:
        return None
    if len(pieces) != count:
        raise MetadataError(f"hdrkit metadata is incomplete: {len(pieces)} of {count} JPEG segments")
    return b"".join(pieces[i] for i in range(count))


# --------------------------------------------------------------------------------------------------- TIFF
def tiff_write(path: Path, sdr_u8: np.ndarray, blob: bytes) -> None:
    import tifffile

    with atomic_path(path) as tmp:
        tifffile.imwrite(tmp, sdr_u8, photometric="rgb", compression="zlib",
                         extratags=[(TIFF_TAG, 7, len(blob), blob, True)])


def tiff_extract(data: bytes) -> Optional[bytes]:
    import tifffile

    try:
        with tifffile.TiffFile(io.BytesIO(data)) as tf:
            tag = tf.pages[0].tags.get(TIFF_TAG)
            return None if tag is None else bytes(tag.value)
    except TIFF_DECODE_ERRORS as exc:  # tifffile raises many kinds on corrupt input
        raise MetadataError(f"cannot read TIFF metadata ({type(exc).__name__})") from None


# ---------------------------------------------------------------------------------------------------- EXR
def exr_embed(src: Path, dst: Path, blob: bytes) -> None:
    """Copy an OpenEXR file adding the blob as a base64 string attribute."""
    import OpenEXR

    from hdrkit.io.exr import parse_header
    from hdrkit.io.limits import read_input

    data = read_input(src)
    parse_header(data, Path(src).name)  # structure checked before the C++ library sees it
    try:
        f = OpenEXR.File(io.BytesIO(data), separate_channels=True)
        header = dict(f.header())
        channels = {k: np.asarray(v.pixels) for k, v in f.channels().items()}
    except (RuntimeError, ValueError, TypeError, OSError) as exc:  # what the binding raises on a bad file
        raise FormatError(f"{Path(src).name}: not a readable OpenEXR file ({type(exc).__name__})") from None
    header[EXR_ATTRIBUTE] = base64.b64encode(blob).decode("ascii")
    with atomic_path(dst) as tmp:
        OpenEXR.File(header, channels).write(str(tmp))


def exr_extract(path: Path) -> Optional[bytes]:
    import binascii

    from hdrkit.io.exr import read_header

    header = read_header(Path(path))
    v = header.get(EXR_ATTRIBUTE)
    if v is None:
        return None
    if isinstance(v, bytes):
        v = v.decode("ascii", "replace")
    try:
        return base64.b64decode(str(v), validate=True)
    except (binascii.Error, ValueError):
        raise MetadataError("hdrkit EXR attribute is not valid base64 (corrupt file)") from None


# ----------------------------------------------------------------------------------------------- dispatch
def jpeg_segment_payloads(blob: bytes) -> list[tuple[int, bytes]]:
    """The blob split into APP15 payloads ``[(0xEF, id + index + count + data), ...]``."""
    parts = [blob[i:i + JPEG_MAX_DATA] for i in range(0, len(blob), JPEG_MAX_DATA)] or [b""]
    if len(parts) > 0xFFFF:
        raise InputError("metadata too large for JPEG APP segments")
    return [(0xE0 | (JPEG_MARKER & 0x0F), JPEG_ID + struct.pack(">HH", i, len(parts)) + part)
            for i, part in enumerate(parts)]


class SdrWriter:
    """Two-phase writer of the SDR picture: ``pixels()`` gives the 8-bit pixels a decoder will read back from
    the file (after JPEG/AVIF compression), ``commit(blob)`` writes the file carrying the blob (atomically).
    """

    def __init__(self, path: str | Path, sdr_u8: np.ndarray, quality: int = 95):
        from hdrkit.io import Image

        self.path = Path(path)
        self.kind = carrier_of(self.path)
        if self.kind == "exr":
            raise InputError("write the SDR picture as .png, .jpg or .tif (EXR is for HDR output)")
        self.sdr_u8 = np.ascontiguousarray(sdr_u8, dtype=np.uint8)
        self.quality = int(quality)
        self.image = Image(self.sdr_u8.astype(np.float32) / 255.0, primaries="bt709", transfer="bt1886")
        self._jpeg: Optional[bytes] = None
        self._pixels: Optional[np.ndarray] = None

    def pixels(self) -> np.ndarray:
        """uint8 H x W x 3 as the decoder will see them."""
        if self._pixels is not None:
            return self._pixels
        if self.kind == "jpeg":
            from PIL import Image as PILImage

            from hdrkit.io.write import encode_pillow

            self._jpeg = encode_pillow(self.image, "jpeg", self.quality)
            self._pixels = np.asarray(PILImage.open(io.BytesIO(self._jpeg)).convert("RGB"))
        elif self.kind in ("png", "tiff"):
            self._pixels = self.sdr_u8
        else:  # a format we carry with a sidecar: encode it once into a temporary file and read it back
            import os
            import tempfile

            from hdrkit.io import format_of, read_image, write_image

            format_of(self.path)  # an unsupported extension is named as the user wrote it
            try:
                fd, tmp = tempfile.mkstemp(prefix=".hdrkit-sdr.", suffix=self.path.suffix.lower(),
                                           dir=str(self.path.parent) if str(self.path.parent) else ".")
            except OSError as exc:
                raise InputError(f"cannot write {self.path}: {exc.strerror or exc}") from None
            os.close(fd)
            try:
                write_image(tmp, self.image, quality=self.quality)
                back = read_image(tmp)
                self._other = Path(tmp).read_bytes()
            finally:
                Path(tmp).unlink(missing_ok=True)
            self._pixels = np.clip(np.round(back.pixels * 255), 0, 255).astype(np.uint8)
        return self._pixels

    def commit(self, blob: bytes) -> int:
        """Write the file carrying ``blob``; returns the bytes it adds to the plain SDR picture (the same
        pixels written the same way without metadata; for a sidecar, the sidecar's size), measured on the
        encoded bytes, headers included."""
        from hdrkit.io import write_image
        from hdrkit.io.write import insert_jpeg_segments

        if self.kind == "jpeg":
            if self._jpeg is None:
                self.pixels()
            data = insert_jpeg_segments(self._jpeg, jpeg_segment_payloads(blob))
            atomic_write_bytes(self.path, data)
            return len(data) - len(self._jpeg)
        if self.kind in ("png", "tiff"):
            extra = ({"png_chunks": [(PNG_CHUNK, blob)]} if self.kind == "png"
                     else {"tiff_extratags": [(TIFF_TAG, 7, len(blob), blob, True)]})
            plain = self.path.with_name(f".{self.path.name}.plain{self.path.suffix}")
            try:  # the plain picture, written by the same writer, only to be measured
                write_image(plain, self.image, bit_depth=8)
                plain_size = plain.stat().st_size
            finally:
                plain.unlink(missing_ok=True)
            write_image(self.path, self.image, bit_depth=8, **extra)
            return self.path.stat().st_size - plain_size
        atomic_write_bytes(self.path, self._other)
        atomic_write_bytes(sidecar_path(self.path), blob)
        return len(blob)


def jpeg_added_bytes(blob_size: int) -> int:
    """Bytes a blob of ``blob_size`` adds to a JPEG (APP15 segments: marker, length, id, index, count, data)."""
    n = max(1, -(-blob_size // JPEG_MAX_DATA))
    return blob_size + n * (2 + 2 + len(JPEG_ID) + 4)


def embed_file(src: str | Path, dst: str | Path, blob: bytes) -> str:
    """Copy the image file ``src`` to ``dst`` (same format) adding ``blob``; returns the carrier used."""
    src, dst = Path(src), Path(dst)
    kind = carrier_of(dst)
    if carrier_of(src) != kind:
        raise InputError(f"{src.name} and {dst.name} must have the same format")
    data = read_input(src)
    if kind == "png":
        atomic_write_bytes(dst, png_embed(data, blob))
    elif kind == "jpeg":
        atomic_write_bytes(dst, jpeg_embed(data, blob))
    elif kind == "exr":
        exr_embed(src, dst, blob)
    elif kind == "tiff":
        import tifffile

        try:
            arr = tifffile.imread(io.BytesIO(data), maxworkers=1)
        except TIFF_DECODE_ERRORS as exc:
            raise FormatError(f"{src.name}: cannot read TIFF ({type(exc).__name__})") from None
        with atomic_path(dst) as tmp:
            tifffile.imwrite(tmp, arr, photometric="rgb" if arr.ndim == 3 else None, compression="zlib",
                             extratags=[(TIFF_TAG, 7, len(blob), blob, True)])
    else:
        atomic_write_bytes(dst, data)
        atomic_write_bytes(sidecar_path(dst), blob)
    return kind


def read_blob(path: str | Path) -> bytes:
    """The metadata blob carried by ``path`` (embedded, else its sidecar); ``MetadataError`` when there is none."""
    path = check_input_file(path)
    kind = carrier_of(path)
    blob = None
    if kind == "exr":
        blob = exr_extract(path)
    elif kind != "sidecar":
        data = read_input(path)
        blob = {"png": png_extract, "jpeg": jpeg_extract, "tiff": tiff_extract}[kind](data)
    if blob is None:
        side = sidecar_path(path)
        if side.is_file():
            blob = read_input(side)
    if blob is None:
        raise MetadataError(
            f"{path.name} has no hdrkit metadata (it was never encoded by hdrkit, or another program re-saved "
            "it and dropped the metadata)"
        )
    return blob
