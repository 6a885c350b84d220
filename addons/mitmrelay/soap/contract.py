"""The service contract: WSDL 1.1 documents (SOAP 1.1 and 1.2 bindings) read into an operation
map, the operation a message belongs to, and schema validation against the WSDL's types.

A WSDL is untrusted input, read with the same parser rules as a message (no DTD, no entities, no
network, bounded size). Imports (`wsdl:import`, `xsd:import`, `xsd:include`, `xsd:redefine`) are
resolved only from documents the catalog already holds — seen through the proxy or configured by
the user; nothing is ever fetched from here, and the schema compiler (lxml's `XMLSchema`, i.e.
libxml2) is given a resolver that serves only those documents, so it cannot read a file or a URL
either. Import loops end because each document is read once; the number of documents per contract
is bounded.

The WSDL 1.1 structure (messages, portTypes, bindings, services) is small and read here with lxml;
the XML Schema part, the hard one, is left entirely to libxml2's validator.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urljoin, urlsplit, urlunsplit
from urllib.request import url2pathname

from lxml import etree

from ._xml import SAFE_PARSER, one_line, qname
from .summary import QName, Resolution, Summary, Validation

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
RPC_NS = "urn:mitmrelay:rpc-wrapper"

MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
MAX_DOCUMENTS = 200  # per contract: a WSDL and everything it imports
# In all: a long session of clients fetching schemas must not grow memory without end.
MAX_CATALOG_DOCUMENTS = 1000
SHOWN_ERRORS = 3


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

    @property
    def style_text(self) -> str:
        return f"{self.style}/{self.use}"


@dataclass
class Contract:
    """One WSDL with everything it imports: its operations and (compiled on first use) schema."""

    url: str
    operations: list[Operation]
    documents: list[str]  # every document read, the WSDL first
    missing: list[str]  # imports not (yet) known: the contract is rebuilt when they arrive
    schema_documents: list[tuple[str, etree._Element]] = field(repr=False, default_factory=list)
    _schema: etree.XMLSchema | None = field(default=None, repr=False)
    _schema_error: str | None = field(default=None, repr=False)
    _compiled: bool = field(default=False, repr=False)

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

    def schema(self) -> tuple[etree.XMLSchema | None, str | None]:
        """The compiled schema (cached), or the reason there is none."""
        if not self._compiled:
            self._compiled = True
            try:
                self._schema = compile_schema(self.schema_documents, self.operations)
            except (etree.XMLSchemaParseError, etree.XMLSyntaxError, ValueError) as e:
                self._schema_error = f"the WSDL's schema does not compile: {one_line(str(e))}"
            if self._schema is None and self._schema_error is None:
                self._schema_error = "the WSDL declares no types"
        return self._schema, self._schema_error


# -- reading documents -------------------------------------------------------------------------


def _parser() -> etree.XMLParser:
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
        return etree.fromstring(data, _parser())
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


class Catalog:
    """Every WSDL and schema document known, and the contracts built from the WSDLs.

    `add()` takes a document (seen in traffic or configured) and returns the contracts it made
    or completed; operation maps and compiled schemas are kept per WSDL until it changes.
    """

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.contracts: dict[str, Contract] = {}
        self.errors: dict[str, str] = {}
        self.generation = 0  # changes whenever a contract does: cached answers are then stale

    def lookup(self, url: str) -> bytes | None:
        key = normalize_url(url)
        if key in self.documents:
            return self.documents[key]
        # The same document reached through another host name (a reverse proxy's own address,
        # or the server's name in an absolute import): match on path and query if unique.
        parts = urlsplit(key)
        same = [
            k
            for k in self.documents
            if (urlsplit(k).path, urlsplit(k).query) == (parts.path, parts.query)
        ]
        return self.documents[same[0]] if len(same) == 1 else None

    def add(self, url: str, data: bytes) -> list[Contract]:
        """Keep a document; build the contract if it is a WSDL, rebuild those that missed it."""
        key = normalize_url(url)
        if self.documents.get(key) == data:
            return []
        if key not in self.documents and len(self.documents) >= MAX_CATALOG_DOCUMENTS:
            self.errors[key] = f"{url}: not kept: {MAX_CATALOG_DOCUMENTS} documents known already"
            return []
        self.documents[key] = data
        wanted = [k for k, c in self.contracts.items() if key in c.missing or key in c.documents]
        if kind_of(data) == "wsdl":
            wanted.append(key)
        built = []
        self.generation += 1
        for wsdl in dict.fromkeys(wanted):
            try:
                contract = build_contract(wsdl, self.lookup)
            except ContractError as e:
                self.errors[wsdl] = str(e)
                self.contracts.pop(wsdl, None)
                continue
            self.errors.pop(wsdl, None)
            if not contract.operations:  # an abstract part (portType only), or no SOAP binding
                self.contracts.pop(wsdl, None)
                continue
            self.contracts[wsdl] = contract
            built.append(contract)
        return built

    def operations(self) -> Iterable[tuple[Contract, Operation]]:
        for contract in self.contracts.values():
            for op in contract.operations:
                yield contract, op


# -- the WSDL structure ------------------------------------------------------------------------


def _resolve_qname(element: etree._Element, value: str | None) -> QName | None:
    """A QName-valued attribute (`tns:Foo`) in the element's namespace context."""
    if not value:
        return None
    prefix, _, local = value.strip().rpartition(":")
    return element.nsmap.get(prefix or None), local


