"""Fresh WS-Security for a replayed SOAP request: what a server checks to refuse a replay, made new.

A WS-Security server refuses recorded bytes sent again: the wsu:Timestamp has expired, the
UsernameToken's Nonce was seen before (WSS4J: "A replay attack has been detected"), its Created
is too old, and an edited signed part breaks the XML signature. `refresh` gives the envelope:

- wsu:Timestamp: Created now, Expires now + the recorded lifetime, in the recorded format;
- UsernameToken: a new Nonce (of the recorded length) and Created; a PasswordDigest recomputed
  as Base64(SHA-1(nonce + created + password)) (UsernameToken Profile 1.1, §3.1), which needs the
  password;
- wsa:MessageID: a new urn:uuid;
- ds:Signature: the same references signed again with the recorded algorithms (`sign.py`, with
  xmlsec), which needs a key and its certificate.

What cannot be made new without material is left as recorded, and `Refreshed.stale` says which
part and which option would refresh it. A part covered by a signature that cannot be renewed is
left as recorded too: changing it would only add a broken signature to the expired timestamp.

`username_token_header` writes the Timestamp and UsernameToken of a request made from scratch
(`soap.new`), with placeholders that `refresh` fills when the request is replayed.

Everything here is pure: the bytes in, the bytes out; the clock, the random source and the
signer are passed in.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import re
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from lxml import etree

from ._xml import SAFE_PARSER, SOAP11_NS, attribute_items, qname, sniff_envelope

WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
DS_NS = "http://www.w3.org/2000/09/xmldsig#"
_DIGEST_TYPE = "#PasswordDigest"
_USERNAME_TOKEN_PROFILE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0"
)
_BASE64_TYPE = (
    "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary"
)
_DEFAULT_NONCE_BYTES = 16
_NEW_TOKEN_LIFETIME = datetime.timedelta(minutes=5)  # a new request's Timestamp, kept on refresh
# `2026-12-03T15:20:01`, an optional fraction, then Z or an offset: xsd:dateTime as stacks write it.
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)?$")

PASSWORD_OPTION = "soap_wsse_password"
SIGNING_OPTIONS = "soap_sign_key and soap_sign_cert"


class Signer(Protocol):
    """Signs a ds:Signature element again, in place, over the references it already names."""

    def __call__(self, signature: etree._Element, root: etree._Element) -> str:
        """Returns what was signed, in words (`rsa-sha256 over Body, Timestamp`)."""
        ...


@dataclass(frozen=True)
class Material:
    """What the refresh may use beyond the message: the UsernameToken's password, a signer."""

    password: str | None = None
    signer: Signer | None = None


@dataclass
class Refreshed:
    """The envelope to send (None: send the recorded bytes) and what happened to each part."""

    content: bytes | None
    refreshed: list[str] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)


class _Clock(Protocol):
    def __call__(self) -> datetime.datetime: ...


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _children(element: etree._Element, local: str) -> Iterator[etree._Element]:
    return (child for child in element if qname(child)[1] == local)


def _child(element: etree._Element, local: str) -> etree._Element | None:
    return next(_children(element, local), None)


def _parse_time(text: str) -> tuple[datetime.datetime, str, str] | None:
    """A recorded xsd:dateTime: its value (UTC when it has no zone) and its fraction and zone
    as written, so the new one is written the same way."""
    found = _DATETIME.match(text.strip())
    if found is None:
        return None
    whole, fraction, zone = found.groups()
    moment = datetime.datetime.fromisoformat(whole + (zone or "Z").replace("Z", "+00:00"))
    if fraction:
        moment += datetime.timedelta(seconds=float("0" + fraction))
    return moment, fraction or "", zone or ""


def format_time(moment: datetime.datetime, fraction: str = "", zone: str = "Z") -> str:
    """`moment` (UTC) written like a recorded value: as many fraction digits, the same zone."""
    text = moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if fraction:
        digits = len(fraction) - 1
        text += "." + f"{moment.microsecond:06d}{'0' * max(0, digits - 6)}"[:digits]
    if zone and zone != "Z":
        return text + "+00:00"
    return text + zone


