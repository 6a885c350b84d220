"""The SOAP view of a body: the summary, then the envelope pretty-printed, with bounds on time and
output; anything that cannot be parsed safely falls back to the raw text with a one-line reason.

`Inspector` adds the contract (the operation from a known WSDL, schema validation) and keeps the
last parses, so that one parse of a message serves its label, its validation and its view.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections import OrderedDict
from dataclasses import dataclass

from lxml import etree

from . import mtom
from ._xml import Parsed, Sniff, parse, sniff_envelope
from .catalog import Catalog
from .mask import mask_text
from .pretty import pretty_xml
from .resolve import resolve
from .summary import MessageInfo, Resolution, Summary, Validation, format_summary, summarize
from .xsd import validate

DEFAULT_MAX_BYTES = 4 * 1024 * 1024
# The raw fallback shows a prefix only: a malformed 50 MB body is not worth reading whole.
RAW_SHOWN = 64 * 1024


@dataclass(frozen=True)
class RenderOptions:
    mask: bool = True
    max_bytes: int = DEFAULT_MAX_BYTES
    validate: bool = True


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
    """The summary only, with no contract, parsing no further than the operation."""
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
    """The view of one message, with no contract known."""
    return Inspector(options).render(data, info)


@dataclass(frozen=True)
class Inspection:
    summary: Summary
    parsed: Parsed
    envelope: _Envelope
    complete: bool  # parsed to the end (or to max_bytes), not only to the operation


# Parses kept for the view after the hooks: a few, as mitmweb keeps every flow.
KEPT_PARSES = 16
# Larger bodies are parsed again for the view rather than kept: sixteen 30 MB trees would be
# gigabytes, and such views are rare.
KEPT_BODY_BYTES = 1024 * 1024


class Inspector:
    """Summaries with the contract, views, and a small cache of parses keyed by body bytes."""

    def __init__(
        self, options: RenderOptions = RenderOptions(), catalog: Catalog | None = None
    ) -> None:
        self.options = options
        self.catalog = catalog if catalog is not None else Catalog()
        self._parses: OrderedDict[bytes, tuple[_Envelope, Parsed, bool]] = OrderedDict()
        self._inspections: OrderedDict[tuple, Inspection | None] = OrderedDict()
        # The summary the hooks made of each HTTP message: the view of a response needs its
        # request's operation. Weak: flows come and go; not in flow.metadata, which is saved.
        self.summaries: weakref.WeakKeyDictionary[object, Summary] = weakref.WeakKeyDictionary()

    def _parse(
        self, data: bytes, info: MessageInfo, complete: bool
    ) -> tuple[_Envelope, Parsed, bool]:
        cached = self._parses.get(data)
        if cached is not None and (cached[2] or not complete):
            self._parses.move_to_end(data)
            return cached
        envelope = _envelope(data, info.content_type)
        if envelope.sniff is None or envelope.sniff.has_doctype:
            parsed = Parsed(None)
        else:
            parsed = parse(envelope.xml, self.options.max_bytes, stop_after_operation=not complete)
        if len(data) <= KEPT_BODY_BYTES:
            self._parses[data] = (envelope, parsed, complete)
        while len(self._parses) > KEPT_PARSES:
            self._parses.popitem(last=False)
        return envelope, parsed, complete

    def wants_complete_parse(self) -> bool:
        """Whether labels need the whole message (validation), not only up to the operation."""
        return self.options.validate and bool(self.catalog.contracts)

    def inspect(
        self,
        data: bytes,
        info: MessageInfo,
        *,
        url: str | None = None,
        request: Resolution | None = None,
        complete: bool | None = None,
    ) -> Inspection | None:
        """The summary of a SOAP message with its operation and validation, or None if the body
        is not a (parsable) SOAP envelope."""
        if complete is None:
            complete = self.wants_complete_parse()
        envelope, parsed, complete = self._parse(data, info, complete)
        # The hooks and the view ask the same question of the same bytes: answer it once.
        key = (data, info, url, request, complete, self.options, self.catalog.generation)
        if key in self._inspections:
            self._inspections.move_to_end(key)
            return self._inspections[key]
        found = None
        summary = summarize(parsed.root, info) if parsed.root is not None else None
        if summary is not None:
            if self.catalog.contracts:
                summary = self._with_contract(summary, parsed, info, url, request, complete)
            found = Inspection(summary, parsed, envelope, complete)
        if len(data) <= KEPT_BODY_BYTES:
            self._inspections[key] = found
        while len(self._inspections) > KEPT_PARSES:
            self._inspections.popitem(last=False)
        return found

    def _with_contract(
        self,
        summary: Summary,
        parsed: Parsed,
        info: MessageInfo,
        url: str | None,
        request: Resolution | None,
        complete: bool,
    ) -> Summary:
        resolution, warnings = resolve(
            self.catalog, summary, info.is_request, url=url, request=request
        )
        if resolution is None:
            return summary
        validation = None
        if self.options.validate and complete:
            if parsed.truncated_at is not None:
                validation = Validation(skipped="the body is longer than soap_max_bytes")
            else:
                assert parsed.root is not None
                try:
                    validation = validate(
                        self.catalog, resolution, parsed.root, summary, info.is_request
                    )
                except etree.Error as e:  # libxml2 refusing a message or schema: say so
                    validation = Validation(skipped=f"the validator failed: {e}")
        return dataclasses.replace(
            summary,
            resolution=resolution,
            warnings=(*summary.warnings, *warnings),
            validation=validation,
        )

    def render(
        self,
        data: bytes,
        info: MessageInfo,
        *,
        url: str | None = None,
        request: Resolution | None = None,
    ) -> Rendering:
        options = self.options
        envelope = _envelope(data, info.content_type)
        if envelope.sniff is None:
            return _raw(data, "no SOAP 1.1/1.2 Envelope found", options)
        if envelope.sniff.has_doctype:
            return _raw(data, "refused to parse: SOAP messages must not contain a DTD", options)
        inspection = self.inspect(data, info, url=url, request=request, complete=True)
        if inspection is None:
            parsed = self._parse(data, info, True)[1]
            return _raw(data, parsed.error or "no SOAP Envelope found", options)
        summary, parsed, envelope = inspection.summary, inspection.parsed, inspection.envelope
        assert parsed.root is not None
        lines = format_summary(summary, info)
        attachments = mtom.describe_attachments(parsed.root, envelope.parts, envelope.main)
        lines += [f"  {line}" for line in attachments]
        if parsed.truncated_at is not None:
            lines.append(
                f"  NOTE: the envelope is {len(envelope.xml)} bytes; shown as parsed from its "
                f"first {parsed.truncated_at} (soap_max_bytes)"
            )
        pretty = pretty_xml(parsed.root, mask=options.mask)
        if len(pretty) > options.max_bytes:
            pretty = (
                pretty[: options.max_bytes] + f"\n… [output cut at {options.max_bytes} characters]"
            )
        name = (
            f"{summary.name} Fault"
            if summary.resolution and summary.fault
            else ("Fault" if summary.fault else summary.name)
        )
        return Rendering(f"SOAP {summary.version} {name}", "\n".join(lines) + "\n\n" + pretty)
