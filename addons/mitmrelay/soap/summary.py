"""The at-a-glance facts of a SOAP message: version, Body element(s), actions, WS-Addressing,
fault, WS-Security tokens, encryption, and warnings for contradictions the message itself shows.
The operation, when a WSDL is known, comes from resolve.py (`Summary.resolution`)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from email.message import Message

from lxml import etree

from ._xml import SOAP_VERSIONS, attribute_items, one_line, qname, text_of
from .mask import mask_text

# Headers shown in this order; WS-Addressing has had several namespaces, all ending so.
WSA_FIELDS = ("To", "Action", "MessageID", "RelatesTo")


@dataclass(frozen=True)
class MessageInfo:
    """What the HTTP layer knows about a body: full Content-Type, SOAPAction, direction."""

    content_type: str | None = None
    soap_action: str | None = None
    is_request: bool | None = None


QName = tuple[str | None, str]


@dataclass(frozen=True)
class Fault:
    code: str
    reason: str
    actor: str | None = None
    detail: str | None = None
    # The algorithm when the fault's content is XML-Encrypted: code and reason are then unknown.
    encrypted: str | None = None


@dataclass(frozen=True)
class Resolution:
    """Which WSDL operation a message belongs to, and how that was decided (see resolve.py)."""

    operation: str
    service: str
    port: str
    binding: str
    style: str  # "document/literal", "rpc/literal", "rpc/encoded", ...
    how: str  # "SOAPAction", "wsa:Action", "Body element {ns}Name", "answers the request"
    wsdl: str  # where the WSDL came from


@dataclass(frozen=True)
class Validation:
    """Schema validation of a message against its WSDL's types."""

    errors: tuple[str, ...] = ()  # first errors, each with line and element path
    skipped: str | None = None  # why it was not validated (rpc/encoded, no schema, ...)


@dataclass(frozen=True)
class Summary:
    version: str
    # Every element child of the Body, in order; None when the envelope has no Body at all.
    body: tuple[QName, ...] | None
    action: str | None = None
    addressing: dict[str, str] = field(default_factory=dict)
    fault: Fault | None = None
    security: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    # The algorithm when the Body's content is XML-Encrypted (xenc:EncryptedData).
    encrypted: str | None = None
    # Where and how, when an element inside the Body has encrypted content.
    encrypted_content: str | None = None
    resolution: Resolution | None = None
    validation: Validation | None = None

    @property
    def operation(self) -> QName | None:
        """The first Body element: what is known of the operation without a WSDL."""
        return self.body[0] if self.body else None

    @property
    def invalid(self) -> bool:
        """The message broke its WSDL's schema."""
        return self.validation is not None and bool(self.validation.errors)

    @property
    def name(self) -> str:
        """The operation's name for labels: the WSDL's when resolved, else the Body element's."""
        if self.resolution is not None:
            return self.resolution.operation
        if self.encrypted is not None:
            return "(encrypted Body)"
        if self.body is None:
            return "(no Body)"
        return self.body[0][1] if self.body else "(empty Body)"


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
    return one_line(text_of(element))


XENC_NS = "http://www.w3.org/2001/04/xmlenc#"
# Bounds on what one summary line shows: a fault detail, a list of Body parts.
DETAIL_CHARS = 300
SHOWN_PARTS = 8


def _standalone_xml(element: etree._Element) -> str:
    """The element as XML without the namespace declarations it inherits but does not use."""
    copied = copy.deepcopy(element)
    copied.tail = None
    etree.cleanup_namespaces(copied)
    return etree.tostring(copied, encoding="unicode")


def _detail_xml(element: etree._Element | None) -> str | None:
    """A fault's detail as one line of XML (secrets masked), bounded."""
    if element is None:
        return None
    inner = [c for c in element if isinstance(c.tag, str)]
    if not inner:
        return _text(element) or None
    xml = "".join(_standalone_xml(c) for c in inner[:SHOWN_PARTS])
    return one_line(mask_text(xml), DETAIL_CHARS)


