"""Operator parameters from a function's signature and numpydoc docstring: listing, parsing ``KEY=VALUE`` text
and binding with one-line errors that name the valid parameters (never Python's "unexpected keyword argument").

Used by the operator registries (:mod:`hdrkit.tonemap.operators`, :mod:`hdrkit.expand`) and the CLI's
``-p/--param`` options.
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Optional, Sequence

from hdrkit.errors import InputError


@dataclass(frozen=True)
class Param:
    """One keyword parameter of an operator: ``name``, ``default`` (``inspect.Parameter.empty`` when required),
    ``kind`` (``"number"``, ``"integer"``, ``"boolean"``, ``"text"``, ``"number or none"``, ``"any"``...) and
    ``doc`` (its line from the docstring's Parameters section)."""

    name: str
    default: Any
    kind: str
    doc: str = ""

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def describe(self, required: bool = False) -> str:
        """``name=default (kind)  doc`` for listings (``name (required, kind)`` when it must be given)."""
        if required or self.required:
            return f"{self.name} (required, {self.kind})" + (f"  {self.doc}" if self.doc else "")
        default = f"={_show(self.default)}"
        doc = f"  {self.doc}" if self.doc else ""
        return f"{self.name}{default} ({self.kind}){doc}"


def _show(v: Any) -> str:
    if v is None:
        return "none"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _kind(annotation: Any, default: Any) -> str:
    if annotation is Any:
        return "any"
    if annotation is inspect.Parameter.empty:
        if isinstance(default, bool):
            return "boolean"
        if isinstance(default, int):
            return "integer"
        if isinstance(default, float):
            return "number"
        if isinstance(default, str):
            return "text"
        return "any"
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if annotation is float:
        return "number"
    if annotation is str:
        return "text"
    args = typing.get_args(annotation)
    if type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1:
            return f"{_kind(rest[0], inspect.Parameter.empty)} or none"
    return "any"


def docstring_params(fn: Callable) -> dict[str, str]:
    """``name -> first sentence`` of the numpydoc Parameters section (``a, b : text`` documents both)."""
    doc = inspect.getdoc(fn) or ""
    m = re.search(r"^Parameters\n-+\n(.*?)(?:\n\s*\n[A-Z][a-z]+\n-+|\Z)", doc, flags=re.S | re.M)
    if not m:
        return {}
    out: dict[str, str] = {}
    current: list[str] = []
    for line in m.group(1).splitlines():
        head = re.match(r"^([A-Za-z_][\w, ]*?)\s*:\s*(.*)$", line)
        if head and not line.startswith(" "):
            current = [n.strip() for n in head.group(1).split(",") if n.strip()]
            for n in current:
                out[n] = head.group(2).strip()
        elif current and line.strip():
            for n in current:
                out[n] = f"{out[n]} {line.strip()}".strip()
    return {k: re.sub(r":[a-z]+:`~?([^`]*)`", r"\1", v).replace("``", "") for k, v in out.items()}


def parameters(fn: Callable, skip: int = 1, hidden: Iterable[str] = ()) -> list[Param]:
    """The keyword parameters of ``fn`` after its first ``skip`` positional ones (the image), minus ``hidden``
    (e.g. ``progress``, ``device``, which the caller supplies)."""
    sig = inspect.signature(fn, eval_str=True)
    docs = docstring_params(fn)
    hidden = set(hidden)
    out = []
    for i, p in enumerate(sig.parameters.values()):
        if i < skip or p.name in hidden or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        out.append(Param(p.name, p.default, _kind(p.annotation, p.default), docs.get(p.name, "")))
    return out


_BOOLS = {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False, "off": False, "0": False}


def _number(text: str) -> float:
    v = float(text)
    if math.isnan(v):
        raise ValueError(text)
    return v


def coerce(param: Param, text: str, owner: str) -> Any:
    """Text from the command line → the value ``param`` expects (one-line :class:`InputError` otherwise)."""
    low = text.strip().lower()
    kind = param.kind
    if kind.endswith(" or none"):
        if low in ("none", "null", ""):
            return None
        kind = kind[: -len(" or none")]
    try:
        if kind == "boolean":
            return _BOOLS[low]
        if kind == "integer":
            return int(text)
        if kind == "number":
            return _number(text)
    except (KeyError, ValueError):
        raise InputError(f"{owner}: parameter {param.name} must be {'an' if kind == 'integer' else 'a'} "
                         f"{kind}, got {text!r}") from None
    if kind == "text":
        return text
    # "any": the most specific reading
    if low in ("true", "false"):
        return low == "true"
    if low in ("none", "null"):
        return None
    try:
        return int(text) if re.fullmatch(r"[+-]?\d+", text.strip()) else _number(text)
    except ValueError:
        return text


def parse_assignments(items: Optional[Sequence[str]], option: str = "--param") -> dict[str, str]:
    """``["key=0.3", "local=bilateral"]`` → ``{"key": "0.3", "local": "bilateral"}`` (text values)."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"{option} expects NAME=VALUE, got {item!r}")
        if key in out:
            raise InputError(f"{option} {key} given twice")
        out[key] = value.strip()
    return out


def bind(fn: Callable, owner: str, params: Mapping[str, Any], skip: int = 1, hidden: Iterable[str] = (),
         allowed_hidden: Iterable[str] = ()) -> dict[str, Any]:
    """Check ``params`` against ``fn``'s parameters and convert text values; unknown names, missing required
    parameters and bad values raise one-line :class:`InputError` naming ``owner``'s valid parameters.
    ``allowed_hidden``: hidden parameters the caller may pass through unchecked (``progress``, ``device``)."""
    plist = parameters(fn, skip, hidden)
    by_name = {p.name: p for p in plist}
    passthrough = set(allowed_hidden)
    valid = ", ".join(p.name for p in plist) or "none"
    out: dict[str, Any] = {}
    for k, v in params.items():
        if k in passthrough:
            out[k] = v
            continue
        p = by_name.get(k)
        if p is None:
            raise InputError(f"{owner} has no parameter {k!r}; its parameters: {valid}")
        out[k] = coerce(p, v, owner) if isinstance(v, str) else v
    missing = [p.name for p in plist if p.required and p.name not in out]
    if missing:
        raise InputError(f"{owner} needs parameter {', '.join(missing)} (e.g. -p {missing[0]}=...)")
    return out
