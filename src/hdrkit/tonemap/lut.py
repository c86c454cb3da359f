"""3D LUT tone mapping: ``.cube`` files (or a zip holding one) applied with tetrahedral interpolation.

The LUT domain is PQ / BT.2020 R'G'B' code values and its output BT.709 γ 2.4 code values, the convention of
HDR10→SDR conversion LUTs such as the bundled YouTube emulation LUT (``youtube``):
``HDR10_to_BT709_YouTube_Rev03.cube``, 65³, © 2019 Toru Yoshihara, BSD 3-Clause (``toru-ver4/sample_code``;
licence text in ``hdrkit/assets/luts/LICENSE-YouTube-LUT.txt``).  It emulates YouTube's (unpublished)
server-side HDR10→SDR conversion, the SDR grade used to train the MLP-iTM / INF family of methods.

Format: Adobe *Cube LUT Specification 1.0* (keywords ``TITLE``, ``LUT_3D_SIZE``, ``DOMAIN_MIN``, ``DOMAIN_MAX``;
``LUT_3D_INPUT_RANGE`` of DaVinci Resolve is accepted; data lines with red varying fastest).

Tetrahedral interpolation (Kasson, Nin & Plouffe 1995, "Performing color space conversions with
three-dimensional linear interpolation"): the unit cell around a point is split into six tetrahedra along its
main diagonal; with the fractional offsets sorted, ``f_max ≥ f_mid ≥ f_min``, the result is
``(1 − f_max) C000 + (f_max − f_mid) C_a + (f_mid − f_min) C_ab + f_min C111`` where ``C_a`` steps along the
axis of ``f_max`` and ``C_ab`` further along the axis of ``f_mid``.
"""

from __future__ import annotations

import functools
import io
import lzma
import os
import zipfile
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Optional, Union

import numpy as np

from hdrkit import color
from hdrkit.errors import FormatError, InputError
from hdrkit.tonemap._common import check_hdr

#: File name of the bundled YouTube HDR10→SDR emulation LUT (inside ``hdrkit/assets/luts``).
YOUTUBE_LUT_NAME = "HDR10_to_BT709_YouTube_Rev03.zip"

#: Pixels per chunk of the interpolation kernel (keeps the temporaries in cache).
_CHUNK = 1 << 14


#: Tetrahedron choice: case ``k = [f_r ≥ f_g] + 2 [f_g ≥ f_b] + 4 [f_r ≥ f_b]`` → (axis of f_max, axis of f_min).
#: Cases 3 and 4 are contradictory orderings and cannot occur; any valid choice is given for them.
_ORDER = {7: (0, 2), 5: (0, 1), 1: (2, 1), 6: (1, 2), 2: (1, 0), 0: (2, 0), 3: (0, 2), 4: (0, 2)}


