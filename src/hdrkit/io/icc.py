"""ICC profiles: read the colour space an RGB matrix/TRC profile describes, write small display profiles.

Reading: the colorant tags (``rXYZ``/``gXYZ``/``bXYZ``, PCS-relative, D50) are brought back to the profile's
own white with the inverse of its ``chad`` tag (or Bradford D65 -> D50 when absent), turned into
chromaticities and matched against hdrkit's primaries (``bt709``, ``p3d65``, ``bt2020``); the tone curves
(``rTRC``: ``curv`` / ``para``) are matched against the sRGB, γ2.4 (BT.1886), γ2.2-free linear curves; an
ICC v4.4 ``cicp`` tag (ITU-T H.273 code points) wins over both.  Anything else is reported as unknown
(``None``), never guessed.

Writing: an ICC v4.4 display-class RGB profile (header, ``desc``, ``cprt``, ``wtpt``, ``chad``, colorants,
``para`` tone curves, and ``cicp`` so that HDR-aware readers see PQ/HLG exactly).

Everything read is untrusted: every offset is bounds-checked; a malformed profile gives ``None`` fields or a
:class:`hdrkit.errors.MetadataError`, never an exception from the struct module.

References: ICC.1:2022 (profile version 4.4): §7.2 header, §7.3 tag table, §10.6 curveType, §10.18
parametricCurveType, §10.12 multiLocalizedUnicodeType, §10.31 XYZType, Annex G (chad); ITU-T H.273.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import numpy as np

from hdrkit.errors import MetadataError

#: D50 PCS illuminant as ICC encodes it (s15Fixed16 of 0.9642, 1.0, 0.8249)
PCS_D50 = np.array([0.9642, 1.0, 0.8249])
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
MAX_PROFILE = 4 << 20

#: H.273 code points used in ``cicp`` tags (same tables as PNG cICP)
CICP_PRIMARIES = {1: "bt709", 9: "bt2020", 12: "p3d65"}
CICP_TRANSFER = {1: "bt1886", 6: "bt1886", 14: "bt1886", 15: "bt1886", 13: "srgb", 16: "pq", 18: "hlg",
                 8: "linear"}
PRIMARIES_CICP = {"bt709": 1, "bt2020": 9, "p3d65": 12}
TRANSFER_CICP = {"bt1886": 1, "srgb": 13, "pq": 16, "hlg": 18, "linear": 8}

_NAMES = {"bt709": "BT.709", "p3d65": "Display P3", "bt2020": "BT.2020"}
_TRC_NAMES = {"srgb": "", "bt1886": " (gamma 2.4)", "linear": " (linear)", "pq": " PQ", "hlg": " HLG"}


@dataclass(frozen=True)
class IccInfo:
    """What a profile says: ``primaries``/``transfer`` as hdrkit names (``None`` = not one hdrkit knows),
    the raw chromaticities ``(xr, yr, xg, yg, xb, yb, xw, yw)`` when it has colorant tags, and its
    description."""

    colour_space: str          # "RGB ", "GRAY", ...
    primaries: Optional[str]
    transfer: Optional[str]
    chromaticities: Optional[Tuple[float, ...]]
    description: str


def _s15(b: bytes) -> float:
    return struct.unpack(">i", b)[0] / 65536.0


def _tags(profile: bytes) -> Dict[bytes, bytes]:
    if len(profile) < 132 or profile[36:40] != b"acsp":
        raise MetadataError("ICC profile is malformed (no 'acsp' signature)")
    if len(profile) > MAX_PROFILE:
        raise MetadataError("ICC profile is too large")
    (count,) = struct.unpack(">I", profile[128:132])
    if count > 200 or 132 + 12 * count > len(profile):
        raise MetadataError("ICC profile tag table is malformed")
    out = {}
    for i in range(count):
        sig, off, size = struct.unpack(">4sII", profile[132 + 12 * i:144 + 12 * i])
        if off + size > len(profile) or size < 8:
            raise MetadataError("ICC profile tag runs past the end of the profile")
        out[sig] = profile[off:off + size]
    return out


def _xyz(tag: Optional[bytes]) -> Optional[np.ndarray]:
    if tag is None or len(tag) < 20 or tag[:4] != b"XYZ ":
        return None
    return np.array([_s15(tag[8 + 4 * i:12 + 4 * i]) for i in range(3)])


def _matrix(tag: Optional[bytes]) -> Optional[np.ndarray]:
    if tag is None or len(tag) < 44 or tag[:4] != b"sf32":
        return None
    m = np.array([_s15(tag[8 + 4 * i:12 + 4 * i]) for i in range(9)]).reshape(3, 3)
    return m if abs(np.linalg.det(m)) > 1e-6 else None


def _text(tag: Optional[bytes]) -> str:
    if tag is None:
        return ""
    try:
        if tag[:4] == b"desc" and len(tag) >= 12:  # v2 textDescriptionType
            (n,) = struct.unpack(">I", tag[8:12])
            return tag[12:12 + min(n, 256)].split(b"\0")[0].decode("latin-1").strip()
        if tag[:4] == b"mluc" and len(tag) >= 28:
            (n, _rec) = struct.unpack(">II", tag[8:16])
            if n >= 1:
                ln, off = struct.unpack(">II", tag[20:28])
                return tag[off:off + min(ln, 512)].decode("utf-16-be", "replace").strip("\0 ")
    except (struct.error, UnicodeDecodeError):
        pass
    return ""


def _curve(tag: Optional[bytes]):
    """The tone curve as a callable on [0, 1] arrays, or None."""
    if tag is None or len(tag) < 12:
        return None
    if tag[:4] == b"curv":
        (n,) = struct.unpack(">I", tag[8:12])
        if n == 0:
            return lambda x: x
        if n == 1 and len(tag) >= 14:
            g = struct.unpack(">H", tag[12:14])[0] / 256.0
            return lambda x: np.power(x, g)
        if 12 + 2 * n > len(tag) or n > 65536:
            return None
        table = np.frombuffer(tag[12:12 + 2 * n], ">u2").astype(np.float64) / 65535.0
        return lambda x: np.interp(x, np.linspace(0, 1, n), table)
    if tag[:4] == b"para":
        (fn,) = struct.unpack(">H", tag[8:10])
        nparams = {0: 1, 1: 3, 2: 4, 3: 5, 4: 7}.get(fn)
        if nparams is None or len(tag) < 12 + 4 * nparams:
            return None
        p = [_s15(tag[12 + 4 * i:16 + 4 * i]) for i in range(nparams)]
        g, a, b, c, d, e, f = (p + [0.0] * 7)[:7] if fn != 0 else (p[0], 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        if fn == 1:
            d = -b / a if a else 0.0
            return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0), g), 0.0)
        if fn == 2:
            d = -b / a if a else 0.0
            return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0), g) + c, c)
        if fn == 3:
            return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0), g), c * x)
        if fn == 4:
            return lambda x: np.where(x >= d, np.power(np.maximum(a * x + b, 0), g) + e, c * x + f)
        return lambda x: np.power(x, g)
    return None


def _name_transfer(curve) -> Optional[str]:
    from hdrkit.color.transfer import bt1886_eotf, srgb_eotf

    if curve is None:
        return None
    x = np.linspace(0.0, 1.0, 256)
    try:
        y = np.asarray(curve(x), np.float64)
    except (FloatingPointError, ValueError):
        return None
    for name, ref in (("srgb", srgb_eotf(x)), ("bt1886", bt1886_eotf(x)), ("linear", x)):
        if np.all(np.isfinite(y)) and np.max(np.abs(y - ref)) < 4e-3:
            return name
    return None


def _name_primaries(chroma: np.ndarray) -> Optional[str]:
    from hdrkit.color.primaries import PRIMARIES

    for name, prims in PRIMARIES.items():
        if np.allclose(chroma, np.ravel(prims), atol=4e-3):
            return name
    return None


def read(profile: bytes) -> IccInfo:
    """Parse ``profile`` (bytes of an ICC profile); :class:`MetadataError` if it is not one."""
    tags = _tags(profile)
    space = profile[16:20].decode("latin-1")
    desc = _text(tags.get(b"desc"))
    prim: Optional[str] = None
    tr: Optional[str] = None
    chroma: Optional[Tuple[float, ...]] = None
    cols = [_xyz(tags.get(s)) for s in (b"rXYZ", b"gXYZ", b"bXYZ")]
    if all(c is not None for c in cols):
        m = np.stack(cols, axis=1)  # columns: XYZ (D50 PCS) of R, G, B
        chad = _matrix(tags.get(b"chad"))
        if chad is None:
            from hdrkit.color.primaries import D65, _xy_to_XYZ

            src = _BRADFORD @ _xy_to_XYZ(D65)
            dst = _BRADFORD @ PCS_D50
            chad = np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD
        native = np.linalg.inv(chad) @ m
        white = native.sum(axis=1)
        xy = []
        for v in (native[:, 0], native[:, 1], native[:, 2], white):
            s = v.sum()
            xy += [v[0] / s, v[1] / s] if abs(s) > 1e-9 else [0.0, 0.0]
        chroma = tuple(float(v) for v in xy)
        prim = _name_primaries(np.array(chroma))
        tr = _name_transfer(_curve(tags.get(b"rTRC")))
    elif space == "GRAY":
        tr = _name_transfer(_curve(tags.get(b"kTRC")))
    cicp = tags.get(b"cicp")
    if cicp is not None and len(cicp) >= 12 and cicp[:4] == b"cicp":
        p, t = cicp[8], cicp[9]
        prim = CICP_PRIMARIES.get(p, prim)
        tr = CICP_TRANSFER.get(t, tr)
    return IccInfo(space, prim, tr, chroma, desc)


# --------------------------------------------------------------------------------------------------- writer
def _s15b(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536.0)))


def _mluc(text: str) -> bytes:
    s = text.encode("utf-16-be")
    return b"mluc" + b"\0" * 4 + struct.pack(">II", 1, 12) + b"enUS" + struct.pack(">II", len(s), 28) + s


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (-len(b) % 4)


def _para(transfer: str) -> bytes:
    if transfer == "srgb":
        params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
        return b"para" + b"\0" * 4 + struct.pack(">HH", 3, 0) + b"".join(_s15b(v) for v in params)
    gamma = {"bt1886": 2.4, "linear": 1.0}.get(transfer)
    if gamma is None:  # PQ / HLG cannot be a para curve: a 1024-entry table, and the cicp tag says it exactly
        from hdrkit.color.transfer import hlg_inverse_oetf, pq_eotf

        x = np.linspace(0.0, 1.0, 1024)
        y = pq_eotf(x) / 10000.0 if transfer == "pq" else hlg_inverse_oetf(x)
        table = np.round(np.clip(y, 0, 1) * 65535).astype(">u2").tobytes()
        return b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + table
    return b"para" + b"\0" * 4 + struct.pack(">HH", 0, 0) + _s15b(gamma)


def make(primaries: str, transfer: str = "srgb") -> bytes:
    """ICC v4.4 display profile of RGB in ``primaries`` (``bt709``/``p3d65``/``bt2020``) with ``transfer``
    (``srgb``/``bt1886``/``linear``/``pq``/``hlg``), D65 white, with a ``cicp`` tag."""
    from hdrkit.color.primaries import D65, _xy_to_XYZ, rgb_to_xyz_matrix

    if primaries not in PRIMARIES_CICP or transfer not in TRANSFER_CICP:
        raise ValueError(f"no ICC profile for primaries {primaries!r} with transfer {transfer!r}")
    src = _BRADFORD @ _xy_to_XYZ(D65)
    dst = _BRADFORD @ PCS_D50
    chad = np.linalg.inv(_BRADFORD) @ np.diag(dst / src) @ _BRADFORD
    cols = chad @ rgb_to_xyz_matrix(primaries)
    desc = "sRGB" if (primaries, transfer) == ("bt709", "srgb") else _NAMES[primaries] + _TRC_NAMES[transfer]
    xyz = lambda v: b"XYZ " + b"\0" * 4 + b"".join(_s15b(c) for c in v)  # noqa: E731
    trc = _para(transfer)
    tags = [
        (b"desc", _mluc(desc)), (b"cprt", _mluc("No copyright, use freely")), (b"wtpt", xyz(PCS_D50)),
        (b"chad", b"sf32" + b"\0" * 4 + b"".join(_s15b(v) for v in chad.ravel())),
        (b"rXYZ", xyz(cols[:, 0])), (b"gXYZ", xyz(cols[:, 1])), (b"bXYZ", xyz(cols[:, 2])),
        (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc),
        (b"cicp", b"cicp" + b"\0" * 4 + bytes([PRIMARIES_CICP[primaries], TRANSFER_CICP[transfer], 0, 1])),
    ]
    table = b""
    body = b""
    offset = 128 + 4 + 12 * len(tags)
    placed: Dict[bytes, Tuple[int, int]] = {}
    for sig, data in tags:
        if data in placed:  # r/g/bTRC share one curve (allowed by ICC.1 §7.3.5)
            off, size = placed[data]
        else:
            off, size = offset + len(body), len(data)
            placed[data] = (off, size)
            body += _pad(data)
        table += struct.pack(">4sII", sig, off, size)
    size = 128 + 4 + len(table) + len(body)
    header = struct.pack(">I4sI4s4s4s", size, b"\0\0\0\0", 0x04400000, b"mntr", b"RGB ", b"XYZ ")
    header += struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"\0" * 4  # date, signature, platform
    header += struct.pack(">I", 0) + b"\0" * 8 + b"\0" * 8 + struct.pack(">I", 0)  # flags, device, attrs, intent
    header += _s15b(PCS_D50[0]) + _s15b(PCS_D50[1]) + _s15b(PCS_D50[2]) + b"hdrk"
    header += b"\0" * (128 - len(header))
    return header + struct.pack(">I", len(tags)) + table + body


def describe(info: Optional[IccInfo]) -> str:
    """One phrase for ``info``: ``"'Display P3' = Display P3 primaries"``."""
    if info is None:
        return "no ICC profile"
    name = repr(info.description) if info.description else "unnamed"
    if info.primaries is None:
        return f"{name}, primaries not recognised"
    return f"{name}: {_NAMES[info.primaries]} primaries, {info.transfer or 'unrecognised'} transfer"


__all__ = ["IccInfo", "describe", "make", "read"]
