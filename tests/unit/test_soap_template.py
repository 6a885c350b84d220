"""soap.new's builder (mitmrelay.soap.template): for every operation of the test WSDLs (zeep's
quotes service, rpc/literal, a three-file contract, nested types with choices and enumerations)
the envelope validates against the WSDL's schema once the `?` placeholders are filled, and
resolves to that very operation; the placeholders by type; the errors naming what is known."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import re

import pytest
import soap_service
import wsdl_samples as w
import zeep
from lxml import etree
from mitmrelay.soap import MessageInfo, wssec
from mitmrelay.soap.catalog import Catalog
from mitmrelay.soap.render import Inspector
from mitmrelay.soap.template import Template, TemplateError, pick, request_for

CONTRACTS = {
    "quotes": {"http://quotes.example/q?wsdl": soap_service.WSDL},
    "stock": {"http://example.com/stockquote?wsdl": w.STOCK_QUOTE},
    "stock-auth": {"http://example.com/stockquote-auth?wsdl": w.STOCK_AUTH},
    "calc": {"http://calc.example/rpc?wsdl": w.calculator()},
    "orders": w.ORDERS_FILES,
    "travel": {"http://travel.example/travel?wsdl": w.TRAVEL},
}


def catalog(*names: str) -> Catalog:
    found = Catalog()
    for name in names:
        for url, text in CONTRACTS[name].items():
            found.add(url, text.encode())
    return found


def fill(body: bytes, optional: bool = False) -> bytes:
    """What a user does: a value for every `?`, and (if asked) every optional part uncommented."""
    text = body.decode()
    if optional:
        text = re.sub(r"<!-- optional: (<.*?>) -->", r"\1", text, flags=re.DOTALL)
    return text.replace(">?<", ">filled<").replace('"?"', '"filled"').encode()


def headers(template: Template) -> dict[str, str]:
    return dict(template.headers)


def every_operation() -> list[tuple[str, str, str]]:
    return [(name, op.name, op.port) for name in CONTRACTS for _, op in catalog(name).operations()]


@pytest.mark.parametrize(("contract", "operation", "port"), every_operation())
@pytest.mark.parametrize("optional", [False, True], ids=["required", "with-optional"])
def test_every_operation_validates_and_resolves_to_itself(contract, operation, port, optional):
    known = catalog(contract)
    made = request_for(*pick(known, operation, port))
    inspector = Inspector(catalog=known)
    info = MessageInfo(
        content_type=headers(made)["Content-Type"],
        soap_action=headers(made).get("SOAPAction"),
        is_request=True,
    )
    found = inspector.inspect(fill(made.body, optional), info, url=made.url)
    assert found is not None
    summary = found.summary
    assert summary.resolution is not None and summary.resolution.operation == operation
    assert summary.resolution.port == port
    assert summary.validation is not None
    assert summary.validation.skipped is None
    assert summary.validation.errors == ()
    assert summary.warnings == ()


def test_placeholders_by_type_optional_parts_and_choices():
    made = request_for(*pick(catalog("travel"), "Book"))
    root = etree.fromstring(made.body)
    ns = {"t": w.TRAVEL_NS}
    values = {
        path: root.findtext(f".//t:Book/{path}", namespaces=ns)
        for path in (
            "t:flight/t:number",
            "t:flight/t:departure",
            "t:flight/t:cabin",
            "t:traveller/t:name",
            "t:traveller/t:birthDate",
            "t:payment/t:card/t:expires",
            "t:insured",
            "t:seats",
        )
    }
    assert values == {
        "t:flight/t:number": "?",
        "t:flight/t:departure": "2026-01-01T00:00:00",
        "t:flight/t:cabin": "economy",  # the enumeration's first value
        "t:traveller/t:name": "?",
        "t:traveller/t:birthDate": "2026-01-01",
        "t:payment/t:card/t:expires": "2026-01",
        "t:insured": "true",
        "t:seats": "1",  # positiveInteger: 0 would be invalid
    }
    assert root.find(".//t:traveller", ns).get("id") == "0"  # a required attribute
    comments = [c.text.strip() for c in root.iter(etree.Comment)]
    assert comments == [
        "optional attribute lang",
        "optional: <ns1:loyalty>?</ns1:loyalty>",
        "choice: one of card | invoice; the first is shown",
        "optional: <ns1:notes>?</ns1:notes>",
    ]
    assert root.find(".//t:notes", ns) is None and root.find(".//t:invoice", ns) is None
    cancel = request_for(*pick(catalog("travel"), "Cancel"))
    assert b"<ns1:reason>illness</ns1:reason>" in cancel.body  # an inline enumeration


def test_http_request_soap11_and_soap12():
    known = catalog("quotes")
    soap11 = request_for(*pick(known, "GetQuote", "Quotes11"))
    assert soap11.url == "http://127.0.0.1:9/"
    assert headers(soap11) == {
        "Content-Type": "text/xml; charset=utf-8",
        "SOAPAction": '"urn:example:quotes/GetQuote"',
    }
    assert soap11.body.startswith(b"<?xml version='1.0' encoding='utf-8'?>\n<soap:Envelope")
    assert b"http://schemas.xmlsoap.org/soap/envelope/" in soap11.body
    soap12 = request_for(*pick(known, "GetQuote", "Quotes12"))
    assert headers(soap12) == {
        "Content-Type": (
            'application/soap+xml; charset=utf-8; action="urn:example:quotes/GetQuote"'
        )
    }
    assert b"http://www.w3.org/2003/05/soap-envelope" in soap12.body


WSS = {"wsse": wssec.WSSE_NS, "wsu": wssec.WSU_NS}


@pytest.mark.parametrize(("port", "understood"), [("Quotes11", "1"), ("Quotes12", "true")])
def test_a_username_token_header_that_the_replay_refresh_completes(port, understood):
    now = datetime.datetime(2026, 12, 4, 5, 0, tzinfo=datetime.UTC)
    made = request_for(*pick(catalog("quotes"), "GetQuote", port), now)
    root = etree.fromstring(made.body)
    soap = etree.QName(root).namespace
    [header] = root.findall(f"{{{soap}}}Header")
    [security] = header
    assert etree.QName(security).localname == "Security"
    assert security.get(f"{{{soap}}}mustUnderstand") == understood
    assert security.findtext("wsu:Timestamp/wsu:Created", namespaces=WSS) == "2026-12-04T05:00:00Z"
    assert security.findtext("wsu:Timestamp/wsu:Expires", namespaces=WSS) == "2026-12-04T05:05:00Z"
    assert security.findtext("wsse:UsernameToken/wsse:Username", namespaces=WSS) == "?"
    # Replayed an hour later with the password: every value the server checks is made then.
    later = now + datetime.timedelta(hours=1)
    body = made.body.replace(b">?</wsse:Username>", b">alice</wsse:Username>")
    result = wssec.refresh(
        body, wssec.Material("s3cret"), now=lambda: later, random=lambda n: b"\x01" * n
    )
    assert result.stale == []
    token = etree.fromstring(result.content).find(".//wsse:UsernameToken", WSS)
    nonce = base64.b64decode(token.findtext("wsse:Nonce", namespaces=WSS))
    created = token.findtext("wsu:Created", namespaces=WSS)
    assert (nonce, created) == (b"\x01" * 16, "2026-12-04T06:00:00Z")
    digest = wssec.password_digest(nonce, created, "s3cret")
    assert token.findtext("wsse:Password", namespaces=WSS) == digest
    stamp = etree.fromstring(result.content).find(".//wsu:Timestamp", WSS)
    assert stamp.findtext("wsu:Expires", namespaces=WSS) == "2026-12-04T06:05:00Z"


def test_the_token_goes_beside_the_bindings_headers_and_never_doubles_its_security_header():
    now = datetime.datetime(2026, 12, 4, 5, 0, tzinfo=datetime.UTC)
    contract, op = pick(catalog("stock-auth"), "GetLastTradePrice")
    header = etree.fromstring(request_for(contract, op, now).body).find(f"{{{w.S11}}}Header")
    assert [etree.QName(e).localname for e in header] == ["Security", "Auth"]
    # A binding that declares wsse:Security itself: its header, from its schema, and no other.
    declared = dataclasses.replace(op, input_headers=((wssec.WSSE_NS, "Security"),))
    header = etree.fromstring(request_for(contract, declared, now).body).find(f"{{{w.S11}}}Header")
    assert [etree.QName(e).localname for e in header] == ["Security"]
    assert header.find(".//wsse:UsernameToken", WSS) is None


def test_rpc_encoded_parts_say_their_type_and_the_wrapper_its_encoding():
    known = Catalog()
    known.add("http://calc.example/enc?wsdl", w.calculator("encoded").encode())
    root = etree.fromstring(request_for(*pick(known, "Add")).body)
    [add] = root.find(f"{{{w.S11}}}Body")
    assert add.get(f"{{{w.S11}}}encodingStyle") == "http://schemas.xmlsoap.org/soap/encoding/"
    xsi_type = "{http://www.w3.org/2001/XMLSchema-instance}type"
    assert [(c.tag, c.get(xsi_type), c.text) for c in add] == [
        ("a", "xsd:int", "0"),
        ("b", "xsd:int", "0"),
    ]
    assert root.nsmap["xsd"] == "http://www.w3.org/2001/XMLSchema"
    # rpc/literal: no types written
    literal = request_for(*pick(catalog("calc"), "Add")).body
    assert b"xsi:" not in literal and b"encodingStyle" not in literal


def test_rpc_wrapper_has_unqualified_typed_parts():
    made = request_for(*pick(catalog("calc"), "Add"))
    root = etree.fromstring(made.body)
    (wrapper,) = root[0]
    assert wrapper.tag == f"{{{w.CALC_NS}}}Add"
    assert [(c.tag, c.text) for c in wrapper] == [("a", "0"), ("b", "0")]
    assert headers(made)["SOAPAction"] == '""'


def _tags(element: etree._Element) -> list:
    return [(etree.QName(element).localname, element.tag), *[_tags(c) for c in element]]


def test_the_headers_the_binding_declares_are_in_the_header_and_not_in_the_body(tmp_path):
    made = request_for(*pick(catalog("stock-auth"), "GetLastTradePrice"))
    envelope = etree.fromstring(made.body)
    # zeep, reading the same WSDL, sends this shape (given the header it declares).
    (tmp_path / "stock.wsdl").write_text(w.STOCK_AUTH)
    client = zeep.Client(str(tmp_path / "stock.wsdl"))
    auth = client.get_element(f"{{{w.STOCK_NS}}}Auth")(user="u", token="t")
    sent = client.create_message(
        client.service, "GetLastTradePrice", tickerSymbol="X", _soapheaders=[auth]
    )
    assert _tags(envelope) == _tags(sent)
    header, body = list(envelope)
    assert etree.QName(header).localname == "Header" and etree.QName(body).localname == "Body"
    auth = f"{{{w.STOCK_NS}}}Auth"
    assert [child.tag for child in header] == [auth]
    assert [(c.tag, c.text) for c in header[0]] == [
        (f"{{{w.STOCK_NS}}}user", "?"),
        (f"{{{w.STOCK_NS}}}token", "?"),
    ]
    assert [child.tag for child in body] == [f"{{{w.STOCK_NS}}}TradePriceRequest"]
    # Without a soap:header in the binding, no Header.
    plain = etree.fromstring(request_for(*pick(catalog("stock"), "GetLastTradePrice")).body)
    assert [etree.QName(c).localname for c in plain] == ["Body"]


def test_wsam_action_serves_when_the_binding_has_no_soap_action():
    known = catalog("orders")
    made = request_for(*pick(known, "PlaceOrder", "Orders12Port"))
    assert made.url == "https://shop.example/orders12"
    assert 'action="urn:example:orders/PlaceOrder12"' in headers(made)["Content-Type"]
    assert b"<ns1:quantity>1</ns1:quantity>" in made.body  # maxOccurs unbounded: one shown


@pytest.mark.parametrize(
    ("name", "port", "message"),
    [
        (
            "GetQote",
            None,
            "no operation 'GetQote' (did you mean GetQuote?); known operations: "
            "GetLogo (ports Quotes11, Quotes12), GetQuote (ports Quotes11, Quotes12)",
        ),
        (
            "GetQuote",
            None,
            "operation GetQuote is ambiguous (give the port): port Quotes11 of "
            "http://quotes.example/q?wsdl; port Quotes12 of http://quotes.example/q?wsdl",
        ),
        (
            "GetQuote",
            "Quotes13",
            "operation GetQuote has no port 'Quotes13'; its ports: Quotes11, Quotes12",
        ),
    ],
)
def test_unknown_or_ambiguous_operations_name_what_is_known(name, port, message):
    with pytest.raises(TemplateError) as e:
        pick(catalog("quotes"), name, port)
    assert str(e.value) == message


def test_no_wsdl_known_says_how_to_get_one():
    with pytest.raises(TemplateError, match="no WSDL known yet: let a client fetch"):
        pick(Catalog(), "GetQuote")


HOSTILE = """<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:t" xmlns:tns="urn:t">
  <types><xsd:schema targetNamespace="urn:t" elementFormDefault="qualified">
    <xsd:complexType name="Node"><xsd:sequence>
      <xsd:element name="value" type="xsd:string" fixed="a--b-"/>
      <xsd:element name="next" type="tns:Node"/>
      <xsd:element name="wide" type="xsd:string" minOccurs="5000"/>
    </xsd:sequence></xsd:complexType>
    <xsd:element name="Walk" type="tns:Node"/>
  </xsd:schema></types>
  <message name="In"><part name="p" element="tns:Walk"/></message>
  <portType name="P"><operation name="Walk"><input message="tns:In"/></operation></portType>
  <binding name="B" type="tns:P"><soap:binding style="document"/>
    <operation name="Walk"><soap:operation soapAction="--"/>
      <input><soap:body use="literal"/></input></operation></binding>
  <service name="S"><port name="P" binding="tns:B"><soap:address location="http://h/"/></port>
  </service>
