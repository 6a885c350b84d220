"""A SOAP client and server not written in Python: node-soap (npm `soap`) on both ends of the
headline scenario. The node server serves the StockQuote WSDL (document/literal bare) over TLS;
the node client fetches `?wsdl` through `mitmdump -s addons/relay.py` (reverse mode, TLS through a
SOCKS5 proxy with a password) and calls the service through it; the relay learns the WSDL from
that fetch and names every call after its WSDL operation."""

from __future__ import annotations

import re

import node_peers
import peers
import pytest
import wsdl_samples as w
from mitmrelay.testing import make_certs, start_mitmdump

PROXY_PASS = "node-Pr0xy-pass"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("node")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    wsdl = tmp / "stock.wsdl"
    wsdl.write_text(w.STOCK_QUOTE)
    server = node_peers.start_server(tmp, wsdl, certs)
    socks = peers.start_microsocks(tmp, "alice", PROXY_PASS)
    relay = start_mitmdump(
        tmp,
        "--mode",
        f"reverse:https://localhost:{server.port}@{{port}}",
        "--set",
        f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@127.0.0.1:{socks.port}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={certs.ca}",
        "--flow-detail",
        "3",
        "--set",
        "soap_log_calls=true",  # the labels are read from the log
        env={"PROXY_PASS": PROXY_PASS},
    )
    try:
        base = f"http://127.0.0.1:{relay.port}/stock"
        results = node_peers.run_client(base + "?wsdl", base, ["MSFT", "FAIL"], certs.ca)
        relay.stop()
        yield relay.text(), results, socks.text(), server.port
    finally:
        relay.stop()
        socks.stop()
        server.stop()


def test_node_soap_gets_its_answers_through_the_relay(run):
    _, results, socks_log, port = run
    assert results == [
        {"symbol": "MSFT", "result": {"price": 42.5}},
        {"symbol": "FAIL", "fault": "Unknown symbol FAIL"},
    ]
    assert f"connected to localhost:{port}" in socks_log


def test_the_relay_learned_the_wsdl_from_the_clients_fetch(run):
    assert re.search(
        r"SOAP: learned WSDL \S+/stock\?wsdl: service StockQuoteService, ports StockQuotePort, "
        r"1 operations",
        run[0],
    )


def test_node_calls_are_labelled_with_the_wsdl_operation(run):
    output = run[0]
    labels = re.findall(r"POST \S+/stock: (SOAP .*)", output)
    assert labels == [
        "SOAP GetLastTradePrice",
        "SOAP GetLastTradePrice Fault soap:Client: Unknown symbol FAIL",
    ]
    # node-soap writes what its WSDL says: both requests and the answer are schema-valid.
    assert len(re.findall(r"Schema:\s+valid\n", output)) == 3
    assert re.search(
        r"Operation:\s+GetLastTradePrice \(document/literal, matched by SOAPAction\)", output
    )
    assert "does not name the Body operation" not in output
    assert PROXY_PASS not in output
