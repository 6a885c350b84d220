"""The at-a-glance facts of a SOAP message: version, operation, actions, WS-Addressing, fault,
WS-Security tokens, and warnings when the actions and the operation disagree."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import Message

from lxml import etree

from ._xml import SOAP_VERSIONS, one_line, qname

# Headers shown in this order; WS-Addressing has had several namespaces, all ending so.
WSA_FIELDS = ("To", "Action", "MessageID", "RelatesTo")


@dataclass(frozen=True)
class MessageInfo:
    """What the HTTP layer knows about a body: full Content-Type, SOAPAction, direction."""

    content_type: str | None = None
    soap_action: str | None = None
    is_request: bool | None = None


@dataclass(frozen=True)
class Fault:
    code: str
    reason: str
    actor: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Summary:
    version: str
    operation: tuple[str | None, str] | None
    action: str | None = None
    addressing: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    security: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def content_type_param(content_type: str | None, name: str) -> str | None:
    """A parameter of a Content-Type header value (quoted or not), e.g. SOAP 1.2's `action`."""
    if not content_type:
        return None
    msg = Message()
    msg["content-type"] = content_type
    value = msg.get_param(name)
    return value if isinstance(value, str) else None


def _children(element: etree._Element | None, local: str) -> list[etree._Element]:
    if element is None:
        return []
    return [c for c in element if qname(c)[1] == local]


def _child(element: etree._Element | None, local: str) -> etree._Element | None:
    found = _children(element, local)
    return found[0] if found else None


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return one_line("".join(element.itertext()))


