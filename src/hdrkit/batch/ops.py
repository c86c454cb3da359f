"""What one batch item does: the library call behind ``hdrkit encode|decode|expand|eval|tonemap`` on one file.

An op is a frozen dataclass of the command's options (already parsed and checked by the CLI, with the same
helpers as the single-file commands).  ``options()`` is what the options hash of the manifest covers;
``setup()`` runs once per worker process (loads models, LUTs, compiles kernels); ``run(inputs, out)`` writes one
output atomically and returns a small JSON-able dict (shown in the summary, kept in the manifest).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

from hdrkit.batch.storage import digest as file_digest
from hdrkit.errors import InputError


class Op:
    """Base of the batch operations (see the module docstring)."""

    name = "op"
    #: (min, max) number of input files per item
    arity = (1, 1)
    #: output extensions allowed for ``fmt``
    formats: tuple[str, ...] = ()

    def options(self) -> dict:
        d = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        for key in self._option_files():  # an option that names a file: its content counts, not its path
            p = getattr(self, key)
            if p is not None and Path(p).is_file():
                d[key] = {"path": str(p), "sha256": file_digest(p)}
        return {"op": self.name, **d}

    def _option_files(self) -> tuple[str, ...]:
        return ()

    def check(self) -> None:
        if self.fmt not in self.formats:
            raise InputError(f"--format must be one of {', '.join(self.formats)} for batch {self.name}, "
                             f"got {self.fmt!r}")

    def output_name(self, item_name: str) -> str:
        return f"{item_name}.{self.fmt}"

    def setup(self) -> None:
        """Load what every item needs, once per worker process."""

    def run(self, inputs: list[Path], out: Path) -> dict:
        raise NotImplementedError


@dataclass(frozen=True, eq=False)
class EncodeOp(Op):
    """``hdrkit encode HDR [SDR] -o OUT`` (``hdrkit.codec.api.encode_file`` or the Ultra HDR gain-map encoder)."""

    tmo: Optional[str] = None
    steps: Optional[int] = None
    lr: Optional[float] = None
    quant: str = "fp16"
    quality: int = 95
    init: Optional[str] = None
    method: str = "mlp"
    map_scale: int = 4
    map_quality: int = 95
    map_channels: int = 3
    map_gamut: str = "base"
    base_gamut: str = "bt709"
    fmt: str = "jpg"
    seed: int = 0
    name = "encode"
    arity = (1, 2)
    formats = ("jpg", "png", "tif")

    def _option_files(self):
        return ("init",)

    def check(self) -> None:
        super().check()
        if self.method not in ("mlp", "gainmap"):
            raise InputError(f"--method must be mlp or gainmap, got {self.method!r}")
        if self.method == "gainmap" and self.fmt != "jpg":
            raise InputError("--method gainmap writes Ultra HDR JPEG: use --format jpg")
        if self.map_channels not in (1, 3):
            raise InputError("--map-channels must be 1 or 3")
        self.adapt_config()  # the family's config checks steps / lr

    def adapt_config(self):
        """The fitting settings of ``--init``'s model family (the gamma-map family by default), as `hdrkit encode`."""
        from dataclasses import replace

        from hdrkit.codec.api import default_adapt_config

        changes = {k: v for k, v in (("steps", self.steps), ("lr", self.lr)) if v is not None}
        return replace(default_adapt_config(self.init), seed=self.seed, **changes)

    def setup(self) -> None:
        if self.method == "mlp":
            from hdrkit.codec.weights import load_theta

            load_theta(self.init)  # a missing/invalid --init fails here, once

    def run(self, inputs: list[Path], out: Path) -> dict:
        hdr, sdr = inputs[0], (inputs[1] if len(inputs) > 1 else None)
        if self.method == "gainmap":
            from hdrkit.codec.ultrahdr import encode_file as encode_gainmap_file

            r = encode_gainmap_file(hdr, sdr, out, tmo=self.tmo, quality=self.quality, scale=self.map_scale,
                                    map_quality=self.map_quality, multichannel=self.map_channels == 3,
                                    base_primaries=self.base_gamut, map_gamut=self.map_gamut)
            return {"added_bytes": r.added_bytes}
        from hdrkit.codec.api import encode_file

        res = encode_file(hdr, sdr, out, tmo=self.tmo, adapt_cfg=self.adapt_config(), quant=self.quant,
                          quality=self.quality, theta_init=self.init)
        return {"added_bytes": res.added_bytes, "steps": res.info.steps_run,
                "adapt_seconds": round(res.adapt_seconds, 3)}


