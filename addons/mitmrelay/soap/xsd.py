"""The contract's XML Schema, compiled in memory by libxml2 (lxml's `XMLSchema`), and a message's
Body validated against its operation.

The compiler is given a resolver that serves only the contract's own documents, so it cannot read
a file or a URL on a WSDL's say-so. rpc/literal wrappers, which no schema declares, are validated
against elements built here from the WSDL's parts.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from typing import Protocol, cast

from lxml import etree

from ._xml import attribute_items, one_line, qname, qtext
from .catalog import Catalog, find_operation
from .mtom import XOP_NS
from .summary import QName, Resolution, Summary, Validation
from .wsdl import XSD_NS, Contract, Operation, document_parser

RPC_NS = "urn:mitmrelay:rpc-wrapper"
SHOWN_ERRORS = 3


class _LogEntry(Protocol):
    """What is read of one of libxml2's messages (lxml's `_LogEntry`)."""

    message: str
    path: str | None
    line: int


def _entries(schema: etree.XMLSchema) -> Iterable[_LogEntry]:
    """The messages of the schema's last validation."""
    # lxml's error log is a sequence of entries; lxml-stubs 0.5.1 declares it without members.
    return cast("Iterable[_LogEntry]", schema.error_log)


def schema_of(contract: Contract) -> tuple[etree.XMLSchema | None, str | None]:
    """The contract's compiled schema (cached on it), or the reason there is none."""
    if contract.compiled is None:
        try:
            schema = compile_schema(contract.schema_documents, contract.operations)
        except (etree.XMLSchemaParseError, etree.XMLSyntaxError, ValueError) as e:
            contract.compiled = None, f"the WSDL's schema does not compile: {one_line(str(e))}"
        else:
            reason = None if schema is not None else "the WSDL declares no types"
            contract.compiled = schema, reason
    return contract.compiled


_MEM = "mem:"


class _MemoryResolver(etree.Resolver):
    """Serves the schema compiler the documents assembled here, and an empty schema for any
    other URL: libxml2 must not read a file or the network on a WSDL's say-so."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    # lxml passes a third argument, the parser context; lxml-stubs 0.5.1 declares two.
    def resolve(  # type: ignore[override]
        self, url: str, pubid: str | None, context: object
    ) -> object:
        data = self.documents.get(url)
        if data is None:
            data = f'<xs:schema xmlns:xs="{XSD_NS}"/>'.encode()
        return self.resolve_string(data, context, base_url=None)


def _standalone(element: etree._Element, tag: str | None = None) -> etree._Element:
    """A copy of an element that declares every namespace in scope, with its line numbers: QName
    values (`type="tns:Foo"` in an inline schema, `xsi:type="xsd:int"` in a message) use
    prefixes declared on ancestors, which a plain copy of the element would leave behind."""
    copied = etree.Element(
        tag or element.tag,
        attrib=dict(attribute_items(element)),
        # lxml takes None as the default namespace's prefix; lxml-stubs 0.5.1 declares str only.
        nsmap=element.nsmap,  # type: ignore[arg-type]
    )
    copied.text = element.text
    copied.sourceline = element.sourceline
    copied.extend(copy.deepcopy(child) for child in element)
    _inline_xop(copied)
    return copied


def _inline_xop(element: etree._Element) -> None:
    """An element holding an xop:Include holds, for its schema, the base64 content of the part
    the Include points to (XOP §3, MTOM): the Include goes (the copy only), and the element is
    empty, which a base64Binary takes; the part's bytes are not the schema's business."""
    for include in list(element.iter(f"{{{XOP_NS}}}Include")):
        parent = include.getparent()
        if parent is None:
            continue
        parent.remove(include)  # with its tail: the whitespace around it
        if not (parent.text or "").strip() and not len(parent):
            parent.text = None


def _rpc_schema(operations: list[Operation]) -> etree._Element | None:
    """rpc/literal wrappers as elements of a namespace of our own: `{RPC_NS}w<N>` with the
    parts as unqualified children, typed as the WSDL says (WSDL 1.1 §3.5, WS-I BP R2729)."""
    # Built as elements, not text: names and QNames come from an untrusted WSDL.
    wrappers = _rpc_wrappers(operations)
    if not wrappers:
        return None
    used = [ns for _, parts in wrappers for _, (ns, _), _ in parts if ns]
    prefixes = {ns: f"n{index}" for index, ns in enumerate(dict.fromkeys(used))}
    xs = f"{{{XSD_NS}}}"
    schema = etree.Element(
        xs + "schema", nsmap={"xs": XSD_NS, **{p: ns for ns, p in prefixes.items()}}
    )
    schema.set("targetNamespace", RPC_NS)
    for imported in prefixes:
        if imported != XSD_NS:
            etree.SubElement(schema, xs + "import", namespace=imported)
    for index, (_, parts) in enumerate(wrappers):
        wrapper = etree.SubElement(schema, xs + "element", name=f"w{index}")
        sequence = etree.SubElement(etree.SubElement(wrapper, xs + "complexType"), xs + "sequence")
        for part_name, (ns, local), is_element in parts:
            ref = f"{prefixes[ns]}:{local}" if ns else local
            if is_element:
                etree.SubElement(sequence, xs + "element", ref=ref)
            else:
                etree.SubElement(
                    sequence, xs + "element", name=part_name, type=ref, form="unqualified"
                )
    return schema


def _rpc_wrappers(
    operations: list[Operation],
) -> list[tuple[tuple[Operation, str], tuple[tuple[str, QName, bool], ...]]]:
    """Every rpc/literal input and output, in a stable order (the index names the wrapper)."""
    found = []
    for op in operations:
        if op.style == "rpc" and op.use == "literal":
            found.append(((op, "input"), op.rpc_input))
            found.append(((op, "output"), op.rpc_output))
    return found


def compile_schema(
    documents: list[tuple[str, etree._Element]], operations: list[Operation]
) -> etree.XMLSchema | None:
    """One XMLSchema for every schema document of the contract.

    Each target namespace gets one aggregate document that includes all of that namespace's
    schema documents, and every import is pointed at its namespace's aggregate: libxml2 loads a
    namespace only once, so importing the documents one by one would silently drop all but the
    first of a namespace with several.
    """
    by_ns: dict[str, list[etree._Element]] = {}
    for _url, schema in documents:
        by_ns.setdefault(schema.get("targetNamespace") or "", []).append(_standalone(schema))
    rpc = _rpc_schema(operations)
    if rpc is not None:
        by_ns.setdefault(RPC_NS, []).append(rpc)
    if not by_ns:
        return None
    aggregate = {ns: f"{_MEM}ns{index}" for index, ns in enumerate(by_ns)}
    served: dict[str, bytes] = {}
    for ns, schemas in by_ns.items():
        includes = []
        for index, schema in enumerate(schemas):
            for ref in list(schema):
                kind = qname(ref)
                if kind[0] != XSD_NS:
                    continue
                if kind[1] == "import":
                    target = ref.get("namespace") or ""
                    if target in aggregate:
                        ref.set("schemaLocation", aggregate[target])
                    elif "schemaLocation" in ref.attrib:
                        del ref.attrib["schemaLocation"]
                elif kind[1] in ("include", "redefine"):
                    # The aggregate includes every document of the namespace already.
                    schema.remove(ref)
            location = f"{aggregate[ns]}/{index}"
            served[location] = etree.tostring(schema)
            includes.append(f'<xs:include schemaLocation="{location}"/>')
        tns = f' targetNamespace="{ns}"' if ns else ""
        served[aggregate[ns]] = (
            f'<xs:schema xmlns:xs="{XSD_NS}"{tns}>{"".join(includes)}</xs:schema>'
        ).encode()
    imports = "".join(
        f'<xs:import namespace="{ns}" schemaLocation="{loc}"/>'
        if ns
        else f'<xs:import schemaLocation="{loc}"/>'
        for ns, loc in aggregate.items()
    )
    master = f'<xs:schema xmlns:xs="{XSD_NS}" targetNamespace="urn:mitmrelay:root">{imports}'
    master += "</xs:schema>"
    parser = document_parser()
    parser.resolvers.add(_MemoryResolver(served))
    return etree.XMLSchema(etree.fromstring(master.encode(), parser))


def _error_text(error: _LogEntry, renamed: tuple[str, str] | None = None) -> str:
    """`line N /path: message`; for an rpc wrapper, our stand-in's name replaced by the real one."""
    message = error.message
    path = error.path or ""
    if renamed is not None:
        stand_in, real = renamed
        message = message.replace(f"{{{RPC_NS}}}{stand_in}", real)
        path = re.sub(rf"^/[^/]*:{stand_in}(?=/|$)", "/" + real, path)
    return f"line {error.line} {path}: {message}"


