"""Answering requests from recorded flows by what they mean, not by their bytes.

No real SOAP client sends the same bytes twice: WS-Security adds a fresh timestamp, nonce and
digest to every request, WS-Addressing a fresh MessageID, and stacks differ in prefixes and
namespace declarations. So a SOAP request is matched by its endpoint path, SOAP version, operation
and the canonical form of its envelope: elements by namespace and local name (prefixes and
declaration order do not count), attributes sorted, whitespace between elements dropped, and the
volatile parts left out (the WS-Security header, wsa:MessageID/RelatesTo/To, wsu:Id attributes,
and what the user lists). Any other request (a WSDL, its imports) is matched by method, path and
query exactly.

Everything here is pure: the addon (`replay_addon.py`) reads the flow files and answers flows.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote

from lxml import etree
from mitmproxy import exceptions, http, io

from . import mtom
from ._xml import (
    SOAP11_NS,
    SOAP12_NS,
    XSI_NS,
    attribute_items,
    one_line,
    parse,
    qname,
    sniff_envelope,
)
from .mask import MASK, SECRET_ELEMENTS
from .render import analyze
from .summary import MessageInfo, Summary

XOP_NS = mtom.XOP_NS
# wsu:Id marks what a signature covers; stacks generate a fresh one per message.
_WSU_SUFFIX = "wssecurity-utility-1.0.xsd"
# WS-Addressing headers that change per message (MessageID, RelatesTo) or with the address the
# client was pointed at (To: a mock on a free port has a new one each run; the endpoint path is
# matched from the HTTP request instead).
VOLATILE_WSA = frozenset({"MessageID", "RelatesTo", "To"})
# Compared item by item when looking for the nearest recording; longer envelopes are compared on
# this many items only, to keep the cost of a miss bounded.
_MAX_ITEMS = 2000
_MAX_COMPARED = 50

Name = tuple[str, str]  # (namespace or "", local name)


class Node(NamedTuple):
    """An element in canonical form: comparable and hashable, blind to prefixes and layout."""

    name: Name
    attributes: tuple[tuple[Name, str], ...]
    text: str
    children: tuple[Node, ...]


# --- which elements the user wants ignored --------------------------------------------------------


class Step(NamedTuple):
    namespace: str | None  # None: any namespace; "": no namespace
    local: str  # "*": any name


IgnoreRule = tuple[Step, ...]

_STEP = re.compile(r"(?:\{([^{}]*)\})?(\*|[A-Za-z_][\w.-]*+)")


def parse_ignore(entry: str) -> IgnoreRule:
    """`{urn:x}RequestTime`, `RequestTime` (any namespace), or a simple path of such steps
    separated by `/` (`Body/*/{urn:x}Stamp`), matching an element whose innermost ancestors are
    those steps. Raises ValueError naming the fault."""
    text = entry.strip()
    if not text:
        raise ValueError("empty element name; write {namespace}Local, Local or a path a/b")
    steps: list[Step] = []
    pos = 0
    while True:
        step = _STEP.match(text, pos)
        if step is None:
            rest = text[pos:]
            hint = (
                "an unclosed '{'"
                if rest.startswith("{") and "}" not in rest
                else f"{rest[:20]!r} is not an XML name"
                if rest and not rest.startswith("/")
                else "an empty step"
            )
            raise ValueError(
                f"step {len(steps) + 1} of {text!r}: {hint}; write {{namespace}}Local, Local or *"
            )
        steps.append(Step(step.group(1), step.group(2)))
        pos = step.end()
        if pos == len(text):
            return tuple(steps)
        if text[pos] != "/":
            raise ValueError(
                f"step {len(steps)} of {text!r} is followed by {text[pos:][:20]!r}; "
                "separate steps with '/'"
            )
        pos += 1


def _matches(rule: IgnoreRule, path: Sequence[Name]) -> bool:
    if len(rule) > len(path):
        return False
    return all(
        (step.namespace is None or step.namespace == ns) and step.local in ("*", local)
        for step, (ns, local) in zip(rule, path[len(path) - len(rule) :], strict=True)
    )


# --- the canonical form of an envelope ------------------------------------------------------------


def _name(element: etree._Element) -> Name:
    ns, local = qname(element)
    return ns or "", local


def _attribute_name(name: str) -> Name:
    q = etree.QName(name)
    return q.namespace or "", q.localname


def _attribute_value(element: etree._Element, name: Name, value: str) -> str:
    # xsi:type holds a QName whose prefix is as arbitrary as an element's.
    if name == (XSI_NS, "type") and ":" in value:
        prefix, _, local = value.strip().partition(":")
        ns = element.nsmap.get(prefix)
        return f"{{{ns}}}{local}" if ns else value
    return value


def _volatile_header(name: Name) -> bool:
    ns, local = name
    return local == "Security" or ("addressing" in ns and local in VOLATILE_WSA)


def _canonical(
    element: etree._Element,
    path: tuple[Name, ...],
    rules: Sequence[IgnoreRule],
    parts: dict[str, bytes],
) -> Node | None:
    name = _name(element)
    path = (*path, name)
    if any(_matches(rule, path) for rule in rules):
        return None
    attributes = []
    for raw_name, value in attribute_items(element):
        attribute = _attribute_name(raw_name)
        if attribute[1] == "Id" and attribute[0].endswith(_WSU_SUFFIX):
            continue
        if name == (XOP_NS, "Include") and attribute == ("", "href"):
            # Content-IDs are generated per message; the attachment's bytes are what was sent.
            cid = unquote(value.removeprefix("cid:"))
            value = "sha256:" + hashlib.sha256(parts[cid]).hexdigest() if cid in parts else value
        attributes.append((attribute, _attribute_value(element, attribute, value)))
    children, segments, had_children = [], [element.text or ""], False
    for child in element:
        if isinstance(child.tag, str):  # comments and processing instructions do not count
            had_children = True
            node = _canonical(child, path, rules, parts)
            if node is not None:
                children.append(node)
        segments.append(child.tail or "")
    if had_children:  # whitespace between elements is layout, not content
        segments = [s for s in segments if s.strip()]
    return Node(name, tuple(sorted(attributes)), "".join(segments), tuple(children))


@dataclass(frozen=True)
class SoapRequest:
    version: str
    operation: Name | None
    header: tuple[Node, ...]
    body: tuple[Node, ...]


def resolve(content: bytes, info: MessageInfo) -> Summary | None:
    """The SOAP view's reading of a message (version, operation): the one place replay asks which
    operation a request calls, so that matching follows the view when it learns more (a WSDL)."""
    return analyze(content, info)


def _envelope_xml(content: bytes, content_type: str | None) -> tuple[bytes, dict[str, bytes]]:
    """The envelope bytes and the attachments by Content-ID (MTOM / SOAP with attachments)."""
    if mtom.is_multipart_related(content_type) or content.startswith(b"--"):
        boundary = mtom.boundary_of(content, content_type)
        parts = mtom.split_parts(content, boundary) if boundary else []
        main = mtom.root_part(parts, content_type)
        if main is not None:
            return main.body, {p.content_id: p.body for p in parts if p.content_id}
    return content, {}


def soap_request(
    content: bytes, info: MessageInfo, rules: Sequence[IgnoreRule] = ()
) -> SoapRequest | str | None:
    """The canonical form of a SOAP request (or response: soap.diff compares those by the same
    rules); None if the body is not a SOAP envelope, or a string saying why an envelope could
    not be read (a DTD, malformed XML)."""
    xml, parts = _envelope_xml(content, info.content_type)
    sniff = sniff_envelope(xml)
    if sniff is None:
        return None
    if sniff.has_doctype:
        return "the envelope has a DTD, which SOAP forbids"
    summary = resolve(content, info)
    parsed = parse(xml, len(xml) + 1)
    if summary is None or parsed.root is None:
        return f"the envelope cannot be read: {parsed.error or 'no SOAP Envelope'}"
    envelope = (_name(parsed.root),)
    sections: dict[str, tuple[Node, ...]] = {"Header": (), "Body": ()}
    for section in parsed.root:
        name = _name(section) if isinstance(section.tag, str) else ("", "")
        if name[0] not in (SOAP11_NS, SOAP12_NS) or name[1] not in sections:
            continue
        nodes = []
        for entry in section:
            if not isinstance(entry.tag, str):
                continue
            if name[1] == "Header" and _volatile_header(_name(entry)):
                continue
            node = _canonical(entry, (*envelope, name), rules, parts)
            if node is not None:
                nodes.append(node)
        sections[name[1]] += tuple(nodes)
    operation = (summary.operation[0] or "", summary.operation[1]) if summary.operation else None
    return SoapRequest(summary.version, operation, sections["Header"], sections["Body"])


# --- requests and the index of recorded exchanges -------------------------------------------------


@dataclass(frozen=True)
class Request:
    """What matching looks at in an HTTP request."""

    method: str
    path: str  # without the query
    query: str
    soap: SoapRequest | None = None
    unreadable: str | None = None  # why a SOAP envelope could not be read
    soap_version: str | None = None  # of an unreadable envelope, for the fault

    @property
    def key(self) -> tuple:
        if self.soap is not None:
            s = self.soap
            return ("soap", self.path, s.version, s.operation, s.header, s.body)
        return ("http", self.method, self.path, self.query)

    def describe(self) -> str:
        target = self.path + (f"?{self.query}" if self.query else "")
        if self.soap is None:
            return f"{self.method} {target}"
        operation = _operation_text(self.soap.operation)
        return f"{self.method} {target} {operation} (SOAP {self.soap.version})"


def _operation_text(operation: Name | None) -> str:
    return operation[1] if operation else "(empty Body)"


def request_of(request: http.Request, rules: Sequence[IgnoreRule] = ()) -> Request:
    path, _, query = request.path.partition("?")
    content = request.get_content(strict=False) or b""
    info = MessageInfo(
        content_type=request.headers.get("content-type"),
        soap_action=request.headers.get("soapaction"),
        is_request=True,
    )
    soap = soap_request(content, info, rules) if content else None
    if isinstance(soap, str):
        sniff = sniff_envelope(_envelope_xml(content, info.content_type)[0])
        version = sniff.version if sniff else "1.1"
        return Request(request.method, path, query, unreadable=soap, soap_version=version)
    return Request(request.method, path, query, soap)


@dataclass(frozen=True)
class Recorded:
    source: str  # file name and the flow's position in it: "flows.mitm #3"
    request: Request
    response: http.Response


class Answer(NamedTuple):
    recorded: Recorded
    number: int  # 1-based: which of the recorded answers to this request
    total: int  # how many were recorded
    repeated: bool  # past the last recorded answer: the last one again


@dataclass
class Index:
    """Recorded exchanges by request key. Several answers to one request are given in recorded
    order, then the last one repeats (a service that answered `created` then `exists` keeps
    answering `exists`)."""

    exchanges: dict[tuple, list[Recorded]] = field(default_factory=dict)
    served: dict[tuple, int] = field(default_factory=dict)

    @classmethod
    def of(cls, recorded: Iterable[Recorded]) -> Index:
        index = cls()
        for exchange in recorded:
            index.exchanges.setdefault(exchange.request.key, []).append(exchange)
        return index

    def __len__(self) -> int:
        return sum(len(answers) for answers in self.exchanges.values())

    def answer(self, request: Request) -> Answer | None:
        """The next recorded answer to this request, or None if nothing recorded matches."""
        answers = self.exchanges.get(request.key)
        if not answers or request.unreadable:
            return None
        served = self.served.get(request.key, 0)
        self.served[request.key] = served + 1
        position = min(served, len(answers) - 1)
        return Answer(answers[position], position + 1, len(answers), served >= len(answers))

    def miss(self, request: Request) -> str:
        """Why nothing matched: names the nearest recorded request and the first difference."""
        head = f"no recorded exchange matched {request.describe()}"
        if request.unreadable:
            return f"{head}: {request.unreadable}"
        nearest = _nearest(request, [answers[0] for answers in self.exchanges.values()])
        if nearest is None:
            kind = "SOAP" if request.soap else "non-SOAP"
            return f"{head}; no {kind} exchange was recorded"
        difference = first_difference(request, nearest.request)
        return f"{head}; nearest: {nearest.source} {nearest.request.describe()}, {difference}"


def _nearest(request: Request, candidates: Sequence[Recorded]) -> Recorded | None:
    """The recorded request most like `request`: first by what must match exactly (path,
    operation, version; for other requests method and path), then by how much of the content is
    alike. Only the best group by the first measure is compared in detail, at most
    _MAX_COMPARED of them, so a miss costs little even with large recordings."""
    same_kind = [c for c in candidates if (c.request.soap is None) == (request.soap is None)]
    if not same_kind:
        return None

    def rank(c: Recorded) -> tuple[bool, ...]:
        theirs, mine = c.request.soap, request.soap
        if theirs is None or mine is None:
            return (c.request.method == request.method, c.request.path == request.path)
        same = (theirs.operation == mine.operation, theirs.version == mine.version)
        return (c.request.path == request.path, *same)

    best = max(rank(c) for c in same_kind)
    group = [c for c in same_kind if rank(c) == best][:_MAX_COMPARED]
    if request.soap is None:
        target = f"{request.path}?{request.query}"

        def alike(c: Recorded) -> float:
            other = f"{c.request.path}?{c.request.query}"
            return difflib.SequenceMatcher(None, target, other).ratio()
    else:
        mine = _items(request.soap)

        def alike(c: Recorded) -> float:
            assert c.request.soap is not None
            theirs = _items(c.request.soap)
            return difflib.SequenceMatcher(None, mine, theirs, autojunk=False).ratio()

    # max() keeps the first of equals: the earliest recording.
    return max(group, key=alike)


# --- the first difference, for people ------------------------------------------------------------


class _Item(NamedTuple):
    """One comparable fact of an envelope in document order, with where to show it."""

    path: tuple[Name, ...]
    kind: str  # "element", "attribute", "text"
    attribute: Name | None
    value: str
    shown: str  # Header/Token or Body/GetQuote/item[2]


def steps(nodes: Sequence[Node]) -> Iterator[tuple[Node, str]]:
    """Each node with its path step as people read it: the local name, with `[n]` when the
    name occurs more than once among its siblings (`item[2]`)."""
    counts: dict[Name, int] = {}
    for node in nodes:
        counts[node.name] = counts.get(node.name, 0) + 1
    seen: dict[Name, int] = {}
    for node in nodes:
        seen[node.name] = seen.get(node.name, 0) + 1
        yield node, node.name[1] + (f"[{seen[node.name]}]" if counts[node.name] > 1 else "")


def _walk(nodes: Sequence[Node], path: tuple[Name, ...], shown: str, out: list[_Item]) -> None:
    for node, step in steps(nodes):
        if len(out) >= _MAX_ITEMS:
            return
        here, where = (*path, node.name), f"{shown}/{step}"
        out.append(_Item(here, "element", None, "", where))
        for name, value in node.attributes:
            out.append(_Item(here, "attribute", name, value, f"{where}/@{name[1]}"))
        if node.text:
            out.append(_Item(here, "text", None, node.text, where))
        _walk(node.children, here, where, out)


def _items(soap: SoapRequest) -> list[_Item]:
    out: list[_Item] = []
    _walk(soap.header, (("", "Header"),), "Header", out)
    _walk(soap.body, (("", "Body"),), "Body", out)
    return out


def shown_value(value: str, path: Sequence[Name], mask: bool = True, limit: int = 60) -> str:
    """A value as people read it: quoted, on one line, cut to `limit`; `[masked]` inside a
    secret element (Password, Nonce, ...) unless `mask` is off."""
    if mask and any(local in SECRET_ELEMENTS for _, local in path):
        return MASK
    return repr(one_line(value, limit)) if value.strip() else repr(value[:limit])


def _value(item: _Item) -> str:
    return shown_value(item.value, item.path)


def _what(item: _Item) -> str:
    if item.kind == "element":
        ns = item.path[-1][0]
        return f"element {item.shown}" + (f" {{{ns}}}" if ns else "")
    return f"{item.kind} {item.shown} = {_value(item)}"


def first_difference(request: Request, recorded: Request) -> str:
    """The first way `request` differs from `recorded`, as `first difference ...` text."""
    if request.method != recorded.method:
        return f"first difference: method {request.method} here, {recorded.method} recorded"
    if request.path != recorded.path:
        return f"first difference: path {request.path} here, {recorded.path} recorded"
    if request.soap is None or recorded.soap is None:
        return f"first difference: query {request.query!r} here, {recorded.query!r} recorded"
    mine, theirs = request.soap, recorded.soap
    if mine.version != theirs.version:
        return f"first difference: SOAP {mine.version} here, SOAP {theirs.version} recorded"
    if mine.operation != theirs.operation:
        return (
            f"first difference: operation {qualified(mine.operation)} here, "
            f"{qualified(theirs.operation)} recorded"
        )
    a, b = _items(mine), _items(theirs)
    for here, there in zip(a, b, strict=False):
        if here[:4] == there[:4]:
            continue
        if (
            here.path == there.path
            and here.kind == there.kind
            and here.attribute == there.attribute
        ):
            return (
                f"first difference at {here.shown}: {_value(here)} here, {_value(there)} recorded"
            )
        if here.shown == there.shown and here.kind == there.kind == "element":
            return (
                f"first difference at {here.shown}: namespace {here.path[-1][0]!r} here, "
                f"{there.path[-1][0]!r} recorded"
            )
        return f"first difference: {_what(here)} here, {_what(there)} recorded"
    if len(a) > len(b):
        return f"first difference: {_what(a[len(b)])} here, not in the recorded request"
    if len(b) > len(a):
        return f"first difference: {_what(b[len(a)])} recorded, not in this request"
    return "no difference within the compared part (a very long envelope)"


def qualified(operation: Name | None) -> str:
    if operation is None:
        return "(empty Body)"
    return f"{{{operation[0]}}}{operation[1]}" if operation[0] else operation[1]


# --- the answer when nothing matched -------------------------------------------------------------

FAULT_CONTENT_TYPES = {
    "1.1": "text/xml; charset=utf-8",
    "1.2": "application/soap+xml; charset=utf-8",
}


def fault_body(version: str, reason: str) -> bytes:
    """A SOAP fault of `version` (1.1: soap:Server, 1.2: soap:Receiver) with `reason`: the mock,
    not the client's request, failed to produce an answer."""
    ns = SOAP12_NS if version == "1.2" else SOAP11_NS
    envelope = etree.Element(f"{{{ns}}}Envelope", nsmap={"soap": ns})
    fault = etree.SubElement(etree.SubElement(envelope, f"{{{ns}}}Body"), f"{{{ns}}}Fault")
    if version == "1.2":
        code = etree.SubElement(fault, f"{{{ns}}}Code")
        etree.SubElement(code, f"{{{ns}}}Value").text = "soap:Receiver"
        text = etree.SubElement(etree.SubElement(fault, f"{{{ns}}}Reason"), f"{{{ns}}}Text")
        text.set("{http://www.w3.org/XML/1998/namespace}lang", "en")
        text.text = reason
    else:
        etree.SubElement(fault, "faultcode").text = "soap:Server"
        etree.SubElement(fault, "faultstring").text = reason
    return etree.tostring(envelope, xml_declaration=True, encoding="utf-8")


UNMATCHED = ("fault", "forward")  # what soap_replay_unmatched may say


def read_flows(path: Path) -> list[http.HTTPFlow | None]:
    """The flows of a file as mitmdump -w / mitmweb wrote them; None for non-HTTP flows, kept so
    that positions (`#3`) are those a user sees when opening the file in mitmweb."""
    try:
        with path.open("rb") as f:
            return [
                flow if isinstance(flow, http.HTTPFlow) else None
                for flow in io.FlowReader(f).stream()
            ]
    except OSError as e:
        raise ValueError(f"cannot read {path}: {e.strerror or e}") from None
    except exceptions.FlowReadException as e:
        raise ValueError(f"{path} is not a mitmproxy flow file: {e}") from None
