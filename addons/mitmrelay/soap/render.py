"""The SOAP view of a body: the summary, then the envelope pretty-printed, with bounds on time and
output; anything that cannot be parsed safely falls back to the raw text with a one-line reason."""

from __future__ import annotations

from dataclasses import dataclass

from . import mtom
from ._xml import Sniff, parse, sniff_envelope
from .mask import mask_text
from .pretty import pretty_xml
from .summary import MessageInfo, Summary, format_summary, summarize

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# The raw fallback shows a prefix only: a malformed 50 MB body is not worth reading whole.
RAW_SHOWN = 64 * 1024


@dataclass(frozen=True)
class RenderOptions:
    mask: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES


@dataclass(frozen=True)
class Rendering:
    description: str
    text: str


@dataclass(frozen=True)
class _Envelope:
    xml: bytes
    sniff: Sniff | None
    parts: list[mtom.Part]
    main: mtom.Part | None


def _envelope(data: bytes, content_type: str | None) -> _Envelope:
    """The envelope bytes: the body itself, or the root part of a multipart/related body."""
    declared = mtom.is_multipart_related(content_type)
    # On the wire the first delimiter often follows a CRLF (RFC 2046 §5.1.1 allows a preamble).
    if declared or data[:64].lstrip(b"\r\n").startswith(b"--"):
        boundary = mtom.boundary_of(data, content_type if declared else None)
        parts = mtom.split_parts(data, boundary) if boundary else []
        main = mtom.root_part(parts, content_type)
        if main is not None:
            return _Envelope(main.body, sniff_envelope(main.body), parts, main)
    return _Envelope(data, sniff_envelope(data), [], None)


def is_soap(data: bytes, content_type: str | None = None) -> bool:
    """Whether the body is a SOAP envelope, bare or as the root of a multipart/related body."""
    return _envelope(data, content_type).sniff is not None


def analyze(data: bytes, info: MessageInfo, max_bytes: int = DEFAULT_MAX_BYTES) -> Summary | None:
    """The summary only, parsing no further than the operation (for flow labels)."""
    envelope = _envelope(data, info.content_type)
    if envelope.sniff is None or envelope.sniff.has_doctype:
        return None
    parsed = parse(envelope.xml, max_bytes, stop_after_operation=True)
    return summarize(parsed.root, info) if parsed.root is not None else None


def _raw(data: bytes, reason: str, options: RenderOptions) -> Rendering:
    shown = data[:RAW_SHOWN].decode("utf-8", "replace")
    if options.mask:
        shown = mask_text(shown)
    cut = f"\n… [{len(data) - RAW_SHOWN} more bytes not shown]" if len(data) > RAW_SHOWN else ""
    return Rendering(
        f"SOAP (raw: {reason})", f"SOAP: {reason}; showing the raw body\n\n{shown}{cut}"
    )


def render(data: bytes, info: MessageInfo, options: RenderOptions = RenderOptions()) -> Rendering:
    envelope = _envelope(data, info.content_type)
    if envelope.sniff is None:
        return _raw(data, "no SOAP 1.1/1.2 Envelope found", options)
    if envelope.sniff.has_doctype:
        return _raw(data, "refused to parse: SOAP messages must not contain a DTD", options)
    parsed = parse(envelope.xml, options.max_bytes)
    summary = summarize(parsed.root, info) if parsed.root is not None else None
    if parsed.root is None or summary is None:
        return _raw(data, parsed.error or "no SOAP Envelope found", options)

    lines = format_summary(summary, info)
    attachments = mtom.describe_attachments(parsed.root, envelope.parts, envelope.main)
    lines += [f"  {line}" for line in attachments]
    if parsed.truncated_at is not None:
        lines.append(
            f"  NOTE: the envelope is {len(envelope.xml)} bytes; shown as parsed from its first "
            f"{parsed.truncated_at} (soap_max_bytes)"
        )
    pretty = pretty_xml(parsed.root, mask=options.mask)
    if len(pretty) > options.max_bytes:
        pretty = pretty[: options.max_bytes] + f"\n… [output cut at {options.max_bytes} characters]"
    operation = (
        f"{summary.name} Fault"
        if summary.resolution and summary.fault
        else ("Fault" if summary.fault else summary.name)
    )
    return Rendering(f"SOAP {summary.version} {operation}", "\n".join(lines) + "\n\n" + pretty)
