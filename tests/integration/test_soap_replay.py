"""soap_replay end to end: zeep with WS-Security (UsernameToken password digest, a fresh
Timestamp, WS-Addressing) records a session with a TLS SOAP service through the headline chain
(mitmdump reverse mode -> microsocks SOCKS5 -> TLS; the service checks every password digest),
plus node-soap as a client not written in Python, then the session is replayed with the
service and the proxy stopped — in reverse mode with the default connection_strategy and in
regular mode — to zeep and to curl, whose requests never repeat the recorded bytes."""

from __future__ import annotations

import base64
import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import peers
import pytest
import requests
import soap_helpers as h
import soap_service
import zeep
from lxml import etree
from mitmproxy import http
from mitmproxy import io as flow_io
from mitmrelay.testing import HOST, Certs, Mitm, start_mitmdump
from zeep.transports import Transport
from zeep.wsa import WsAddressingPlugin
from zeep.wsse import utils as wsse_utils
from zeep.wsse.username import UsernameToken

PASSWORD = "digest-Pa55-for-replay"
NS = soap_service.NS
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"


class DigestWithTimestamp(UsernameToken):
    """A UsernameToken with a password digest (fresh nonce and Created) and a wsu:Timestamp made
    anew for every message, as WS-Security stacks send them."""

    def __init__(self, user: str) -> None:
        super().__init__(user, PASSWORD, use_digest=True)

    def apply(self, envelope, headers):
        now = datetime.datetime.now(datetime.UTC)
        stamp = wsse_utils.WSU.Timestamp(
            wsse_utils.WSU.Created(wsse_utils.get_timestamp(now)),
            wsse_utils.WSU.Expires(wsse_utils.get_timestamp(now + datetime.timedelta(minutes=5))),
        )
        stamp.set(wsse_utils.ID_ATTR, f"TS-{uuid.uuid4()}")
        self.timestamp_token = stamp
        return super().apply(envelope, headers)


def security_fault(body: bytes) -> str | None:
    """Why the service refuses a request's WS-Security header (None: accepted): it checks, as a
    real service does, the UsernameToken digest (WSS UsernameToken Profile 1.0 §3.1:
    Base64(SHA-1(nonce + created + password))) and that a wsu:Timestamp is present."""
    root = etree.fromstring(body, etree.XMLParser(resolve_entities=False, no_network=True))
    ns = {"wsse": h.WSSE, "wsu": h.WSU}
    token = root.find(".//wsse:Security/wsse:UsernameToken", ns)
    if token is None or root.find(".//wsse:Security/wsu:Timestamp", ns) is None:
        return "no UsernameToken and Timestamp"
    nonce = base64.b64decode(token.findtext("wsse:Nonce", "", ns))
    created = token.findtext("wsu:Created", "", ns).encode()
    expected = base64.b64encode(hashlib.sha1(nonce + created + PASSWORD.encode()).digest())
    if token.findtext("wsse:Password", "", ns).strip().encode() != expected:
        return "wrong password digest"
    return None


