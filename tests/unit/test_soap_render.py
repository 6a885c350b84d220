import re
import time

import pytest
import soap_helpers as h
from lxml import etree
from mitmrelay.soap import MessageInfo, RenderOptions, render
from mitmrelay.soap._xml import parse


def _canonical(xml: bytes) -> bytes:
    """The document with whitespace-only text between elements removed, in canonical form."""
    root = etree.fromstring(xml, etree.XMLParser(remove_blank_text=True, resolve_entities=False))
    return etree.tostring(root, method="c14n")


@pytest.mark.parametrize(
    "body", [h.SOAP11_REQUEST, h.SOAP11_FAULT, h.SOAP12_REQUEST, h.SOAP12_FAULT]
)
def test_pretty_printing_changes_only_whitespace_between_elements(body):
    text = render(body, MessageInfo(), RenderOptions(mask=False)).text
    pretty = text.split("\n\n", 1)[1]
    assert _canonical(pretty.encode()) == _canonical(body)


def test_prefixes_attributes_and_cdata_are_kept():
    text = render(h.SOAP11_REQUEST, MessageInfo()).text
    assert '<q:GetQuote currency="EUR">' in text
    assert "<q:symbol><![CDATA[<ACME & Co>]]></q:symbol>" in text
    assert 'soap:mustUnderstand="1"' in text


def test_the_summary_comes_first():
    text = render(
        h.SOAP11_REQUEST, MessageInfo("text/xml", '"urn:example:quotes/GetQuote"', True)
    ).text
    assert text.splitlines()[:3] == [
        "SOAP 1.1 request",
        "  Body:          GetQuote {urn:example:quotes}",
        "  SOAPAction:    'urn:example:quotes/GetQuote'",
    ]


def test_fault_summary_and_description():
    r = render(h.SOAP12_FAULT, MessageInfo(is_request=False))
    assert r.description == "SOAP 1.2 Fault"
    assert "  FAULT:        env:Sender / t:SeatTaken: Seat already reserved" in r.text.splitlines()


@pytest.mark.parametrize(
    "body, reason",
    [
        (h.SOAP11_REQUEST[:200], "malformed XML: "),
        (h.SOAP11_REQUEST.replace(b"<soap:Body>", b"<soap:Body><a>"), "malformed XML: "),
        (h.SOAP11_REQUEST.replace(b"EUR", b"&nbsp;"), "malformed XML: "),
        (h.BILLION_LAUGHS, "refused to parse: SOAP messages must not contain a DTD"),
        (b"<html/>", "no SOAP 1.1/1.2 Envelope found"),
    ],
)
def test_unusable_bodies_fall_back_to_raw_with_a_one_line_reason(body, reason):
    r = render(body, MessageInfo())
    first, blank, *_ = r.text.split("\n")
    assert first.startswith(f"SOAP: {reason}") and first.endswith("; showing the raw body")
    assert blank == "" and "Traceback" not in r.text


def test_the_parser_itself_expands_no_entities():
    started = time.monotonic()
    parsed = parse(h.BILLION_LAUGHS, 10**6)
    assert time.monotonic() - started < 1
    assert parsed.root is None or "lollol" not in "".join(parsed.root.itertext())


def test_the_parser_itself_reads_no_files(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-FILE-CONTENT")
    parsed = parse(h.xxe(str(secret)), 10**6)
    assert parsed.root is None or "TOP-SECRET" not in "".join(parsed.root.itertext())
    assert "TOP-SECRET" not in render(h.xxe(str(secret)), MessageInfo()).text


def test_deep_nesting_is_refused_not_recursed():
    body = (
        b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        + b"<a>" * 100_000
        + b"</a>" * 100_000
        + b"</s:Body></s:Envelope>"
    )
    assert render(body, MessageInfo()).text.startswith("SOAP: malformed XML: ")


def test_a_huge_body_renders_in_bounded_time_and_output():
    body = h.huge_request(30 * 1024 * 1024)
    started = time.monotonic()
    r = render(body, MessageInfo(), RenderOptions(max_bytes=1024 * 1024))
    assert time.monotonic() - started < 5
    assert len(r.text) < 2 * 1024 * 1024
    assert "  Body: Bulk {urn:bulk}" in r.text
    assert re.search(
        r"NOTE: the envelope is \d+ bytes; shown as parsed from its first 1048576", r.text
    )


def test_a_huge_text_node_is_shortened():
    blob = "QUFB" * 1_000_000
    body = (
        '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
        f"<u:Put xmlns:u='urn:u'>{blob}</u:Put></s:Body></s:Envelope>"
    ).encode()
    text = render(body, MessageInfo()).text
    assert len(text) < 10_000
    assert f"… [{len(blob) - 256} more characters]</u:Put>" in text


def test_huge_malformed_bodies_show_a_bounded_prefix():
    body = h.huge_request(20 * 1024 * 1024)[:-5]
    text = render(body, MessageInfo(), RenderOptions(max_bytes=30 * 1024 * 1024)).text
    assert text.startswith("SOAP: malformed XML")
    assert len(text) < 100_000 and text.endswith("more bytes not shown]")
