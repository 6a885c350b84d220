"""zeep (SOAP 1.1 and 1.2, WS-Security UsernameToken, WS-Addressing, an MTOM answer) talking to a
local SOAP service through a real `mitmdump -s addons/soap.py` reverse proxy."""

from __future__ import annotations

import re
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
import requests
import soap_helpers as h
import soap_service
from mitmproxy import flowfilter, http
from mitmproxy import io as flow_io

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after the importorskip)
from zeep.wsa import WsAddressingPlugin  # noqa: E402
from zeep.wsse.username import UsernameToken  # noqa: E402

SCRIPT = Path(__file__).parents[2] / "scripts" / "soap-view"
DIGEST_SECRET = "digest-only-Pa55"
XXE_MARKER = "XXE-FILE-CONTENT-MARKER"


@dataclass
class Run:
    output: str
    flows: list[http.HTTPFlow]
    flow_file: Path
    received: list[bytes]
    results: dict[str, object]


def _client(wsdl: Path, port: int, binding: str, **kwargs) -> object:
    session = requests.Session()
    session.trust_env = False  # a proxy from the environment must not take 127.0.0.1 traffic
    client = zeep.Client(str(wsdl), transport=Transport(session=session), **kwargs)
    return client.create_service(
        f"{{{soap_service.NS}}}{binding}", f"http://127.0.0.1:{port}/quotes"
    )


def _fault_message(call) -> str:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return caught.value.message


def _post(port: int, body: bytes) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/quotes", body, {"Content-Type": "text/xml"}
    )
    try:
        return opener.open(request, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Run:
    tmp = tmp_path_factory.mktemp("soap")
    wsdl = tmp / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL)
    secret_file = tmp / "secret.txt"
    secret_file.write_text(XXE_MARKER)
    flow_file = tmp / "flows.mitm"
    service, relay = soap_service.soap_relay(tmp, "--flow-detail", "3", "-w", str(flow_file))
    try:
        plain = _client(
            wsdl,
            relay.port,
            "Quotes11",
            wsse=UsernameToken("alice", h.SECRET),
            plugins=[WsAddressingPlugin()],
        )
        digest = _client(
            wsdl, relay.port, "Quotes12", wsse=UsernameToken("bob", DIGEST_SECRET, use_digest=True)
        )
        results = {
            "quote11": plain.GetQuote(symbol="ACME"),
            "fault11": _fault_message(lambda: plain.GetQuote(symbol="FAIL")),
            "quote12": digest.GetQuote(symbol="ACME"),
            "fault12": _fault_message(lambda: digest.GetQuote(symbol="FAIL")),
            "logo": plain.GetLogo(symbol="ACME"),
            "laughs": _post(relay.port, h.BILLION_LAUGHS),
            "xxe": _post(relay.port, h.xxe(str(secret_file))),
        }
        relay.stop()  # flushes the flow file and the output
        with flow_file.open("rb") as f:
            flows = [fl for fl in flow_io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]
        yield Run(relay.text(), flows, flow_file, service.received, results)
    finally:
        relay.stop()
        service.stop()


def test_zeep_gets_its_answers_through_the_relay(run):
    assert run.results["quote11"] == Decimal("42.5") == run.results["quote12"]
    assert run.results["fault11"] == "Unknown symbol FAIL" == run.results["fault12"]
    assert run.results["logo"] == soap_service.LOGO
    assert run.results["laughs"] == run.results["xxe"] == 200


def test_the_wire_carries_the_unmasked_original_bytes(run):
    assert [f.request.content for f in run.flows] == run.received
    assert h.SECRET.encode() in run.received[0]
    assert b"[masked]" not in b"".join(run.received)


def _wire_secrets(run: Run) -> set[str]:
    """Every password, digest and nonce zeep put on the wire."""
    wire = b"".join(run.received).decode()
    return set(re.findall(r"<(?:\w+:)?(?:Password|Nonce)\b[^>]*>([^<]+)<", wire))


def test_mitmdump_shows_summaries_and_masks_secrets(run):
    out = run.output
    assert re.search(r"SOAP 1\.1 request\n\s+Body:\s+GetQuote \{urn:example:quotes\}", out)
    assert re.search(r"SOAPAction:\s+'urn:example:quotes/GetQuote'", out)
    assert re.search(r"wsa:Action:\s+urn:example:quotes/GetQuote", out)
    assert re.search(r"Security:\s+UsernameToken user 'alice' PasswordText", out)
    assert re.search(r"SOAP 1\.2 request\n\s+Body:\s+GetQuote", out)
    assert re.search(r"action:\s+'urn:example:quotes/GetQuote'", out)
    assert re.search(r"Security:\s+UsernameToken user 'bob' PasswordDigest with Nonce", out)
    assert re.search(r"FAULT:\s+e:Client: Unknown symbol FAIL", out)
    assert re.search(r"FAULT:\s+e:Sender / q:UnknownSymbol: Unknown symbol FAIL", out)
    secrets = _wire_secrets(run)
    assert len(secrets) >= 3 and h.SECRET in secrets
    assert not [s for s in secrets | {DIGEST_SECRET} if s in out]
    assert out.count("[masked]") >= 5


def test_mitmdump_logs_the_label_of_each_fault_and_not_of_ordinary_calls(run):
    assert "SOAP GetQuote Fault e:Client: Unknown symbol FAIL" in run.output
    assert "SOAP GetQuote Fault e:Sender / q:UnknownSymbol: Unknown symbol FAIL" in run.output
    # An ordinary call is labelled in its flow, not logged (soap_log_calls is off).
    assert "/quotes: SOAP GetLogo" not in run.output  # its flow has the label (see below)


def test_the_mtom_answer_lists_its_part_without_dumping_it(run):
    import hashlib

    digest = hashlib.sha256(soap_service.LOGO).hexdigest()
    line = (
        f"xop:Include in <image> -> cid:logo@quotes.example: <logo@quotes.example> image/png, "
        f"{len(soap_service.LOGO)} bytes, sha256 {digest}"
    )
    assert line in run.output


def test_hostile_bodies_are_refused_quickly_and_leak_nothing(run):
    assert run.output.count("SOAP: refused to parse: SOAP messages must not contain a DTD") == 2
    assert XXE_MARKER not in run.output and "lollollol" not in run.output


def test_saved_flows_carry_labels_and_fault_marks(run):
    comments = [f.comment for f in run.flows]
    assert comments[:5] == [
        "SOAP GetQuote",
        "SOAP GetQuote Fault e:Client: Unknown symbol FAIL",
        "SOAP GetQuote",
        "SOAP GetQuote Fault e:Sender / q:UnknownSymbol: Unknown symbol FAIL",
        "SOAP GetLogo",
    ]
    faults = [f for f in run.flows if flowfilter.match("~comment Fault", f)]
    assert faults == [f for f in run.flows if flowfilter.match("~marked", f)]
    assert len(faults) == 2


@pytest.mark.parametrize("mask", [True, False])
def test_the_offline_script_views_the_saved_flows(run, mask):
    args = [sys.executable, str(SCRIPT), str(run.flow_file)] + ([] if mask else ["--no-mask"])
    out = subprocess.run(args, capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.count("=== POST http://127.0.0.1:") == 2 * len(run.flows) == 14
    assert re.search(r"request ===\nSOAP 1\.1 request\n\s+Body:\s+GetQuote", out)
    assert re.search(r"FAULT:\s+e:Client: Unknown symbol FAIL", out)
    assert "xop:Include in <image> -> cid:logo@quotes.example" in out
    assert (h.SECRET in out) is (not mask)
    assert XXE_MARKER not in out
