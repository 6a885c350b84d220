"""`mitmdump -s addons/soap.py '~comment Fault'` prints the faulting exchanges only: the
labels are set before mitmdump's own output filter looks at the flow."""

from __future__ import annotations

import urllib.request

import pytest
import soap_helpers as h
import soap_service

FAULTING = h.SOAP11_REQUEST.replace(b"<![CDATA[<ACME & Co>]]>", b"FAIL")


@pytest.mark.parametrize("expression", ["~comment Fault", "~marked"])
def test_mitmdump_filters_faults(tmp_path, expression):
    service, relay = soap_service.soap_relay(tmp_path, "--flow-detail", "1", expression)
    try:
        direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        for path, body in (("/ok", h.SOAP11_REQUEST), ("/fails", FAULTING)):
            request = urllib.request.Request(
                f"http://127.0.0.1:{relay.port}{path}", body, {"Content-Type": "text/xml"}
            )
            try:
                direct.open(request, timeout=10)
            except urllib.error.HTTPError as e:
                assert e.code == 500
    finally:
        relay.stop()
        service.stop()
    printed = [line for line in relay.text().splitlines() if ": POST http://" in line]
    flow_lines = [line for line in printed if not line.startswith("[")]  # not log lines
    assert len(flow_lines) == 1 and flow_lines[0].endswith("/fails HTTP/1.1")
