"""The hdrkit metadata container: a versioned, self-describing binary blob carrying the embedded MLP.

Layout (all integers little-endian; versions 1 and 2)::

    offset size  field
    0      8     magic  b"HDRKMLP\\x00"
    8      2     version (u16) = 1 (SIREN family only) or 2 (any family)
    10     2     flags (u16) = 0 (reserved; a reader rejects unknown bits)
    12     4     total length of the blob including the CRC (u32)
    16     ...   version 2 only: u8 family (0 = SIREN, MLP-iTM paper; 1 = gamma map, hdrkit.models.gammanet)
           ...   architecture descriptor of the family:
                   SIREN: u8 activation (0 = sin, 1 = relu), u8 coord_octaves, f32 omega0,
                          3 x (u8 n, n x u16 width) for colour, spatial and merge widths
                   gamma: u8 coord_octaves, u8 color_octaves, f32 offset, u8 n, n x u16 hidden widths
           1     quantisation (u8): 0 = fp32, 1 = fp16, 2 = int8 (symmetric, one f32 scale per tensor)
           8     HDR target signalling: u8 primaries, u8 transfer (ITU-T H.273 code points), u16 0, f32 peak nits
           8     SDR signalling:        u8 primaries, u8 transfer,                          u16 0, f32 white nits
           8     image width, height (u32, u32) the weights were fitted on
           4     parameter count (u32): must equal the count implied by the descriptor
           4     payload length in bytes (u32)
           ...   payload: tensors in canonical order (hdrkit.models.config.param_names,
                 hdrkit.models.gammanet.param_names); int8 tensors are
                 preceded by their f32 scale
    -4     4     CRC-32 (zlib) of every byte before it

SIREN networks are written as version 1 (the files of earlier hdrkit releases, byte for byte); other families
as version 2.  Parsing reads fields one by one with bounds checks (``struct``); nothing is unpickled.  Every
problem raises :class:`hdrkit.errors.MetadataError` with a one-line message.
"""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass, field
from typing import Dict, Union

import numpy as np

from hdrkit.errors import InputError, MetadataError
from hdrkit.models import gammanet
from hdrkit.models.config import SirenConfig, param_names, param_shapes

MAGIC = b"HDRKMLP\x00"
VERSION = 2
VERSIONS = (1, 2)
FAMILY = {"siren": 0, "gamma": 1}
QUANT = {"fp32": 0, "fp16": 1, "int8": 2}
_QUANT_NAMES = {v: k for k, v in QUANT.items()}
ACTIVATION = {"sin": 0, "relu": 1}
_ACT_NAMES = {v: k for k, v in ACTIVATION.items()}
PRIMARIES_CICP = {"bt709": 1, "bt2020": 9, "p3d65": 12}
TRANSFER_CICP = {"bt1886": 1, "linear": 8, "srgb": 13, "pq": 16, "hlg": 18}
_CICP_PRIMARIES = {v: k for k, v in PRIMARIES_CICP.items()}
_CICP_TRANSFER = {v: k for k, v in TRANSFER_CICP.items()}
#: Refuse absurd blobs before allocating anything.
MAX_PARAMS = 4_000_000
MAX_SIDE = 1 << 20


@dataclass
class Signal:
    """Colour signalling of one rendition: primaries, transfer and its nits figure (HDR peak / SDR white)."""

    primaries: str
    transfer: str
    nits: float


@dataclass
class Container:
    """Decoded contents of a metadata blob (weights as float32 numpy arrays, canonical names)."""

    cfg: Union[SirenConfig, gammanet.GammaConfig]
    weights: Dict[str, np.ndarray]
    quant: str = "fp16"
    hdr: Signal = field(default_factory=lambda: Signal("bt2020", "pq", 1000.0))
    sdr: Signal = field(default_factory=lambda: Signal("bt709", "bt1886", 203.0))
    width: int = 0
    height: int = 0

    def params(self, device=None) -> dict:
        """The weights as torch tensors on ``device`` (imports torch)."""
        import torch

        return {k: torch.from_numpy(v.copy()).to(device) for k, v in self.weights.items()}