@dataclass(frozen=True, eq=False)
class Lut3D:
    """A 3D LUT.

    Attributes
    ----------
    table : float32 ``N×N×N×3`` indexed ``[r, g, b]`` (the layout of colour-science's ``LUT3D.table``).
    domain_min, domain_max : float64 ``(3,)`` input range mapped onto the lattice.
    title : the ``TITLE`` of the file (may be empty).
    """

    table: np.ndarray
    domain_min: np.ndarray
    domain_max: np.ndarray
    title: str = ""

    @property
    def size(self) -> int:
        return int(self.table.shape[0])

    @functools.cached_property
    def _packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Packed table (one complex128 = R, G, B, 0 as float32 per lattice point) and the stride lookups."""
        n = self.size
        t4 = np.zeros((n ** 3, 4), dtype=np.float32)
        t4[:, :3] = self.table.reshape(-1, 3)
        strides = (n * n, n, 1)
        s_max = np.array([strides[_ORDER[k][0]] for k in range(8)], dtype=np.int32)
        s_min = np.array([strides[_ORDER[k][1]] for k in range(8)], dtype=np.int32)
        return t4.view(np.complex128).ravel(), s_max, s_min


PathLike = Union[str, os.PathLike]


def _parse_cube_text(text: str, source: str) -> Lut3D:
    lines = text.splitlines()
    size = None
    title = ""
    dmin = np.zeros(3)
    dmax = np.ones(3)
    first_data = None
    for k, raw in enumerate(lines):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        head = line[0]
        if head.isdigit() or head in "+-.":
            first_data = k
            break
        parts = line.split()
        key = parts[0].upper()
        try:
            if key == "TITLE":
                title = line[len(parts[0]):].strip().strip('"')
            elif key == "LUT_3D_SIZE":
                size = int(parts[1])
            elif key == "LUT_1D_SIZE":
                raise FormatError(f"{source}: 1D LUTs are not supported (expected LUT_3D_SIZE)")
            elif key == "DOMAIN_MIN":
                dmin = np.array([float(v) for v in parts[1:4]])
            elif key == "DOMAIN_MAX":
                dmax = np.array([float(v) for v in parts[1:4]])
            elif key == "LUT_3D_INPUT_RANGE":
                dmin = np.full(3, float(parts[1]))
                dmax = np.full(3, float(parts[2]))
            else:
                raise FormatError(f"{source}: unknown .cube keyword {parts[0]!r} on line {k + 1}")
        except (IndexError, ValueError):
            raise FormatError(f"{source}: malformed .cube line {k + 1}: {line[:60]!r}") from None
    if size is None:
        raise FormatError(f"{source}: not a 3D .cube LUT (no LUT_3D_SIZE)")
    if not 2 <= size <= 256:
        raise FormatError(f"{source}: LUT_3D_SIZE {size} is outside 2..256")
    if dmin.shape != (3,) or dmax.shape != (3,) or not np.all(dmax > dmin):
        raise FormatError(f"{source}: DOMAIN_MAX must exceed DOMAIN_MIN in every channel")
    if first_data is None:
        raise FormatError(f"{source}: no LUT data")
    body = lines[first_data:]
    try:
        values = np.array(" ".join(body).split(), dtype=np.float64)
    except ValueError:  # comments or blank lines between data lines: filter them out
        kept = [ln for ln in body if ln.strip() and not ln.lstrip().startswith("#")]
        try:
            values = np.array(" ".join(kept).split(), dtype=np.float64)
        except ValueError:
            raise FormatError(f"{source}: non-numeric LUT data") from None
    n = size ** 3
    if values.size != 3 * n:
        raise FormatError(f"{source}: expected {n} RGB entries for a {size}³ LUT, found {values.size / 3:g}")
    if not np.isfinite(values).all():
        raise FormatError(f"{source}: LUT data contains NaN or Inf")
    # File order: red fastest → reshape gives [b, g, r]; transpose to [r, g, b].
    table = values.reshape(size, size, size, 3).transpose(2, 1, 0, 3)
    return Lut3D(np.ascontiguousarray(table, dtype=np.float32), dmin, dmax, title)


#: Largest .cube text read (a 65³ LUT is ~8 MB; parsing peaks at ~6× the text size).
MAX_CUBE_BYTES = 32 << 20

#: Exceptions the zip reader and its decompressors raise on a corrupt, encrypted or exotic member.
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError,
               lzma.LZMAError, ValueError)


def _read_cube_bytes(path: Path) -> bytes:
    from hdrkit.io.limits import check_input_file, read_input

    check_input_file(path, what="LUT file")
    if path.suffix.lower() == ".zip":
        return _read_zip_member(path)
    if path.suffix.lower() != ".cube":
        raise FormatError(f"{path}: expected a .cube LUT or a .zip holding one")
    if path.stat().st_size > MAX_CUBE_BYTES:
        raise FormatError(f"{path}: {path.stat().st_size:,} bytes is too large for a .cube LUT "
                          f"(limit {MAX_CUBE_BYTES:,})")
    return read_input(path, what="LUT file")


def _read_zip_member(path: Path) -> bytes:
    """The one ``.cube`` of a zip, refusing encrypted or unsupported members and sizes over the limit before
    decompressing (and stopping at the limit whatever the header claims)."""
    try:
        with zipfile.ZipFile(path) as zf:
            cubes = [i for i in zf.infolist() if i.filename.lower().endswith(".cube")
                     and not i.filename.startswith("__MACOSX")]
            if not cubes:
                raise FormatError(f"{path}: the zip holds no .cube file")
            if len(cubes) > 1:
                raise FormatError(f"{path}: the zip holds {len(cubes)} .cube files; extract the one you want")
            info = cubes[0]
            if info.flag_bits & 0x1:
                raise FormatError(f"{path}: the .cube in the zip is encrypted; extract it first")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2,
                                          zipfile.ZIP_LZMA):
                raise FormatError(f"{path}: the zip uses compression method {info.compress_type}, which is not "
                                  f"supported (stored, deflate, bzip2, lzma are)")
            if info.file_size > MAX_CUBE_BYTES:
                raise FormatError(f"{path}: the .cube in the zip is {info.file_size:,} bytes, too large for a LUT "
                                  f"(limit {MAX_CUBE_BYTES:,})")
            with zf.open(info) as fh:
                data = fh.read(MAX_CUBE_BYTES + 1)
    except _ZIP_ERRORS as exc:
        raise FormatError(f"{path}: not a readable zip ({str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__})") from None
    if len(data) > MAX_CUBE_BYTES:
        raise FormatError(f"{path}: the .cube in the zip is larger than its header says (corrupt zip)")
    return data


@functools.lru_cache(maxsize=4)
def _read_cube_cached(path: str, mtime_ns: int, size: int) -> Lut3D:
    p = Path(path)
    data = _read_cube_bytes(p)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return _parse_cube_text(text, p.name)


def read_cube(path: PathLike) -> Lut3D:
    """Read a 3D LUT from a ``.cube`` file or a ``.zip`` containing exactly one (cached per path and mtime)."""
    from hdrkit.io.limits import check_input_file

    p = check_input_file(Path(path), what="LUT file")
    st = p.stat()
    return _read_cube_cached(str(p.resolve()), st.st_mtime_ns, st.st_size)


def youtube_lut_path() -> Path:
    """Path of the bundled YouTube HDR10→SDR emulation LUT (BSD-3, see the module docstring)."""
    return Path(str(resources.files("hdrkit") / "assets" / "luts" / YOUTUBE_LUT_NAME))


def youtube_lut() -> Lut3D:
    """The bundled YouTube HDR10→SDR LUT (65³, PQ/BT.2020 R'G'B' → BT.709 γ2.4)."""
    return read_cube(youtube_lut_path())



def _tetra_chunk(p: np.ndarray, n: int, packed: np.ndarray, s_max: np.ndarray, s_min: np.ndarray) -> np.ndarray:
    """Planar kernel: lattice coordinates ``p`` (3, M) in [0, n−1] → interpolated (3, M) float32."""
    i = p.astype(np.int32)
    np.minimum(i, n - 2, out=i)
    f = p - i
    fr, fg, fb = f[0], f[1], f[2]
    base = i[0] * (n * n)
    base += i[1] * n
    base += i[2]
    k = (fr >= fg).view(np.uint8) + 2 * (fg >= fb).view(np.uint8) + 4 * (fr >= fb).view(np.uint8)
    fmax = np.maximum(np.maximum(fr, fg), fb)
    fmin = np.minimum(np.minimum(fr, fg), fb)
    fmid = fr + fg + fb - fmax - fmin
    diag = n * n + n + 1
    idx = np.empty((4, p.shape[1]), dtype=np.int32)
    idx[0] = base
    np.add(base, s_max.take(k), out=idx[1])
    np.subtract(base + diag, s_min.take(k), out=idx[2])
    np.add(base, diag, out=idx[3])
    w = (1.0 - fmax, fmax - fmid, fmid - fmin, fmin)
    g = packed.take(idx).view(np.float32).reshape(4, p.shape[1], 4)
    out = np.empty((3, p.shape[1]), dtype=np.float32)
    for c in range(3):
        o = out[c]
        np.multiply(g[0, :, c], w[0], out=o)
        o += g[1, :, c] * w[1]
        o += g[2, :, c] * w[2]
        o += g[3, :, c] * w[3]
    return out


def _numba_kernel():
    """The compiled single-pass kernel, or ``None`` when numba is unavailable (then numpy is used)."""
    global _NUMBA
    if _NUMBA is not None:
        return _NUMBA or None
    if os.environ.get("HDRKIT_NO_NUMBA"):
        _NUMBA = False
        return None
    try:
        import numba
    except Exception:  # pragma: no cover - numba missing or broken on this platform
        _NUMBA = False
        return None

    @numba.njit(cache=True, nogil=True)
    def tetra(x, table, n, scale, offset, out):  # pragma: no cover - compiled
        nn = n * n
        diag = nn + n + 1
        for k in range(x.shape[0]):
            pr = min(max(x[k, 0] * scale[0] + offset[0], 0.0), n - 1.0)
            pg = min(max(x[k, 1] * scale[1] + offset[1], 0.0), n - 1.0)
            pb = min(max(x[k, 2] * scale[2] + offset[2], 0.0), n - 1.0)
            ir, ig, ib = min(int(pr), n - 2), min(int(pg), n - 2), min(int(pb), n - 2)
            fr, fg, fb = pr - ir, pg - ig, pb - ib
            base = ir * nn + ig * n + ib
            if fr >= fg:
                if fg >= fb:  # r ≥ g ≥ b
                    s1, s2, f1, f2, f3 = nn, n, fr, fg, fb
                elif fr >= fb:  # r ≥ b > g
                    s1, s2, f1, f2, f3 = nn, 1, fr, fb, fg
                else:  # b > r ≥ g
                    s1, s2, f1, f2, f3 = 1, nn, fb, fr, fg
            else:
                if fr >= fb:  # g > r ≥ b
                    s1, s2, f1, f2, f3 = n, nn, fg, fr, fb
                elif fg >= fb:  # g ≥ b > r
                    s1, s2, f1, f2, f3 = n, 1, fg, fb, fr
                else:  # b > g > r
                    s1, s2, f1, f2, f3 = 1, n, fb, fg, fr
            w0, w1, w2, w3 = 1.0 - f1, f1 - f2, f2 - f3, f3
            i1 = base + s1
            i2 = i1 + s2
            i3 = base + diag
            for c in range(3):
                out[k, c] = (w0 * table[base, c] + w1 * table[i1, c] + w2 * table[i2, c]
                             + w3 * table[i3, c])

    try:  # compile now (or load the on-disk cache); any failure falls back to numpy
        probe = np.zeros((1, 3), np.float32)
        tetra(probe, np.zeros((8, 3), np.float32), 2, np.ones(3), np.zeros(3), np.empty((1, 3), np.float32))
    except Exception:  # pragma: no cover - e.g. no writable cache location
        _NUMBA = False
        return None
    _NUMBA = tetra
    return tetra


_NUMBA = None


def _apply_range(flat: np.ndarray, out: np.ndarray, lut: Lut3D, pre: Optional[Callable]) -> None:
    n = lut.size
    scale = ((n - 1) / (lut.domain_max - lut.domain_min)).astype(np.float64)
    offset = (-lut.domain_min * scale).astype(np.float64)
    kernel = _numba_kernel()
    if kernel is not None:
        table = lut.table.reshape(-1, 3)
        for s in range(0, flat.shape[0], _CHUNK):
            x = flat[s:s + _CHUNK]
            if pre is not None:
                x = pre(x)
            kernel(np.ascontiguousarray(x, dtype=np.float32), table, n, scale, offset, out[s:s + _CHUNK])
        return
    packed, s_max, s_min = lut._packed
    scale32, offset32 = scale.astype(np.float32)[:, None], offset.astype(np.float32)[:, None]
    for s in range(0, flat.shape[0], _CHUNK):
        x = flat[s:s + _CHUNK]
        if pre is not None:
            x = pre(x)
        p = x.T * scale32 + offset32
        np.clip(p, 0.0, float(n - 1), out=p)
        out[s:s + _CHUNK] = _tetra_chunk(p, n, packed, s_max, s_min).T


def _apply_chunks(flat: np.ndarray, lut: Lut3D, pre: Optional[Callable] = None, threads: int = 1) -> np.ndarray:
    """Run ``pre`` (optional, (M, 3) → (M, 3) float32 in the LUT domain) and the kernel chunk by chunk.

    ``threads > 1`` splits the pixels between that many threads (numpy releases the GIL in the kernels).
    """
    out = np.empty(flat.shape, dtype=np.float32)
    threads = max(1, int(threads))
    if threads == 1 or flat.shape[0] < 4 * _CHUNK:
        _apply_range(flat, out, lut, pre)
        return out
    from concurrent.futures import ThreadPoolExecutor

    step = -(-flat.shape[0] // (threads * _CHUNK)) * _CHUNK
    with ThreadPoolExecutor(max_workers=threads) as pool:
        jobs = [pool.submit(_apply_range, flat[s:s + step], out[s:s + step], lut, pre)
                for s in range(0, flat.shape[0], step)]
        for j in jobs:
            j.result()
    return out


def lut_tetrahedral(rgb: Any, lut: Lut3D, threads: int = 1) -> np.ndarray:
    """Apply a 3D LUT with tetrahedral interpolation.

    Parameters
    ----------
    rgb : float ``(..., 3)`` input in the LUT domain; values outside ``[domain_min, domain_max]`` are clamped.
    lut : :class:`Lut3D`.
    threads : worker threads (default 1; keep threads × processes ≤ the number of cores).

    Returns
    -------
    float32 ``(..., 3)``.  A single-pass numba kernel (float64 arithmetic) when numba is importable, otherwise
    vectorised numpy in a planar layout (float32); both run in chunks of 16,384 pixels so that the temporaries
    stay in cache.  ``HDRKIT_NO_NUMBA=1`` forces the numpy path.
    """
    x = np.asarray(rgb, dtype=np.float32)
    if x.ndim < 1 or x.shape[-1] != 3:
        raise InputError(f"LUT input must have 3 channels in its last axis, got shape {x.shape}")
    if x.size == 0:
        return x.copy()
    if not np.isfinite(x).all():
        raise InputError("LUT input contains NaN or Inf values")
    return _apply_chunks(x.reshape(-1, 3), lut, threads=threads).reshape(x.shape)


def _as_lut(lut: Any) -> Lut3D:
    if isinstance(lut, Lut3D):
        return lut
    if lut is None:
        raise InputError("method 'lut' needs a LUT: pass lut=PATH (a .cube file or a .zip holding one)")
    if isinstance(lut, (str, os.PathLike)):
        return read_cube(lut)
    raise InputError(f"lut must be a path or a Lut3D, got {type(lut).__name__}")


def tonemap_lut(hdr_nits: Any, lut: Any = None, threads: int = 1) -> np.ndarray:
    """Tone map with an HDR10→SDR 3D LUT (PQ/BT.2020 R'G'B' in, BT.709 γ2.4 code values out).

    Parameters
    ----------
    hdr_nits : float ``(..., 3)`` absolute linear BT.2020 cd/m²; negatives clamped to 0, values above 10,000
        cd/m² clamp to PQ 1.0; NaN/Inf → InputError.
    lut : path of a ``.cube`` (or a ``.zip`` holding one) or a :class:`Lut3D`.
    threads : worker threads for the interpolation (default 1).

    Returns
    -------
    float32 ``(..., 3)`` code values, clipped to [0, 1].
    """
    table = _as_lut(lut)
    x = check_hdr(hdr_nits, clamp=False)  # the PQ encoding below clamps negatives to 0

    def to_pq(chunk: np.ndarray) -> np.ndarray:
        # float64: PQ's exponent m2 = 78.84 amplifies float32 rounding to ~1.4e-5 in the code value.
        return np.asarray(color.pq_inverse_eotf(np.minimum(chunk.astype(np.float64), 10000.0)), dtype=np.float32)

    out = _apply_chunks(x.reshape(-1, 3), table, pre=to_pq, threads=threads).reshape(x.shape)
    return np.clip(out, 0.0, 1.0, out=out)


def tonemap_lut_pq(pq: Any, lut: Any = None, threads: int = 1) -> np.ndarray:
    """:func:`tonemap_lut` of a frame already PQ-encoded (BT.2020 PQ R'G'B' code values, clipped to [0, 1]):
    the same operator without the EOTF round trip (an HDR10 video's decoded frames are PQ code values)."""
    table = _as_lut(lut)
    x = np.clip(np.asarray(pq, dtype=np.float32), 0.0, 1.0)
    if not np.isfinite(x).all():
        raise InputError("LUT input contains NaN or Inf values")
    out = _apply_chunks(x.reshape(-1, 3), table, threads=threads).reshape(x.shape)
    return np.clip(out, 0.0, 1.0, out=out)


def youtube(hdr_nits: Any, threads: int = 1) -> np.ndarray:
    """The "YouTube" HDR10→SDR conversion: :func:`tonemap_lut` with the bundled emulation LUT."""
    return tonemap_lut(hdr_nits, youtube_lut(), threads=threads)


def cube_text(lut: Lut3D, title: str | None = None) -> str:
    """Serialise a :class:`Lut3D` as ``.cube`` text (red fastest)."""
    buf = io.StringIO()
    t = lut.title if title is None else title
    if t:
        buf.write(f'TITLE "{t}"\n')
    buf.write(f"LUT_3D_SIZE {lut.size}\n")
    buf.write("DOMAIN_MIN {:.10g} {:.10g} {:.10g}\n".format(*lut.domain_min))
    buf.write("DOMAIN_MAX {:.10g} {:.10g} {:.10g}\n".format(*lut.domain_max))
    data = lut.table.transpose(2, 1, 0, 3).reshape(-1, 3)
    np.savetxt(buf, data, fmt="%.10g")
    return buf.getvalue()
