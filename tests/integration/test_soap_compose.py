"""soap.new and soap.diff in a running mitmweb, driven through its web API as its command bar and
flow editor drive it, against real SOAP stacks:

- soap.new for every operation of the quotes WSDL (both ports; the service zeep's tests call),
  of spyne's WSDL (learned from zeep's `?wsdl` fetch through the relay; spyne validates requests
  with lxml) and of a WSDL with nested types, a choice and enumerations served by node-soap: the
  new flow is filled in (placeholders, optional parts uncommented) and replayed from mitmweb, the
  service answers, and the relay's label says the request is schema-valid;
- soap.diff of zeep's and node-soap's call of the same operation with the same values (each with
  its own WS-Security digest, nonce, timestamp and prefixes): no differences; with one value
  changed: exactly that path; and the `SOAP diff` contentview against a reference flow.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
import urllib.parse
from pathlib import Path

import peers
import pytest
import soap_helpers
import soap_service
import wsdl_samples as w
from mitmrelay.testing import HOST, Process, make_certs, start_mitmdump
from web_helpers import Web

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after importorskip)
from zeep.wsse.username import UsernameToken  # noqa: E402

NODE = Path(__file__).parents[1] / "node"
SPYNE = Path(__file__).parents[1] / "spyne_service.py"
PASSWORD = "compose-Pa55"


def fill(body: str) -> str:
    """What a user does with a new request: optional parts uncommented, `?` given a value."""
    body = re.sub(r"<!-- optional: (<.*?>) -->", r"\1", body, flags=re.DOTALL)
    return body.replace(">?<", ">ACME<")


def command(web: Web, name: str, *args: str):
    answer = web.send("POST", f"/commands/{name}", {"arguments": list(args)})
    assert "error" not in answer, answer["error"]
    return answer["value"]


def new_and_replay(web: Web, operation: str, port: str = "", **edit: str) -> dict:
    """soap.new, the flow edited as in mitmweb's editor (`edit`: other request fields), Replay;
    the flow once answered."""
    text = command(web, "soap.new", operation, *([port] if port else []))
    flow_id = re.match(r"soap.new: flow (\S+):", text).group(1)
    content = web.opener.open(f"{web.base}/flows/{flow_id}/request/content.data").read()
    web.send("PUT", f"/flows/{flow_id}", {"request": {"content": fill(content.decode()), **edit}})
    web.send("POST", f"/flows/{flow_id}/replay", {})
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        flow = next(f for f in web.get("/flows") if f["id"] == flow_id)
        if flow.get("response") or flow.get("error"):
            return flow
        time.sleep(0.1)
    raise AssertionError(f"no answer to the replayed {operation}: {flow}")


def request_view(web: Web, flow: dict) -> str:
    """The SOAP view of the flow's request, as mitmweb serves it."""
    content = web.get(f"/flows/{flow['id']}/request/content/soap.json")
    # mitmproxy 12 sends the text, 11 a list of styled lines.
    return content.get("text") or "\n".join(
        "".join(chunk for _, chunk in line) for line in content["lines"]
    )


def schema_valid(web: Web, flow: dict, operation: str) -> bool:
    """Whether the relay resolved the request to `operation` and found it schema-valid."""
    text = request_view(web, flow)
    return bool(
        re.search(rf"Operation: +{operation} \(", text) and re.search(r"Schema: +valid\n", text)
    )


def response_text(web: Web, flow: dict) -> str:
    return web.opener.open(f"{web.base}/flows/{flow['id']}/response/content.data").read().decode()


def mitmweb(tmp: Path, *args: str):
    relay = start_mitmdump(tmp, *args, tool="mitmweb")
    return relay, Web(relay.web_port, relay.web_token)


# -- the quotes service, both ports ----------------------------------------------------------


@pytest.fixture(scope="module")
def quotes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quotes")
    service = soap_service.SoapService()
    service.start()
    wsdl = tmp / "quotes.wsdl"
    wsdl.write_text(
        soap_service.WSDL.replace("http://127.0.0.1:9/", f"http://{HOST}:{service.port}/q")
    )
    try:
        relay, web = mitmweb(
            tmp,
            "--mode",
            f"reverse:http://{HOST}:{service.port}@{{port}}",
            "--set",
            f"soap_wsdl={wsdl}",
        )
    except BaseException:
        service.stop()
        raise
    try:
        yield service, relay, web, wsdl
    finally:
        relay.stop()
        service.stop()