def _quantise(a: np.ndarray, quant: str) -> tuple[bytes, np.ndarray]:
    """Return (bytes, dequantised float32 values)."""
    a = np.asarray(a, dtype=np.float32)
    if quant == "fp32":
        q = a.astype("<f4")
        return q.tobytes(), q.astype(np.float32)
    if quant == "fp16":
        q = a.astype("<f2")
        return q.tobytes(), q.astype(np.float32)
    m = float(np.max(np.abs(a))) if a.size else 0.0
    scale = np.float32(m / 127.0 if m > 0 else 1.0)
    q = np.clip(np.rint(a / scale), -127, 127).astype(np.int8)
    return struct.pack("<f", scale) + q.tobytes(), q.astype(np.float32) * scale


def dequantised(weights: Dict[str, np.ndarray], quant: str) -> Dict[str, np.ndarray]:
    """The float32 weights a decoder will see after quantisation (adapt on these for honest figures)."""
    return {k: _quantise(v, quant)[1] for k, v in weights.items()}


def _signal_bytes(s: Signal) -> bytes:
    try:
        return struct.pack("<BBHf", PRIMARIES_CICP[s.primaries], TRANSFER_CICP[s.transfer], 0, float(s.nits))
    except KeyError as exc:
        raise InputError(f"cannot signal colour {exc} in the container") from None


def _names_shapes(cfg) -> tuple[list, dict]:
    if isinstance(cfg, gammanet.GammaConfig):
        return gammanet.param_names(cfg), gammanet.param_shapes(cfg)
    return param_names(cfg), param_shapes(cfg)


def pack(c: Container) -> bytes:
    """Serialise a :class:`Container` (weights quantised as ``c.quant``)."""
    if c.quant not in QUANT:
        raise InputError(f"quantisation must be one of {sorted(QUANT)}, got {c.quant!r}")
    cfg = c.cfg
    if isinstance(cfg, gammanet.GammaConfig):
        version = 2
        desc = struct.pack("<BBBfB", FAMILY["gamma"], cfg.coord_octaves, cfg.color_octaves, cfg.offset,
                           len(cfg.hidden)) + struct.pack(f"<{len(cfg.hidden)}H", *cfg.hidden)
    else:
        version = 1
        desc = struct.pack("<BBf", ACTIVATION[cfg.activation], cfg.coord_octaves, cfg.omega0)
        for widths in (cfg.color, cfg.spatial, cfg.merge):
            desc += struct.pack("<B", len(widths)) + struct.pack(f"<{len(widths)}H", *widths)
    names, shapes = _names_shapes(cfg)
    payload = bytearray()
    n_params = 0
    for name in names:
        a = np.asarray(c.weights[name], dtype=np.float32)
        if a.shape != shapes[name]:
            raise InputError(f"weight {name} has shape {a.shape}, expected {shapes[name]}")
        if not np.all(np.isfinite(a)):
            raise InputError(f"weight {name} is not finite")
        payload += _quantise(a, c.quant)[0]
        n_params += a.size
    body = (
        desc
        + struct.pack("<B", QUANT[c.quant])
        + _signal_bytes(c.hdr)
        + _signal_bytes(c.sdr)
        + struct.pack("<IIII", c.width, c.height, n_params, len(payload))
        + bytes(payload)
    )
    total = 16 + len(body) + 4
    head = MAGIC + struct.pack("<HHI", version, 0, total)
    blob = head + body
    return blob + struct.pack("<I", zlib.crc32(blob) & 0xFFFFFFFF)


class _Reader:
    def __init__(self, data: bytes, pos: int, end: int):
        self.data, self.pos, self.end = data, pos, end

    def take(self, fmt: str):
        n = struct.calcsize(fmt)
        if self.pos + n > self.end:
            raise MetadataError("hdrkit metadata is truncated")
        vals = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += n
        return vals

    def raw(self, n: int) -> bytes:
        if n < 0 or self.pos + n > self.end:
            raise MetadataError("hdrkit metadata is truncated")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b


def _signal(r: _Reader, what: str) -> Signal:
    p, t, _, nits = r.take("<BBHf")
    if p not in _CICP_PRIMARIES or t not in _CICP_TRANSFER:
        raise MetadataError(f"hdrkit metadata has unknown {what} colour code points ({p}, {t})")
    if not (math.isfinite(nits) and 0 < nits <= 100000):
        raise MetadataError(f"hdrkit metadata has an invalid {what} luminance {nits}")
    return Signal(_CICP_PRIMARIES[p], _CICP_TRANSFER[t], float(nits))


