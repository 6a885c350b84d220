"""WSDL 1.1 documents (SOAP 1.1 and 1.2 bindings) read into a contract: its operations, the
documents it is made of, the imports not known yet, and its schema documents.

A WSDL is untrusted input, read with the same parser rules as a message (no DTD, no entities, no
network, bounded size). Imports (`wsdl:import`, `xsd:import`, `xsd:include`, `xsd:redefine`) are
resolved only through the `Loader` given, which serves the documents the catalog already holds —
seen through the proxy or configured by the user; nothing is ever fetched from here. Import loops
end because each document is read once; the number of documents per contract is bounded.

The WSDL 1.1 structure (messages, portTypes, bindings, services) is small and read here with lxml;
the XML Schema part, the hard one, is left to libxml2's validator (xsd.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit, urlunsplit

from lxml import etree

from ._xml import SAFE_PARSER, one_line, qname
from .summary import QName

WSDL_NS = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP11 = "http://schemas.xmlsoap.org/wsdl/soap/"
WSDL_SOAP12 = "http://schemas.xmlsoap.org/wsdl/soap12/"
XSD_NS = "http://www.w3.org/2001/XMLSchema"
# WS-Addressing's WSDL binding and metadata namespaces (2006 and 2007): `Action` on an input/output.
WSAM_NAMESPACES = (
    "http://www.w3.org/2007/05/addressing/metadata",
    "http://www.w3.org/2006/05/addressing/wsdl",
    "http://www.w3.org/2006/02/addressing/wsdl",
)

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_DOCUMENTS = 200  # per contract: a WSDL and everything it imports


# Serves a document by its (normalized) URL, or None if it is not known.
Loader = Callable[[str], bytes | None]


class ContractError(ValueError):
    """A document that cannot serve as (part of) a WSDL; the text names the document."""


@dataclass(frozen=True)
class Operation:
    name: str
    service: str
    port: str
    binding: str
    soap_version: str  # "1.1" or "1.2"
    style: str  # "document" or "rpc"
    use: str  # "literal" or "encoded"
    soap_action: str | None
    address: str | None
    # What the Body holds: document style, the parts' elements; rpc, the wrapper element.
    input_elements: tuple[QName, ...]
    output_elements: tuple[QName, ...]
    input_action: str | None = None  # wsam:Action
    output_action: str | None = None
    # rpc style: the parts (name, type or element QName, is_element) of input and output.
    rpc_input: tuple[tuple[str, QName, bool], ...] = ()
    rpc_output: tuple[tuple[str, QName, bool], ...] = ()
    # The input's soap:header parts (WSDL 1.1 §3.7): the elements a request carries in its Header.
    input_headers: tuple[QName, ...] = ()

    @property
    def style_text(self) -> str:
        return f"{self.style}/{self.use}"


@dataclass
class Contract:
    """One WSDL with everything it imports: its operations and schema documents."""

    url: str
    operations: list[Operation]
    documents: list[str]  # every document read, the WSDL first
    missing: list[str]  # imports not (yet) known: the contract is rebuilt when they arrive
    schema_documents: list[tuple[str, etree._Element]] = field(repr=False, default_factory=list)
    # The compiled schema or the reason there is none, once xsd.schema_of() has compiled it.
    compiled: tuple[etree.XMLSchema | None, str | None] | None = field(default=None, repr=False)

    @property
    def services(self) -> list[str]:
        return list(dict.fromkeys(op.service for op in self.operations))

    @property
    def ports(self) -> list[str]:
        return list(dict.fromkeys(op.port for op in self.operations))

    def describe(self) -> str:
        """The log line for a learned WSDL: service, ports, operation count."""
        names = {op.name for op in self.operations}
        text = (
            f"WSDL {self.url}: service {', '.join(self.services) or '(none)'}, "
            f"ports {', '.join(self.ports) or '(none)'}, {len(names)} operations"
        )
        if self.missing:
            text += f"; imports not seen yet: {', '.join(self.missing[:3])}"
        return text


# -- reading documents -------------------------------------------------------------------------


def document_parser() -> etree.XMLParser:
    """The parser for WSDL and schema documents: SAFE_PARSER's rules, comments dropped."""
    return etree.XMLParser(remove_comments=True, **SAFE_PARSER)


_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)


def parse_document(url: str, data: bytes) -> etree._Element:
    """The root of a WSDL or XSD document, refusing DTDs (nothing a WSDL needs, everything an
    attack does: XXE, billion laughs) and documents over MAX_DOCUMENT_BYTES."""
    if len(data) > MAX_DOCUMENT_BYTES:
        raise ContractError(f"{url}: {len(data)} bytes, over the limit of {MAX_DOCUMENT_BYTES}")
    if _DOCTYPE.search(data):
        raise ContractError(f"{url}: refused: a WSDL or schema must not contain a DTD")
    try:
        return etree.fromstring(data, document_parser())
    except etree.XMLSyntaxError as e:
        raise ContractError(f"{url}: malformed XML: {one_line(str(e))}") from e


