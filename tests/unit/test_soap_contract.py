"""The contract modules (wsdl, catalog, resolve, xsd) on WSDLs of each style (written for these
tests) and hostile ones."""

import time

import pytest
import soap_service
import wsdl_samples as w
from mitmrelay.soap import MessageInfo, analyze
from mitmrelay.soap import catalog as catalog_module
from mitmrelay.soap._xml import parse
from mitmrelay.soap.catalog import Catalog
from mitmrelay.soap.resolve import resolve
from mitmrelay.soap.wsdl import (
    MAX_DOCUMENT_BYTES,
    ContractError,
    build_contract,
    kind_of,
    parse_document,
)
from mitmrelay.soap.xsd import schema_of, validate


def catalog(files: dict[str, str | bytes]) -> Catalog:
    c = Catalog()
    for url, text in files.items():
        c.add(url, text.encode() if isinstance(text, str) else text)
    return c


def check(c: Catalog, body: bytes, is_request: bool = True, action=None, ct="text/xml", **kw):
    summary = analyze(body, MessageInfo(ct, action, is_request))
    assert summary is not None
    resolution, warnings = resolve(c, summary, is_request, **kw)
    validation = None
    if resolution is not None:
        validation = validate(c, resolution, parse(body, 10**6).root, summary, is_request)
    return resolution, warnings, validation


STOCK = {"http://example.com/stockquote?wsdl": w.STOCK_QUOTE}


def test_document_literal_bare_is_named_by_the_wsdl_operation():
    c = catalog(STOCK)
    (contract,) = c.contracts.values()
    assert contract.describe() == (
        "WSDL http://example.com/stockquote?wsdl: service StockQuoteService, "
        "ports StockQuotePort, 1 operations"
    )
    r, warnings, v = check(c, w.stock_request(), action='"http://example.com/GetLastTradePrice"')
    assert (r.operation, r.service, r.port, r.binding) == (
        "GetLastTradePrice",
        "StockQuoteService",
        "StockQuotePort",
        "StockQuoteSoapBinding",
    )
    assert (r.style, r.how, warnings, v.errors, v.skipped) == (
        "document/literal",
        "SOAPAction",
        (),
        (),
        None,
    )
    # Without a SOAPAction the input part's element decides.
    r, _, _ = check(c, w.stock_request())
    assert (r.operation, r.how) == ("GetLastTradePrice", "Body element TradePriceRequest")


def test_a_response_is_named_after_the_operation_it_answers():
    c = catalog(STOCK)
    request, _, _ = check(c, w.stock_request())
    r, _, v = check(c, w.stock_response(), is_request=False, request=request)
    assert (r.operation, r.how, v.errors) == (
        "GetLastTradePrice",
        "its request (Body element TradePriceRequest)",
        (),
    )
    # A response whose request was not seen: its Body against the outputs.
    r, _, _ = check(c, w.stock_response(), is_request=False)
    assert (r.operation, r.how) == ("GetLastTradePrice", "Body element TradePrice")


def test_a_schema_breaking_message_has_its_first_error_with_line_and_path():
    c = catalog(STOCK)
    _, _, v = check(c, w.stock_response("cheap"), is_request=False)
    assert len(v.errors) == 1
    error = v.errors[0]
    assert error.startswith("line 1 /")
    assert (
        "price" in error and "'cheap' is not a valid value of the atomic type 'xs:float'" in error
    )


def test_document_literal_wrapped_soap11_and_soap12_ports():
    c = catalog({"http://127.0.0.1/quotes?wsdl": soap_service.WSDL})
    body11 = (
        f'<s:Envelope xmlns:s="{w.S11}"><s:Body><q:GetQuote xmlns:q="urn:example:quotes">'
        "<q:symbol>A</q:symbol></q:GetQuote></s:Body></s:Envelope>"
    ).encode()
    r, _, v = check(c, body11, action='"urn:example:quotes/GetQuote"')
    assert (r.operation, r.port, r.binding, v.errors) == ("GetQuote", "Quotes11", "Quotes11", ())
    body12 = body11.replace(w.S11.encode(), w.S12.encode())
    ct = 'application/soap+xml; action="urn:example:quotes/GetQuote"'
    r, _, _ = check(c, body12, ct=ct)
    assert (r.operation, r.port, r.how) == ("GetQuote", "Quotes12", "action")