</definitions>"""


def test_recursive_and_huge_types_end_in_a_note():
    known = Catalog()
    known.add("http://h/?wsdl", HOSTILE.encode())
    made = request_for(*pick(known, "Walk"))
    root = etree.fromstring(made.body)  # well-formed: no `--` inside a comment
    notes = [c.text for c in root.iter(etree.Comment)]
    assert " {urn:t}Node again (recursive type): not expanded " in notes
    assert len(root.findall(".//{urn:t}wide")) == 50
    assert " 4950 more required here (minOccurs 5000) " in notes
    assert root.findtext(".//{urn:t}value") == "a--b-"  # text may hold what comments cannot


def test_deep_anonymous_nesting_is_cut():
    levels = 40
    inner = '<xsd:element name="leaf" type="xsd:string"/>'
    for n in range(levels):
        inner = (
            f'<xsd:element name="e{n}"><xsd:complexType><xsd:sequence>{inner}'
            "</xsd:sequence></xsd:complexType></xsd:element>"
        )
    deep = HOSTILE.replace(
        '<xsd:element name="Walk" type="tns:Node"/>', inner.replace(f'"e{levels - 1}"', '"Walk"')
    )
    known = Catalog()
    known.add("http://h/?wsdl", deep.encode())
    root = etree.fromstring(request_for(*pick(known, "Walk")).body)
    notes = [c.text for c in root.iter(etree.Comment)]
    assert notes == [" cut here: the schema nests deeper or wider than a template "]
    # Envelope, Body, then 24 elements open when the 25th is cut.
    assert max(len(list(e.iterancestors())) for e in root.iter(etree.Element)) == 2 + 24


def test_without_an_address_the_request_goes_where_the_wsdl_was_read():
    known = Catalog()
    no_address = w.STOCK_QUOTE.replace(
        '<soap:address location="http://example.com/stockquote"/>', ""
    )
    known.add("https://partner.example/quotes?wsdl", no_address.encode())
    made = request_for(*pick(known, "GetLastTradePrice"))
    assert made.url == "https://partner.example/quotes"