def username_token_header(
    soap_ns: str, now: datetime.datetime, lifetime: datetime.timedelta = _NEW_TOKEN_LIFETIME
) -> etree._Element:
    """A wsse:Security header for a request written from scratch (`soap.new`): a wsu:Timestamp
    and a UsernameToken with a PasswordDigest, whose Nonce, Created times and digest `refresh`
    makes when the request is replayed with the password; the Username is a `?` to fill in."""
    nsmap = {"wsse": WSSE_NS, "wsu": WSU_NS}
    security = etree.Element(f"{{{WSSE_NS}}}Security", nsmap=nsmap)  # type: ignore[arg-type]
    security.set(f"{{{soap_ns}}}mustUnderstand", "1" if soap_ns == SOAP11_NS else "true")
    stamp = etree.SubElement(security, f"{{{WSU_NS}}}Timestamp")
    stamp.set(f"{{{WSU_NS}}}Id", "TS-1")
    etree.SubElement(stamp, f"{{{WSU_NS}}}Created").text = format_time(now)
    etree.SubElement(stamp, f"{{{WSU_NS}}}Expires").text = format_time(now + lifetime)
    token = etree.SubElement(security, f"{{{WSSE_NS}}}UsernameToken")
    token.set(f"{{{WSU_NS}}}Id", "UsernameToken-1")
    etree.SubElement(token, f"{{{WSSE_NS}}}Username").text = "?"
    password = etree.SubElement(token, f"{{{WSSE_NS}}}Password")
    password.set("Type", _USERNAME_TOKEN_PROFILE + _DIGEST_TYPE)
    password.text = f"(made on replay from {PASSWORD_OPTION})"
    nonce = etree.SubElement(token, f"{{{WSSE_NS}}}Nonce")
    nonce.set("EncodingType", _BASE64_TYPE)
    nonce.text = "(made on replay)"
    etree.SubElement(token, f"{{{WSU_NS}}}Created").text = format_time(now)
    return security


def password_digest(nonce: bytes, created: str, password: str) -> str:
    """Base64(SHA-1(nonce + created + password)): UsernameToken Profile 1.1, §3.1."""
    digest = hashlib.sha1(nonce + created.encode() + password.encode()).digest()
    return base64.b64encode(digest).decode()


def _ids(root: etree._Element) -> dict[str, etree._Element]:
    """Elements by their Id attribute (wsu:Id, Id, ID, id): what signature references name."""
    found: dict[str, etree._Element] = {}
    for element in root.iter(etree.Element):
        for key, value in attribute_items(element):
            if key.rpartition("}")[2] in ("Id", "ID", "id"):
                found.setdefault(value, element)
    return found


def signed_elements(
    root: etree._Element, signatures: Sequence[etree._Element]
) -> list[etree._Element]:
    """The elements the signatures' references point to (`#id` URIs; `""` is the document)."""
    ids = _ids(root)
    found = []
    for signature in signatures:
        info = _child(signature, "SignedInfo")
        for reference in _children(info, "Reference") if info is not None else ():
            uri = reference.get("URI")
            if uri == "":
                found.append(root)
            elif uri and uri.startswith("#") and uri[1:] in ids:
                found.append(ids[uri[1:]])
    return found


def _covered(element: etree._Element, signed: Sequence[etree._Element]) -> bool:
    return any(element is s or element in s.iterdescendants() for s in signed)


class _Refresh:
    def __init__(self, material: Material, now: datetime.datetime, random: Callable) -> None:
        self.material = material
        self.now = now
        self.random = random
        self.result = Refreshed(None)

    def timestamp(self, timestamp: etree._Element) -> None:
        created, expires = _child(timestamp, "Created"), _child(timestamp, "Expires")
        recorded = _parse_time(created.text or "") if created is not None else None
        if created is None or recorded is None:
            self.result.stale.append("wsu:Timestamp (no Created time to replace)")
            return
        moment, fraction, zone = recorded
        created.text = format_time(self.now, fraction, zone)
        ends = _parse_time(expires.text or "") if expires is not None else None
        if expires is not None and ends is not None:
            expires.text = format_time(self.now + (ends[0] - moment), ends[1], ends[2])
        self.result.refreshed.append("wsu:Timestamp")

    def username_token(self, token: etree._Element) -> None:
        password, nonce = _child(token, "Password"), _child(token, "Nonce")
        created = _child(token, "Created")
        is_digest = password is not None and any(
            value.endswith(_DIGEST_TYPE)
            for key, value in attribute_items(password)
            if key.rpartition("}")[2] == "Type"
        )
        if is_digest and self.material.password is None:
            self.result.stale.append(
                f"UsernameToken PasswordDigest, Nonce and Created (set {PASSWORD_OPTION} "
                "to refresh them)"
            )
            return
        parts = []
        new_nonce = b""
        if nonce is not None:
            try:
                size = len(base64.b64decode(nonce.text or "", validate=True))
            except ValueError:
                size = 0
            new_nonce = self.random(size or _DEFAULT_NONCE_BYTES)
            nonce.text = base64.b64encode(new_nonce).decode()
            if nonce.get("EncodingType") is None:
                nonce.set("EncodingType", _BASE64_TYPE)
            parts.append("wsse:Nonce")
        if created is not None:
            recorded = _parse_time(created.text or "")
            fraction, zone = (recorded[1], recorded[2]) if recorded else ("", "Z")
            created.text = format_time(self.now, fraction, zone)
            parts.append("UsernameToken Created")
        if is_digest:
            assert password is not None and self.material.password is not None
            created_text = (created.text or "") if created is not None else ""
            password.text = password_digest(new_nonce, created_text, self.material.password)
            parts.append("PasswordDigest")
        self.result.refreshed.extend(parts)

    def message_id(self, element: etree._Element) -> None:
        recorded = (element.text or "").strip()
        prefix = "uuid:" if recorded.startswith("uuid:") else "urn:uuid:"
        element.text = prefix + str(uuid.UUID(bytes=self.random(16), version=4))
        self.result.refreshed.append("wsa:MessageID")


