"""Without a WSDL the view says what the message itself shows, for every message style."""

import pytest
import soap_helpers as h
from mitmrelay.soap import MessageInfo, analyze, is_soap, render
from mitmrelay.soap.summary import flow_label

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
XENC = "http://www.w3.org/2001/04/xmlenc#"


def envelope(body: str, ns: str = S11, header: str = "") -> bytes:
    return (
        f'<s:Envelope xmlns:s="{ns}" xmlns:xenc="{XENC}" xmlns:wsse="{h.WSSE}">'
        f"{header}{body}</s:Envelope>"
    ).encode()


ENCRYPTED = (
    "<xenc:EncryptedData Type='http://www.w3.org/2001/04/xmlenc#Content'>"
    "<xenc:EncryptionMethod Algorithm='http://www.w3.org/2001/04/xmlenc#aes256-cbc'/>"
    "<xenc:CipherData><xenc:CipherValue>c2VjcmV0LWNpcGhlcg==</xenc:CipherValue></xenc:CipherData>"
    "</xenc:EncryptedData>"
)
# The WSDL 1.1 specification's example 1 (StockQuote, document/literal bare).
STOCK_QUOTE = envelope(
    '<s:Body><m:TradePriceRequest xmlns:m="http://example.com/stockquote.xsd">'
    "<tickerSymbol>MSFT</tickerSymbol></m:TradePriceRequest></s:Body>"
)


REQUEST = MessageInfo(is_request=True)


def summary_lines(body: bytes, info: MessageInfo = REQUEST) -> list[str]:
    return render(body, info).text.split("\n\n", 1)[0].splitlines()


def test_a_bare_part_element_is_not_called_the_operation_nor_warned_about():
    info = MessageInfo("text/xml", '"http://example.com/GetLastTradePrice"', True)
    s = analyze(STOCK_QUOTE, info)
    assert s is not None and s.warnings == ()
    lines = summary_lines(STOCK_QUOTE, info)
    assert lines[1] == "  Body:       TradePriceRequest {http://example.com/stockquote.xsd}"
    assert not any("Operation" in line for line in lines)
    assert flow_label(s, None) == "SOAP TradePriceRequest"


def test_an_encrypted_body_says_so_with_its_algorithm():
    body = envelope(f"<s:Body>{ENCRYPTED}</s:Body>")
    s = analyze(body, MessageInfo(is_request=True))
    assert s is not None
    assert s.encrypted == "xenc:EncryptedData, aes256-cbc"
    assert "  Body: encrypted (xenc:EncryptedData, aes256-cbc)" in summary_lines(body)
    assert flow_label(s, None) == "SOAP (encrypted Body)"
    assert "c2VjcmV0LWNpcGhlcg==" not in render(body, MessageInfo()).text


def test_an_encrypted_fault_is_a_fault():
    body = envelope(f"<s:Body><s:Fault>{ENCRYPTED}</s:Fault></s:Body>")
    response = analyze(body, MessageInfo(is_request=False))
    request = analyze(h.SOAP11_REQUEST, MessageInfo(is_request=True))
    assert response is not None and response.fault is not None
    assert response.fault.encrypted == "xenc:EncryptedData, aes256-cbc"
    assert "  FAULT: content encrypted (xenc:EncryptedData, aes256-cbc)" in summary_lines(
        body, MessageInfo(is_request=False)
    )
    assert flow_label(request, response) == "SOAP GetQuote Fault (encrypted)"


@pytest.mark.parametrize(
    "body, row, label",
    [
        (envelope("<s:Header/>"), "  Body: (no Body element)", "SOAP (no Body)"),
        (envelope("<s:Body/>"), "  Body: (empty Body)", "SOAP (empty Body)"),
    ],
)
def test_a_missing_or_empty_body(body, row, label):
    assert row in summary_lines(body)
    assert flow_label(analyze(body, MessageInfo()), None) == label


def test_a_soap12_envelope_with_a_soap11_fault_shows_its_fields_and_the_contradiction():
    body = envelope(
        "<s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>DB down</faultstring>"
        "<detail><e:why xmlns:e='urn:e'>timeout</e:why></detail></s:Fault></s:Body>",
        ns=S12,
    )
    s = analyze(body, MessageInfo(is_request=False))
    assert s is not None and s.fault is not None
    assert (s.fault.code, s.fault.reason) == ("s:Server", "DB down")
    assert s.fault.detail == '<e:why xmlns:e="urn:e">timeout</e:why>'
    assert s.warnings == (
        "a SOAP 1.2 envelope carries a SOAP 1.1-style fault (faultcode/faultstring)",
    )
    assert flow_label(None, s) == "SOAP Fault s:Server: DB down"


def test_every_body_part_is_named():
    body = envelope(
        "<s:Body><a:Order xmlns:a='urn:a'/><a:Customer xmlns:a='urn:a'/><b:Note xmlns:b='urn:b'/>"
        "</s:Body>"
    )
    s = analyze(body, MessageInfo())
    assert s is not None and s.body == (
        ("urn:a", "Order"),
        ("urn:a", "Customer"),
        ("urn:b", "Note"),
    )
    assert summary_lines(body)[1:4] == [
        "  Body: Order {urn:a}",
        "  Body: Customer {urn:a}",
        "  Body: Note {urn:b}",
    ]