class TlsQuotes(peers.Threaded):
    """The quotes service of soap_service over TLS, with its WSDL at ?wsdl, and one more symbol:
    COUNTER, priced 1, 2, 3... on successive calls (to see recorded answers replayed in order)."""

    def __init__(self, certs: Certs) -> None:
        logic = soap_service.SoapService()
        self.requests: list[str] = []
        self.counter = 0
        quotes = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _send(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                quotes.requests.append(f"GET {self.path}")
                if self.path.endswith("?wsdl"):
                    self._send(200, "text/xml; charset=utf-8", soap_service.WSDL.encode())
                else:
                    self._send(404, "text/plain", b"not here")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                quotes.requests.append(f"POST {self.path}")
                refused = security_fault(body)
                if refused:
                    quotes.requests[-1] += f" refused: {refused}"
                    self._send(500, "text/xml; charset=utf-8", refused.encode())
                    return
                if b">COUNTER<" in body:
                    quotes.counter += 1
                    price = (
                        f'<e:Envelope xmlns:e="{SOAP11}"><e:Body><q:GetQuoteResponse '
                        f'xmlns:q="{NS}"><q:price>{quotes.counter}</q:price></q:GetQuoteResponse>'
                        "</e:Body></e:Envelope>"
                    )
                    self._send(200, "text/xml; charset=utf-8", price.encode())
                    return
                self._send(*logic.answer(body))

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.socket = certs.server_context().wrap_socket(
            self.server.socket, server_side=True
        )
        self.port = self.server.server_address[1]
        self._serve()


def _services(wsdl_url: str, address: str, session: requests.Session) -> tuple[object, object]:
    """(SOAP 1.1 with WS-Addressing, SOAP 1.2) services of the quotes WSDL, both with a digest."""
    client = zeep.Client(
        wsdl_url,
        transport=Transport(session=session),
        wsse=DigestWithTimestamp("alice"),
        plugins=[WsAddressingPlugin()],
    )
    return (
        client.create_service(f"{{{NS}}}Quotes11", address),
        client.create_service(f"{{{NS}}}Quotes12", address),
    )


def _fault(call) -> str:
    with pytest.raises(zeep.exceptions.Fault) as caught:
        call()
    return caught.value.message


def _session_calls(soap11, soap12) -> dict[str, object]:
    """The recorded session: every operation, a fault, and COUNTER three times."""
    return {
        "quote11": soap11.GetQuote(symbol="ACME"),
        "fault11": _fault(lambda: soap11.GetQuote(symbol="FAIL")),
        "logo": soap11.GetLogo(symbol="ACME"),
        "quote12": soap12.GetQuote(symbol="ACME"),
        "counter": [soap11.GetQuote(symbol="COUNTER") for _ in range(3)],
    }


def _connected(log: str) -> bool:
    """Whether mitmdump's log shows a server connection made or attempted."""
    return bool(re.search(r"server connect \S+|error establishing server connection", log))


NODE_CLIENT = Path(__file__).parents[1] / "node" / "soap_client.js"
NODE_CALLS = [["GetQuote", {"symbol": "ACME"}], ["GetQuote", {"symbol": "FAIL"}]]


def _node(base: str, calls: list) -> list[dict]:
    """node-soap (npm `soap`, installed into tests/node by scripts/test) making `calls` with a
    UsernameToken digest, nonce and Timestamp; its answers as {"result"} or {"fault"}."""
    if not (NODE_CLIENT.parent / "node_modules" / "soap").is_dir():
        raise RuntimeError("npm soap is not installed in tests/node: run scripts/test, which does")
    # axios under node-soap would take a proxy from the environment.
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    args = [peers.need("node"), str(NODE_CLIENT), f"{base}?wsdl", base, "carol", PASSWORD]
    run = subprocess.run(
        [*args, json.dumps(calls)], capture_output=True, text=True, timeout=60, env=env
    )
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout)


def _read(path: Path) -> list[http.HTTPFlow]:
    with path.open("rb") as f:
        return [fl for fl in flow_io.FlowReader(f).stream() if isinstance(fl, http.HTTPFlow)]


@dataclass
class Recording:
    tmp: Path
    flows: Path
    results: dict[str, object]
    node_results: list[dict]
    service_requests: list[str]
    chain: str  # the proxy_chain value, pointing at the stopped microsocks
    server: str  # the reverse-mode destination, stopped


@pytest.fixture(scope="module")
def recording(tmp_path_factory, certs: Certs) -> Iterator[Recording]:
    tmp = tmp_path_factory.mktemp("soap-replay")
    flows = tmp / "quotes.flows"
    service = TlsQuotes(certs)
    socks = peers.start_microsocks(tmp)
    chain = f"socks5h://{HOST}:{socks.port}"
    server = f"https://localhost:{service.port}"
    relay = None
    try:
        relay = start_mitmdump(
            tmp,
            "--mode",
            f"reverse:{server}@{{port}}",
            "--set",
            f"proxy_chain={chain}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={certs.ca}",
            "-w",
            str(flows),
        )
        base = f"http://{HOST}:{relay.port}/quotes"
        soap11, soap12 = _services(f"{base}?wsdl", base, h.client_session())
        results = _session_calls(soap11, soap12)
        node_results = _node(base, NODE_CALLS)
        relay.stop()  # flushes the flow file
        assert "socks5h://" in relay.text()  # the chain carried the connection
    finally:
        if relay is not None:
            relay.stop()
        socks.stop()
        service.stop()
    yield Recording(tmp, flows, results, node_results, list(service.requests), chain, server)


