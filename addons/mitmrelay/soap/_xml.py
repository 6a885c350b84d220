"""Untrusted-XML handling: sniffing a SOAP envelope and parsing it safely, with bounds.

SOAP forbids DTDs (SOAP 1.1 §3, SOAP 1.2 Part 1 §5), so a body with a DOCTYPE is refused before
the parser sees it; the parser flags below are the second line of defence against XXE and entity
expansion (billion laughs).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypedDict, cast

from lxml import etree

SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_VERSIONS: dict[str, Literal["1.1", "1.2"]] = {SOAP11_NS: "1.1", SOAP12_NS: "1.2"}

# The root start tag of a SOAP message comes early; a few KB cover even long lists of xmlns.
SNIFF_BYTES = 16 * 1024
_CHUNK = 64 * 1024

# Possessive quantifiers throughout: hostile prefixes (long names, unclosed tags or DTDs) must
# not make these patterns backtrack, which would cost quadratic or exponential time.
_PROLOG = re.compile(
    r"""\A(?:\s++|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^\[>]++|\[[^\]]*+\])*+>)*+""",
    re.DOTALL,
)
_ROOT_TAG = re.compile(r"""<([A-Za-z_][\w.:-]*+)((?:[^>"']++|"[^"]*+"|'[^']*+')*+)>""")
_XMLNS = re.compile(r"""xmlns(?::([A-Za-z_][\w.-]*))?\s*=\s*(["'])(.*?)\2""", re.DOTALL)


@dataclass(frozen=True)
class Sniff:
    """What a cheap look at the first bytes says about a body."""

    version: Literal["1.1", "1.2"]
    has_doctype: bool


def decode_prefix(data: bytes) -> str:
    """Decode the start of an XML body well enough to read its markup (ASCII in all encodings
    SOAP stacks use); the parser does the exact decoding later."""
    head = data[:SNIFF_BYTES]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", "ignore")
    if head.startswith(b"<\x00"):
        return head.decode("utf-16-le", "ignore")
    if head.startswith(b"\x00<"):
        return head.decode("utf-16-be", "ignore")
    return head.removeprefix(b"\xef\xbb\xbf").decode("latin-1")


def sniff_envelope(data: bytes) -> Sniff | None:
    """The SOAP version if the root element is a SOAP 1.1 or 1.2 `Envelope`, else None.

    Goes by the envelope's namespace, not the content type: `text/xml` carries plenty of non-SOAP
    XML, and SOAP stacks send envelopes under odd content types.
    """
    text = decode_prefix(data)
    prolog = _PROLOG.match(text)
    assert prolog is not None  # the pattern matches the empty string
    root = _ROOT_TAG.match(text, prolog.end())
    if root is None:
        return None
    prefix, _, local = root.group(1).rpartition(":")
    if local != "Envelope":
        return None
    for decl in _XMLNS.finditer(root.group(2)):
        if (decl.group(1) or "") == prefix and decl.group(3) in SOAP_VERSIONS:
            return Sniff(SOAP_VERSIONS[decl.group(3)], "<!DOCTYPE" in prolog.group(0))
    return None


@dataclass
class Parsed:
    """A parsed (possibly partial) document: `root` is None when nothing usable came out."""

    root: etree._Element | None
    error: str | None = None
    truncated_at: int | None = None


class SafeParserFlags(TypedDict):
    resolve_entities: bool
    no_network: bool
    load_dtd: bool
    dtd_validation: bool
    huge_tree: bool


# The settings every parser of untrusted XML uses: no entities, no DTD, no network, lxml's bounds.
SAFE_PARSER: SafeParserFlags = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": False,
}


def _parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(events=("start", "end"), strip_cdata=False, **SAFE_PARSER)


def parse(data: bytes, limit: int, *, stop_after_operation: bool = False) -> Parsed:
    """Parse at most `limit` bytes of `data`.

    A body longer than `limit` yields the tree of its first `limit` bytes (`truncated_at` set),
    so a huge message still shows its headers and operation in bounded time. With
    `stop_after_operation`, parsing ends once the first Body child is complete (enough for labels).
    """
    parser = _parser()
    root: etree._Element | None = None
    end = min(len(data), limit)
    try:
        for offset in range(0, end, _CHUNK):
            parser.feed(data[offset : min(offset + _CHUNK, end)])
            # Only start and end events were asked for: each comes with an element.
            events = cast("Iterator[tuple[str, etree._Element]]", parser.read_events())
            for event, element in events:
                if root is None:
                    root = element
                if stop_after_operation and event == "end" and _is_body_child(element, root):
                    return Parsed(root)
        if end < len(data):
            return Parsed(root, truncated_at=end)
        parser.close()
    except etree.XMLSyntaxError as e:
        return Parsed(None, error=f"malformed XML: {one_line(str(e))}")
    return Parsed(root)


def _is_body_child(element: etree._Element, root: etree._Element) -> bool:
    parent = element.getparent()
    return parent is not None and parent.getparent() is root and qname(parent)[1] == "Body"


def one_line(text: str, limit: int = 200) -> str:
    """Collapse whitespace so that a message fits on one line, cut to `limit` characters."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def qname(element: etree._Element) -> tuple[str | None, str]:
    """(namespace, local name) of an element; comments and PIs have no name: (None, "")."""
    tag = element.tag
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    # An undeclared prefix (malformed input the parser recovered from) stays in the name, and
    # lxml's QName refuses such a name: keep the part after the colon.
    return None, tag.rpartition(":")[2]


def qtext(name: tuple[str | None, str]) -> str:
    """A (namespace, local name) pair as text: `{namespace}local`, or `local` with no namespace."""
    return f"{{{name[0]}}}{name[1]}" if name[0] else name[1]


def attribute_items(element: etree._Element) -> list[tuple[str, str]]:
    """An element's (name, value) attributes in document order, names in `{namespace}local` form."""
    # lxml gives str for both; lxml-stubs 0.5.1 declares str | bytes.
    return cast("list[tuple[str, str]]", element.attrib.items())


def text_of(element: etree._Element) -> str:
    """All the text inside an element, its descendants' included."""
    # lxml gives str; lxml-stubs 0.5.1 declares str | bytes.
    return "".join(cast("Iterator[str]", element.itertext()))
