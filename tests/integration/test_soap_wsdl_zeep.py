"""The headline scenario with a contract: zeep fetches a document/literal bare service's WSDL
(and the schema it imports) through `mitmdump -s addons/relay.py` in reverse mode, whose server
connections go over TLS through a SOCKS5 proxy (microsocks) with a password; the relay learns the
WSDL from those answers and labels every call with its WSDL operation."""

from __future__ import annotations

import contextlib
import re
import subprocess
import sys
from pathlib import Path

import peers
import pytest
import soap_helpers
import wsdl_samples as w
import wsdl_service
from mitmproxy import flowfilter, http
from mitmproxy import io as flow_io
from mitmrelay.testing import make_certs

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after importorskip)

SCRIPT = Path(__file__).parents[2] / "scripts" / "soap-view"
PROXY_PASS = "wsdl-Pr0xy-pass"
BINDING = "{http://example.com/stockquote.wsdl}StockQuoteSoapBinding"
ENCRYPTED = (
    f'<s:Envelope xmlns:s="{w.S11}"><s:Body><xenc:EncryptedData '
    'xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:EncryptionMethod '
    'Algorithm="http://www.w3.org/2009/xmlenc11#aes128-gcm"/><xenc:CipherData>'
    "<xenc:CipherValue>AAAA</xenc:CipherValue></xenc:CipherData></xenc:EncryptedData>"
    "</s:Body></s:Envelope>"
).encode()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wsdl")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    service = wsdl_service.StockService(certs.server_context())
    socks = peers.start_microsocks(tmp, "alice", PROXY_PASS)
    flow_file = tmp / "flows.mitm"
    relay = wsdl_service.relay_to(
        tmp,
        service.port,
        certs,
        "--set",
        f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@127.0.0.1:{socks.port}",
        "--flow-detail",
        "3",
        "-w",
        str(flow_file),
        env={"PROXY_PASS": PROXY_PASS},
    )
    try:
        session = soap_helpers.client_session()
        base = f"http://127.0.0.1:{relay.port}/stock"
        client = zeep.Client(base + "?wsdl", transport=Transport(session=session))
        stock = client.create_service(BINDING, base)
        results = {
            "port": service.port,
            "price": stock.GetLastTradePrice(tickerSymbol="MSFT"),
        }
        with pytest.raises(zeep.exceptions.Fault) as fault:
            stock.GetLastTradePrice(tickerSymbol=wsdl_service.FAIL)
        results["fault"] = fault.value.message
        # zeep may or may not accept a price that breaks the schema: the relay must tell.
        with contextlib.suppress(ValueError):
            stock.GetLastTradePrice(tickerSymbol=wsdl_service.CHEAP)
        headers = {
            "Content-Type": "text/xml",
            "SOAPAction": '"http://example.com/GetLastTradePrice"',
        }
        broken = w.stock_request().replace(b"tickerSymbol", b"ticker")
        results["broken"] = session.post(base, data=broken, headers=headers).status_code
        results["encrypted"] = session.post(base, data=ENCRYPTED, headers=headers).status_code
        relay.stop()  # flushes the flow file and the log
        with flow_file.open("rb") as f:
            flows = [fl for fl in flow_io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]
        yield relay.text(), flows, flow_file, results, service.received, socks.text()
    finally:
        relay.stop()
        socks.stop()
        service.stop()


def test_zeep_gets_wsdl_and_answers_through_the_relay(run):
    output, flows, _, results, _, socks_log = run
    assert results["price"] == pytest.approx(42.5)
    assert results["fault"] == "Unknown symbol FAIL"
    assert [f.request.path for f in flows[:2]] == ["/stock?wsdl", "/stock?xsd=1"]
    # The SOCKS proxy carried the TLS connections, and was given the name (remote DNS).
    assert f"connected to localhost:{results['port']}" in socks_log
    assert PROXY_PASS not in output


def test_the_relay_logs_the_wsdl_it_learned(run):
    output = run[0]
    assert re.search(
        r"SOAP: learned WSDL https?://\S+/stock\?wsdl: service StockQuoteService, "
        r"ports StockQuotePort, 1 operations\n",
        output,
    )


def test_calls_are_labelled_with_the_wsdl_operation(run):
    _, flows, _, _, _, _ = run
    comments = [f.comment for f in flows[2:]]
    assert comments[0] == "SOAP GetLastTradePrice"
    assert comments[1] == "SOAP GetLastTradePrice Fault s:Client: Unknown symbol FAIL"
    assert comments[2] == (
        "SOAP GetLastTradePrice invalid (line 1 price: 'cheap' is not a valid value of the "
        "atomic type 'xs:float'.)"
    )
    assert comments[3].startswith("SOAP GetLastTradePrice invalid (line 1 ")
    assert "ticker" in comments[3]
    assert comments[4] == "SOAP GetLastTradePrice"
    invalid = [f for f in flows if flowfilter.match("~comment invalid", f)]
    assert invalid == flows[4:6]


def test_the_view_says_operation_binding_and_encryption(run):
    output = run[0]
    assert re.search(
        r"Operation:\s+GetLastTradePrice \(document/literal, matched by SOAPAction\)", output
    )
    assert re.search(
        r"WSDL:\s+service StockQuoteService, port StockQuotePort, binding StockQuoteSoapBinding",
        output,
    )
    assert re.search(r"Body:\s+encrypted \(xenc:EncryptedData, aes128-gcm\)", output)
    assert "does not name the Body operation" not in output


def test_the_wire_is_untouched(run):
    _, flows, _, _, received, _ = run
    assert [f.request.content for f in flows if f.request.method == "POST"] == received


def test_the_offline_view_learns_the_wsdl_from_the_flow_file(run):
    flow_file = run[2]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(flow_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "SOAP: learned WSDL" in done.stderr and "1 operations" in done.stderr
    assert re.search(r"Operation:\s+GetLastTradePrice \(document/literal", done.stdout)
    assert "INVALID:" in done.stdout


def test_a_soap_wsdl_url_is_fetched_through_the_proxy_chain(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wsdl-url")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    service = wsdl_service.StockService(certs.server_context())
    socks = peers.start_microsocks(tmp, "alice", PROXY_PASS)
    url = f"https://localhost:{service.port}/stock?wsdl"
    relay = wsdl_service.relay_to(
        tmp,
        service.port,
        certs,
        "--set",
        f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@127.0.0.1:{socks.port}",
        "--set",
        f"soap_wsdl={url}",
        "--set",
        "soap_log_calls=true",
        env={"PROXY_PASS": PROXY_PASS},
    )
    try:
        relay.wait_log(
            rf"SOAP: learned WSDL {re.escape(url)}: service StockQuoteService, "
            r"ports StockQuotePort, 1 operations\n",
            timeout=30,
        )
        # Both the WSDL and the schema it imports came through the SOCKS proxy.
        assert socks.text().count(f"connected to localhost:{service.port}") == 2
        session = soap_helpers.client_session()
        answer = session.post(
            f"http://127.0.0.1:{relay.port}/stock",
            data=w.stock_request(),
            headers={"Content-Type": "text/xml"},
        )
        assert answer.status_code == 200
        relay.wait_log(r"POST \S+/stock: SOAP GetLastTradePrice\n")
        assert PROXY_PASS not in relay.text()
    finally:
        relay.stop()
        socks.stop()
        service.stop()
