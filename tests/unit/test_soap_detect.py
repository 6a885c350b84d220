import time

import pytest
import soap_helpers as h
from mitmrelay.soap import is_soap
from mitmrelay.soap._xml import sniff_envelope

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"


@pytest.mark.parametrize(
    "body, version",
    [
        (h.SOAP11_REQUEST, "1.1"),
        (h.SOAP11_FAULT, "1.1"),
        (h.SOAP12_REQUEST, "1.2"),
        (h.SOAP12_FAULT, "1.2"),
        (f'<Envelope xmlns="{S11}"><Body/></Envelope>'.encode(), "1.1"),
        (f"<s:Envelope xmlns:s='{S12}'/>".encode(), "1.2"),
        (f'\ufeff<!-- hi --><?pi x?>\n<e:Envelope xmlns:e="{S11}"/>'.encode(), "1.1"),
        (
            f'<?xml version="1.0" encoding="UTF-16"?><e:Envelope xmlns:e="{S12}"/>'.encode(
                "utf-16"
            ),
            "1.2",
        ),
        (f'<e:Envelope a="x>y" xmlns:e="{S11}"/>'.encode(), "1.1"),
    ],
)
def test_soap_envelopes_are_detected_by_namespace(body, version):
    sniff = sniff_envelope(body)
    assert sniff is not None and sniff.version == version
    assert is_soap(body)


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html><body>Envelope</body></html>",
        b'<Envelope xmlns="urn:not-soap"/>',
        f'<e:Envelope xmlns:e="urn:other" xmlns:s="{S11}"/>'.encode(),  # wrong prefix's namespace
        f'<root><e:Envelope xmlns:e="{S11}"/></root>'.encode(),  # not the root element
        b'{"json": "Envelope"}',
        b"\x00\x01\x02 binary",
    ],
)
def test_other_bodies_are_not_soap(body):
    assert sniff_envelope(body) is None
    assert not is_soap(body, "text/xml")


def test_a_doctype_is_noticed():
    sniff = sniff_envelope(h.BILLION_LAUGHS)
    assert sniff is not None and sniff.has_doctype


def test_mtom_root_part_is_detected_with_and_without_content_type():
    assert is_soap(h.MTOM_BODY, h.MTOM_CONTENT_TYPE)
    assert is_soap(h.MTOM_BODY)
    assert not is_soap(b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n")


@pytest.mark.parametrize(
    "body",
    [
        b"<" + b"a" * 16_000,
        b"<s:" + b"a" * 16_000,
        b"<!DOCTYPE " + b"[]" * 8_000,
        b"<!DOCTYPE " + b"[" * 16_000,
        b"<?" * 8_000,
        b"<!--" * 4_000,
        b"<s:Envelope " + b'"' * 16_000,
        b"--" + b"-" * 100_000,
    ],
)
def test_sniffing_hostile_prefixes_is_quick(body):
    started = time.monotonic()
    assert not is_soap(body)
    assert time.monotonic() - started < 0.5
