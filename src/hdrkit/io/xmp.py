"""XMP packets: parsed with a real XML parser, safely, and read in both RDF forms.

XMP (ISO 16684-1) serialises each property of an ``rdf:Description`` either as an attribute
(``hdrgm:GainMapMax="3.5"``) or as a child element (``<hdrgm:GainMapMax>3.5</hdrgm:GainMapMax>``), arrays as
``<rdf:Seq>``/``<rdf:Bag>``/``<rdf:Alt>`` of ``<rdf:li>``, and structures with ``rdf:parseType="Resource"``.
Both forms mean the same thing and both are read here; prefixes are never trusted, only namespace URIs.

Safety: the packet comes from an untrusted file.  Python's expat parser never fetches external entities, and
packets carrying a document type declaration (where entity definitions -- "billion laughs" -- live) are
refused before parsing, so no entity is ever expanded; packets are size-limited.  Problems raise
:class:`hdrkit.errors.MetadataError` with a one-line message.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Dict, Iterator, List, Union

from hdrkit.errors import MetadataError

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
HDRGM = "http://ns.adobe.com/hdr-gain-map/1.0/"
CONTAINER = "http://ns.google.com/photos/1.0/container/"
ITEM = "http://ns.google.com/photos/1.0/container/item/"
APPLE_GAINMAP = "http://ns.apple.com/HDRGainMap/1.0/"
APPLE_PDI = "http://ns.apple.com/pixeldatainfo/1.0/"
MAX_PACKET = 1 << 20

Value = Union[str, List[str], Dict[str, object]]
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.I)


def parse(packet: bytes) -> ET.Element:
    """Root element of an XMP packet (bytes; trailing padding and ``<?xpacket?>`` allowed)."""
    if len(packet) > MAX_PACKET:
        raise MetadataError("XMP packet is too large")
    if _DTD.search(packet):
        raise MetadataError("XMP packet has a document type declaration (refused: entity expansion)")
    body = packet.rstrip(b"\0 \t\r\n")
    try:
        return ET.fromstring(body)
    except ET.ParseError as exc:
        raise MetadataError(f"XMP packet is not well-formed XML ({exc})") from None


def _tag(ns: str, local: str) -> str:
    return "{" + ns + "}" + local


def _value(el: ET.Element) -> Value:
    """Value of a property element: text, an array's items, or a structure's fields."""
    for kind in ("Seq", "Bag", "Alt"):
        arr = el.find(_tag(RDF, kind))
        if arr is not None:
            return [(li.text or "").strip() for li in arr.findall(_tag(RDF, "li"))]
    if el.get(_tag(RDF, "parseType")) == "Resource" or len(el):
        return _fields(el)
    return (el.text or "").strip()


def _fields(node: ET.Element) -> Dict[str, object]:
    out: Dict[str, object] = {}
    for k, v in node.attrib.items():
        if not k.startswith("{" + RDF):
            out[k] = v
    for child in node:
        if child.tag == _tag(RDF, "Description"):
            out.update(_fields(child))
        else:
            out[child.tag] = _value(child)
    return out


def descriptions(root: ET.Element) -> Iterator[ET.Element]:
    """Every ``rdf:Description`` of the packet."""
    return root.iter(_tag(RDF, "Description"))


def properties(root: ET.Element, ns: str) -> Dict[str, Value]:
    """Properties in namespace ``ns`` from every ``rdf:Description``, attribute and element forms alike:
    ``{local name: text | [items] | {structure}}``."""
    out: Dict[str, Value] = {}
    prefix = "{" + ns + "}"
    for d in descriptions(root):
        for k, v in _fields(d).items():
            if k.startswith(prefix):
                out[k[len(prefix):]] = v  # type: ignore[assignment]
    return out


def container_items(root: ET.Element) -> List[Dict[str, str]]:
    """Items of a Google ``Container:Directory`` (GContainer): ``[{"Semantic", "Mime", "Length", ...}]``."""
    items: List[Dict[str, str]] = []
    for d in descriptions(root):
        directory = d.find(_tag(CONTAINER, "Directory"))
        if directory is None:
            continue
        seq = directory.find(_tag(RDF, "Seq"))
        for li in ([] if seq is None else seq.findall(_tag(RDF, "li"))):
            item = li.find(_tag(CONTAINER, "Item"))
            node = item if item is not None else li
            f = _fields(node)
            if item is None and _tag(CONTAINER, "Item") in f and isinstance(f[_tag(CONTAINER, "Item")], dict):
                f = f[_tag(CONTAINER, "Item")]  # type: ignore[assignment]
            prefix = "{" + ITEM + "}"
            items.append({k[len(prefix):]: str(v) for k, v in f.items() if k.startswith(prefix)})
    return items


__all__ = ["APPLE_GAINMAP", "APPLE_PDI", "CONTAINER", "HDRGM", "ITEM", "RDF", "container_items", "descriptions",
           "parse", "properties"]