def test_an_action_the_wsdl_maps_to_another_operation_is_a_contradiction():
    c = catalog({"http://127.0.0.1/quotes?wsdl": soap_service.WSDL})
    body = (
        f'<s:Envelope xmlns:s="{w.S11}"><s:Body><q:GetQuote xmlns:q="urn:example:quotes">'
        "<q:symbol>A</q:symbol></q:GetQuote></s:Body></s:Envelope>"
    ).encode()
    r, warnings, _ = check(c, body, action='"urn:example:quotes/GetLogo"')
    assert r.operation == "GetLogo"
    assert warnings == (
        "SOAPAction 'urn:example:quotes/GetLogo' is operation GetLogo in the WSDL, but the Body "
        "element {urn:example:quotes}GetQuote is the input of operation GetQuote",
    )


def test_rpc_literal_wrapper_and_parts_are_validated():
    c = catalog({"http://calc.example/rpc?wsdl": w.calculator("literal")})
    r, _, v = check(c, w.add_request())
    assert (r.operation, r.style, r.how, v.errors) == ("Add", "rpc/literal", "Body element Add", ())
    _, _, v = check(c, w.add_request(b="three"))
    assert (
        len(v.errors) == 1
        and "'three' is not a valid value of the atomic type 'xs:int'" in (v.errors[0])
    )
    assert "{urn:example:calc}Add" in v.errors[0] and "mitmrelay" not in v.errors[0]
    _, _, v = check(c, w.add_request().replace(b"<b>3</b>", b""))
    assert v.errors and "Missing child element(s). Expected is ( b )" in v.errors[0]
    r, _, v = check(c, w.add_response(), is_request=False)
    assert (r.operation, v.errors) == ("Add", ())


def test_rpc_encoded_is_identified_not_validated():
    c = catalog({"http://calc.example/rpc?wsdl": w.calculator("encoded")})
    r, _, v = check(c, w.add_request(b="three"))
    assert (r.operation, r.style) == ("Add", "rpc/encoded")
    assert (v.errors, v.skipped) == ((), "rpc/encoded is not schema-validated")


def test_imports_across_files_in_any_order():
    files = list(w.ORDERS_FILES.items())
    for order in (files, files[::-1]):
        c = Catalog()
        built = []
        for url, text in order:
            built += c.add(url, text.encode())
        contract = c.contracts[w.ORDERS_BASE + "service.wsdl"]
        assert contract.missing == [] and len(contract.documents) == 3
        assert contract.ports == ["Orders11Port", "Orders12Port"]
        r, _, v = check(c, w.order_request(), action=f'"{w.ORDERS_NS}/PlaceOrder"')
        assert (r.operation, r.port, v.errors) == ("PlaceOrder", "Orders11Port", ())
        _, _, v = check(c, w.order_request("0"))
        assert v.errors and v.errors[0].startswith("line 2 ")
        assert "positiveInteger" in v.errors[0] or "minInclusive" in v.errors[0]


def test_a_wsdl_whose_imports_are_not_seen_yet_says_so_and_is_completed_later():
    c = Catalog()
    (first,) = c.add(w.ORDERS_BASE + "service.wsdl", w.ORDERS_SERVICE.encode())
    assert first.missing == [w.ORDERS_BASE + "abstract.wsdl"]
    assert "imports not seen yet: https://shop.example/wsdl/abstract.wsdl" in first.describe()
    (second,) = c.add(w.ORDERS_BASE + "abstract.wsdl", w.ORDERS_ABSTRACT.encode())
    assert second.missing == [w.ORDERS_BASE + "orders.xsd"]
    (third,) = c.add(w.ORDERS_BASE + "orders.xsd", w.ORDERS_XSD.encode())
    assert third.missing == [] and third.url == w.ORDERS_BASE + "service.wsdl"