def _wsdl_children(element: etree._Element, local: str) -> list[etree._Element]:
    return [c for c in element if qname(c) == (WSDL_NS, local)]


def _soap_child(element: etree._Element, local: str) -> etree._Element | None:
    return next(
        (c for c in element if qname(c) in ((WSDL_SOAP11, local), (WSDL_SOAP12, local))), None
    )


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
                _resolve_qname(p, p.get("element")),
                _resolve_qname(p, p.get("type")),
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
            _resolve_qname(abstract_msg, abstract_msg.get("message"))
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
    )


def _by_name(store: dict[QName, etree._Element], name: QName | None) -> etree._Element | None:
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
    binding = _by_name(read.bindings, binding_name)
    if binding is None:
        return []
    soap = _soap_child(binding, "binding")
    if soap is None:  # an HTTP GET/POST or MIME binding: not SOAP
        return []
    version = "1.2" if qname(soap)[0] == WSDL_SOAP12 else "1.1"
    port_type = _by_name(read.port_types, _resolve_qname(binding, binding.get("type")))
    names = (service, port, binding_name[1], address)
    return [
        _operation(read, names, version, soap.get("style") or "document", bop, port_type)
        for bop in _wsdl_children(binding, "operation")
    ]


def build_contract(url: str, load: Loader) -> Contract:
    """The contract of the WSDL at `url`; `load(url) -> bytes | None` serves known documents."""
    read, seen = _Read(), set()
    _load(url, read, load, seen)
    if not read.documents:
        raise ContractError(f"{url}: not known")
    _schema_imports(read, load, seen)
    operations: list[Operation] = []
    used: set[QName] = set()
    for _doc, service in read.services:
        for port in _wsdl_children(service, "port"):
            binding = _resolve_qname(port, port.get("binding"))
            if binding is None:
                continue
            found = _by_name(read.bindings, binding)
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


# -- resolution --------------------------------------------------------------------------------


def _path(url: str | None) -> str | None:
    return urlsplit(url).path.rstrip("/") if url else None


def _pick(
    found: list[tuple[Contract, Operation]], version: str, path: str | None
) -> tuple[Contract, Operation] | None:
    """The best candidate: same SOAP version as the envelope, then the port at this path."""
    if not found:
        return None
    # The port at this path, else the WSDL published at this path (`/calc?wsdl` describes
    # `/calc`, whatever internal address the WSDL names), else the first.
    ranked = sorted(
        found,
        key=lambda c: (
            c[1].soap_version != version,
            path is None or _path(c[1].address) != path,
            path is None or _path(c[0].url) != path,
        ),
    )
    return ranked[0]