def validate(
    catalog: Catalog,
    resolution: Resolution,
    root: etree._Element,
    summary: Summary,
    is_request: bool | None,
) -> Validation:
    """The message's Body against the operation's schema: document/literal parts as global
    elements, rpc/literal wrappers as the parts' types. rpc/encoded (SOAP 1.1 §5 encoding) is
    identified, not validated: its types are not what an XML Schema validator checks."""
    op = find_operation(catalog, resolution)
    if op is None:
        return Validation(skipped="the operation left the WSDL")
    if summary.fault is not None:
        return Validation(skipped="a fault")
    if summary.encrypted is not None:
        return Validation(skipped="the Body is encrypted")
    if summary.encrypted_content is not None:
        return Validation(skipped="part of the Body is encrypted")
    if op.use == "encoded":
        return Validation(skipped=f"{op.style}/encoded is not schema-validated")
    schema, reason = schema_of(catalog.contracts[resolution.wsdl])
    if schema is None:
        return Validation(skipped=reason)
    body = next((c for c in root if qname(c)[1] == "Body"), None)
    children = [c for c in body if isinstance(c.tag, str)] if body is not None else []
    errors: list[str] = []
    if op.style == "rpc":
        direction = "input" if is_request else "output"
        wrappers = _rpc_wrappers(catalog.contracts[resolution.wsdl].operations)
        index = next(i for i, (key, _) in enumerate(wrappers) if key == (op, direction))
        for child in children[:1]:
            wrapper = _standalone(child, f"{{{RPC_NS}}}w{index}")
            real = qtext(qname(child))
            if not schema.validate(wrapper):
                errors += [_error_text(e, (f"w{index}", real)) for e in _entries(schema)]
    else:
        for child in children:
            if not schema.validate(_standalone(child)):
                errors += [_error_text(e) for e in _entries(schema)]
            if len(errors) >= SHOWN_ERRORS:
                break
    return Validation(errors=tuple(one_line(e, 300) for e in errors[:SHOWN_ERRORS]))