@pytest.mark.parametrize(
    ("operation", "port"),
    [
        ("GetQuote", "Quotes11"),
        ("GetQuote", "Quotes12"),
        ("GetLogo", "Quotes11"),
        ("GetLogo", "Quotes12"),
    ],
)
def test_soap_new_for_the_quotes_service(quotes, operation, port):
    service, _, web, _ = quotes
    before = len(service.received)
    flow = new_and_replay(web, operation, port)
    assert flow["response"]["status_code"] == 200
    assert schema_valid(web, flow, operation)
    # The new flow's label gave way to the replayed request's own.
    assert flow["comment"].startswith(f"SOAP {operation}") and "(new:" not in flow["comment"]
    assert len(service.received) == before + 1
    assert b"<ns1:symbol>ACME</ns1:symbol>" in service.received[-1]
    if operation == "GetQuote":
        assert "<q:price>42.5</q:price>" in response_text(web, flow)


def test_soap_new_names_the_operations_when_asked_for_an_unknown_one(quotes):
    answer = quotes[2].send("POST", "/commands/soap.new", {"arguments": ["GetQoute"]})
    assert answer["error"] == (
        "soap.new: no operation 'GetQoute' (did you mean GetQuote?); known operations: "
        "GetLogo (ports Quotes11, Quotes12), GetQuote (ports Quotes11, Quotes12)"
    )


# -- soap.diff: zeep and node-soap calling the same operation --------------------------------