def test_the_recording_went_through_the_chain_to_the_service(recording):
    assert recording.results == {
        "quote11": Decimal("42.5"),
        "fault11": "Unknown symbol FAIL",
        "logo": soap_service.LOGO,
        "quote12": Decimal("42.5"),
        "counter": [Decimal(1), Decimal(2), Decimal(3)],
    }
    assert recording.node_results == [
        {"result": {"price": 42.5}},
        {"fault": "Unknown symbol FAIL", "status": 500},
    ]
    wsdl, post = "GET /quotes?wsdl", "POST /quotes"
    assert recording.service_requests == [wsdl] + [post] * 7 + [wsdl] + [post] * 2
    assert len(_read(recording.flows)) == 11


@dataclass
class Replay:
    relay: Mitm
    flows: Path  # what the replaying mitmdump itself saved
    base: str  # the URL zeep calls


def _replay(recording: Recording, name: str, *args: str, regular: bool = False) -> Replay:
    saved = recording.tmp / f"{name}.flows"
    mode = [] if regular else ["--mode", f"reverse:{recording.server}@{{port}}"]
    relay = start_mitmdump(
        recording.tmp,
        *mode,
        "--set",
        f"proxy_chain={recording.chain}",
        "--set",
        f"soap_replay={recording.flows}",
        "--flow-detail",
        "3",
        "-w",
        str(saved),
        *args,
    )
    base = "http://quotes.invalid/quotes" if regular else f"http://{HOST}:{relay.port}/quotes"
    return Replay(relay, saved, base)


@pytest.fixture(scope="module")
def reverse(recording) -> Iterator[Replay]:
    """Replay in the headline reverse mode, connection_strategy left at its default."""
    replay = _replay(recording, "reverse")
    yield replay
    replay.relay.stop()


def test_zeep_gets_every_recorded_answer_with_server_and_proxy_down(recording, reverse):
    soap11, soap12 = _services(f"{reverse.base}?wsdl", reverse.base, h.client_session())
    results = _session_calls(soap11, soap12)
    assert results == recording.results
    # Past the recorded answers, the last one repeats.
    assert soap11.GetQuote(symbol="COUNTER") == Decimal(3)
    log = reverse.relay.text()
    assert "connection_strategy=lazy: soap_replay answers requests" in log
    assert not _connected(log)
    assert re.search(r"GET /quotes\?wsdl answered from quotes\.flows #1 \(answer 1 of 2\)", log)
    assert "POST /quotes GetQuote (SOAP 1.1) answered from quotes.flows #8 (answer 3 of 3)" in log
    assert "(answer 3 of 3, repeated)" in log


def test_an_unrecorded_call_gets_a_fault_naming_the_nearest(reverse):
    soap11, soap12 = _services(f"{reverse.base}?wsdl", reverse.base, h.client_session())
    message = _fault(lambda: soap11.GetQuote(symbol="NOPE"))
    assert message == (
        "mitmrelay soap_replay: no recorded exchange matched POST /quotes GetQuote (SOAP 1.1); "
        "nearest: quotes.flows #2 POST /quotes GetQuote (SOAP 1.1), "
        "first difference at Body/GetQuote/symbol: 'NOPE' here, 'ACME' recorded"
    )
    message12 = _fault(lambda: soap12.GetLogo(symbol="NOPE"))
    assert message12.startswith("mitmrelay soap_replay: no recorded exchange matched POST /quotes")
    assert "nearest: quotes.flows #4 POST /quotes GetLogo (SOAP 1.1), first difference: " in (
        message12
    )
    assert "SOAP 1.2 here, SOAP 1.1 recorded" in message12
    # One log line (the others are mitmdump showing the fault and its SOAP label).
    line = r"^\[[\d:.]+\] mitmrelay soap_replay: no recorded exchange matched POST /quotes GetQuote"
    assert len(re.findall(line, reverse.relay.text(), re.MULTILINE)) == 1


def test_node_soap_gets_its_recorded_answers_and_the_no_match_fault(recording, reverse):
    """A client not written in Python, with its own WS-Security header, nonce and timestamp."""
    nope = ["GetQuote", {"symbol": "NOPE"}]
    answers = _node(reverse.base, [*NODE_CALLS, nope])
    assert answers[:2] == recording.node_results
    assert answers[2]["status"] == 500
    assert answers[2]["fault"] == (
        "mitmrelay soap_replay: no recorded exchange matched POST /quotes GetQuote (SOAP 1.1); "
        "nearest: quotes.flows #10 POST /quotes GetQuote (SOAP 1.1), "
        "first difference at Body/GetQuote/symbol: 'NOPE' here, 'ACME' recorded"
    )