def kind_of(data: bytes) -> str | None:
    """ "wsdl" or "xsd" if the document's root is a WSDL 1.1 `definitions` or an XSD `schema`
    (a cheap look at the start tag, for deciding whether a response is worth keeping)."""
    head = data[:8192].decode("latin-1")
    root = re.search(r"<(?![?!])([\w.-]+:)?(definitions|schema)\b([^>]*)>", head)
    if root is None:
        return None
    prefix = (root.group(1) or "")[:-1]
    attribute = f"xmlns:{prefix}" if prefix else "xmlns"
    wanted = WSDL_NS if root.group(2) == "definitions" else XSD_NS
    if re.search(rf"""{attribute}\s*=\s*["']{re.escape(wanted)}["']""", root.group(3)):
        return "wsdl" if root.group(2) == "definitions" else "xsd"
    return None


def normalize_url(url: str) -> str:
    """The key a document is stored under: scheme and host lower-case, no fragment."""
    parts = urlsplit(url.strip())
    return urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", parts.query, "")
    )


# -- the WSDL structure ------------------------------------------------------------------------


def resolve_qname(element: etree._Element, value: str | None) -> QName | None:
    """A QName-valued attribute (`tns:Foo`) in the element's namespace context."""
    if not value:
        return None
    prefix, _, local = value.strip().rpartition(":")
    return element.nsmap.get(prefix or None), local


def _wsdl_children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element if qname(c) == (WSDL_NS, local)]


def _soap_children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element if qname(c) in ((WSDL_SOAP11, local), (WSDL_SOAP12, local))]


def _soap_child(element: etree._Element, local: str) -> etree._Element | None:
    return next(iter(_soap_children(element, local)), None)


def _header_elements(read: _Read, binding_msg: etree._Element | None) -> tuple[QName, ...]:
    """The elements of a binding input's soap:header parts (each names a message and one of its
    parts); a part declared by type is named by the part's name, as in the Body."""
    found = []
    for header in _soap_children(binding_msg, "header") if binding_msg is not None else []:
        parts = _parts(read, resolve_qname(header, header.get("message")), header.get("part"))
        found += [p[1] or (None, p[0]) for p in parts[:1]]
    return tuple(found)