def encryption_of(element: etree._Element) -> str | None:
    """`xenc:EncryptedData, <algorithm>` if the element holds XML-Encrypted data (XML-Enc §3.1:
    the algorithm is EncryptionMethod's URI; its fragment names it), else None."""
    found = next(
        (e for e in element.iter(etree.Element) if qname(e) == (XENC_NS, "EncryptedData")), None
    )
    if found is None:
        return None
    method = next((c for c in found if qname(c) == (XENC_NS, "EncryptionMethod")), None)
    algorithm = method.get("Algorithm", "") if method is not None else ""
    name = algorithm.rpartition("#")[2] or algorithm
    return f"xenc:EncryptedData, {name}" if name else "xenc:EncryptedData, algorithm not given"


def _fault(fault: etree._Element, version: str) -> tuple[Fault, str | None]:
    """The fault and, for a mixed shape (a SOAP 1.2 envelope with 1.1's `faultcode`, or the
    reverse), a warning: the contradiction is the sender's, the fields are still shown."""
    shape = (
        "1.2"
        if _child(fault, "Code") is not None or _child(fault, "Reason") is not None
        else ("1.1" if _child(fault, "faultcode") is not None else version)
    )
    warning = None
    if shape != version:
        fields = "faultcode/faultstring" if shape == "1.1" else "Code/Reason"
        warning = f"a SOAP {version} envelope carries a SOAP {shape}-style fault ({fields})"
    encrypted = encryption_of(fault)
    if shape == "1.1":
        found = Fault(
            code=_text(_child(fault, "faultcode")) or "?",
            reason=_text(_child(fault, "faultstring")) or "",
            actor=_text(_child(fault, "faultactor")),
            detail=_detail_xml(_child(fault, "detail")),
            encrypted=encrypted,
        )
        return found, warning
    codes = []
    code = _child(fault, "Code")
    while code is not None:
        codes.append(_text(_child(code, "Value")) or "?")
        code = _child(code, "Subcode")
    found = Fault(
        code=" / ".join(codes) or "?",
        reason=_text(_child(_child(fault, "Reason"), "Text")) or "",
        actor=_text(_child(fault, "Node")) or _text(_child(fault, "Role")),
        detail=_detail_xml(_child(fault, "Detail")),
        encrypted=encrypted,
    )
    return found, warning


def _addressing(header: etree._Element | None) -> dict[str, str]:
    found = {}
    for element in header if header is not None else ():
        ns, local = qname(element)
        if ns and "addressing" in ns and local in WSA_FIELDS and local not in found:
            found[local] = _text(element) or ""
    return {k: found[k] for k in WSA_FIELDS if k in found}


def _password_type(password: etree._Element) -> str:
    """PasswordText or PasswordDigest. The UsernameToken profile (1.0 §4.1, 1.1 §3.1) makes an
    absent Type PasswordText; some stacks write it namespace-qualified (`wsse:Type`)."""
    value = password.get("Type")
    if value is None:
        value = next((v for k, v in attribute_items(password) if k.endswith("}Type")), None)
    return (value or "").rpartition("#")[2] or "PasswordText"


def _security(header: etree._Element | None, root: etree._Element) -> tuple[str, ...]:
    lines = []
    for security in _children(header, "Security"):
        for token in security:
            local = qname(token)[1]
            if local == "UsernameToken":
                user = _text(_child(token, "Username")) or "?"
                password = _child(token, "Password")
                kind = _password_type(password) if password is not None else "no password"
                nonce = " with Nonce" if _child(token, "Nonce") is not None else ""
                lines.append(f"UsernameToken user {user!r} {kind}{nonce}")
            elif local == "EncryptedData":
                lines.append(f"encrypted header ({encryption_of(token)})")
            elif local == "Signature":
                lines.append(_signature(token, _ids(root)))
            elif local == "Timestamp":
                created = _text(_child(token, "Created"))
                expires = _text(_child(token, "Expires"))
                lines.append(
                    " ".join(
                        [
                            "Timestamp",
                            *(
                                f"{k} {v}"
                                for k, v in (("created", created), ("expires", expires))
                                if v
                            ),
                        ]
                    )
                )
            elif local:
                lines.append(local)
    return tuple(lines)


