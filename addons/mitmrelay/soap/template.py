"""A request for any operation of a known WSDL: the envelope a client of the contract would send,
with typed placeholders for the user to edit, and the HTTP request around it.

The Body holds the operation's input as the contract's schema declares it (document style: the
parts' global elements; rpc style: the wrapper named after the operation with the parts as
unqualified children): every required element and attribute, with placeholders by type (`0`,
`true`, `2026-01-01`, an enumeration's first value, `?` for strings); optional elements as XML
comments holding their own required content; the first branch of a choice, the others named in a
comment. The headers the binding declares for the input (soap:header, WSDL 1.1 §3.7) go in a
Header the same way; on request, a WS-Security UsernameToken that a replay completes goes first
(wssec.username_token_header). The schema documents are the contract's
(`Contract.schema_documents`, as wsdl.py read them); this module only reads their declarations and
never validates (xsd.py does).

Usage:
    from mitmrelay.soap.template import pick, request_for
    contract, op = pick(catalog, "GetQuote", "Quotes11")
    made = request_for(contract, op)  # made.url, made.headers, made.body
"""

from __future__ import annotations

import datetime
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ._xml import SOAP11_NS, SOAP12_NS, XSI_NS, qname, qtext
from .catalog import Catalog
from .summary import QName
from .wsdl import XSD_NS, Contract, Operation, by_name, resolve_qname
from .wssec import WSSE_NS, username_token_header

# The encodingStyle of SOAP encoding, per SOAP version (1.1 §5, 1.2 Part 2 §3).
SOAP_ENCODING = {
    SOAP11_NS: "http://schemas.xmlsoap.org/soap/encoding/",
    SOAP12_NS: "http://www.w3.org/2003/05/soap-encoding",
}
# A contract's types may be recursive (a tree node of nodes) or huge: the template stops there.
MAX_DEPTH = 24
MAX_ELEMENTS = 2000
MAX_REPEAT = 50  # of an element whose minOccurs is higher
TODAY = "2026-01-01"

# Placeholders by built-in type; any other built-in (string and its kin, QName, anyURI) is "?".
_PLACEHOLDERS = {
    "boolean": "true",
    "date": TODAY,
    "dateTime": f"{TODAY}T00:00:00",
    "time": "00:00:00",
    "gYear": "2026",
    "gYearMonth": "2026-01",
    "gMonth": "--01",
    "gMonthDay": "--01-01",
    "gDay": "---01",
    "duration": "PT0S",
    "base64Binary": "AA==",
    "hexBinary": "00",
    "positiveInteger": "1",
    "negativeInteger": "-1",
    **dict.fromkeys(
        (
            "decimal",
            "integer",
            "long",
            "int",
            "short",
            "byte",
            "float",
            "double",
            "nonNegativeInteger",
            "nonPositiveInteger",
            "unsignedLong",
            "unsignedInt",
            "unsignedShort",
            "unsignedByte",
        ),
        "0",
    ),
}
STRING = "?"


class TemplateError(ValueError):
    """The operation asked for is unknown or ambiguous; the text names the operations known."""


@dataclass(frozen=True)
class Template:
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    operation: Operation


# -- which operation -----------------------------------------------------------------------------


def _known(found: list[tuple[Contract, Operation]]) -> str:
    ports: dict[str, list[str]] = {}
    for _, op in found:
        ports.setdefault(op.name, [])
        if op.port not in ports[op.name]:
            ports[op.name].append(op.port)
    return ", ".join(
        f"{name} (port{'s' if len(p) > 1 else ''} {', '.join(p)})"
        for name, p in sorted(ports.items())
    )