@pytest.mark.parametrize(
    "password, kind",
    [
        ("<wsse:Password>pw-plain-1</wsse:Password>", "PasswordText"),
        (
            f"<wsse:Password wsse:Type='{h.PASSWORD_TEXT[:-4]}Digest'>pw-2</wsse:Password>",
            "PasswordDigest",
        ),
        ("", "no password"),
    ],
)
def test_username_token_password_types(password, kind):
    token = f"<wsse:UsernameToken><wsse:Username>al</wsse:Username>{password}</wsse:UsernameToken>"
    header = f"<s:Header><wsse:Security>{token}</wsse:Security></s:Header>"
    body = envelope("<s:Body><o:Op xmlns:o='urn:o'/></s:Body>", header=header)
    s = analyze(body, MessageInfo())
    assert s is not None and s.security == (f"UsernameToken user 'al' {kind}",)
    text = render(body, MessageInfo()).text
    assert "pw-plain-1" not in text and "pw-2" not in text


def test_multipart_is_found_after_leading_newlines_without_a_content_type():
    body = b"\r\n\r\n" + h.MTOM_BODY
    assert is_soap(body)
    text = render(body, MessageInfo()).text
    assert "xop:Include in <data> -> cid:logo@example: <logo@example> image/png" in text


def test_includes_outside_multipart_are_listed_and_bounded():
    includes = "".join(
        f"<x:i><xop:Include xmlns:xop='http://www.w3.org/2004/08/xop/include' href='cid:p{n}'/>"
        "</x:i>"
        for n in range(25)
    )
    body = envelope(f"<s:Body><x:Put xmlns:x='urn:x'>{includes}</x:Put></s:Body>")
    lines = summary_lines(body)
    shown = [line for line in lines if "xop:Include in <i>" in line]
    assert len(shown) == 20
    assert shown[0] == "  xop:Include in <i> -> cid:p0: not multipart: no part to point to"
    assert "  … 5 more xop:Include" in lines


def test_a_signature_says_its_algorithm_and_what_it_covers():
    wsu = h.WSU
    header = (
        f'<s:Header><wsse:Security xmlns:wsu="{wsu}"><wsu:Timestamp wsu:Id="TS-1">'
        "<wsu:Created>2026-12-01T10:00:00Z</wsu:Created>"
        "<wsu:Expires>2026-12-01T10:05:00Z</wsu:Expires></wsu:Timestamp>"
        '<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
        '<ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>'
        '<ds:Reference URI="#B-1"/><ds:Reference URI="#TS-1"/></ds:SignedInfo>'
        "<ds:SignatureValue>c2lnbmF0dXJl</ds:SignatureValue></ds:Signature>"
        "</wsse:Security></s:Header>"
    )
    body = envelope(
        f'<s:Body xmlns:wsu="{wsu}" wsu:Id="B-1"><o:Op xmlns:o="urn:o"/></s:Body>', header=header
    )
    s = analyze(body, MessageInfo())
    assert s is not None and s.security == (
        "Timestamp created 2026-12-01T10:00:00Z expires 2026-12-01T10:05:00Z",
        "Signature rsa-sha256 over Body, Timestamp",
    )
    assert "c2lnbmF0dXJl" not in render(body, MessageInfo()).text


def test_encrypted_element_content_is_told_and_not_validated():
    import wsdl_samples as w
    from mitmrelay.soap.render import Inspector

    body = envelope(
        f"<s:Body><m:TradePriceRequest xmlns:m='{w.STOCK_NS}'>{ENCRYPTED}</m:TradePriceRequest>"
        "</s:Body>"
    )
    inspector = Inspector()
    inspector.catalog.add("http://example.com/stockquote?wsdl", w.STOCK_QUOTE.encode())
    found = inspector.inspect(body, REQUEST, complete=True)
    assert found is not None
    s = found.summary
    assert s.encrypted_content == "<TradePriceRequest>: xenc:EncryptedData, aes256-cbc"
    assert s.validation is not None and s.validation.skipped == "part of the Body is encrypted"
    assert flow_label(s, None) == "SOAP GetLastTradePrice"
    lines = inspector.render(body, REQUEST).text.splitlines()
    assert any(
        line.split()
        == [
            "Encrypted:",
            "content",
            "of",
            "<TradePriceRequest>:",
            "xenc:EncryptedData,",
            "aes256-cbc",
        ]
        for line in lines
    )


def test_an_undeclared_prefix_in_a_cut_body_does_not_break_the_summary():
    # Found by test_soap_fuzz: the pull parser hands out 'q:GetQuote' (its prefix undeclared)
    # before it reports the error, and lxml's QName refuses that name.
    body = (
        f'<soap:Envelope xmlns:soap="{S11}"><soap:Header><wsa:To></wsa:To></soap:Header>'
        ":Body><q:GetQuote><q:symbol><![CDATA[]]></q:symbol></q:GetQuote>"
    ).encode()
    analyze(body, MessageInfo())  # raised ValueError: Invalid tag name 'q:GetQuote'
    assert render(body, MessageInfo()).text.startswith("SOAP")