def test_secrets_stay_masked_in_the_replay_output(recording, reverse):
    soap11, _ = _services(f"{reverse.base}?wsdl", reverse.base, h.client_session())
    soap11.GetQuote(symbol="ACME")
    log = reverse.relay.text()
    wire = b"".join(f.request.content or b"" for f in _read(recording.flows)).decode()
    secrets = set(re.findall(r"<(?:\w+:)?(?:Password|Nonce)\b[^>]*>([^<]+)<", wire))
    assert len(secrets) >= 14 and "[masked]" in log
    assert not [s for s in secrets | {PASSWORD} if s in log]


def test_replayed_flows_are_labelled_and_requests_never_repeated_bytes(recording, reverse):
    soap11, _ = _services(f"{reverse.base}?wsdl", reverse.base, h.client_session())
    assert soap11.GetQuote(symbol="ACME") == Decimal("42.5")
    _fault(lambda: soap11.GetQuote(symbol="NOPE"))  # one unmatched here too: the test stands alone
    assert "[replay]" in reverse.relay.text()
    reverse.relay.stop()  # flushes its flow file
    saved = _read(reverse.flows)
    # No flow of this run came from the server: every one is marked as a replay.
    assert saved and all(f.is_replay == "response" for f in saved)
    answered = [f for f in saved if "replayed from quotes.flows #" in f.comment]
    unmatched = [f for f in saved if "soap_replay: no recorded exchange matched" in f.comment]
    assert answered and unmatched and len(answered) + len(unmatched) == len(saved)
    assert "replayed from quotes.flows #2 (answer 1 of 1" in answered[-1].comment
    recorded = {f.request.content for f in _read(recording.flows)}
    posts = [f.request.content for f in answered if f.request.method == "POST"]
    assert posts and not recorded & set(posts)


def _rewritten(envelope: str) -> str:
    """A recorded zeep envelope as another client would send it: other prefixes, whitespace
    between elements, no WS-Security header, a new MessageID."""
    body = re.sub(r"<wsse:Security.*</wsse:Security>", "", envelope, flags=re.DOTALL)
    body = re.sub(r"urn:uuid:[-0-9a-f]+", f"urn:uuid:{uuid.uuid4()}", body)
    body = body.replace("soap-env:", "S:").replace("xmlns:soap-env=", "xmlns:S=")
    body = body.replace("<ns0:symbol>", "\n    <ns0:symbol>").replace("ns0", "q")
    assert "Security" not in body and "\n    <q:symbol>ACME" in body
    return body


CURL_HEADERS = ("-H", "Content-Type: text/xml; charset=utf-8")


def test_curl_posting_a_rewritten_envelope_is_answered(recording):
    """A client not written in Python, whose envelope has other prefixes, other whitespace, no
    WS-Security header and another MessageID: answered; another symbol: the no-match fault."""
    replay = _replay(recording, "curl")
    try:
        body = _rewritten(_read(recording.flows)[1].request.content.decode())
        url = f"http://{HOST}:{replay.relay.port}/quotes"
        status, answer = peers.curl(*CURL_HEADERS, "--data-binary", body, url)
        assert status == 200 and "<q:price>42.5</q:price>" in answer
        changed = body.replace("ACME", "ACNE")
        status, answer = peers.curl(*CURL_HEADERS, "--data-binary", changed, url)
        assert status == 500
        assert f'<soap:Envelope xmlns:soap="{SOAP11}">' in answer
        assert "<faultcode>soap:Server</faultcode>" in answer
        assert "nearest: quotes.flows #2 POST /quotes GetQuote (SOAP 1.1)" in answer
        assert "first difference at Body/GetQuote/symbol: 'ACNE' here, 'ACME' recorded" in answer
        status, answer = peers.curl(url + "?xsd=1")
        assert status == 404 and "no recorded exchange matched GET /quotes?xsd=1" in answer
        assert "nearest: quotes.flows #1 GET /quotes?wsdl, first difference: query" in answer
    finally:
        replay.relay.stop()