def _wsam_action(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    return next(
        (
            element.get(f"{{{ns}}}Action")
            for ns in WSAM_NAMESPACES
            if element.get(f"{{{ns}}}Action")
        ),
        None,
    )


@dataclass
class _Read:
    """The pieces of all WSDL documents of one contract, by QName."""

    messages: dict[QName, list[tuple[str, QName | None, QName | None]]] = field(
        default_factory=dict
    )
    port_types: dict[QName, etree._Element] = field(default_factory=dict)
    bindings: dict[QName, etree._Element] = field(default_factory=dict)
    services: list[tuple[str, etree._Element]] = field(default_factory=list)
    schemas: list[tuple[str, etree._Element]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def _read_wsdl(url: str, root: etree._Element, read: _Read, load: Loader, seen: set[str]) -> None:
    tns = root.get("targetNamespace")
    for imp in _wsdl_children(root, "import"):
        location = imp.get("location")
        if location:
            _load(urljoin(url, location), read, load, seen)
    for types in _wsdl_children(root, "types"):
        for schema in types:
            if qname(schema) == (XSD_NS, "schema"):
                read.schemas.append((url, schema))
    for message in _wsdl_children(root, "message"):
        parts = [
            (
                p.get("name", ""),
                resolve_qname(p, p.get("element")),
                resolve_qname(p, p.get("type")),
            )
            for p in _wsdl_children(message, "part")
        ]
        read.messages[(tns, message.get("name", ""))] = parts
    for kind, store in (("portType", read.port_types), ("binding", read.bindings)):
        for element in _wsdl_children(root, kind):
            store[(tns, element.get("name", ""))] = element
    read.services += [(url, s) for s in _wsdl_children(root, "service")]


def _load(url: str, read: _Read, load: Loader, seen: set[str]) -> None:
    key = normalize_url(url)
    if key in seen:  # an import loop, or a document imported twice: read once
        return
    seen.add(key)
    if len(seen) > MAX_DOCUMENTS:
        raise ContractError(f"{url}: more than {MAX_DOCUMENTS} imported documents")
    data = load(key)
    if data is None:
        read.missing.append(key)
        return
    root = parse_document(key, data)
    read.documents.append(key)
    if qname(root) == (WSDL_NS, "definitions"):
        _read_wsdl(key, root, read, load, seen)
    elif qname(root) == (XSD_NS, "schema"):
        read.schemas.append((key, root))
    else:
        raise ContractError(f"{key}: neither a WSDL 1.1 definitions nor an XML Schema document")


def _schema_imports(read: _Read, load: Loader, seen: set[str]) -> None:
    """Follow xsd:import/include/redefine schemaLocations, breadth first, each document once."""
    index = 0
    while index < len(read.schemas):
        url, schema = read.schemas[index]
        index += 1
        for ref in schema:
            if qname(ref)[0] == XSD_NS and qname(ref)[1] in ("import", "include", "redefine"):
                location = ref.get("schemaLocation")
                if location:
                    _load(urljoin(url, location), read, load, seen)


def _parts(
    read: _Read, message: QName | None, names: str | None
) -> list[tuple[str, QName | None, QName | None]]:
    parts = read.messages.get(message, []) if message else []
    if names is not None:  # soap:body parts="a b": only those go in the Body
        wanted = names.split()
        parts = [p for p in parts if p[0] in wanted]
    return parts


def _operation(
    read: _Read,
    names: tuple[str, str, str, str | None],
    version: str,
    default_style: str,
    bop: etree._Element,
    port_type: etree._Element | None,
) -> Operation:
    name = bop.get("name", "")
    soap_op = _soap_child(bop, "operation")
    style = (soap_op.get("style") if soap_op is not None else None) or default_style
    abstract = next(
        (
            o
            for o in (_wsdl_children(port_type, "operation") if port_type is not None else [])
            if o.get("name") == name
        ),
        None,
    )
    elements: dict[str, tuple[QName, ...]] = {}
    rpc: dict[str, tuple[tuple[str, QName, bool], ...]] = {}
    actions: dict[str, str | None] = {}
    use = "literal"
    for direction in ("input", "output"):
        binding_msg = next(iter(_wsdl_children(bop, direction)), None)
        body = _soap_child(binding_msg, "body") if binding_msg is not None else None
        if body is not None and body.get("use") == "encoded":
            use = "encoded"
        abstract_msg = (
            next(iter(_wsdl_children(abstract, direction)), None) if abstract is not None else None
        )
        actions[direction] = _wsam_action(abstract_msg)
        message = (
            resolve_qname(abstract_msg, abstract_msg.get("message"))
            if (abstract_msg is not None)
            else None
        )
        parts = _parts(read, message, body.get("parts") if body is not None else None)
        if style == "rpc":
            namespace = body.get("namespace") if body is not None else None
            wrapper = name if direction == "input" else name + "Response"
            elements[direction] = ((namespace or None, wrapper),)
            rpc[direction] = tuple(
                (p[0], p[1] or p[2] or (XSD_NS, "anyType"), p[1] is not None) for p in parts
            )
        else:
            elements[direction] = tuple(p[1] or (None, p[0]) for p in parts)
    service, port, binding, address = names
    return Operation(
        name=name,
        service=service,
        port=port,
        binding=binding,
        soap_version=version,
        style=style,
        use=use,
        soap_action=(soap_op.get("soapAction") or None) if soap_op is not None else None,
        address=address,
        input_elements=elements["input"],
        output_elements=elements["output"],
        input_action=actions["input"],
        output_action=actions["output"],
        rpc_input=rpc.get("input", ()),
        rpc_output=rpc.get("output", ()),
        input_headers=_header_elements(read, next(iter(_wsdl_children(bop, "input")), None)),
    )


def by_name(store: dict[QName, etree._Element], name: QName | None) -> etree._Element | None:
    """The element of that QName; failing that, the only one of that local name (WSDLs often
    refer without the right prefix, and stacks accept it)."""
    if name is None:
        return None
    if name in store:
        return store[name]
    same = [e for (_, local), e in store.items() if local == name[1]]
    return same[0] if len(same) == 1 else None


def _binding_operations(
    read: _Read, binding_name: QName, service: str, port: str, address: str | None
) -> list[Operation]:
    binding = by_name(read.bindings, binding_name)
    if binding is None:
        return []
    soap = _soap_child(binding, "binding")
    if soap is None:  # an HTTP GET/POST or MIME binding: not SOAP
        return []
    version = "1.2" if qname(soap)[0] == WSDL_SOAP12 else "1.1"
    port_type = by_name(read.port_types, resolve_qname(binding, binding.get("type")))
    names = (service, port, binding_name[1], address)
    return [
        _operation(read, names, version, soap.get("style") or "document", bop, port_type)
        for bop in _wsdl_children(binding, "operation")
    ]


def build_contract(url: str, load: Loader) -> Contract:
    """The contract of the WSDL at `url`; `load(url) -> bytes | None` serves known documents."""
    read = _Read()
    seen: set[str] = set()
    _load(url, read, load, seen)
    if not read.documents:
        raise ContractError(f"{url}: not known")
    _schema_imports(read, load, seen)
    operations: list[Operation] = []
    used: set[QName] = set()
    for _doc, service in read.services:
        for port in _wsdl_children(service, "port"):
            binding = resolve_qname(port, port.get("binding"))
            if binding is None:
                continue
            found = by_name(read.bindings, binding)
            used |= {k for k, v in read.bindings.items() if v is found}
            address = _soap_child(port, "address")
            operations += _binding_operations(
                read,
                binding,
                service.get("name", ""),
                port.get("name", ""),
                address.get("location") if address is not None else None,
            )
    for binding in read.bindings:  # bindings no service names (a WSDL split in parts)
        if binding not in used:
            operations += _binding_operations(read, binding, "(no service)", "(no port)", None)
    return Contract(url, operations, read.documents, read.missing, read.schemas)