def _refreshable(
    header: etree._Element,
) -> Iterator[tuple[etree._Element, str]]:
    """(element, kind) of what `refresh` renews, in document order."""
    for element in header:
        ns, local = qname(element)
        if local == "Security":
            for token in element:
                token_local = qname(token)[1]
                if token_local in ("Timestamp", "UsernameToken"):
                    yield token, token_local
        elif local == "MessageID" and ns and "addressing" in ns:
            yield element, local


def _serialize(root: etree._Element, content: bytes) -> bytes:
    """The tree as bytes, with the recorded XML declaration's encoding when there was one."""
    head = content.lstrip()[:100]
    if head.startswith(b"<?xml"):
        found = re.search(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""", head)
        encoding = found.group(1).decode() if found else "UTF-8"
        # lxml gives bytes for a named encoding; lxml-stubs 0.5.1 declares str | bytes.
        return cast("bytes", etree.tostring(root, xml_declaration=True, encoding=encoding))
    return etree.tostring(root)


def refresh(
    content: bytes,
    material: Material,
    now: _Clock = _now,
    random: Callable[[int], bytes] = os.urandom,
) -> Refreshed:
    """The request envelope `content` with its WS-Security and WS-Addressing parts made new.

    Not a SOAP envelope, or nothing to renew: content None and nothing listed.
    """
    sniffed = sniff_envelope(content)
    if sniffed is None:
        return Refreshed(None)
    if sniffed.has_doctype:  # SOAP forbids DTDs: hostile or broken, sent as it is
        return Refreshed(None, stale=["the whole envelope (it has a DOCTYPE, which SOAP forbids)"])
    try:
        root = etree.fromstring(content, etree.XMLParser(**SAFE_PARSER))
    except etree.XMLSyntaxError:
        return Refreshed(None)
    header = _child(root, "Header")
    if header is None:
        return Refreshed(None)
    work = _Refresh(material, now(), random)
    signatures = [
        signature
        for security in _children(header, "Security")
        for signature in _children(security, "Signature")
        if qname(signature)[0] == DS_NS
    ]
    signer = material.signer if signatures else None
    signed = signed_elements(root, signatures) if signatures and signer is None else []
    for element, kind in _refreshable(header):
        if _covered(element, signed):
            work.result.stale.append(
                f"{_shown(kind)} (signed: set {SIGNING_OPTIONS} to refresh it and sign again)"
            )
        elif kind == "Timestamp":
            work.timestamp(element)
        elif kind == "UsernameToken":
            work.username_token(element)
        else:
            work.message_id(element)
    if signatures and signer is None:
        work.result.stale.append(
            f"ds:Signature (kept as recorded; an edited signed part fails the service's check: "
            f"set {SIGNING_OPTIONS} to sign again)"
        )
    elif signer is not None:
        for signature in signatures:
            work.result.refreshed.append(f"ds:Signature ({signer(signature, root)})")
    if work.result.refreshed:
        work.result.content = _serialize(root, content)
    return work.result


def _shown(kind: str) -> str:
    return {"Timestamp": "wsu:Timestamp", "MessageID": "wsa:MessageID"}.get(kind, kind)
