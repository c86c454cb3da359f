"""Camera response functions (CRFs).

A camera maps the exposure ``X = E·t`` (scene radiance times exposure time) to a code value ``Z = f(X)``.
Merging works with the *inverse* response ``g = f⁻¹``, which we keep as a table: ``CRF.table[i, c]`` is the
relative linear exposure that produces the normalised code value ``i / (n − 1)`` in channel ``c``
(``n`` = 256 for 8-bit, 1024 or 65536 for higher bit depths).  Tables are positive where the curve is defined
(``table[0]`` may be 0 for parametric curves) and non-decreasing.

Parametric models
-----------------
- :func:`crf_linear` -- ``g(z) = z`` (RAW-like data).
- :func:`crf_gamma` -- ``g(z) = z^γ``.
- :func:`crf_srgb` -- the IEC 61966-2-1 sRGB decoding.
- :func:`crf_eilertsen2017` -- the sigmoid ``f(X) = (1 + σ)·Xⁿ / (Xⁿ + σ)`` of Eilertsen et al. 2017,
  *HDR image reconstruction from a single exposure using deep CNNs*, ACM TOG 36(6), eq. 7 (inverted in closed
  form: ``X = (σ·z / (1 + σ − z))^(1/n)``).

Estimated tables come from :func:`hdrkit.merge.calibrate`.  :func:`save_crf` / :func:`load_crf` store a CRF as
JSON or CSV.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

import numpy as np

from hdrkit.errors import FormatError, InputError

__all__ = [
    "CRF",
    "crf_linear",
    "crf_gamma",
    "crf_srgb",
    "crf_eilertsen2017",
    "crf_from_spec",
    "save_crf",
    "load_crf",
    "TABLE_SIZES",
]

#: Table sizes we create by default for each input bit depth.
TABLE_SIZES = {8: 256, 10: 1024, 16: 65536}


@dataclass(frozen=True)
class CRF:
    """An inverse camera response ``g``: normalised code value → relative linear exposure, per channel.

    Attributes
    ----------
    table : float64 ``n×3``; ``table[i, c] = g_c(i / (n − 1))``.
    name : where the curve came from (``"gamma2.2"``, ``"debevec1997"``, ...).
    info : free-form facts kept in the JSON file (parameters, solver settings).
    """

    table: np.ndarray
    name: str = "tabulated"
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t = np.asarray(self.table, dtype=np.float64)
        if t.ndim == 1:
            t = np.repeat(t[:, None], 3, axis=1)
        if t.ndim != 2 or t.shape[1] not in (1, 3) or t.shape[0] < 2:
            raise InputError(f"a CRF table must be n×3 with n ≥ 2, got shape {t.shape}")
        if t.shape[1] == 1:
            t = np.repeat(t, 3, axis=1)
        if not np.all(np.isfinite(t)):
            raise InputError("a CRF table must be finite")
        if np.any(t < 0):
            raise InputError("a CRF table must not be negative")
        if np.any(np.diff(t, axis=0) < -1e-9 * np.max(t)):
            raise InputError("a CRF table must be non-decreasing")
        object.__setattr__(self, "table", np.ascontiguousarray(t))

    @property
    def size(self) -> int:
        """Number of entries ``n``."""
        return int(self.table.shape[0])

    @property
    def codes(self) -> np.ndarray:
        """The normalised code values the table is sampled at, ``linspace(0, 1, n)``."""
        return np.linspace(0.0, 1.0, self.size)

    def resampled(self, n: int) -> "CRF":
        """The same curve tabulated at ``n`` entries (linear interpolation of the table)."""
        n = int(n)
        if n == self.size:
            return self
        x = np.linspace(0.0, 1.0, n)
        t = np.stack([np.interp(x, self.codes, self.table[:, c]) for c in range(3)], axis=1)
        return CRF(t, self.name, dict(self.info))

    def normalized(self, code: float = 0.5) -> "CRF":
        """Scale each channel so that ``g(code) = 1`` (the usual gauge of estimated curves)."""
        at = np.array([np.interp(code, self.codes, self.table[:, c]) for c in range(3)])
        if np.any(at <= 0):
            raise InputError(f"cannot normalise a CRF that is zero at code {code}")
        return CRF(self.table / at, self.name, dict(self.info))

    def linearize(self, z: np.ndarray) -> np.ndarray:
        """Relative exposure of code values ``z`` (``…×3``; uint8/uint16 codes or floats in [0, 1]) as float32.

        Integer input whose range matches the table size is a table lookup; anything else is interpolated.
        """
        z = np.asarray(z)
        if z.shape[-1] != 3:
            raise InputError(f"code values must have 3 channels, got shape {z.shape}")
        out = np.empty(z.shape, dtype=np.float32)
        if z.dtype.kind in "ui":
            levels = 256 if z.dtype == np.uint8 else 65536
            if levels == self.size:
                for c in range(3):
                    out[..., c] = self.table[z[..., c], c]
                return out
            x = z.astype(np.float64) / (levels - 1)
        else:
            x = z.astype(np.float64)
        for c in range(3):
            out[..., c] = np.interp(x[..., c], self.codes, self.table[:, c])
        return out

    def respond(self, exposure: np.ndarray) -> np.ndarray:
        """The forward response ``f``: relative exposure (``…×3``) → normalised code value in [0, 1].

        Exposures beyond ``g(1)`` clip to 1 (saturation), below ``g(0)`` to 0.
        """
        x = np.asarray(exposure, dtype=np.float64)
        out = np.empty(x.shape, dtype=np.float64)
        for c in range(3):
            g = self.table[:, c]
            # np.interp needs increasing abscissae: break ties of flat table parts by their first code.
            keep = np.concatenate([[True], np.diff(g) > 0])
            out[..., c] = np.interp(x[..., c], g[keep], self.codes[keep])
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "hdrkit-crf",
            "version": 1,
            "name": self.name,
            "size": self.size,
            "info": self.info,
            "inverse_response": {ch: self.table[:, c].tolist() for c, ch in enumerate("rgb")},
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "CRF":
        if not isinstance(d, dict) or d.get("format") != "hdrkit-crf":
            raise FormatError("not an hdrkit CRF file (missing \"format\": \"hdrkit-crf\")")
        if d.get("version") != 1:
            raise FormatError(f"unsupported CRF file version {d.get('version')!r}")
        try:
            inv = d["inverse_response"]
            table = np.stack([np.asarray(inv[ch], dtype=np.float64) for ch in "rgb"], axis=1)
        except (KeyError, TypeError, ValueError) as exc:
            raise FormatError(f"CRF file has a bad inverse_response table ({exc})") from None
        return cls(table, str(d.get("name", "tabulated")), dict(d.get("info") or {}))


def _check_size(size: int) -> int:
    size = int(size)
    if size < 2:
        raise InputError(f"a CRF table needs at least 2 entries, got {size}")
    return size


def crf_linear(size: int = 256) -> CRF:
    """The identity response ``g(z) = z`` (linear/RAW data)."""
    z = np.linspace(0.0, 1.0, _check_size(size))
    return CRF(z, "linear")


def crf_gamma(gamma: float = 2.2, size: int = 256) -> CRF:
    """A pure power response: ``f(X) = X^(1/γ)``, so ``g(z) = z^γ``."""
    if not np.isfinite(gamma) or gamma <= 0:
        raise InputError(f"gamma must be a positive number, got {gamma}")
    z = np.linspace(0.0, 1.0, _check_size(size))
    return CRF(z**gamma, f"gamma{gamma:g}", {"gamma": float(gamma)})


def crf_srgb(size: int = 256) -> CRF:
    """The sRGB decoding of IEC 61966-2-1: ``z/12.92`` below 0.04045, else ``((z + 0.055)/1.055)^2.4``."""
    z = np.linspace(0.0, 1.0, _check_size(size))
    g = np.where(z <= 0.04045, z / 12.92, ((z + 0.055) / 1.055) ** 2.4)
    return CRF(g, "srgb")


def crf_eilertsen2017(n: float = 0.9, sigma: float = 0.6, size: int = 256) -> CRF:
    """Inverse of the camera curve of Eilertsen et al. 2017 (ACM TOG 36(6), "HDR image reconstruction from a
    single exposure using deep CNNs", eq. 7): ``f(X) = (1 + σ)·Xⁿ/(Xⁿ + σ)``, ``f(1) = 1``.

    Solving for X gives ``g(z) = (σ·z/(1 + σ − z))^(1/n)`` for z in [0, 1].
    """
    if not (np.isfinite(n) and n > 0 and np.isfinite(sigma) and sigma > 0):
        raise InputError(f"eilertsen2017 needs n > 0 and sigma > 0, got n={n}, sigma={sigma}")
    z = np.linspace(0.0, 1.0, _check_size(size))
    g = (sigma * z / (1.0 + sigma - z)) ** (1.0 / n)
    return CRF(g, "eilertsen2017", {"n": float(n), "sigma": float(sigma)})


_SPEC = re.compile(r"^gamma\s*([0-9]*\.?[0-9]+)$")


def crf_from_spec(spec: Union[str, os.PathLike, CRF], size: int = 256) -> CRF:
    """A CRF from a name (``linear``, ``srgb``, ``gammaG`` e.g. ``gamma2.2``, ``eilertsen2017``), a file path
    (``.json``/``.csv``) or a :class:`CRF` (returned as is)."""
    if isinstance(spec, CRF):
        return spec
    s = str(spec).strip()
    low = s.lower()
    if low == "linear":
        return crf_linear(size)
    if low == "srgb":
        return crf_srgb(size)
    if low == "eilertsen2017":
        return crf_eilertsen2017(size=size)
    m = _SPEC.match(low)
    if m:
        return crf_gamma(float(m.group(1)), size)
    p = Path(s)
    if p.suffix.lower() in (".json", ".csv"):
        return load_crf(p)
    raise InputError(
        f"unknown CRF {s!r}: use linear, srgb, gammaG (e.g. gamma2.2), eilertsen2017 or a .json/.csv file"
    )


def save_crf(path: Union[str, os.PathLike], crf: CRF) -> None:
    """Write ``crf`` as JSON (``.json``) or CSV (``.csv``: header ``code,r,g,b``), atomically."""
    from hdrkit.io.atomic import atomic_write_bytes

    path = Path(path)
    ext = path.suffix.lower()
    if ext == ".json":
        data = json.dumps(crf.to_dict(), indent=1).encode()
    elif ext == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["code", "r", "g", "b"])
        for i, c in enumerate(crf.codes):
            w.writerow([repr(float(c))] + [repr(float(v)) for v in crf.table[i]])
        data = buf.getvalue().encode()
    else:
        raise InputError(f"a CRF is saved as .json or .csv, not {path.suffix or 'no extension'!r}")
    atomic_write_bytes(path, data)


def load_crf(path: Union[str, os.PathLike]) -> CRF:
    """Read a CRF written by :func:`save_crf` (JSON or CSV with columns ``code,r,g,b``)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"CRF file {path} does not exist")
    ext = path.suffix.lower()
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise FormatError(f"cannot read CRF file {path}: {exc}") from None
    if ext == ".json":
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise FormatError(f"CRF file {path} is not valid JSON ({exc.msg})") from None
        return CRF.from_dict(d)
    if ext == ".csv":
        rows = list(csv.reader(io.StringIO(text)))
        if not rows or [h.strip().lower() for h in rows[0]] != ["code", "r", "g", "b"]:
            raise FormatError(f"CRF file {path} must start with the header code,r,g,b")
        try:
            arr = np.array([[float(v) for v in r] for r in rows[1:] if r], dtype=np.float64)
        except ValueError as exc:
            raise FormatError(f"CRF file {path} has a non-numeric value ({exc})") from None
        if arr.ndim != 2 or arr.shape[1] != 4 or arr.shape[0] < 2:
            raise FormatError(f"CRF file {path} needs at least 2 rows of 4 columns")
        if not np.allclose(arr[:, 0], np.linspace(0, 1, arr.shape[0]), atol=1e-6):
            raise FormatError(f"CRF file {path}: codes must be evenly spaced from 0 to 1")
        return CRF(arr[:, 1:], "tabulated", {"source": path.name})
    raise InputError(f"a CRF file is .json or .csv, not {path.suffix or 'no extension'!r}")
