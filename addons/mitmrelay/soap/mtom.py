"""MTOM/XOP and SOAP-with-Attachments: split a `multipart/related` body into its parts, find the
root (the envelope) and describe the other parts without dumping them (RFC 2387, XOP §4)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote

from lxml import etree

from ._xml import qname
from .summary import content_type_param

XOP_NS = "http://www.w3.org/2004/08/xop/include"
# A message with thousands of parts must not bury the envelope under its list.
SHOWN_LINES = 20
_BOUNDARY_LINE = re.compile(rb"\A(?:\r?\n)*--([^\r\n]{1,200}?)[ \t]*\r?\n")


@dataclass(frozen=True)
class Part:
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def content_id(self) -> str | None:
        cid = self.headers.get("content-id")
        return cid.strip().strip("<>") if cid else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "text/plain")

    def describe(self) -> str:
        """Content-ID, type, size and sha256: enough to match a part, without its bytes."""
        digest = hashlib.sha256(self.body).hexdigest()
        size = len(self.body)
        return f"<{self.content_id or '?'}> {self.content_type}, {size} bytes, sha256 {digest}"


def is_multipart_related(content_type: str | None) -> bool:
    if not content_type:
        return False
    return content_type.split(";")[0].strip().lower() == "multipart/related"


def boundary_of(data: bytes, content_type: str | None) -> bytes | None:
    """The boundary from the Content-Type, or else from the body's first delimiter line (offline
    files often come without their headers)."""
    boundary = content_type_param(content_type, "boundary")
    if boundary:
        return boundary.encode("latin-1", "replace")
    found = _BOUNDARY_LINE.match(data)
    return found.group(1) if found else None


def _part(raw: bytes) -> Part:
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        head, sep, body = raw.partition(b"\n\n")
    headers = {}
    for line in head.decode("latin-1").splitlines():
        name, colon, value = line.partition(":")
        if colon:
            headers[name.strip().lower()] = value.strip()
    return Part(headers, body if sep else b"")


def split_parts(data: bytes, boundary: bytes) -> list[Part]:
    """The parts between `--boundary` delimiters; the preamble and epilogue are dropped."""
    delimiter = b"--" + boundary
    chunks = data.split(delimiter)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.split(b"\n", 1)[1] if b"\n" in chunk else b""
        parts.append(_part(chunk.removesuffix(b"\r\n").removesuffix(b"\n")))
    return parts


def root_part(parts: list[Part], content_type: str | None) -> Part | None:
    """The part named by the `start` parameter, else the first one (RFC 2387 §3.2)."""
    start = content_type_param(content_type, "start")
    if start:
        wanted = start.strip().strip("<>")
        for part in parts:
            if part.content_id == wanted:
                return part
    return parts[0] if parts else None


def _cid(href: str) -> str:
    return unquote(href[4:]) if href.lower().startswith("cid:") else href


def describe_attachments(
    root: etree._Element, parts: list[Part], main: Part | None, limit: int = SHOWN_LINES
) -> list[str]:
    """One line per `xop:Include` (with the part it points to), then the parts nobody includes,
    at most `limit` lines of each kind and one saying how many more. `main` is None when the
    body is not multipart: an include then points nowhere, which is worth saying."""
    by_id = {p.content_id: p for p in parts if p.content_id}
    lines, used, includes = [], set(), 0
    for element in root.iter(etree.Element):
        if qname(element) != (XOP_NS, "Include"):
            continue
        cid = _cid(element.get("href", ""))
        used.add(cid)
        includes += 1
        if includes > limit:
            continue
        target = by_id.get(cid)
        above = element.getparent()
        parent = qname(above)[1] if above is not None else "?"
        if target is not None:
            found = target.describe()
        else:
            found = "missing part" if main is not None else "not multipart: no part to point to"
        lines.append(f"xop:Include in <{parent}> -> cid:{cid}: {found}")
    if includes > limit:
        lines.append(f"… {includes - limit} more xop:Include")
    unused = [p for p in parts if p is not main and p.content_id not in used]
    lines += [f"attachment {part.describe()}" for part in unused[:limit]]
    if len(unused) > limit:
        lines.append(f"… {len(unused) - limit} more attachments")
    return lines