def pick(catalog: Catalog, name: str, port: str | None = None) -> tuple[Contract, Operation]:
    """The one operation of that name (and port) in the WSDLs known; raises TemplateError naming
    the operations known when there is none, or several (then give the port)."""
    every = list(catalog.operations())
    if not every:
        raise TemplateError(
            "no WSDL known yet: let a client fetch ?wsdl through the proxy, or set soap_wsdl"
        )
    named = [(c, op) for c, op in every if op.name == name]
    if not named:
        close = difflib.get_close_matches(name, sorted({op.name for _, op in every}), 1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise TemplateError(f"no operation {name!r}{hint}; known operations: {_known(every)}")
    chosen = [(c, op) for c, op in named if port is None or op.port == port]
    if not chosen:
        raise TemplateError(
            f"operation {name} has no port {port!r}; its ports: "
            + ", ".join(dict.fromkeys(op.port for _, op in named))
        )
    if len(chosen) > 1:
        where = [f"port {op.port} of {c.url}" for c, op in chosen]
        how = "give the port" if port is None else "several WSDLs have it"
        raise TemplateError(f"operation {name} is ambiguous ({how}): {'; '.join(where)}")
    return chosen[0]


# -- the schema's declarations -------------------------------------------------------------------


def _x(local: str) -> str:
    return f"{{{XSD_NS}}}{local}"


class Schemas:
    """The global declarations of a contract's schema documents, by kind and QName."""

    KINDS = ("element", "complexType", "simpleType", "group", "attributeGroup", "attribute")

    def __init__(self, documents: list[tuple[str, etree._Element]]) -> None:
        self.kinds: dict[str, dict[QName, etree._Element]] = {kind: {} for kind in self.KINDS}
        for _url, schema in documents:
            tns = schema.get("targetNamespace") or None
            for child in schema:
                kind = qname(child)
                if kind[0] == XSD_NS and kind[1] in self.KINDS and child.get("name"):
                    self.kinds[kind[1]].setdefault((tns, child.get("name", "")), child)

    def get(self, kind: str, name: QName | None) -> etree._Element | None:
        return by_name(self.kinds[kind], name)


def _schema_of(declaration: etree._Element) -> etree._Element | None:
    for ancestor in declaration.iterancestors(_x("schema")):
        return ancestor
    return None


def _namespace(declaration: etree._Element, kind: str) -> str | None:
    """The namespace of a declared element or attribute: global ones are in the target
    namespace; local ones only when qualified (`form`, else elementFormDefault)."""
    schema = _schema_of(declaration)
    if schema is None:
        return None
    tns = schema.get("targetNamespace") or None
    parent = declaration.getparent()
    if parent is schema:
        return tns
    form = declaration.get("form") or schema.get(f"{kind}FormDefault") or "unqualified"
    return tns if form == "qualified" else None


def _min_occurs(declaration: etree._Element) -> int:
    try:
        return max(int(declaration.get("minOccurs", "1")), 0)
    except ValueError:
        return 1


# -- the template as a tree --------------------------------------------------------------------


@dataclass
class _Node:
    name: QName
    attributes: list[tuple[QName, str]]
    text: str | None
    children: list[_Node | _Optional | str]  # a str is a note, written as a comment


@dataclass(frozen=True)
class _Optional:
    """An optional element: written as a comment holding the element (without its notes)."""

    node: _Node


class _Builder:
    def __init__(self, schemas: Schemas) -> None:
        self.schemas = schemas
        self.count = 0  # elements made
        self.depth = 0  # elements open
        self.namespaces: dict[str, None] = {}

    def _note(self, name: QName) -> QName:
        if name[0]:
            self.namespaces[name[0]] = None
        return name

    def prefixed(self, name: QName) -> str:
        """A QName as text (an xsi:type value) with the prefix `envelope` declares for it."""
        namespace, local = name
        if namespace is None:
            return local
        if namespace == XSD_NS:
            return f"xsd:{local}"
        self._note(name)
        return f"ns{list(self.namespaces).index(namespace) + 1}:{local}"

    def element(self, declaration: etree._Element, stack: tuple[object, ...]) -> _Node | str:
        """An element from its (local or global) declaration."""
        ref = resolve_qname(declaration, declaration.get("ref"))
        if ref is not None:
            target = self.schemas.get("element", ref)
            if target is None:
                return f"element {qtext(ref)}: not declared in the schemas known"
            declaration = target
        name = self._note((_namespace(declaration, "element"), declaration.get("name", "")))
        if declaration.get("abstract") == "true":
            return f"{qtext(name)} is abstract: put an element of its substitution group here"
        node = _Node(name, [], None, [])
        self.count += 1
        if self.depth >= MAX_DEPTH or self.count > MAX_ELEMENTS:
            node.children.append("cut here: the schema nests deeper or wider than a template")
            return node
        self.depth += 1
        try:
            self._content(node, declaration, stack)
        finally:
            self.depth -= 1
        return node

    def _content(self, node: _Node, declaration: etree._Element, stack: tuple[object, ...]) -> None:
        if declaration.get("fixed") is not None:
            node.text = declaration.get("fixed")
            return
        inline = next(
            (
                c
                for c in declaration
                if qname(c) in ((XSD_NS, "complexType"), (XSD_NS, "simpleType"))
            ),
            None,
        )
        type_name = resolve_qname(declaration, declaration.get("type"))
        if inline is not None:
            self._typed(node, inline, stack)
        elif type_name is not None:
            self._named_type(node, type_name, stack)
        else:
            node.text = STRING  # anyType
        if declaration.get("default") is not None and node.text is not None:
            node.text = declaration.get("default")

    def _named_type(self, node: _Node, type_name: QName, stack: tuple[object, ...]) -> None:
        if type_name[0] == XSD_NS:
            node.text = _PLACEHOLDERS.get(type_name[1], STRING)
            return
        if type_name in stack:
            node.children.append(f"{qtext(type_name)} again (recursive type): not expanded")
            return
        declared = self.schemas.get("complexType", type_name)
        if declared is None:
            declared = self.schemas.get("simpleType", type_name)
        if declared is None:
            node.text = STRING
            node.children.append(f"type {qtext(type_name)}: not declared in the schemas known")
            return
        self._typed(node, declared, (*stack, type_name))

    def _typed(self, node: _Node, declared: etree._Element, stack: tuple[object, ...]) -> None:
        if qname(declared)[1] == "simpleType":
            node.text = self.simple(declared, stack)
        else:
            self._complex(node, declared, stack)

    def simple(self, declared: etree._Element, stack: tuple[object, ...]) -> str:
        """A placeholder for a simpleType: its first enumeration value, else its base's."""
        for child in declared:
            kind = qname(child)[1]
            if kind == "restriction":
                values = [e.get("value", "") for e in child if qname(e) == (XSD_NS, "enumeration")]
                if values:
                    return values[0]
                return self._simple_ref(child, child.get("base"), stack)
            if kind == "list":
                return self._simple_ref(child, child.get("itemType"), stack)
            if kind == "union":
                members = (child.get("memberTypes") or "").split()
                return self._simple_ref(child, members[0] if members else None, stack)
        return STRING

    def _simple_ref(self, at: etree._Element, value: str | None, stack: tuple[object, ...]) -> str:
        inline = next((c for c in at if qname(c) == (XSD_NS, "simpleType")), None)
        if inline is not None:
            return self.simple(inline, stack)
        type_name = resolve_qname(at, value)
        if type_name is None:
            return STRING
        if type_name[0] == XSD_NS:
            return _PLACEHOLDERS.get(type_name[1], STRING)
        declared = self.schemas.get("simpleType", type_name)
        if declared is None or type_name in stack:
            return STRING
        return self.simple(declared, (*stack, type_name))

    def _complex(self, node: _Node, declared: etree._Element, stack: tuple[object, ...]) -> None:
        for child in declared:
            kind = qname(child)
            if kind[0] != XSD_NS:
                continue
            if kind[1] in ("simpleContent", "complexContent"):
                self._derived(node, child, kind[1], stack)
            elif kind[1] in ("sequence", "all", "choice", "group"):
                self.particle(node, child, stack)
            elif kind[1] in ("attribute", "attributeGroup"):
                self._attribute(node, child)

    def _derived(
        self, node: _Node, content: etree._Element, kind: str, stack: tuple[object, ...]
    ) -> None:
        derivation = next((c for c in content if qname(c)[0] == XSD_NS), None)
        if derivation is None:
            return
        base = resolve_qname(derivation, derivation.get("base"))
        if kind == "simpleContent":
            values = [e.get("value", "") for e in derivation if qname(e)[1] == "enumeration"]
            if values:
                node.text = values[0]
            elif base is not None:
                self._named_type(node, base, stack)
                node.children = [c for c in node.children if isinstance(c, str)]
        elif qname(derivation)[1] == "extension" and base is not None and base[0] != XSD_NS:
            self._named_type(node, base, stack)  # the base's content comes first
        for child in derivation:
            kind_of = qname(child)[1]
            if kind_of in ("sequence", "all", "choice", "group"):
                self.particle(node, child, stack)
            elif kind_of in ("attribute", "attributeGroup"):
                self._attribute(node, child)

    def _attribute(self, node: _Node, declaration: etree._Element) -> None:
        if qname(declaration)[1] == "attributeGroup":
            group = self.schemas.get(
                "attributeGroup", resolve_qname(declaration, declaration.get("ref"))
            )
            for child in group if group is not None else ():
                if qname(child)[1] in ("attribute", "attributeGroup"):
                    self._attribute(node, child)
            return
        ref = resolve_qname(declaration, declaration.get("ref"))
        use = declaration.get("use", "optional")
        if ref is not None:
            target = self.schemas.get("attribute", ref)
            declaration = target if target is not None else declaration
            name: QName = ref
        else:
            name = (_namespace(declaration, "attribute"), declaration.get("name", ""))
        if use == "prohibited":
            return
        if use != "required":
            node.children.insert(0, f"optional attribute {qtext(name)}")
            return
        value = declaration.get("fixed") or declaration.get("default")
        if value is None:
            inline = next((c for c in declaration if qname(c)[1] == "simpleType"), None)
            value = (
                self.simple(inline, ())
                if inline is not None
                else self._simple_ref(declaration, declaration.get("type"), ())
            )
        node.attributes.append((self._note(name), value))

    def particle(self, node: _Node, particle: etree._Element, stack: tuple[object, ...]) -> None:
        """A sequence, all, choice, group reference, element or wildcard, into node's children."""
        kind = qname(particle)[1]
        low = _min_occurs(particle)
        if kind == "group":
            group = self.schemas.get("group", resolve_qname(particle, particle.get("ref")))
            model = next((c for c in group if qname(c)[0] == XSD_NS), None) if group else None
            target = node if low else _Node(node.name, [], None, [])
            if model is not None:
                self.particle(target, model, stack)
            if not low:
                node.children += [_optional(c) for c in target.children]
            return
        if kind == "element":
            made = self.element(particle, stack)
            if isinstance(made, str) or low:
                shown = min(max(low, 1), MAX_REPEAT)
                node.children += [made] * shown
                if low > shown:
                    node.children.append(f"{low - shown} more required here (minOccurs {low})")
            else:
                node.children.append(_optional(made))
            return
        if kind == "any":
            space = particle.get("namespace", "##any")
            node.children.append(f"{'any' if low else 'optional: any'} element ({space})")
            return
        items = [c for c in particle if qname(c)[0] == XSD_NS and qname(c)[1] != "annotation"]
        if kind == "choice":
            names = [_choice_name(c) for c in items]
            if not items:
                return
            branch = _Node(node.name, [], None, [])
            self.particle(branch, items[0], stack)
            note = f"choice: one of {' | '.join(names)}; the first is shown"
            if low:
                node.children += [note, *branch.children]
            else:
                node.children += [f"optional {note}", *(_optional(c) for c in branch.children)]
            return
        if kind in ("sequence", "all"):
            target = node if low else _Node(node.name, [], None, [])
            for item in items:
                self.particle(target, item, stack)
            if not low:
                node.children += [_optional(c) for c in target.children]


def _optional(child: _Node | _Optional | str) -> _Optional | str:
    """A part made optional by its container: an element becomes a comment, a note says so."""
    if isinstance(child, _Node):
        return _Optional(child)
    if isinstance(child, _Optional) or child.startswith("optional"):
        return child
    return f"optional: {child}"


def _choice_name(particle: etree._Element) -> str:
    if qname(particle)[1] == "element":
        return particle.get("name") or (particle.get("ref") or "?").rpartition(":")[2]
    return qname(particle)[1]


# -- the envelope --------------------------------------------------------------------------------


def _make(parent: etree._Element, node: _Node) -> etree._Element:
    element = etree.SubElement(parent, qtext(node.name))
    for name, value in node.attributes:
        element.set(qtext(name), value)
    if node.text is not None:
        element.text = node.text
    for child in node.children:
        if isinstance(child, _Optional):
            element.append(etree.Comment(_commented(element, child.node)))
        elif isinstance(child, str):
            element.append(etree.Comment(_safe(f" {child} ")))
        else:
            _make(element, child)
    return element


_XMLNS = re.compile(r'\s+xmlns(?::[\w.-]+)?="[^"]*"')


def _commented(parent: etree._Element, node: _Node) -> str:
    """` optional: <x>…</x> `: the element as it would be written in place, its notes dropped
    (a comment cannot hold one); the envelope declares every prefix it uses."""
    plain = _Node(
        node.name, node.attributes, node.text, [c for c in node.children if isinstance(c, _Node)]
    )
    element = _make(parent, plain)
    parent.remove(element)
    text = etree.tostring(element, encoding="unicode", with_tail=False)
    head, _, rest = text.partition(">")
    return _safe(f" optional: {_XMLNS.sub('', head)}>{rest} ")


def _safe(text: str) -> str:
    """Comment text: `--` may not occur in a comment, nor end it with `-`."""
    while "--" in text:
        text = text.replace("--", "- -")
    return text if not text.endswith("-") else text + " "


def _nodes(builder: _Builder, op: Operation, soap_ns: str) -> Iterator[_Node | str]:
    """The Body's children for the operation's input."""
    if op.style == "rpc":
        wrapper = builder._note(op.input_elements[0]) if op.input_elements else (None, op.name)
        node = _Node(wrapper, [], None, [])
        for part, type_name, is_element in op.rpc_input:
            if is_element:
                declared = builder.schemas.get("element", type_name)
                node.children.append(
                    builder.element(declared, ())
                    if declared is not None
                    else f"part {part}: element {qtext(type_name)} not declared"
                )
            else:
                child = _Node((None, part), [], None, [])
                if op.use == "encoded":  # SOAP encoding: each part says its type (SOAP 1.1 §5.1)
                    child.attributes.append(((XSI_NS, "type"), builder.prefixed(type_name)))
                builder._named_type(child, type_name, ())
                node.children.append(child)
        if op.use == "encoded":
            node.attributes.append(((soap_ns, "encodingStyle"), SOAP_ENCODING[soap_ns]))
        yield node
        return
    yield from _elements(builder, op.input_elements)


def _elements(builder: _Builder, names: tuple[QName, ...]) -> Iterator[_Node | str]:
    """The global elements of these names, each required; a name the schema does not declare
    (or a part given by type) as a placeholder element."""
    for name in names:
        declared = builder.schemas.get("element", name) if name[0] is not None else None
        if declared is None:
            yield _Node(builder._note(name), [], STRING, [])
        else:
            yield builder.element(declared, ())


def envelope(contract: Contract, op: Operation, wsse_at: datetime.datetime | None = None) -> bytes:
    """The request envelope of `op`, pretty-printed, its prefixes declared on the Envelope; with
    `wsse_at` (the time to write), a WS-Security UsernameToken header first (wssec.py, which
    declares wsse and wsu on it), unless the binding declares its own Security header."""
    soap = SOAP12_NS if op.soap_version == "1.2" else SOAP11_NS
    builder = _Builder(Schemas(contract.schema_documents))
    header_nodes = list(_elements(builder, op.input_headers))
    body_nodes = list(_nodes(builder, op, soap))
    nsmap: dict[str | None, str] = {"soap": soap}
    if op.use == "encoded":
        nsmap.update(xsd=XSD_NS, xsi=XSI_NS)
    for index, namespace in enumerate(builder.namespaces, 1):
        if namespace != soap:
            nsmap[f"ns{index}"] = namespace
    # lxml takes None as the default namespace's prefix; lxml-stubs 0.5.1 declares str only.
    root = etree.Element(f"{{{soap}}}Envelope", nsmap=nsmap)  # type: ignore[arg-type]
    token = None  # a binding that declares its own Security header gets it from its schema
    if wsse_at is not None and (WSSE_NS, "Security") not in op.input_headers:
        token = username_token_header(soap, wsse_at)
    for name, nodes in (("Header", header_nodes), ("Body", body_nodes)):
        first = [token] if name == "Header" and token is not None else []
        if not nodes and not first:
            continue  # a Body always has the operation's input; a Header only what the WSDL binds
        parent = etree.SubElement(root, f"{{{soap}}}{name}")
        parent.extend(first)
        for node in nodes:
            if isinstance(node, str):
                parent.append(etree.Comment(_safe(f" {node} ")))
            else:
                _make(parent, node)
    etree.indent(root, "  ")
    return etree.tostring(root, xml_declaration=True, encoding="utf-8") + b"\n"


def _quoted(action: str) -> str:
    return '"' + action.replace('"', "") + '"'


def request_for(
    contract: Contract, op: Operation, wsse_at: datetime.datetime | None = None
) -> Template:
    """The HTTP request for `op`: POST to its port's address (else where its WSDL was read),
    SOAPAction (1.1) or the action parameter of the Content-Type (1.2), the envelope (with a
    UsernameToken header written at `wsse_at`, when given)."""
    url = op.address if op.address and op.address.startswith(("http:", "https:")) else None
    url = url or contract.url.partition("?")[0]
    action = op.soap_action or op.input_action
    if op.soap_version == "1.2":
        content_type = "application/soap+xml; charset=utf-8"
        if action:
            content_type += f"; action={_quoted(action)}"
        headers: tuple[tuple[str, str], ...] = (("Content-Type", content_type),)
    else:
        headers = (
            ("Content-Type", "text/xml; charset=utf-8"),
            ("SOAPAction", _quoted(action or "")),
        )
    return Template(url, headers, envelope(contract, op, wsse_at), op)