def test_wsa_action_from_the_abstract_operation_resolves():
    c = catalog(w.ORDERS_FILES)
    header = (
        '<s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">'
        f"{w.ORDERS_NS}/Orders/PlaceOrderRequest</a:Action></s:Header>"
    )
    body = w.order_request().replace(b"<s:Body>", header.encode() + b"<s:Body>")
    r, _, _ = check(c, body)
    assert (r.operation, r.how) == ("PlaceOrder", "wsa:Action")


@pytest.mark.parametrize(
    "data, reason",
    [
        (w.billion_laughs_wsdl(), "must not contain a DTD"),
        (w.xxe_wsdl("/etc/passwd"), "must not contain a DTD"),
        (b"<definitions xmlns='http://schemas.xmlsoap.org/wsdl/'>", "malformed XML"),
        (b" " * (MAX_DOCUMENT_BYTES + 1), "over the limit"),
    ],
)
def test_hostile_documents_are_refused_fast(data, reason):
    started = time.monotonic()
    with pytest.raises(ContractError, match=reason):
        parse_document("http://evil/x?wsdl", data)
    c = Catalog()
    assert c.add("http://evil/x?wsdl", data) == []
    assert time.monotonic() - started < 2


def test_import_loops_end():
    c = catalog(w.looping_wsdls())
    contract = build_contract("http://h/a.wsdl", c.lookup)
    assert contract.documents == ["http://h/a.wsdl", "http://h/b.wsdl", "http://h/a.xsd"]
    assert schema_of(contract)[0] is not None


def test_the_schema_compiler_reads_no_file_and_no_url(tmp_path):
    secret = tmp_path / "secret.xsd"
    secret.write_text(
        '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" targetNamespace="urn:s">'
        '<xsd:element name="Secret" type="xsd:string"/></xsd:schema>'
    )
    wsdl = w.STOCK_QUOTE.replace(
        '<xsd:schema targetNamespace="http://example.com/stockquote.xsd"',
        f'<xsd:schema targetNamespace="urn:s"><xsd:include schemaLocation="file://{secret}"/>'
        "</xsd:schema><xsd:schema targetNamespace='http://example.com/stockquote.xsd'",
    )
    c = catalog({"http://example.com/stockquote?wsdl": wsdl})
    (contract,) = c.contracts.values()
    assert contract.missing == [f"file://{secret}"]
    schema, _ = schema_of(contract)
    from lxml import etree

    assert not schema.validate(etree.fromstring(b'<s:Secret xmlns:s="urn:s">x</s:Secret>'))


def test_kind_of_sniffs_wsdl_and_xsd_roots():
    assert kind_of(w.STOCK_QUOTE.encode()) == "wsdl"
    assert kind_of(w.ORDERS_XSD.encode()) == "xsd"
    assert kind_of(b"<definitions xmlns='urn:other'/>") is None
    assert kind_of(w.stock_request()) is None


def test_qname_values_use_namespaces_declared_on_the_envelope():
    # xsi:type="xsd:float" relies on prefixes the Envelope declares, not the element itself.
    c = catalog(STOCK)
    body = (
        w.stock_response()
        .replace(
            b"<s:Envelope ",
            b'<s:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            b'xmlns:xsd="http://www.w3.org/2001/XMLSchema" ',
        )
        .replace(b"<m:price>", b'<m:price xsi:type="xsd:float">')
    )
    _, _, v = check(c, body, is_request=False)
    assert v.errors == ()
    # The same in an rpc wrapper, which is validated as a copy under a stand-in name.
    c = catalog({"http://calc.example/rpc?wsdl": w.calculator("literal")})
    body = (
        w.add_request()
        .replace(
            b"<s:Envelope ",
            b'<s:Envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            b'xmlns:xsd="http://www.w3.org/2001/XMLSchema" ',
        )
        .replace(b"<a>", b'<a xsi:type="xsd:int">')
    )
    _, _, v = check(c, body)
    assert v.errors == ()