def _qtext(name: QName) -> str:
    return f"{{{name[0]}}}{name[1]}" if name[0] else name[1]


def _matches_body(expected: tuple[QName, ...], body: tuple[QName, ...]) -> bool:
    return bool(body) and (expected == body or (bool(expected) and expected[0] == body[0]))


def resolve(
    catalog: Catalog,
    summary: Summary,
    is_request: bool | None,
    url: str | None = None,
    request: Resolution | None = None,
) -> tuple[Resolution | None, tuple[str, ...]]:
    """Which WSDL operation the message belongs to, and warnings for contradictions between the
    message and the WSDL (an action the WSDL maps to another operation than the Body's element).

    Requests: by SOAPAction (SOAP 1.2: the `action` parameter) or wsa:Action, else by the Body's
    element(s) against each operation's input. Responses: the operation their request resolved
    to, else the Body against each operation's output.
    """
    candidates = list(catalog.operations())
    if not candidates:
        return None, ()
    if is_request is None:  # a message file of unknown direction: a request, else a response
        found = resolve(catalog, summary, True, url)
        return found if found[0] is not None else resolve(catalog, summary, False, url)
    path = _path(url)
    body = summary.body or ()
    readable = summary.encrypted is None and summary.fault is None
    warnings: list[str] = []

    def resolution(c: tuple[Contract, Operation], how: str) -> Resolution:
        contract, op = c
        return Resolution(
            op.name, op.service, op.port, op.binding, op.style_text, how, contract.url
        )

    if not is_request:
        if request is not None:
            how = (
                request.how
                if request.how.startswith("its request")
                else f"its request ({request.how})"
            )
            return dataclasses.replace(request, how=how), ()
        if readable:
            by_body = [c for c in candidates if _matches_body(c[1].output_elements, body)]
            chosen = _pick(by_body, summary.version, path)
            if chosen is not None:
                return resolution(chosen, f"Body element {body[0][1]}"), ()
        return None, ()

    by_body = [c for c in candidates if readable and _matches_body(c[1].input_elements, body)]
    actions = [("SOAPAction" if summary.version == "1.1" else "action", summary.action)]
    actions.append(("wsa:Action", summary.addressing.get("Action")))
    for how, action in actions:
        if not action:
            continue
        by_action = [c for c in candidates if action in (c[1].soap_action, c[1].input_action)]
        if not by_action:
            continue
        agreeing = [c for c in by_action if c in by_body]
        chosen = _pick(agreeing or by_action, summary.version, path)
        assert chosen is not None
        op = chosen[1]
        if readable and body and not agreeing:
            other = _pick(by_body, summary.version, path)
            if other is not None:
                warnings.append(
                    f"{how} {action!r} is operation {op.name} in the WSDL, but the Body element "
                    f"{_qtext(body[0])} is the input of operation {other[1].name}"
                )
            elif op.use == "literal" and op.input_elements:
                warnings.append(
                    f"the Body element {_qtext(body[0])} is not the input of operation "
                    f"{op.name} (the WSDL expects {_qtext(op.input_elements[0])})"
                )
        return resolution(chosen, how), tuple(warnings)
    chosen = _pick(by_body, summary.version, path)
    if chosen is None:
        return None, ()
    action = summary.action
    if action and chosen[1].soap_action and action != chosen[1].soap_action:
        warnings.append(
            f"SOAPAction {action!r} names no operation of the WSDL; the Body element is the "
            f"input of {chosen[1].name} (soapAction {chosen[1].soap_action!r})"
        )
    return resolution(chosen, f"Body element {body[0][1]}"), tuple(warnings)


def find_operation(catalog: Catalog, resolution: Resolution) -> Operation | None:
    contract = catalog.contracts.get(resolution.wsdl)
    if contract is None:
        return None
    return next(
        (
            op
            for op in contract.operations
            if (op.name, op.port, op.binding)
            == (resolution.operation, resolution.port, resolution.binding)
        ),
        None,
    )