def _first_line(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    for line in "".join(element.itertext()).splitlines():
        if line.strip():
            return one_line(line)
    first = next((c for c in element if isinstance(c.tag, str)), None)
    return f"<{qname(first)[1]}>" if first is not None else None


def _fault(fault: etree._Element, version: str) -> Fault:
    if version == "1.1":
        return Fault(
            code=_text(_child(fault, "faultcode")) or "?",
            reason=_text(_child(fault, "faultstring")) or "",
            actor=_text(_child(fault, "faultactor")),
            detail=_first_line(_child(fault, "detail")),
        )
    codes = []
    code = _child(fault, "Code")
    while code is not None:
        codes.append(_text(_child(code, "Value")) or "?")
        code = _child(code, "Subcode")
    return Fault(
        code=" / ".join(codes) or "?",
        reason=_text(_child(_child(fault, "Reason"), "Text")) or "",
        actor=_text(_child(fault, "Node")) or _text(_child(fault, "Role")),
        detail=_first_line(_child(fault, "Detail")),
    )


def _addressing(header: etree._Element | None) -> dict[str, str]:
    found = {}
    for element in header if header is not None else ():
        ns, local = qname(element)
        if ns and "addressing" in ns and local in WSA_FIELDS and local not in found:
            found[local] = _text(element) or ""
    return {k: found[k] for k in WSA_FIELDS if k in found}


def _security(header: etree._Element | None) -> tuple[str, ...]:
    lines = []
    for security in _children(header, "Security"):
        for token in security:
            local = qname(token)[1]
            if local == "UsernameToken":
                user = _text(_child(token, "Username")) or "?"
                password = _child(token, "Password")
                kind = (
                    (password.get("Type") or "").rpartition("#")[2] if password is not None else ""
                )
                nonce = " with Nonce" if _child(token, "Nonce") is not None else ""
                lines.append(f"UsernameToken user {user!r} {kind or 'no password'}{nonce}")
            elif local:
                lines.append(local)
    return tuple(lines)


def _last_token(uri: str) -> str:
    return re.split(r"[/#:]", uri.strip().rstrip("/"))[-1].lower()


def _names_operation(action: str, operation: str) -> bool:
    last, op = _last_token(action), operation.lower()
    return last in {op, op + "request"} or op == last + "request"


def _warnings(
    action: str | None, addressing: dict[str, str], operation: str | None, is_request: bool | None
) -> tuple[str, ...]:
    # Only requests carry an action naming the operation; responses name their own *Response.
    if not is_request or operation is None:
        return ()
    found = []
    wsa_action = addressing.get("Action")
    if action and wsa_action and action != wsa_action:
        found.append(f"SOAPAction {action!r} differs from wsa:Action {wsa_action!r}")
    for name, value in (("SOAPAction", action), ("wsa:Action", wsa_action)):
        if value and not _names_operation(value, operation):
            found.append(f"{name} {value!r} does not name the Body operation {operation!r}")
    return tuple(found)


def summarize(root: etree._Element, info: MessageInfo) -> Summary | None:
    """The summary of a parsed envelope, or None if `root` is not a SOAP envelope."""
    ns, local = qname(root)
    version = SOAP_VERSIONS.get(ns or "")
    if version is None or local != "Envelope":
        return None
    header = _child(root, "Header")
    body = _child(root, "Body")
    first = next((c for c in body if isinstance(c.tag, str)), None) if body is not None else None
    operation = qname(first) if first is not None else None
    fault = None
    if first is not None and operation == (ns, "Fault"):
        fault = _fault(first, version)
    if version == "1.1":
        action = info.soap_action.strip().strip('"') if info.soap_action is not None else None
    else:
        action = content_type_param(info.content_type, "action")
    addressing = _addressing(header)
    return Summary(
        version=version,
        operation=operation,
        action=action,
        addressing=addressing,
        fault=fault,
        security=_security(header),
        warnings=_warnings(
            action, addressing, operation[1] if operation else None, info.is_request
        ),
    )


def format_summary(summary: Summary, info: MessageInfo) -> list[str]:
    """The summary as aligned `key: value` lines, the first naming version and direction."""
    direction = {True: "request", False: "response", None: "message"}[info.is_request]
    rows: list[tuple[str, str]] = []
    if summary.operation:
        op_ns, op = summary.operation
        rows.append(("Operation", f"{op} {{{op_ns}}}" if op_ns else op))
    else:
        rows.append(("Operation", "(empty Body)"))
    if summary.action is not None:
        rows.append(("SOAPAction" if summary.version == "1.1" else "action", repr(summary.action)))
    rows += [(f"wsa:{k}", v) for k, v in summary.addressing.items()]
    rows += [("Security", s) for s in summary.security]
    if summary.fault:
        rows.append(("FAULT", f"{summary.fault.code}: {summary.fault.reason}"))
        if summary.fault.actor:
            rows.append(
                ("Fault actor" if summary.version == "1.1" else "Fault node", summary.fault.actor)
            )
        if summary.fault.detail:
            rows.append(("Fault detail", summary.fault.detail))
    rows += [("WARNING", w) for w in summary.warnings]
    width = max(len(k) for k, _ in rows) + 2
    return [f"SOAP {summary.version} {direction}"] + [
        f"  {(k + ':').ljust(width)}{v}" for k, v in rows
    ]


LABEL_PREFIX = "SOAP "


def flow_label(request: Summary | None, response: Summary | None) -> str | None:
    """A one-line label for flow lists: `SOAP GetQuote`, or `SOAP GetQuote Fault soap:Server:
    reason` (the word `Fault` is what users filter on)."""
    known = request or response
    if known is None:
        return None
    label = LABEL_PREFIX + (known.operation[1] if known.operation else "(empty Body)")
    if response is not None and response.fault is not None:
        fault = response.fault
        label = (LABEL_PREFIX + request.operation[1]) if request and request.operation else "SOAP"
        label += f" Fault {fault.code}: {fault.reason}"
    return one_line(label, 160)


def with_label(comment: str, label: str) -> str:
    """The flow comment with our label replacing any earlier one; the user's own lines stay."""
    kept = [line for line in comment.splitlines() if not line.startswith(LABEL_PREFIX)]
    return "\n".join([*kept, label])