def test_regular_mode_answers_for_a_host_that_does_not_exist(recording):
    replay = _replay(recording, "regular", regular=True)
    try:
        session = h.client_session()
        session.proxies = {"http": f"http://{HOST}:{replay.relay.port}"}
        soap11, soap12 = _services(f"{replay.base}?wsdl", replay.base, session)
        assert _session_calls(soap11, soap12) == recording.results
        # HTTPS through the proxy (CONNECT, TLS with mitmproxy's CA), the host unresolvable.
        ca = recording.tmp / "mitmproxy-conf" / "mitmproxy-ca-cert.pem"
        body = _rewritten(_read(recording.flows)[1].request.content.decode())
        proxy = f"http://{HOST}:{replay.relay.port}"
        status, answer = peers.curl(
            "-x", proxy, "--cacert", str(ca), *CURL_HEADERS, "--data-binary", body,
            "https://quotes.invalid/quotes",
        )  # fmt: skip
        assert status == 200 and "<q:price>42.5</q:price>" in answer
        assert not _connected(replay.relay.text())
    finally:
        replay.relay.stop()


def test_unmatched_forward_sends_to_the_server_through_the_chain(recording):
    replay = _replay(recording, "forward", "--set", "soap_replay_unmatched=forward")
    try:
        soap11, _ = _services(f"{replay.base}?wsdl", replay.base, h.client_session())
        assert soap11.GetQuote(symbol="ACME") == Decimal("42.5")
        body = _rewritten(_read(recording.flows)[1].request.content.decode())
        url = f"http://{HOST}:{replay.relay.port}/quotes"
        changed = body.replace("ACME", "NOPE")
        status, answer = peers.curl(*CURL_HEADERS, "--data-binary", changed, url)
        # The chain tried the (stopped) proxy: the request was forwarded, not answered.
        assert status == 502
        assert f"proxy hop 1/1 {recording.chain} is not reachable" in answer
        assert "forwarded to the server" in replay.relay.text()
    finally:
        replay.relay.stop()


README = Path(__file__).parents[2] / "docs" / "soap.md"


def test_the_readme_fixture_runs_against_a_recorded_session(recording, tmp_path):
    """The README's pytest example, as a user would paste it: only FLOWS edited."""
    section = README.read_text().split("## Mocking a SOAP service from recorded flows", 1)[1]
    code = section.split("```python\n", 1)[1].split("```", 1)[0]
    code, edited = re.subn(
        r"^FLOWS = .*$", f"FLOWS = Path({str(recording.flows)!r})", code, flags=re.M
    )
    assert edited == 1
    (tmp_path / "test_partner.py").write_text(code)
    env = {**os.environ, "PATH": f"{peers.BIN}{os.pathsep}{os.environ['PATH']}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_partner.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_mitmweb_shows_replays_as_such_with_secrets_masked(recording):
    """What mitmweb's API hands the browser: the replay flag (its replay icon), the comment
    column, and the SOAP view of the client's WS-Security request, masked."""
    server_port = int(recording.server.rpartition(":")[2])  # stopped: nothing may connect to it
    web = start_mitmdump(
        recording.tmp,
        "--mode",
        f"reverse:http://{HOST}:{server_port}@{{port}}",
        "--set",
        f"soap_replay={recording.flows}",
        scripts=[peers.ADDONS / "soap.py", peers.ADDONS / "soap_replay.py"],
        tool="mitmweb",
    )
    token = web.web_token
    try:
        base = f"http://{HOST}:{web.port}/quotes"
        soap11, _ = _services(f"{base}?wsdl", base, h.client_session())
        assert soap11.GetQuote(symbol="ACME") == Decimal("42.5")
        api = requests.Session()
        api.trust_env = False

        def get(path: str):
            response = api.get(f"http://{HOST}:{web.web_port}{path}?token={token}", timeout=10)
            response.raise_for_status()
            return response.json()

        flows = get("/flows")
        assert [(f["request"]["method"], f["is_replay"]) for f in flows] == [
            ("GET", "response"),
            ("POST", "response"),
        ]
        assert flows[1]["comment"] == "replayed from quotes.flows #2 (answer 1 of 1)\nSOAP GetQuote"
        assert "comment" in get("/options.json")["web_columns"]["value"]
        content = get(f"/flows/{flows[1]['id']}/request/content/soap.json")
        text = content.get("text") or "\n".join(
            "".join(chunk for _, chunk in line) for line in content["lines"]
        )
        assert "Security:      UsernameToken user 'alice' PasswordDigest with Nonce" in text
        assert "[masked]" in text and PASSWORD not in text
        assert not re.search(r"<wsse:Nonce[^>]*>[A-Za-z0-9+/=]{8,}<", text)
    finally:
        web.stop()