def test_the_wsdl_published_at_the_request_path_wins_a_tie():
    c = catalog(
        {
            "http://h/calc?wsdl": w.calculator("literal"),
            "http://h/calcenc?wsdl": w.calculator("encoded"),
        }
    )
    for path, style in (("/calc", "rpc/literal"), ("/calcenc", "rpc/encoded")):
        r, _, _ = check(c, w.add_request(), url=f"http://h{path}")
        assert (r.wsdl, r.style) == (f"http://h{path}?wsdl", style)


def test_the_catalog_keeps_a_bounded_number_of_documents(monkeypatch):
    monkeypatch.setattr(catalog_module, "MAX_CATALOG_DOCUMENTS", 3)
    c = Catalog()
    for n in range(3):
        c.add(f"http://h/{n}.xsd", w.ORDERS_XSD.encode())
    assert c.add("http://example.com/stockquote?wsdl", w.STOCK_QUOTE.encode()) == []
    assert c.errors["http://example.com/stockquote?wsdl"].endswith(
        "not kept: 3 documents known already"
    )


def test_a_bare_body_of_several_parts_is_matched_and_each_part_validated():
    two_parts = w.STOCK_QUOTE.replace(
        '<part name="body" element="xsd1:TradePriceRequest"/>',
        '<part name="body" element="xsd1:TradePriceRequest"/>'
        '<part name="extra" element="xsd1:TradePrice"/>',
    )
    c = catalog({"http://example.com/stockquote?wsdl": two_parts})
    (contract,) = c.contracts.values()
    assert contract.operations[0].input_elements == (
        (w.STOCK_NS, "TradePriceRequest"),
        (w.STOCK_NS, "TradePrice"),
    )
    second = f'<m:TradePrice xmlns:m="{w.STOCK_NS}"><m:price>bad</m:price></m:TradePrice>'
    body = w.stock_request().replace(b"</s:Body>", second.encode() + b"</s:Body>")
    r, _, v = check(c, body)
    assert r.operation == "GetLastTradePrice"
    assert len(v.errors) == 1 and "'bad' is not a valid value" in v.errors[0]


def test_markup_in_an_rpc_part_name_cannot_reach_the_wrapper_schema():
    hostile = w.calculator("literal").replace(
        '<part name="a" type="xsd:int"/>', '<part name=\'a"&gt;&lt;xs:any/&gt;\' type="xsd:int"/>'
    )
    c = catalog({"http://calc.example/rpc?wsdl": hostile})
    r, _, v = check(c, w.add_request())
    assert r.operation == "Add"
    assert v.skipped.startswith("the WSDL's schema does not compile: ")
    assert "is not a valid value of the atomic type 'xs:NCName'" in v.skipped


def test_an_xop_include_stands_for_the_base64_content_of_its_element():
    """XOP §3: an element's base64Binary content may travel as a MIME part, the element holding
    only an xop:Include; the message is valid when it would be with the bytes inlined."""
    with_chart = w.STOCK_QUOTE.replace(
        '<xsd:element name="price" type="xsd:float"/>',
        '<xsd:element name="price" type="xsd:float"/>'
        '<xsd:element name="chart" type="xsd:base64Binary"/>',
    )
    c = catalog({"http://example.com/stockquote?wsdl": with_chart})
    include = (
        '<m:chart>\n  <xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
        'href="cid:chart@example.com"/>\n</m:chart>'
    )
    body = w.stock_response().replace(b"</m:price>", b"</m:price>" + include.encode())
    _, _, v = check(c, body, is_request=False)
    assert not v.errors and v.skipped is None, v
    inline = w.stock_response().replace(b"</m:price>", b"</m:price><m:chart>AAEC</m:chart>")
    assert not check(c, inline, is_request=False)[2].errors
    # An Include is no licence for anything else: a wrong price stays an error.
    wrong = body.replace(b"42.5", b"cheap")
    assert len(check(c, wrong, is_request=False)[2].errors) == 1