# -- schema ------------------------------------------------------------------------------------

_MEM = "mem:"


class _MemoryResolver(etree.Resolver):
    """Serves the schema compiler the documents assembled here, and an empty schema for any
    other URL: libxml2 must not read a file or the network on a WSDL's say-so."""

    def __init__(self, documents: dict[str, bytes]) -> None:
        super().__init__()
        self.documents = documents

    def resolve(self, url, pubid, context):
        data = self.documents.get(url)
        if data is None:
            data = f'<xs:schema xmlns:xs="{XSD_NS}"/>'.encode()
        return self.resolve_string(data, context)


def _standalone(element: etree._Element, tag: str | None = None) -> etree._Element:
    """A copy of an element that declares every namespace in scope, with its line numbers: QName
    values (`type="tns:Foo"` in an inline schema, `xsi:type="xsd:int"` in a message) use
    prefixes declared on ancestors, which a plain copy of the element would leave behind."""
    copied = etree.Element(tag or element.tag, attrib=dict(element.attrib), nsmap=element.nsmap)
    copied.text = element.text
    copied.sourceline = element.sourceline
    copied.extend(copy.deepcopy(child) for child in element)
    return copied


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
    for ns in prefixes:
        if ns != XSD_NS:
            etree.SubElement(schema, xs + "import", namespace=ns)
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
    parser = _parser()
    parser.resolvers.add(_MemoryResolver(served))
    return etree.XMLSchema(etree.fromstring(master.encode(), parser))


def _error_text(error, renamed: tuple[str, str] | None = None) -> str:
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
    schema, reason = catalog.contracts[resolution.wsdl].schema()
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
            real = _qtext(qname(child))
            if not schema.validate(wrapper):
                errors += [_error_text(e, (f"w{index}", real)) for e in schema.error_log]
    else:
        for child in children:
            if not schema.validate(_standalone(child)):
                errors += [_error_text(e) for e in schema.error_log]
            if len(errors) >= SHOWN_ERRORS:
                break
    return Validation(errors=tuple(one_line(e, 300) for e in errors[:SHOWN_ERRORS]))


# -- configured files --------------------------------------------------------------------------


def add_with_imports(
    catalog: Catalog, url: str, data: bytes, load_import: Callable[[str], bytes | None]
) -> Contract:
    """Add a WSDL the user named, then the imports `load_import` agrees to give (it decides
    which are allowed), until nothing new is missing. Raises ContractError if no contract."""
    url = normalize_url(url)
    catalog.add(url, data)
    tried: set[str] = set()
    while len(tried) <= MAX_DOCUMENTS:
        new = [m for m in build_contract(url, catalog.lookup).missing if m not in tried]
        if not new:
            break
        for missing in new:
            tried.add(missing)
            found = load_import(missing)
            if found is not None:
                catalog.add(missing, found)
    contract = catalog.contracts.get(url)
    if contract is None:
        raise ContractError(catalog.errors.get(url) or f"{url}: no SOAP binding in this WSDL")
    return contract


def add_file(catalog: Catalog, path: Path) -> Contract:
    """Add a WSDL file and the files it imports. Imports are read only from the WSDL's own folder
    (or below it) and only if they are files: a WSDL naming /etc/passwd or a URL gets nothing."""
    folder = path.resolve().parent

    def load_import(url: str) -> bytes | None:
        local = Path(url2pathname(urlsplit(url).path)).resolve()
        allowed = url.startswith("file:") and local.is_relative_to(folder) and local.is_file()
        if not allowed or local.stat().st_size > MAX_DOCUMENT_BYTES:
            return None
        return local.read_bytes()

    try:
        data = path.read_bytes()
    except OSError as e:
        raise ContractError(f"{path}: cannot read: {e.strerror or e}") from e
    return add_with_imports(catalog, path.resolve().as_uri(), data, load_import)


def same_origin(base: str, url: str) -> bool:
    """Whether `url` is on the scheme, host and port of `base` (imports a URL may pull in)."""
    a, b = urlsplit(base), urlsplit(url)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)