def _ids(root: etree._Element) -> dict[str, str]:
    """Element names by their Id attribute (wsu:Id, xml:id, Id): what a signature reference
    points to. Only the Header, the Body and the Body's own children are looked at: that is
    where WS-Security references point, and a huge Body is not walked."""
    header, body = _child(root, "Header"), _child(root, "Body")
    candidates = [*(header.iter(etree.Element) if header is not None else ())]
    candidates += [body, *body] if body is not None else []
    found: dict[str, str] = {}
    for element in candidates:
        if not isinstance(element.tag, str):
            continue
        for key, value in attribute_items(element):
            if key.rpartition("}")[2] in ("Id", "id", "ID"):
                found.setdefault(value, qname(element)[1])
    return found


def _signature(signature: etree._Element, ids: dict[str, str]) -> str:
    """`Signature rsa-sha1 over Body, Timestamp`: the algorithm (XML-DSig SignatureMethod) and
    what its references sign, from the message itself (the signature is not checked)."""
    info = _child(signature, "SignedInfo")
    method = _child(info, "SignatureMethod")
    algorithm = (method.get("Algorithm") or "").rpartition("#")[2] if method is not None else ""
    signed = []
    for reference in _children(info, "Reference"):
        uri = reference.get("URI") or ""
        signed.append(
            ids.get(uri[1:], uri or "(whole document)")
            if uri.startswith("#")
            else (uri or "(whole document)")
        )
    text = f"Signature {algorithm or 'algorithm not given'}"
    return text + (f" over {', '.join(signed)}" if signed else "")


def _warnings(
    action: str | None, addressing: dict[str, str], is_request: bool | None
) -> tuple[str, ...]:
    """Contradictions the message itself shows. Whether an action names the Body's element is
    no such fact: in document/literal style the element names a message part, and only the WSDL
    maps it to an operation (resolve.py warns when the WSDL says they disagree)."""
    if not is_request:
        return ()
    wsa_action = addressing.get("Action")
    # WS-Addressing 1.0 SOAP Binding §6.1: a non-empty SOAPAction must equal wsa:Action.
    if action and wsa_action and action != wsa_action:
        return (f"SOAPAction {action!r} differs from wsa:Action {wsa_action!r}",)
    return ()


def summarize(root: etree._Element, info: MessageInfo) -> Summary | None:
    """The summary of a parsed envelope, or None if `root` is not a SOAP envelope."""
    ns, local = qname(root)
    version = SOAP_VERSIONS.get(ns or "")
    if version is None or local != "Envelope":
        return None
    header = _child(root, "Header")
    body = _child(root, "Body")
    elements = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    warnings = []
    fault = encrypted = encrypted_content = None
    if elements and qname(elements[0]) == (ns, "Fault"):
        fault, mixed = _fault(elements[0], version)
        warnings += [mixed] if mixed else []
    elif body is not None:
        if any(qname(e) == (XENC_NS, "EncryptedData") for e in elements):
            encrypted = encryption_of(body)
        else:
            encrypted_content = _encrypted_content(body)
    if version == "1.1":
        action = info.soap_action.strip().strip('"') if info.soap_action is not None else None
    else:
        action = content_type_param(info.content_type, "action")
    addressing = _addressing(header)
    return Summary(
        version=version,
        body=tuple(qname(e) for e in elements) if body is not None else None,
        action=action,
        addressing=addressing,
        fault=fault,
        security=_security(header, root),
        warnings=(*warnings, *_warnings(action, addressing, info.is_request)),
        encrypted=encrypted,
        encrypted_content=encrypted_content,
    )


def _encrypted_content(body: etree._Element) -> str | None:
    """`<GetQuote>: xenc:EncryptedData, aes256-cbc` when an element inside the Body has its
    content encrypted (WS-Security encrypts element content as often as the whole Body)."""
    found = next(body.iter(f"{{{XENC_NS}}}EncryptedData"), None)
    if found is None:
        return None
    parent = found.getparent()
    assert parent is not None  # found inside the Body, not the Body itself
    return f"<{qname(parent)[1]}>: {encryption_of(parent)}"


def _qname_text(name: QName) -> str:
    return f"{name[1]} {{{name[0]}}}" if name[0] else name[1]


