"""Architecture descriptor of the embedded MLP (:class:`SirenConfig`) and its parameter names and shapes.

Pure Python (no torch): the container parser and the CPU decoder read it without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Dict, Iterator, Tuple

from hdrkit.errors import InputError

_ACTIVATIONS = ("sin", "relu")


@dataclass(frozen=True)
class SirenConfig:
    """Architecture of the embedded MLP (stored in the metadata container's descriptor).

    ``color``/``spatial``: hidden widths of the two branches; ``merge``: hidden widths after the concat;
    ``omega0``: SIREN frequency; ``activation``: "sin" or "relu"; ``coord_octaves``: 0 feeds (x, y) raw, K > 0
    feeds the Fourier features sin/cos(2^k pi x) for k < K (4K inputs) to the spatial branch instead.
    """

    color: Tuple[int, ...] = (64, 32)
    spatial: Tuple[int, ...] = (64, 32)
    merge: Tuple[int, ...] = (64,)
    omega0: float = 30.0
    activation: str = "sin"
    coord_octaves: int = 0

    def __post_init__(self) -> None:
        if self.activation not in _ACTIVATIONS:
            raise InputError(f"activation must be one of {_ACTIVATIONS}, got {self.activation!r}")
        for name in ("color", "spatial", "merge"):
            widths = getattr(self, name)
            object.__setattr__(self, name, tuple(int(w) for w in widths))
            if len(getattr(self, name)) == 0 and name != "merge" or any(w <= 0 or w > 4096 for w in getattr(self, name)):
                raise InputError(f"{name} widths must be 1..4096 (and not empty for the branches), got {widths}")
        if not (0 < self.omega0 < 1e4) or not math.isfinite(self.omega0):
            raise InputError(f"omega0 must be in (0, 1e4), got {self.omega0}")
        if not 0 <= self.coord_octaves <= 16:
            raise InputError(f"coord_octaves must be 0..16, got {self.coord_octaves}")

    @property
    def coord_dim(self) -> int:
        return 2 if self.coord_octaves == 0 else 4 * self.coord_octaves

    def layer_shapes(self) -> Iterator[Tuple[str, int, int, bool]]:
        """Yield ``(prefix, in_features, out_features, is_first_of_branch)`` for each linear layer, in order."""
        prev = 3
        for i, w in enumerate(self.color):
            yield f"color.{i}", prev, w, i == 0
            prev = w
        c_out = prev
        prev = self.coord_dim
        for i, w in enumerate(self.spatial):
            yield f"spatial.{i}", prev, w, i == 0
            prev = w
        prev = c_out + prev
        for i, w in enumerate(self.merge):
            yield f"merge.{i}", prev, w, False
            prev = w
        yield "out", prev, 3, False

    def to_dict(self) -> dict:
        d = asdict(self)
        for k in ("color", "spatial", "merge"):
            d[k] = list(d[k])
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "SirenConfig":
        try:
            return cls(
                color=tuple(d["color"]),
                spatial=tuple(d["spatial"]),
                merge=tuple(d["merge"]),
                omega0=float(d["omega0"]),
                activation=str(d["activation"]),
                coord_octaves=int(d.get("coord_octaves", 0)),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"bad architecture descriptor: {exc}") from None


def param_names(cfg: SirenConfig) -> list[str]:
    """Parameter names in canonical (storage) order."""
    names = []
    for prefix, _, _, _ in cfg.layer_shapes():
        names += [f"{prefix}.weight", f"{prefix}.bias"]
    return names


def param_shapes(cfg: SirenConfig) -> Dict[str, Tuple[int, ...]]:
    shapes: Dict[str, Tuple[int, ...]] = {}
    for prefix, fin, fout, _ in cfg.layer_shapes():
        shapes[f"{prefix}.weight"] = (fout, fin)
        shapes[f"{prefix}.bias"] = (fout,)
    return shapes


def param_count(cfg: SirenConfig = SirenConfig()) -> int:
    return sum(math.prod(s) for s in param_shapes(cfg).values())
