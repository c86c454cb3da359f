"""The :class:`Image`: float32 pixels plus what they mean (primaries, transfer, luminance scale)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Optional

import numpy as np

from hdrkit.errors import InputError


@dataclass
class Image:
    """An RGB picture and its colour encoding.

    Attributes
    ----------
    pixels : float32 array ``H×W×3`` (encoded values: code values in [0, 1] for srgb/bt1886/pq/hlg, linear
        values for ``linear``).
    primaries : ``"bt709" | "bt2020" | "p3d65"``.
    transfer : ``"linear" | "srgb" | "bt1886" | "pq" | "hlg"``.
    nits_per_unit : cd/m² of linear 1.0 (``linear``), of code 1.0 (``srgb``/``bt1886``: SDR white, default 203),
        or the HLG nominal peak (default 1000); ignored for ``pq`` (absolute).  ``None`` → the default.
    alpha : optional float32 ``H×W`` coverage, carried through unchanged.
    meta : facts about the file it came from (``format``, ``bit_depth``, ``path``, extra chunks/attributes).
    """

    pixels: np.ndarray
    primaries: str = "bt709"
    transfer: str = "bt1886"
    nits_per_unit: Optional[float] = None
    alpha: Optional[np.ndarray] = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from hdrkit.color.primaries import check_primaries
        from hdrkit.color.transfer import check_transfer, default_nits_per_unit

        px = np.asarray(self.pixels)
        if px.ndim == 2:
            px = np.repeat(px[..., None], 3, axis=-1)
        if px.ndim != 3 or px.shape[-1] != 3:
            raise InputError(f"image pixels must be H×W×3, got shape {px.shape}")
        if px.shape[0] < 1 or px.shape[1] < 1:
            raise InputError(f"image is empty ({px.shape[1]}×{px.shape[0]})")
        self.pixels = np.ascontiguousarray(px, dtype=np.float32)
        self.primaries = check_primaries(self.primaries)
        self.transfer = check_transfer(self.transfer)
        if self.nits_per_unit is None:
            self.nits_per_unit = default_nits_per_unit(self.transfer)
        self.nits_per_unit = float(self.nits_per_unit)
        if not np.isfinite(self.nits_per_unit) or self.nits_per_unit <= 0:
            raise InputError(f"nits per unit must be a positive number, got {self.nits_per_unit}")
        if self.alpha is not None:
            a = np.asarray(self.alpha, dtype=np.float32)
            if a.shape != self.pixels.shape[:2]:
                raise InputError(f"alpha shape {a.shape} does not match image {self.pixels.shape[:2]}")
            self.alpha = a

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def is_hdr(self) -> bool:
        """True for PQ/HLG signals and linear light (SDR transfers are srgb/bt1886)."""
        return self.transfer in ("pq", "hlg", "linear")

    def encoding(self) -> str:
        """Human-readable encoding, e.g. ``"BT.2020 PQ"`` or ``"BT.709 linear (1.0 = 100 nits)"``."""
        p = {"bt709": "BT.709", "bt2020": "BT.2020", "p3d65": "P3-D65"}[self.primaries]
        t = {"linear": "linear", "srgb": "sRGB", "bt1886": "BT.1886 γ2.4", "pq": "PQ", "hlg": "HLG"}[self.transfer]
        if self.transfer == "pq":
            return f"{p} {t}"
        what = {"linear": "1.0", "srgb": "white", "bt1886": "white", "hlg": "peak"}[self.transfer]
        return f"{p} {t} ({what} = {self.nits_per_unit:g} nits)"

    def with_pixels(self, pixels: np.ndarray, **changes: Any) -> "Image":
        """A copy with new pixels (and optionally other fields changed); ``meta`` is shallow-copied."""
        return replace(self, pixels=pixels, meta=dict(self.meta), **changes)

    def to(self, primaries: Optional[str] = None, transfer: Optional[str] = None,
           nits_per_unit: Optional[float] = None) -> "Image":
        """Shorthand for :func:`hdrkit.color.convert`."""
        from hdrkit.color.convert import convert

        return convert(self, primaries=primaries, transfer=transfer, nits_per_unit=nits_per_unit)

    def nits(self, primaries: str = "bt2020") -> np.ndarray:
        """Absolute linear light in cd/m² (float32 H×W×3) in ``primaries``."""
        from hdrkit.color.convert import to_nits

        return to_nits(self, primaries=primaries)