def _body_rows(summary: Summary) -> list[tuple[str, str]]:
    if summary.body is None:
        return [("Body", "(no Body element)")]
    if summary.encrypted is not None:
        return [("Body", f"encrypted ({summary.encrypted})")]
    if not summary.body:
        return [("Body", "(empty Body)")]
    if summary.fault is not None:
        return []
    shown = [("Body", _qname_text(n)) for n in summary.body[:SHOWN_PARTS]]
    if len(summary.body) > SHOWN_PARTS:
        shown.append(("Body", f"… {len(summary.body) - SHOWN_PARTS} more elements"))
    if summary.encrypted_content:
        shown.append(("Encrypted", f"content of {summary.encrypted_content}"))
    return shown


def _contract_rows(summary: Summary) -> list[tuple[str, str]]:
    r = summary.resolution
    if r is None:
        return []
    return [
        ("Operation", f"{r.operation} ({r.style}, matched by {r.how})"),
        ("WSDL", f"service {r.service}, port {r.port}, binding {r.binding} ({r.wsdl})"),
    ]


def _validation_rows(summary: Summary) -> list[tuple[str, str]]:
    v = summary.validation
    if v is None:
        return []
    if v.skipped:
        return [("Schema", f"not validated: {v.skipped}")]
    if not v.errors:
        return [("Schema", "valid")]
    return [("INVALID", e) for e in v.errors]


def format_summary(summary: Summary, info: MessageInfo) -> list[str]:
    """The summary as aligned `key: value` lines, the first naming version and direction."""
    direction = {True: "request", False: "response", None: "message"}[info.is_request]
    rows = _contract_rows(summary) + _body_rows(summary)
    if summary.action is not None:
        rows.append(("SOAPAction" if summary.version == "1.1" else "action", repr(summary.action)))
    rows += [(f"wsa:{k}", v) for k, v in summary.addressing.items()]
    rows += [("Security", s) for s in summary.security]
    if summary.fault:
        fault = summary.fault
        if fault.encrypted:
            rows.append(("FAULT", f"content encrypted ({fault.encrypted})"))
        else:
            rows.append(("FAULT", f"{fault.code}: {fault.reason}"))
        if fault.actor:
            rows.append(("Fault actor" if summary.version == "1.1" else "Fault node", fault.actor))
        if fault.detail:
            rows.append(("Fault detail", fault.detail))
    rows += _validation_rows(summary)
    rows += [("WARNING", w) for w in summary.warnings]
    width = max(len(k) for k, _ in rows) + 2
    return [f"SOAP {summary.version} {direction}"] + [
        f"  {(k + ':').ljust(width)}{v}" for k, v in rows
    ]


LABEL_PREFIX = "SOAP "
INVALID_REASON_CHARS = 80


def short_reason(error: str) -> str:
    """A validation error short enough for a label: `line 3 price: 'x' is not a valid value...`
    (libxml2's `Element '{ns}name'` becomes the bare name)."""
    found = re.match(r"line (\d+) \S*: (.*)", error, re.DOTALL)
    line, message = (found.group(1), found.group(2)) if found else (None, error)
    message = re.sub(r"\{[^}]*\}", "", message)
    message = re.sub(r"^Element '([^']+)'((?:, attribute '[^']+')?): ", r"\1\2: ", message)
    return one_line(f"line {line} {message}" if line else message, INVALID_REASON_CHARS)


def flow_label(request: Summary | None, response: Summary | None) -> str | None:
    """A one-line label for flow lists: `SOAP GetQuote`, `SOAP GetQuote Fault soap:Server:
    reason` (the word `Fault` is what users filter on), with ` invalid (<first error>)` when a
    message broke its schema (filter: `~comment invalid`)."""
    known = request or response
    if known is None:
        return None
    label = LABEL_PREFIX + known.name
    if response is not None and response.fault is not None:
        fault = response.fault
        named = request is not None or response.resolution is not None
        label = LABEL_PREFIX + known.name if named else "SOAP"
        if fault.encrypted:
            label += " Fault (encrypted)"
        else:
            label += f" Fault {fault.code}: {fault.reason}"
    for summary in (request, response):
        if summary is not None and summary.invalid:
            assert summary.validation is not None
            label += f" invalid ({short_reason(summary.validation.errors[0])})"
            break
    return one_line(label, 200)


def with_label(comment: str, label: str) -> str:
    """The flow comment with our label replacing any earlier one; the user's own lines stay."""
    kept = [line for line in comment.splitlines() if not line.startswith(LABEL_PREFIX)]
    return "\n".join([*kept, label])