def _siren_descriptor(r: _Reader) -> SirenConfig:
    act, octaves, omega0 = r.take("<BBf")
    if act not in _ACT_NAMES:
        raise MetadataError(f"hdrkit metadata has an unknown activation code {act}")
    widths = []
    for branch in ("colour", "spatial", "merge"):
        (n,) = r.take("<B")
        if n > 32:
            raise MetadataError(f"hdrkit metadata has too many {branch} layers ({n})")
        widths.append(tuple(r.take(f"<{n}H")))
    try:
        return SirenConfig(color=widths[0], spatial=widths[1], merge=widths[2], omega0=omega0,
                           activation=_ACT_NAMES[act], coord_octaves=octaves)
    except InputError as exc:
        raise MetadataError(f"hdrkit metadata has an invalid architecture: {exc}") from None


def _gamma_descriptor(r: _Reader) -> gammanet.GammaConfig:
    coord, colour, offset, n = r.take("<BBfB")
    if n > 32:
        raise MetadataError(f"hdrkit metadata has too many hidden layers ({n})")
    hidden = tuple(r.take(f"<{n}H"))
    try:
        return gammanet.GammaConfig(hidden=hidden, coord_octaves=coord, color_octaves=colour, offset=offset)
    except InputError as exc:
        raise MetadataError(f"hdrkit metadata has an invalid architecture: {exc}") from None


def unpack(data: bytes) -> Container:
    """Parse and validate a blob; raises :class:`MetadataError` for anything wrong (never another exception)."""
    data = bytes(data)
    if len(data) < 20 or not data.startswith(MAGIC):
        raise MetadataError("not hdrkit metadata (bad magic)")
    version, flags, total = struct.unpack_from("<HHI", data, 8)
    if version not in VERSIONS:
        raise MetadataError(f"hdrkit metadata version {version} is not supported (this hdrkit reads "
                            f"{', '.join(map(str, VERSIONS))})")
    if flags != 0:
        raise MetadataError(f"hdrkit metadata has unknown flags 0x{flags:04x}")
    if total != len(data):
        raise MetadataError(f"hdrkit metadata is truncated or padded ({len(data)} bytes, header says {total})")
    (crc,) = struct.unpack_from("<I", data, total - 4)
    if zlib.crc32(data[: total - 4]) & 0xFFFFFFFF != crc:
        raise MetadataError("hdrkit metadata is corrupt (CRC mismatch)")
    r = _Reader(data, 16, total - 4)
    family = 0
    if version >= 2:
        (family,) = r.take("<B")
        if family not in FAMILY.values():
            raise MetadataError(f"hdrkit metadata has an unknown model family code {family}")
    cfg = _gamma_descriptor(r) if family == FAMILY["gamma"] else _siren_descriptor(r)
    (q,) = r.take("<B")
    if q not in _QUANT_NAMES:
        raise MetadataError(f"hdrkit metadata has an unknown quantisation code {q}")
    quant = _QUANT_NAMES[q]
    hdr = _signal(r, "HDR")
    sdr = _signal(r, "SDR")
    width, height, n_params, n_payload = r.take("<IIII")
    if width > MAX_SIDE or height > MAX_SIDE:
        raise MetadataError(f"hdrkit metadata has an implausible image size {width}x{height}")
    names, shapes = _names_shapes(cfg)
    expected = sum(math.prod(s) for s in shapes.values())
    if expected > MAX_PARAMS or n_params != expected:
        raise MetadataError(f"hdrkit metadata parameter count {n_params} does not match its architecture")
    if n_payload != r.end - r.pos:
        raise MetadataError("hdrkit metadata payload length does not match the blob")
    weights: Dict[str, np.ndarray] = {}
    for name in names:
        shape = shapes[name]
        count = math.prod(shape)
        if quant == "fp32":
            a = np.frombuffer(r.raw(4 * count), dtype="<f4").astype(np.float32)
        elif quant == "fp16":
            a = np.frombuffer(r.raw(2 * count), dtype="<f2").astype(np.float32)
        else:
            (scale,) = r.take("<f")
            if not (math.isfinite(scale) and scale > 0):
                raise MetadataError(f"hdrkit metadata has an invalid int8 scale for {name}")
            a = np.frombuffer(r.raw(count), dtype=np.int8).astype(np.float32) * np.float32(scale)
        if not np.all(np.isfinite(a)):
            raise MetadataError(f"hdrkit metadata weight {name} is not finite")
        weights[name] = a.reshape(shape)
    if r.pos != r.end:
        raise MetadataError("hdrkit metadata payload length does not match its architecture")
    return Container(cfg=cfg, weights=weights, quant=quant, hdr=hdr, sdr=sdr, width=width, height=height)
