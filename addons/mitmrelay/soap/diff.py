"""Two SOAP requests (or responses) compared by what they mean: the canonical form of replay.py,
the one soap_replay matches with (prefixes, declaration order, attribute order, whitespace between
elements, the WS-Security header, wsa:MessageID/RelatesTo/To, wsu:Id and the soap_replay_ignore
elements do not count), reported as element paths added, removed or changed with both values,
and the HTTP facts that matter for SOAP (request: method, path, SOAPAction or the Content-Type's
action parameter; response: status code).

Secrets (values inside Password, Nonce, ... elements) show as `[masked]` unless `mask` is off.

Usage:
    from mitmrelay.soap.diff import side_of, compare
    lines = compare(side_of(flow_a, "request", rules), side_of(flow_b, "request", rules))
    print("\\n".join(lines) or "no differences")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from mitmproxy import http

from .replay import (
    IgnoreRule,
    Name,
    Node,
    SoapRequest,
    qualified,
    shown_value,
    soap_request,
    steps,
)
from .summary import MessageInfo, content_type_param

NO_DIFFERENCES = "no differences"
# A long envelope changed throughout would make an unreadable report: the first lines tell.
MAX_LINES = 200
_VALUE_CHARS = 120


@dataclass(frozen=True)
class Side:
    """One message to compare: the HTTP facts that matter and its canonical envelope."""

    label: str  # what the report calls it: "POST http://h/q (flow 3f2a…)"
    facts: tuple[tuple[str, str | None], ...]
    soap: SoapRequest | str | None  # None: not SOAP; str: why the envelope cannot be read


def _action(message: http.Message) -> tuple[str, str | None]:
    content_type = message.headers.get("content-type")
    if content_type is not None and "soap+xml" in content_type:
        return "Content-Type action", content_type_param(content_type, "action")
    action = message.headers.get("soapaction")
    return "SOAPAction", action.strip().strip('"') if action is not None else None


def side_of(flow: http.HTTPFlow, which: str, rules: Sequence[IgnoreRule] = ()) -> Side | None:
    """The request or response of a flow as a Side; None if the flow has no such message."""
    request = flow.request
    message: http.Message | None = request if which == "request" else flow.response
    if message is None:
        return None
    facts: tuple[tuple[str, str | None], ...]
    if isinstance(message, http.Request):
        facts = (("method", request.method), ("path", request.path.partition("?")[0]))
        facts += (_action(message),)
    else:
        assert isinstance(message, http.Response)
        facts = (("status", str(message.status_code)),)
    content = message.get_content(strict=False) or b""
    info = MessageInfo(
        content_type=message.headers.get("content-type"),
        soap_action=request.headers.get("soapaction"),
        is_request=which == "request",
    )
    soap = soap_request(content, info, rules) if content else None
    label = f"{request.method} {request.pretty_url} (flow {flow.id[:8]})"
    return Side(label, facts, soap)


def _element(path: str, node: Node) -> str:
    return f"{path}" + (f" {{{node.name[0]}}}" if node.name[0] else "")


class _Differ:
    def __init__(self, mask: bool) -> None:
        self.mask = mask
        self.lines: list[str] = []

    def value(self, text: str, path: tuple[Name, ...]) -> str:
        return shown_value(text, path, self.mask, _VALUE_CHARS)

    def add(self, line: str) -> None:
        if len(self.lines) < MAX_LINES:
            self.lines.append(line)

    def nodes(
        self, a: Sequence[Node], b: Sequence[Node], path: tuple[Name, ...], shown: str
    ) -> None:
        """Children paired by name and occurrence (the second `item` with the second `item`)."""
        keyed_a = {(n.name, step): n for n, step in steps(a)}
        keyed_b = {(n.name, step): n for n, step in steps(b)}
        for key, node in keyed_a.items():
            where = f"{shown}/{key[1]}"
            if key not in keyed_b:
                self.add(f"removed  {_element(where, node)}{self._content(node, path)}")
            else:
                self.node(node, keyed_b[key], (*path, node.name), where)
        for key, node in keyed_b.items():
            if key not in keyed_a:
                where = f"{shown}/{key[1]}"
                self.add(f"added    {_element(where, node)}{self._content(node, path)}")
        common_a = [k for k in keyed_a if k in keyed_b]
        common_b = [k for k in keyed_b if k in keyed_a]
        if common_a != common_b:
            self.add(f"order    {shown or '/'}: " + ", ".join(k[1] for k in common_b))

    def _content(self, node: Node, path: tuple[Name, ...]) -> str:
        if node.children:
            return f" ({len(node.children)} child elements)"
        return f" = {self.value(node.text, (*path, node.name))}" if node.text else ""

    def node(self, a: Node, b: Node, path: tuple[Name, ...], shown: str) -> None:
        attributes_a, attributes_b = dict(a.attributes), dict(b.attributes)
        for name in dict.fromkeys([*attributes_a, *attributes_b]):
            old, new = attributes_a.get(name), attributes_b.get(name)
            where = f"{shown}/@{name[1]}"
            if old == new:
                continue
            if old is None:
                self.add(f"added    {where} = {self.value(new or '', path)}")
            elif new is None:
                self.add(f"removed  {where} = {self.value(old, path)}")
            else:
                self.add(f"changed  {where}: {self.value(old, path)} -> {self.value(new, path)}")
        if a.text != b.text:
            self.add(f"changed  {shown}: {self.value(a.text, path)} -> {self.value(b.text, path)}")
        self.nodes(a.children, b.children, path, shown)


def _kind(soap: SoapRequest | str | None) -> str:
    if soap is None:
        return "not SOAP"
    return f"unreadable: {soap}" if isinstance(soap, str) else "a SOAP envelope"


def _soap(a: SoapRequest | str | None, b: SoapRequest | str | None, differ: _Differ) -> None:
    if not isinstance(a, SoapRequest) or not isinstance(b, SoapRequest):
        if a is not None or b is not None:  # two bodies that are not SOAP are not compared
            differ.add(f"body     {_kind(a)} -> {_kind(b)}")
        return
    if a.version != b.version:
        differ.add(f"changed  SOAP version: {a.version} -> {b.version}")
    if a.operation != b.operation:
        differ.add(f"changed  operation: {qualified(a.operation)} -> {qualified(b.operation)}")
    differ.nodes(a.header, b.header, (("", "Header"),), "Header")
    differ.nodes(a.body, b.body, (("", "Body"),), "Body")


def compare(a: Side, b: Side, mask: bool = True) -> list[str]:
    """The differences from `a` to `b`, one line each (`changed  PATH: old -> new`, `added
    PATH`, `removed PATH`); empty when they mean the same."""
    differ = _Differ(mask)
    facts_a, facts_b = dict(a.facts), dict(b.facts)
    for name in dict.fromkeys([*facts_a, *facts_b]):
        old, new = facts_a.get(name), facts_b.get(name)
        if old != new:
            differ.add(f"changed  {name}: {old!r} -> {new!r}")
    _soap(a.soap, b.soap, differ)
    return differ.lines


def report(a: Side, b: Side, mask: bool = True, what: str = "requests") -> list[str]:
    """The diff as lines for people: which messages, then the differences or `no differences`."""
    lines = compare(a, b, mask)
    head = [f"SOAP diff of {what}", f"  A: {a.label}", f"  B: {b.label}"]
    body = [f"  {line}" for line in lines] or [f"  {NO_DIFFERENCES}"]
    if len(lines) >= MAX_LINES:
        body.append(f"  (the first {MAX_LINES} differences)")
    return head + body