def node_client(wsdl: Path, endpoint: str, calls: list) -> list:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    args = [
        peers.need("node"),
        str(NODE / "soap_client.js"),
        str(wsdl),
        endpoint,
        "carol",
        PASSWORD,
    ]
    run = subprocess.run(
        [*args, json.dumps(calls)], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


@pytest.fixture(scope="module")
def calls(quotes):
    """Flow ids of: zeep GetQuote ACME, node-soap GetQuote ACME, zeep GetQuote MSFT."""
    _, relay, web, wsdl = quotes
    endpoint = f"http://{HOST}:{relay.port}/q"
    client = zeep.Client(
        str(wsdl),
        transport=Transport(session=soap_helpers.client_session()),
        wsse=UsernameToken("alice", PASSWORD, use_digest=True),
    )
    quotes11 = client.create_service(f"{{{soap_service.NS}}}Quotes11", endpoint)
    seen = {f["id"] for f in web.get("/flows")}

    def newest() -> str:
        (new,) = [f["id"] for f in web.get("/flows") if f["id"] not in seen]
        seen.add(new)
        return new

    assert str(quotes11.GetQuote(symbol="ACME")) == "42.5"
    zeep_acme = newest()
    assert node_client(wsdl, endpoint, [["GetQuote", {"symbol": "ACME"}]]) == [
        {"result": {"price": 42.5}}
    ]
    node_acme = newest()
    quotes11.GetQuote(symbol="MSFT")
    zeep_msft = newest()
    return zeep_acme, node_acme, zeep_msft


def test_zeep_and_node_soap_same_call_no_differences(quotes, calls):
    web = quotes[2]
    zeep_acme, node_acme, _ = calls
    lines = command(web, "soap.diff", zeep_acme, node_acme)
    assert lines[0] == "SOAP diff of requests" and lines[3] == "  no differences"
    assert lines[4] == "SOAP diff of responses" and lines[7] == "  no differences"
    # The two requests do differ on the wire: prefixes, digests, nonces, timestamps.
    a, b = (
        web.opener.open(f"{web.base}/flows/{i}/request/content.data").read()
        for i in (zeep_acme, node_acme)
    )
    assert a != b and b"Nonce" in a and b"Nonce" in b


def test_one_changed_value_is_exactly_that_path(quotes, calls):
    web = quotes[2]
    _, node_acme, zeep_msft = calls
    lines = command(web, "soap.diff", node_acme[:8], f"@{zeep_msft}")
    assert lines[3:4] == ["  changed  Body/GetQuote/symbol: 'ACME' -> 'MSFT'"]
    assert lines[4] == "SOAP diff of requests".replace("requests", "responses")
    assert lines[7] == "  no differences"
    assert PASSWORD not in "\n".join(lines)


def test_the_soap_diff_view_against_the_reference(quotes, calls):
    web = quotes[2]
    zeep_acme, node_acme, zeep_msft = calls
    assert command(web, "soap.reference", zeep_acme).startswith(f"soap.reference: flow {zeep_acme}")
    view = urllib.parse.quote("SOAP diff")

    def shown(flow_id: str) -> str:
        content = web.get(f"/flows/{flow_id}/request/content/{view}.json")
        # mitmproxy 12 sends the text, 11 a list of styled lines.
        return content.get("text") or "\n".join(
            "".join(c for _, c in line) for line in content["lines"]
        )

    assert shown(node_acme).splitlines()[3:] == ["  no differences"]
    assert shown(zeep_msft).splitlines()[3:] == [
        "  changed  Body/GetQuote/symbol: 'ACME' -> 'MSFT'"
    ]


# -- spyne (WSDL learned from traffic) ----------------------------------------------------------


def python311() -> str:
    import sys

    if sys.version_info[:2] == (3, 11):
        return sys.executable
    return str(Path(sys.executable).parents[2] / "mitmproxy11" / "bin" / "python")


def test_soap_new_for_spyne_learned_from_the_clients_wsdl_fetch(tmp_path):
    certs = make_certs(tmp_path / "certs")
    server = Process(
        [python311(), str(SPYNE), str(certs.cert), str(certs.key)],
        tmp_path / "spyne.log",
        ready=[r"listening \d+"],
    )
    try:
        server.port = int(server.wait_log(r"listening (\d+)").group(1))
        relay, web = mitmweb(
            tmp_path,
            "--mode",
            f"reverse:https://localhost:{server.port}@{{port}}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={certs.ca}",
        )
        try:
            base = f"http://{HOST}:{relay.port}/"
            client = zeep.Client(
                base + "?wsdl", transport=Transport(session=soap_helpers.client_session())
            )
            assert client.create_service("{urn:example:greeter}Application", base).say_hello(
                name="Ada", times=1
            ) == ["Hello, Ada"]
            # spyne's WSDL gives its address as http:// (wsgiref does not know of the TLS
            # around it): the user corrects the scheme in mitmweb's editor, as here.
            flow = new_and_replay(web, "say_hello", scheme="https")
            assert flow["response"]["status_code"] == 200, response_text(web, flow)
            assert schema_valid(web, flow, "say_hello")
            assert "say_helloResponse" in response_text(web, flow)
        finally:
            relay.stop()
    finally:
        server.stop()


# -- nested types, a choice, enumerations: node-soap, replayed through a SOCKS5 hop ---------------


def test_soap_new_for_nested_types_choices_and_enumerations(tmp_path):
    served = tmp_path / "travel-served.wsdl"
    served.write_text(w.TRAVEL)
    answers = {"Book": {"bookingId": "B-1"}, "Cancel": {"refunded": 0}}
    with contextlib.ExitStack() as started:
        server = Process(
            [
                peers.need("node"),
                str(NODE / "soap_echo_peer.js"),
                str(served),
                "/travel",
                json.dumps(answers),
            ],
            tmp_path / "node-travel.log",
            ready=[r"listening \d+"],
        )
        started.callback(server.stop)
        socks = peers.start_microsocks(tmp_path)
        started.callback(socks.stop)
        server.port = int(server.wait_log(r"listening (\d+)").group(1))
        known = tmp_path / "travel.wsdl"
        known.write_text(
            w.TRAVEL.replace("http://travel.example/travel", f"http://{HOST}:{server.port}/travel")
        )
        relay, web = mitmweb(
            tmp_path,
            "--mode",
            f"reverse:http://{HOST}:{server.port}@{{port}}",
            "--set",
            f"soap_wsdl={known}",
            "--set",
            f"proxy_chain=socks5h://{HOST}:{socks.port}",
        )
        started.callback(relay.stop)
        book = new_and_replay(web, "Book")
        cancel = new_and_replay(web, "Cancel")
        assert schema_valid(web, book, "Book") and schema_valid(web, cancel, "Cancel")
        assert book["response"]["status_code"] == 200 and cancel["response"]["status_code"] == 200
        assert re.search(r"<(\w+:)?bookingId>B-1</", response_text(web, book))
        called = dict(re.findall(r"call (\w+) (.*)", server.text()))
        booked = json.loads(called["Book"])
        assert booked["flight"]["cabin"] == "economy"
        assert booked["payment"]["card"]["expires"] == "2026-01"
        assert booked["traveller"][0]["attributes"] == {"id": "0"}  # a list: maxOccurs 9
        assert booked["traveller"][0]["loyalty"] == "ACME"  # an optional part, uncommented
        assert (booked["insured"], booked["seats"], booked["notes"]) == (True, "1", "ACME")
        assert json.loads(called["Cancel"]) == {"bookingId": "ACME", "reason": "illness"}
        # The replays went out through the proxy chain, as any replay of the relay does.
        socks.wait_log(rf"connected to {HOST}:{server.port}\b")
