"""Gain maps: HDR carried as SDR + a low-resolution 8-bit map of per-pixel log2 boosts.

The maths follows the Ultra HDR v1 format (``google/libultrahdr``, ``docs`` and ``lib/src/gainmapmath.cpp``) and
ISO/TS 21496-1 (gain map metadata):

* the base (SDR) image is linearised with the **sRGB** EOTF (IEC 61966-2-1: what the Ultra HDR spec,
  libultrahdr, gainmap-js and Chrome do), in the primaries its ICC profile names (none: BT.709);
* both renditions in linear light with 1.0 = SDR white = 203 cd/m² (libultrahdr ``kSdrWhiteNits``), in the
  *application colour space*: the base image's own gamut (ISO 21496-1 ``use_base_colour_space``; what every
  reader applies) or BT.2020, the HDR master's gamut, so that a multichannel map can restore wide-gamut colours
  that a BT.709 SDR cannot hold (ISO readers only: XMP-only readers such as libultrahdr apply any map in the
  base image's gamut);
* ``gain = log2((HDR + offset_hdr) / (SDR + offset_sdr))`` per channel (multichannel map) or on BT.2020 luminance
  (single-channel map); offsets 1/64 (the Adobe gain map specification's suggestion);
* ``recovery = ((gain - min) / (max - min)) ** gamma`` quantised to 8 bits, min/max the content boost range;
* the map may be ``scale`` × smaller per axis: both renditions are box-averaged over ``scale × scale`` blocks
  *before* the gain is taken;
* decode: ``HDR = (SDR + offset_sdr) * 2 ** (weight * lerp(min, max, recovery ** (1/gamma))) - offset_hdr`` with
  the recovery values upsampled bilinearly (pixel centres aligned); the boost is exponentiated per pixel, never
  linearly interpolated.

Metadata values are kept on the rational grid ``n / 2**16`` that the ISO 21496-1 block stores
(:data:`DENOMINATOR`), so the encoder quantises the map with exactly the numbers a decoder reads back.

Arrays: SDR code values ``(H, W, 3)`` float in [0, 1] or uint8, sRGB-encoded in ``base_primaries`` (BT.709
unless an ICC profile says otherwise); HDR absolute linear BT.2020 cd/m² ``(H, W, 3)``; maps ``(h, w, C)`` with ``C`` in {1, 3}.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from typing import Optional, Tuple

import numpy as np

from hdrkit.errors import FormatError, InputError, MetadataError

#: Linear 1.0 = SDR reference white (ITU-R BT.2408; libultrahdr ``kSdrWhiteNits``).
SDR_WHITE_NITS = 203.0
#: Offsets added to both renditions before the ratio (Adobe gain map spec: 1/64).
DEFAULT_OFFSET = 1.0 / 64.0
#: Common denominator of the ISO 21496-1 fractions we write; metadata floats live on this grid.
DENOMINATOR = 1 << 16
#: Largest |log2 boost| accepted anywhere (2**32 is far beyond any display).
MAX_LOG2 = 32.0
SCALES = (1, 2, 4, 8)

Triple = Tuple[float, float, float]


def _grid(x: float, how: str = "round") -> float:
    f = {"round": round, "floor": math.floor, "ceil": math.ceil}[how]
    return f(float(x) * DENOMINATOR) / DENOMINATOR


@dataclass(frozen=True)
class GainMapMetadata:
    """Gain map metadata (ISO 21496-1 / Adobe ``hdrgm``), per channel (R, G, B; identical for 1-channel maps).

    ``min_log2``/``max_log2``: log2 of the min/max content boost; ``gamma``: map gamma; ``offset_sdr``/
    ``offset_hdr``: offsets of the base (SDR) and alternate (HDR) renditions; ``capacity_min``/``capacity_max``:
    log2 HDR headroom at which the map starts/fully applies; ``channels``: 1 or 3 (map planes);
    ``use_base_colour_space``: True applies the map in the base image's own primaries, False in the alternate
    (HDR) image's colour space (:attr:`GainMap.map_primaries`, BT.2020 unless the map's ICC profile says).
    """

    min_log2: Triple
    max_log2: Triple
    gamma: Triple = (1.0, 1.0, 1.0)
    offset_sdr: Triple = (DEFAULT_OFFSET,) * 3
    offset_hdr: Triple = (DEFAULT_OFFSET,) * 3
    capacity_min: float = 0.0
    capacity_max: float = 1.0
    channels: int = 3
    use_base_colour_space: bool = False

    def validate(self) -> "GainMapMetadata":
        """Raise :class:`MetadataError` unless every field is finite and in range; returns ``self``."""
        if self.channels not in (1, 3):
            raise MetadataError(f"gain map must have 1 or 3 channels, got {self.channels}")
        for name in ("min_log2", "max_log2", "gamma", "offset_sdr", "offset_hdr"):
            v = getattr(self, name)
            if len(v) != 3 or not all(isinstance(x, float) and math.isfinite(x) for x in v):
                raise MetadataError(f"gain map metadata field {name} is not three finite numbers")
        for c in range(3):
            if not (-MAX_LOG2 <= self.min_log2[c] <= self.max_log2[c] <= MAX_LOG2):
                raise MetadataError(f"gain map content boost range [{self.min_log2[c]}, {self.max_log2[c]}] "
                                    f"(log2) is invalid")
            if not (0.0 < self.gamma[c] <= 100.0):
                raise MetadataError(f"gain map gamma {self.gamma[c]} is out of range (0, 100]")
            if not (-1.0 <= self.offset_sdr[c] <= 1.0 and -1.0 <= self.offset_hdr[c] <= 1.0):
                raise MetadataError("gain map offsets must lie in [-1, 1]")
        if not (math.isfinite(self.capacity_min) and math.isfinite(self.capacity_max)
                and 0.0 <= self.capacity_min < self.capacity_max <= MAX_LOG2):
            raise MetadataError(f"gain map HDR capacity [{self.capacity_min}, {self.capacity_max}] (log2) "
                                f"is invalid")
        return self


@dataclass
class GainMap:
    """An 8-bit gain map ``pixels`` ``(h, w, C)`` uint8 with its metadata, and the image size it applies to."""

    pixels: np.ndarray
    metadata: GainMapMetadata
    width: int
    height: int
    extra: dict = field(default_factory=dict)
    #: primaries of the base (SDR) image, from its ICC profile (none: BT.709)
    base_primaries: str = "bt709"
    #: application colour space when ``metadata.use_base_colour_space`` is False
    map_primaries: str = "bt2020"
    #: ``"iso"`` (ISO 21496-1 / Adobe hdrgm log-domain lerp) or ``"apple"`` (Apple HDRGainMap)
    curve: str = "iso"

    @property
    def space(self) -> str:
        """Primaries in which the map is applied."""
        return self.base_primaries if self.metadata.use_base_colour_space else self.map_primaries

    @property
    def scale(self) -> float:
        return self.width / self.pixels.shape[1]


# ------------------------------------------------------------------------------------------------ kernels
def sdr_to_linear(sdr: np.ndarray, space: str = "bt2020", *, base: str = "bt709", transfer: str = "srgb"
                  ) -> np.ndarray:
    """SDR code values ``(..., 3)`` -> linear light, 1.0 = SDR white, in primaries ``space``.

    ``base``: primaries of the code values; ``transfer``: their EOTF, ``"srgb"`` (the gain-map base image, as the
    Ultra HDR spec and libultrahdr read it) or ``"bt1886"`` (γ2.4, the project's SDR video convention).
    """
    from hdrkit import color

    if transfer not in ("srgb", "bt1886"):
        raise InputError(f"SDR transfer must be srgb or bt1886, got {transfer!r}")
    eotf = color.srgb_eotf if transfer == "srgb" else color.bt1886_eotf
    x = np.asarray(sdr)
    if x.dtype == np.uint8:  # 256-entry table: the same values, ~20x faster on large pictures
        lin = np.asarray(eotf(np.arange(256, dtype=np.float32) / 255.0), np.float32)[x]
    else:
        lin = np.asarray(eotf(np.clip(np.asarray(x, np.float32), 0, 1)), dtype=np.float32)
    if space == base:
        return lin
    return np.asarray(color.convert_primaries(lin, base, space), dtype=np.float32)


def box_downscale(x: np.ndarray, s: int) -> np.ndarray:
    """Mean over ``s × s`` blocks: ``(H, W, C)`` -> ``(ceil(H/s), ceil(W/s), C)``; partial edge blocks average
    the pixels they hold."""
    if s == 1:
        return np.asarray(x, np.float32)
    H, W, C = x.shape
    h, w = -(-H // s), -(-W // s)
    pad = np.zeros((h * s, w * s, C), np.float64)
    pad[:H, :W] = x
    cnt = np.zeros((h * s, w * s, 1), np.float64)
    cnt[:H, :W] = 1
    sums = pad.reshape(h, s, w, s, C).sum((1, 3))
    n = cnt.reshape(h, s, w, s, 1).sum((1, 3))
    return (sums / n).astype(np.float32)


def _downscale(x: np.ndarray, s: int, align: str) -> np.ndarray:
    if align == "centre" or s == 1:
        return box_downscale(x, s)
    if align != "corner":
        raise InputError(f"gain map alignment must be centre or corner, got {align!r}")
    H, W = x.shape[:2]
    p = s // 2
    padded = np.pad(x, ((p, 0), (p, 0), (0, 0)), mode="edge")
    return box_downscale(padded, s)[:-(-H // s), :-(-W // s)]


def _axis_weights(n_out: int, n_in: int, s: float) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Indices ``i0, i1`` and weights of ``i1`` for bilinear sampling with pixel centres aligned."""
    u = (np.arange(n_out, dtype=np.float64) + 0.5) / s - 0.5
    u = np.clip(u, 0, n_in - 1)
    i0 = np.floor(u).astype(np.int64)
    i1 = np.minimum(i0 + 1, n_in - 1)
    return i0, i1, (u - i0).astype(np.float32)


def bilinear_upscale(m: np.ndarray, height: int, width: int, scale: Optional[float] = None) -> np.ndarray:
    """``(h, w, C)`` map -> ``(height, width, C)`` by bilinear interpolation; output pixel ``x`` samples the map at
    ``(x + 0.5) / scale - 0.5`` (``scale`` defaults to ``width / w``), clamped at the borders."""
    h, w, _ = m.shape
    if (h, w) == (height, width):
        return np.asarray(m, np.float32)
    sx = scale if scale is not None else width / w
    sy = scale if scale is not None else height / h
    if w * sx == width and h * sy == height and m.shape[2] in (1, 3):
        import cv2  # same sampling (half-pixel centres, clamped borders), much faster than the gathers below

        out = cv2.resize(np.ascontiguousarray(m, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)
        return out.reshape(height, width, m.shape[2])
    x0, x1, wx = _axis_weights(width, w, sx)
    y0, y1, wy = _axis_weights(height, h, sy)
    m = np.asarray(m, np.float32)
    top = m[y0][:, x0] * (1 - wx)[None, :, None] + m[y0][:, x1] * wx[None, :, None]
    bot = m[y1][:, x0] * (1 - wx)[None, :, None] + m[y1][:, x1] * wx[None, :, None]
    return top * (1 - wy)[:, None, None] + bot * wy[:, None, None]


def shepard_upscale(m: np.ndarray, height: int, width: int) -> np.ndarray:
    """``(h, w, C)`` map -> ``(height, width, C)`` the way libultrahdr samples a gain map (``gainmapmath.cpp``
    ``sampleMap``): output pixel ``(x, y)`` sits at map position ``(x / s, y / s)`` with ``s = width / w``
    (pixel *corners* aligned, not centres) and blends its 4 neighbours by Shepard's inverse-distance weights
    ``1 / d`` (borders clamped; an exact hit takes that pixel).

    The weights depend only on each axis' fractional offsets, which take few distinct values: they are computed
    once per distinct (row offset, column offset) pair and gathered."""
    h, w, C = m.shape
    s = width / w

    def axis(n_out: int, n_in: int):
        pos = np.arange(n_out, dtype=np.float64) / s
        i0 = np.minimum(np.floor(pos).astype(np.int64), n_in - 1)
        i1 = np.minimum(i0 + 1, n_in - 1)
        d = np.stack([pos - i0, pos - i1], 1).astype(np.float32)  # offsets to the lower / upper neighbour
        uniq, inv = np.unique(d, axis=0, return_inverse=True)
        return i0, i1, uniq, inv.reshape(-1)

    x0, x1, ux, rx = axis(width, w)
    y0, y1, uy, ry = axis(height, h)
    # weights of the 4 neighbours (x0y0, x0y1, x1y0, x1y1) for each distinct (row, column) offset pair
    dy = uy[:, None, [0, 1, 0, 1]]
    dx = ux[None, :, [0, 0, 1, 1]]
    d = np.hypot(dy, dx)
    exact = d[..., 0] == 0
    wgt = np.where(d == 0, 0.0, 1.0 / np.where(d == 0, 1.0, d))
    wgt /= np.where(exact, 1.0, wgt.sum(-1))[..., None]
    wgt[exact] = (1.0, 0.0, 0.0, 0.0)
    wgt = wgt.astype(np.float32)
    m = np.asarray(m, np.float32)
    out = np.zeros((height, width, C), np.float32)
    for k, (yi, xi) in enumerate(((y0, x0), (y1, x0), (y0, x1), (y1, x1))):
        wk = wgt[..., k][ry][:, rx]
        out += m[yi][:, xi] * wk[..., None]
    return out


def log2_gain(sdr_lin: np.ndarray, hdr_lin: np.ndarray, offset_sdr: float = DEFAULT_OFFSET,
              offset_hdr: float = DEFAULT_OFFSET) -> np.ndarray:
    """``log2((hdr + offset_hdr) / (sdr + offset_sdr))`` elementwise (both linear, 1.0 = SDR white, >= 0)."""
    return np.log2((np.maximum(hdr_lin, 0) + offset_hdr) / (np.maximum(sdr_lin, 0) + offset_sdr)).astype(np.float32)


def compute_gainmap(
    sdr: np.ndarray,
    hdr_nits: np.ndarray,
    *,
    scale: int = 1,
    multichannel: bool = True,
    gamma: float = 1.0,
    offset: float = DEFAULT_OFFSET,
    boost_range: Optional[Tuple[float, float]] = None,
    base_primaries: str = "bt709",
    space: str = "bt2020",
    align: str = "centre",
) -> Tuple[np.ndarray, GainMapMetadata]:
    """Gain map of an (SDR, HDR) pair, before 8-bit quantisation.

    sdr: ``(H, W, 3)`` sRGB code values in ``base_primaries``; hdr_nits: ``(H, W, 3)`` absolute BT.2020 cd/m².
    ``space``: application colour space, ``"base"`` (the base image's primaries; every reader honours it) or a
    primaries name (``"bt2020"``: restores colours outside the base gamut, for ISO 21496-1 readers).
    Returns ``(recovery (ceil(H/scale), ceil(W/scale), C) float32 in [0, 1], metadata)``; ``C`` = 3 when
    ``multichannel`` else 1 (luminance in the application space).  ``boost_range``: fixed (min, max) log2
    boost instead of the content's own range.  ``align``: where map pixel ``i`` sits in the image, ``"centre"``
    (at ``s*i + (s-1)/2``, for bilinear readers) or ``"corner"`` (at ``s*i``, for libultrahdr's sampling:
    each map pixel then averages the ``s x s`` block centred on it).
    """
    sdr = np.asarray(sdr)
    hdr = np.asarray(hdr_nits, np.float32)
    if sdr.ndim != 3 or sdr.shape[2] != 3 or sdr.shape != hdr.shape:
        raise InputError(f"SDR {sdr.shape} and HDR {hdr.shape} must be matching H x W x 3 images")
    if not np.isfinite(hdr).all() or (sdr.dtype != np.uint8 and not np.isfinite(sdr).all()):
        raise InputError("input pixels contain NaN or Inf")
    if int(scale) != scale or not 1 <= scale <= 128:
        raise InputError(f"gain map scale must be an integer in 1..128, got {scale}")
    if not (0 < gamma <= 100):
        raise InputError(f"gain map gamma must be in (0, 100], got {gamma}")
    if not (0 < offset <= 1):
        raise InputError(f"gain map offset must be in (0, 1], got {offset}")
    from hdrkit import color

    off = _grid(offset)
    gam = _grid(gamma)
    app = base_primaries if space == "base" else space
    h = np.clip(hdr, 0, 10000) / SDR_WHITE_NITS
    if app != "bt2020":
        h = np.asarray(color.convert_primaries(h, "bt2020", app), np.float32)
    s_lin = _downscale(sdr_to_linear(sdr, app, base=base_primaries), int(scale), align)
    h_lin = _downscale(h, int(scale), align)
    if not multichannel:
        s_lin = np.asarray(color.luminance(s_lin, app), np.float32)[..., None]
        h_lin = np.asarray(color.luminance(h_lin, app), np.float32)[..., None]
    g = log2_gain(s_lin, h_lin, off, off)
    C = g.shape[2]
    if boost_range is not None:
        lo = np.full(C, boost_range[0], np.float64)
        hi = np.full(C, boost_range[1], np.float64)
    else:
        lo = g.reshape(-1, C).min(0).astype(np.float64)
        hi = g.reshape(-1, C).max(0).astype(np.float64)
    lo = np.array([_grid(v, "floor") for v in np.clip(lo, -MAX_LOG2, MAX_LOG2)])
    hi = np.array([_grid(v, "ceil") for v in np.clip(hi, -MAX_LOG2, MAX_LOG2)])
    hi = np.maximum(hi, lo + 1.0 / DENOMINATOR)
    rec = np.clip((g - lo.astype(np.float32)) / (hi - lo).astype(np.float32), 0, 1)
    if gam != 1.0:
        rec = rec ** np.float32(gam)
    lo3 = tuple(float(v) for v in (lo if C == 3 else np.repeat(lo, 3)))
    hi3 = tuple(float(v) for v in (hi if C == 3 else np.repeat(hi, 3)))
    cap_max = _grid(max(max(hi3), 1.0 / DENOMINATOR), "ceil")
    meta = GainMapMetadata(min_log2=lo3, max_log2=hi3, gamma=(gam,) * 3, offset_sdr=(off,) * 3,
                           offset_hdr=(off,) * 3, capacity_min=0.0, capacity_max=cap_max, channels=C,
                           use_base_colour_space=app == base_primaries)
    return rec.astype(np.float32), meta.validate()


def quantise_map(recovery: np.ndarray) -> np.ndarray:
    """``(h, w, C)`` recovery values in [0, 1] -> uint8 (round half up, as libultrahdr ``affineMapGain``)."""
    return np.clip(np.floor(np.asarray(recovery, np.float32) * 255 + 0.5), 0, 255).astype(np.uint8)


def display_weight(metadata: GainMapMetadata, display_peak_nits: Optional[float] = None) -> float:
    """Map weight for a display with ``display_peak_nits`` of peak (``None``: full HDR, weight 1)::

        w = clamp((log2(peak / 203) - capacity_min) / (capacity_max - capacity_min), 0, 1)
    """
    if display_peak_nits is None:
        return 1.0
    if not (display_peak_nits > 0 and math.isfinite(display_peak_nits)):
        raise InputError(f"display peak must be a positive number of nits, got {display_peak_nits}")
    h = math.log2(max(display_peak_nits / SDR_WHITE_NITS, 1.0))
    return float(np.clip((h - metadata.capacity_min) / (metadata.capacity_max - metadata.capacity_min), 0, 1))


def apply_gainmap(
    sdr: np.ndarray,
    gain_map: np.ndarray,
    metadata: GainMapMetadata,
    *,
    weight: float = 1.0,
    base_primaries: str = "bt709",
    map_primaries: str = "bt2020",
    curve: str = "iso",
    sampling: str = "bilinear",
) -> np.ndarray:
    """Rebuild HDR from sRGB SDR code values ``(H, W, 3)`` in ``base_primaries`` and a map ``(h, w, C)``
    (uint8, or float in [0, 1]), applied in ``base_primaries`` when ``metadata.use_base_colour_space`` else in
    ``map_primaries``.  ``curve="apple"``: Apple's ``HDRGainMap`` curve, ``boost = 1 + (2**max - 1) *
    map**1.961`` (Skia ``SkGainmapShader``), instead of ``2**lerp(min, max, map**(1/gamma))``.
    ``sampling``: how a smaller map is upsampled: ``"bilinear"`` (pixel centres aligned, as GPU texture
    sampling in Chrome and gainmap-js) or ``"libultrahdr"`` (:func:`shepard_upscale`).

    Returns absolute linear BT.2020 cd/m² ``(H, W, 3)`` float32, clipped to [0, 10000].
    """
    from hdrkit import color

    metadata.validate()
    sdr = np.asarray(sdr)
    if sdr.ndim != 3 or sdr.shape[2] != 3:
        raise InputError(f"SDR must be H x W x 3, got {sdr.shape}")
    m = np.asarray(gain_map)
    if m.ndim == 2:
        m = m[..., None]
    if m.ndim != 3 or m.shape[2] not in (1, 3):
        raise MetadataError(f"gain map must have 1 or 3 channels, got shape {m.shape}")
    H, W = sdr.shape[:2]
    h, w = m.shape[:2]
    if h > H or w > W or h < 1 or w < 1:
        raise MetadataError(f"gain map {w}x{h} does not fit the {W}x{H} image")
    rec = m.astype(np.float32) / 255.0 if m.dtype == np.uint8 else np.clip(m.astype(np.float32), 0, 1)
    if sampling == "libultrahdr":
        rec = shepard_upscale(rec, H, W) if (h, w) != (H, W) else rec
    elif sampling == "bilinear":
        si = max(1, round(W / w))
        rec = bilinear_upscale(rec, H, W, scale=float(si) if (-(-W // si), -(-H // si)) == (w, h) else None)
    else:
        raise InputError(f"gain map sampling must be bilinear or libultrahdr, got {sampling!r}")
    lo = np.asarray(metadata.min_log2, np.float32)
    hi = np.asarray(metadata.max_log2, np.float32)
    gam = np.asarray(metadata.gamma, np.float32)
    if rec.shape[2] == 1 and not (len(set(lo)) == len(set(hi)) == len(set(gam)) == 1):
        rec = np.repeat(rec, 3, axis=2)
    if rec.shape[2] == 1:  # one plane, one set of parameters: compute the boost once, broadcast over RGB
        lo, hi, gam = lo[:1], hi[:1], gam[:1]
    if curve == "apple":
        boost = 1.0 + (np.exp2(hi) - 1.0) * rec ** np.float32(1.961)
        if weight != 1.0:
            boost = np.exp2(np.float32(weight) * np.log2(boost))
    else:
        if np.any(gam != 1):
            rec = rec ** (1.0 / gam)
        boost = np.exp2(np.float32(weight) * (lo + (hi - lo) * rec))
    space = base_primaries if metadata.use_base_colour_space else map_primaries
    out = sdr_to_linear(sdr, space, base=base_primaries)
    out += np.asarray(metadata.offset_sdr, np.float32)
    out *= boost
    out -= np.asarray(metadata.offset_hdr, np.float32)
    if space != "bt2020":
        out = np.asarray(color.convert_primaries(out, space, "bt2020"), np.float32)
    out *= np.float32(SDR_WHITE_NITS)
    return np.clip(out, 0, 10000, out=out)


# -------------------------------------------------------------------------------------- map JPEG coding
def encode_map_jpeg(pixels: np.ndarray, quality: int = 95) -> bytes:
    """8-bit map ``(h, w, C)`` -> baseline JPEG bytes (greyscale for C = 1; 4:4:4 colour for C = 3)."""
    from PIL import Image as PILImage

    q = int(quality)
    if not 1 <= q <= 100:
        raise InputError(f"gain map quality must be in 1..100, got {quality}")
    p = np.asarray(pixels)
    if p.dtype != np.uint8 or p.ndim != 3 or p.shape[2] not in (1, 3):
        raise InputError(f"gain map pixels must be uint8 (h, w, 1|3), got {p.dtype} {p.shape}")
    img = PILImage.fromarray(p[..., 0], "L") if p.shape[2] == 1 else PILImage.fromarray(p, "RGB")
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q, subsampling=0, optimize=True)
    return buf.getvalue()


def decode_map_jpeg(data: bytes, max_size: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """JPEG bytes of a gain map -> uint8 ``(h, w, C)``; :class:`MetadataError` when it is not a readable JPEG,
    is over the pixel budget, or (``max_size`` = the primary's ``(H, W)``) is larger than the image it maps."""
    from hdrkit.io.read import PIL_DECODE_ERRORS, open_pillow

    try:
        img = open_pillow(data, "jpeg", "gain map")
    except FormatError as exc:
        raise MetadataError(str(exc)) from None
    w, h = img.size
    if max_size is not None and (h > max_size[0] or w > max_size[1]):
        raise MetadataError(f"the gain map ({w}×{h}) is larger than the image it maps ({max_size[1]}×{max_size[0]})")
    try:
        with img:
            if img.mode not in ("L", "RGB"):
                img = img.convert("RGB")
            arr = np.asarray(img)
    except PIL_DECODE_ERRORS as exc:
        raise MetadataError(f"the gain map JPEG cannot be decoded ({exc})") from None
    return arr[..., None] if arr.ndim == 2 else arr


def encode(
    sdr: np.ndarray,
    hdr_nits: np.ndarray,
    *,
    scale: int = 4,
    quality: int = 95,
    multichannel: bool = True,
    gamma: float = 1.0,
    offset: float = DEFAULT_OFFSET,
    base_primaries: str = "bt709",
    space: str = "bt2020",
    align: str = "centre",
) -> Tuple[GainMap, bytes]:
    """Gain map of a pair, quantised to 8 bits and JPEG-coded: ``(GainMap with the *decoded* map, jpeg bytes)``.

    The returned map holds the pixels a decoder reads back from the JPEG, so ``decode(sdr, gm)`` is what any
    reader of the file reconstructs.
    """
    rec, meta = compute_gainmap(sdr, hdr_nits, scale=scale, multichannel=multichannel, gamma=gamma, offset=offset,
                                base_primaries=base_primaries, space=space, align=align)
    data = encode_map_jpeg(quantise_map(rec), quality)
    H, W = np.asarray(sdr).shape[:2]
    map_prim = base_primaries if space == "base" else space
    return GainMap(decode_map_jpeg(data), meta, W, H, {"scale": scale, "quality": quality},
                   base_primaries=base_primaries, map_primaries=map_prim), data


def decode(sdr: np.ndarray, gm: GainMap, *, display_peak_nits: Optional[float] = None,
           sampling: str = "bilinear") -> np.ndarray:
    """HDR cd/m² (BT.2020) from SDR code values and a :class:`GainMap` (``sampling``: see
    :func:`apply_gainmap`)."""
    return apply_gainmap(sdr, gm.pixels, gm.metadata, weight=display_weight(gm.metadata, display_peak_nits),
                         base_primaries=gm.base_primaries, map_primaries=gm.map_primaries, curve=gm.curve,
                         sampling=sampling)


__all__ = [
    "DEFAULT_OFFSET", "DENOMINATOR", "GainMap", "GainMapMetadata", "SDR_WHITE_NITS", "apply_gainmap",
    "bilinear_upscale", "box_downscale", "compute_gainmap", "decode", "decode_map_jpeg", "display_weight",
    "encode", "encode_map_jpeg", "log2_gain", "quantise_map", "sdr_to_linear",
]
