"""mitmweb with addons/soap.py: what its web API hands the browser (flow list with labels and
fault marks, the SOAP view of a message, the comment column) for SOAP calls through it."""

from __future__ import annotations

import http.cookiejar
import json
import urllib.request

import pytest
import soap_helpers as h
import soap_service

FAULTING = h.SOAP11_REQUEST.replace(b"<![CDATA[<ACME & Co>]]>", b"FAIL")


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    service, mitmweb = soap_service.soap_relay(tmp_path_factory.mktemp("mitmweb"), tool="mitmweb")
    try:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        headers = {"Content-Type": "text/xml", "SOAPAction": '"urn:example:quotes/GetQuote"'}
        for body in (h.SOAP11_REQUEST, FAULTING):
            request = urllib.request.Request(f"http://127.0.0.1:{mitmweb.port}/q", body, headers)
            try:
                direct.open(request, timeout=10)
            except urllib.error.HTTPError as e:
                assert e.code == 500  # the fault
        api = urllib.request.build_opener(
            urllib.request.ProxyHandler({}),
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
        )

        def get(path: str) -> object:
            url = f"http://127.0.0.1:{mitmweb.web_port}{path}?token={mitmweb.web_token}"
            return json.load(api.open(url, timeout=10))

        yield get
    finally:
        mitmweb.stop()
        service.stop()


def test_the_flow_list_has_labels_and_fault_marks(web):
    flows = web("/flows")
    assert [(f["comment"], bool(f["marked"])) for f in flows] == [
        ("SOAP GetQuote", False),
        ("SOAP GetQuote Fault e:Client: Unknown symbol FAIL", True),
    ]
    assert "comment" in web("/options.json")["web_columns"]["value"]


def test_the_soap_view_is_served_masked(web):
    flow_id = web("/flows")[0]["id"]
    content = web(f"/flows/{flow_id}/request/content/soap.json")
    # mitmproxy 12 sends the text, 11 a list of styled lines.
    text = content.get("text") or "\n".join(
        "".join(chunk for _, chunk in line) for line in content["lines"]
    )
    assert text.startswith("SOAP 1.1 request\n  Body:          GetQuote {urn:example:quotes}")
    assert h.SECRET not in text and "[masked]" in text