@dataclass(frozen=True, eq=False)
class DecodeOp(Op):
    """``hdrkit decode IN -o OUT`` (``hdrkit.codec.api.decode_to_file``)."""

    fmt: str = "png"
    name = "decode"
    formats = ("png", "tif", "exr")

    def run(self, inputs: list[Path], out: Path) -> dict:
        from hdrkit.codec.api import decode_to_file

        d = decode_to_file(inputs[0], out)
        return {"source": d.source, "peak_nits": round(d.peak_nits, 1)}


@dataclass(frozen=True, eq=False)
class ExpandOp(Op):
    """``hdrkit expand IN -o OUT --method M`` (``hdrkit.expand.expand``)."""

    method: str = "gcm"
    params: dict = field(default_factory=dict)
    fmt: str = "png"
    name = "expand"
    formats = ("png", "tif", "exr")

    def check(self) -> None:
        super().check()
        from hdrkit.expand import METHODS

        if self.method not in METHODS:
            raise InputError(f"unknown expansion method {self.method!r}; choose one of {', '.join(METHODS)}")

    def setup(self) -> None:
        from hdrkit.expand.learned import METHODS as LEARNED, load_model

        if self.method in LEARNED:
            load_model(self.method)

    def run(self, inputs: list[Path], out: Path) -> dict:
        from hdrkit.expand import expand
        from hdrkit.expand.files import read_sdr, write_hdr

        nits = expand(read_sdr(inputs[0]), method=self.method, **self.params)
        write_hdr(out, nits)
        return {"peak_nits": round(float(nits.max()), 1)}


@dataclass(frozen=True, eq=False)
class TonemapOp(Op):
    """``hdrkit tonemap IN -o OUT --method M`` (``hdrkit.tonemap.tonemap_file``)."""

    method: str = "bt2446a"
    params: dict = field(default_factory=dict)
    master: bool = False
    peak: float = 1000.0
    mid: float = 26.0
    primaries: Optional[str] = None
    transfer: Optional[str] = None
    nits_per_unit: Optional[float] = None
    fmt: str = "png"
    name = "tonemap"
    formats = ("png", "jpg", "tif")

    def options(self) -> dict:
        d = super().options()
        d["params"] = {k: str(v) for k, v in sorted(self.params.items())}
        lut = self.params.get("lut")
        if lut is not None and Path(lut).is_file():
            d["params"]["lut"] = {"path": str(lut), "sha256": file_digest(lut)}
        return d

    def check(self) -> None:
        super().check()
        from hdrkit.tonemap import get_operator

        get_operator(self.method).bind(self.params)

    def setup(self) -> None:
        if self.method == "lut":
            from hdrkit.tonemap import read_cube

            read_cube(self.params["lut"])

    def run(self, inputs: list[Path], out: Path) -> dict:
        from hdrkit.tonemap import tonemap_file

        tonemap_file(inputs[0], out, self.method, master=self.master, peak=self.peak, mid=self.mid,
                     primaries=self.primaries, transfer=self.transfer, nits_per_unit=self.nits_per_unit,
                     **self.params)
        return {}


@dataclass(frozen=True, eq=False)
class EvalOp(Op):
    """``hdrkit eval REF TEST --json`` (``hdrkit.metrics.evaluate``): one JSON file of metrics per pair."""

    metrics: Optional[tuple[str, ...]] = None
    primaries: Optional[str] = None
    transfer: Optional[str] = None
    nits_per_unit: Optional[float] = None
    fmt: str = "json"
    name = "eval"
    arity = (2, 2)
    formats = ("json",)

    def check(self) -> None:
        super().check()
        from hdrkit.metrics import METRICS

        bad = [k for k in self.metrics or () if k not in METRICS]
        if bad:
            raise InputError(f"unknown metric {bad[0]!r}; choose from {', '.join(METRICS)}")

    def run(self, inputs: list[Path], out: Path) -> dict:
        import json
        import math

        from hdrkit.io import atomic_write_bytes, read_image
        from hdrkit.metrics import evaluate

        r, t = (read_image(p, primaries=self.primaries, transfer=self.transfer, nits_per_unit=self.nits_per_unit)
                for p in inputs)
        if (r.width, r.height) != (t.width, t.height):
            raise InputError(f"{inputs[0].name} is {r.width}×{r.height} but {inputs[1].name} is "
                             f"{t.width}×{t.height}")
        m = evaluate(r.nits("bt2020"), t.nits("bt2020"), self.metrics)
        clean = {k: (v if math.isfinite(v) else str(v)) for k, v in m.items()}
        atomic_write_bytes(out, (json.dumps({"ref": str(inputs[0]), "test": str(inputs[1]), **clean},
                                            indent=1) + "\n").encode())
        return {k: v for k, v in clean.items()}


OPS: dict[str, type[Op]] = {"encode": EncodeOp, "decode": DecodeOp, "expand": ExpandOp, "tonemap": TonemapOp,
                            "eval": EvalOp}
