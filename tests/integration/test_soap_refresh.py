"""Fresh WS-Security on replay, against a service whose checks are Apache WSS4J's (Debian's
libwss4j-java 1.6: UsernameToken PasswordDigest, Timestamp expiry, a nonce replay cache, XML
signatures), behind the relay and a SOCKS5 proxy (microsocks):

- a zeep call with a UsernameToken digest and a 2-second Timestamp, recorded in mitmweb, is
  refused when replayed as recorded once the Timestamp has expired ("A replay attack has been
  detected"), and accepted when replayed with the refresh (mitmweb's Replay: `replay.client`);
  the recorded request stays in the flow's backup (mitmweb's Revert); the log names parts, never
  the password, digest or nonce;
- the same with mitmdump replaying a flow file (`client_replay`), and with mitmproxy's console
  (in tmux) replaying a flow file's request with `r`;
- a signed zeep call (Body and Timestamp), its Body edited in mitmweb: refused without a key, the
  log saying why; accepted once soap_sign_key and soap_sign_cert are set.
"""

from __future__ import annotations

import datetime
import os
import re
import shlex
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import java_peers
import peers
import pytest
import soap_service
import wssec_helpers as h
from mitmrelay.testing import HOST, free_port, start_mitmdump, wait_for
from web_helpers import Web

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after importorskip)
from zeep.wsa import WsAddressingPlugin  # noqa: E402
from zeep.wsse.signature import Signature  # noqa: E402
from zeep.wsse.username import UsernameToken  # noqa: E402

ENV = "MITMRELAY_TEST_WSSE_PASS"
# seconds: the Timestamp's, short so that the test waits little for its expiry, long enough for
# the first delivery on a busy machine (WSS4J's first message warms up the JVM)
LIFETIME = 4
BINDING = "{urn:example:quotes}Quotes11"


class SignOnly(Signature):
    """Signs requests; the service does not sign its answers."""

    def verify(self, envelope):
        return envelope


class Both:
    """zeep's WS-Security plugins applied in turn (zeep applies a list but cannot verify one)."""

    def __init__(self, *plugins) -> None:
        self.plugins = plugins

    def apply(self, envelope, headers):
        for plugin in self.plugins:
            envelope, headers = plugin.apply(envelope, headers)
        return envelope, headers

    def verify(self, envelope):
        return envelope


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
    reason = java_peers.missing()
    if reason:
        raise RuntimeError(reason)
    return java_peers.compile_service(tmp_path_factory.mktemp("java"))


def call(relay_port: int, wsdl: Path, *extra) -> tuple[Decimal, datetime.datetime]:
    """A zeep GetQuote through the relay with a UsernameToken digest and a Timestamp of
    LIFETIME seconds (and the `extra` plugins): its answer and when the Timestamp expires."""
    client = zeep.Client(str(wsdl), transport=Transport(timeout=20), plugins=[WsAddressingPlugin()])
    service = client.create_service(BINDING, f"http://{HOST}:{relay_port}/q")
    # the Timestamp's lifetime starts once the WSDL is read: it is the delivery's to spend
    now = datetime.datetime.now(datetime.UTC)
    token = UsernameToken(
        h.USER, h.PASSWORD, use_digest=True, timestamp_token=h.timestamp_token(LIFETIME, now)
    )
    client.wsse = Both(token, *extra)
    expires = now.replace(microsecond=0) + datetime.timedelta(seconds=LIFETIME)
    return service.GetQuote(symbol="ACME"), expires


def until_expired(expires: datetime.datetime) -> None:
    """Wait out the Timestamp's lifetime (WSS4J compares Expires with its clock in seconds)."""
    left = (expires - datetime.datetime.now(datetime.UTC)).total_seconds() + 1.1
    time.sleep(max(0.0, left))


def replay(web: Web, flow_id: str) -> dict:
    """mitmweb's Replay button (it runs replay.client); the flow once answered anew. Right after
    a replay, mitmproxy may still hold the flow as in flight and refuses another ("Can't replay
    live flow."): then the button is pressed again."""

    def flow() -> dict:
        return next(f for f in web.get("/flows") if f["id"] == flow_id)

    def answer_time(found: dict) -> float | None:
        return (found.get("response") or {}).get("timestamp_start")

    before = answer_time(flow())
    refusals = web.log().count("Can't replay live flow")
    web.send("POST", f"/flows/{flow_id}/replay", {})

    def answered():
        nonlocal refusals
        found = flow()
        if web.log().count("Can't replay live flow") > refusals:
            refusals += 1
            web.send("POST", f"/flows/{flow_id}/replay", {})
            return None
        new = found.get("error") or answer_time(found) not in (None, before)
        return found if new else None

    return wait_for(answered, 20, f"the replay of flow {flow_id} answered")


def content(web: Web, flow_id: str) -> bytes:
    return web.opener.open(f"{web.base}/flows/{flow_id}/request/content.data").read()


def soap_post(web: Web) -> str:
    [flow] = [f for f in web.get("/flows") if f["request"]["method"] == "POST"]
    return flow["id"]


def secrets_of(request: bytes) -> list[str]:
    """The digest and nonce values of a request."""
    found = re.findall(rb"<wsse:(?:Password|Nonce)[^>]*>([^<]+)<", request)
    assert len(found) == 2, request
    return [value.decode() for value in found]


@pytest.fixture(scope="module")
def rig(tmp_path_factory, classes):
    """The WSS4J service (and a second one that requires a signature over the Body, trusting
    the signer's certificate), microsocks, and mitmweb in reverse mode through microsocks."""
    tmp = tmp_path_factory.mktemp("refresh")
    wsdl = tmp / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL)
    key, cert = h.signing_pair(tmp)
    started = []
    try:
        service = java_peers.WssService(classes, tmp / "wss.log", h.USER, h.PASSWORD)
        started.append(service)
        signed = java_peers.WssService(classes, tmp / "wss-signed.log", h.USER, h.PASSWORD, cert)
        started.append(signed)
        socks = peers.start_microsocks(tmp)
        started.append(socks)
        yield tmp, wsdl, (key, cert), service, signed, socks
    finally:
        for process in reversed(started):
            process.stop()


def mitmweb(tmp: Path, service_port: int, socks_port: int, *args: str):
    relay = start_mitmdump(
        tmp,
        "--mode",
        f"reverse:http://{HOST}:{service_port}@{{port}}",
        "--set",
        f"proxy_chain=socks5://{HOST}:{socks_port}",
        "--set",
        f"soap_wsse_password=${{{ENV}}}",
        *args,
        tool="mitmweb",
        env={ENV: h.PASSWORD},
    )
    return relay, Web(relay.web_port, relay.web_token)


def test_an_expired_replay_is_refused_and_accepted_refreshed(rig):
    tmp, wsdl, _, service, _, socks = rig
    through = f"connected to {HOST}:{service.port}"
    carried = socks.text().count(through)
    relay, web = mitmweb(tmp, service.port, socks.port)
    try:
        price, expires = call(relay.port, wsdl)
        assert price == Decimal("42.5")
        flow_id = soap_post(web)
        recorded = content(web, flow_id)
        until_expired(expires)

        web.send("PUT", "/options", {"soap_refresh_on_replay": False})
        assert replay(web, flow_id)["response"]["status_code"] == 500
        assert content(web, flow_id) == recorded

        web.send("PUT", "/options", {"soap_refresh_on_replay": True})
        assert replay(web, flow_id)["response"]["status_code"] == 200, service.verdicts()
        sent = content(web, flow_id)

        web.send("PUT", "/options", {"soap_wsse_password": ""})
        assert replay(web, flow_id)["response"]["status_code"] == 500
        log = web.log()
        web.send("POST", f"/flows/{flow_id}/revert", {})
        assert content(web, flow_id) == recorded
    finally:
        relay.stop()
    verdicts = service.verdicts()
    assert verdicts[0] == "accepted ACME"
    assert "A replay attack has been detected" in verdicts[1]  # the recorded nonce, seen before
    assert verdicts[2] == "accepted ACME"
    assert "A replay attack has been detected" in verdicts[3]  # no password: the token as it was
    assert len(verdicts) == 4
    assert (
        "SOAP replay of POST /q: refreshed wsa:MessageID, wsse:Nonce, UsernameToken Created, "
        "PasswordDigest, wsu:Timestamp"
    ) in log
    assert (
        "SOAP replay of POST /q: left as recorded: UsernameToken PasswordDigest, Nonce and "
        "Created (set soap_wsse_password to refresh them)"
    ) in log
    everything = log + relay.text()
    assert h.PASSWORD not in everything
    for value in secrets_of(recorded) + secrets_of(sent):
        assert value not in everything
    # The call and each replay went through the SOCKS5 proxy (mitmproxy connects anew to replay).
    assert socks.text().count(through) - carried == 4


def test_the_service_refuses_an_expired_timestamp_it_has_not_seen(rig, tmp_path):
    """The service enforces expiry by itself (a request that is not a replay goes as sent)."""
    _, _, _, service, _, socks = rig
    relay = start_mitmdump(
        tmp_path,
        "--mode",
        f"reverse:http://{HOST}:{service.port}@{{port}}",
        "--set",
        f"proxy_chain=socks5://{HOST}:{socks.port}",
    )
    try:
        stale = h.zeep_request(
            lifetime=1, now=datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=5)
        )
        status, body = peers.curl(
            "-H", "Content-Type: text/xml", "--data-binary", stale.decode(),
            f"http://{HOST}:{relay.port}/q",
        )  # fmt: skip
    finally:
        relay.stop()
    assert status == 500 and "The message has expired" in body
    assert service.verdicts()[-1].startswith("refused")
    assert "The message has expired" in service.verdicts()[-1]


def test_mitmdump_replays_a_flow_file_refreshed(rig, tmp_path):
    _, wsdl, _, service, _, socks = rig
    chain = ["--set", f"proxy_chain=socks5://{HOST}:{socks.port}"]
    mode = ["--mode", f"reverse:http://{HOST}:{service.port}@{{port}}"]
    flows = tmp_path / "recorded.flows"
    (tmp_path / "rec").mkdir()
    (tmp_path / "play").mkdir()
    recorder = start_mitmdump(tmp_path / "rec", *mode, *chain, "-w", str(flows))
    try:
        _, expires = call(recorder.port, wsdl)
    finally:
        recorder.stop()
    until_expired(expires)
    recorded = flows.read_bytes()
    before = len(service.verdicts())
    replayer = start_mitmdump(
        tmp_path / "play",
        *mode,
        *chain,
        "--set",
        f"client_replay={flows}",
        "--set",
        f"soap_wsse_password=${{{ENV}}}",
        env={ENV: h.PASSWORD},
    )
    try:
        wait_for(lambda: len(service.verdicts()) > before, 20, "the replayed request answered")
        replayer.wait_log(r"SOAP replay of POST /q: refreshed .*PasswordDigest", 10)
    finally:
        replayer.stop()
    assert service.verdicts()[before:] == ["accepted ACME"]
    assert flows.read_bytes() == recorded  # the replay refreshed a copy in memory, not the file


def test_the_console_replays_refreshed(rig, tmp_path):
    """mitmproxy's console, in tmux: the flow file's request focused, `r` (replay.client)."""
    _, wsdl, _, service, _, socks = rig
    chain = ["--set", f"proxy_chain=socks5://{HOST}:{socks.port}"]
    mode = ["--mode", f"reverse:http://{HOST}:{service.port}@{{port}}"]
    flows = tmp_path / "recorded.flows"
    recorder = start_mitmdump(tmp_path, *mode, *chain, "-w", str(flows))
    try:
        _, expires = call(recorder.port, wsdl)
    finally:
        recorder.stop()
    until_expired(expires)
    before = len(service.verdicts())
    socket = tmp_path / "tmux.sock"
    tmux = [peers.need("tmux"), "-S", str(socket)]
    console = [
        str(Path(sys.executable).with_name("mitmproxy")),
        "-s", str(peers.ADDONS / "relay.py"),
        "--listen-host", HOST, "--listen-port", str(free_port()),
        *[a.replace("@{port}", f"@{free_port()}") for a in mode], *chain,
        "--set", f"confdir={tmp_path / 'conf'}", "--set", f"soap_wsse_password=${{{ENV}}}",
        "--set", "console_eventlog_verbosity=info", "-r", str(flows),
    ]  # fmt: skip
    env = {**os.environ, ENV: h.PASSWORD, "TERM": "xterm-256color"}
    subprocess.run(
        [*tmux, "new-session", "-d", "-x", "200", "-y", "50", shlex.join(console)],
        env=env,
        check=True,
        timeout=20,
    )
    try:

        def screen() -> str:
            return subprocess.run(
                [*tmux, "capture-pane", "-p"], capture_output=True, text=True, check=False
            ).stdout

        wait_for(lambda: "POST" in screen() and "/q" in screen(), 30, "the flow list")
        subprocess.run([*tmux, "send-keys", "r"], check=True, timeout=10)
        wait_for(lambda: len(service.verdicts()) > before, 20, "the replayed request answered")
        subprocess.run([*tmux, "send-keys", "E"], check=True, timeout=10)  # the event log
        shown = wait_for(lambda: "SOAP replay of POST /q" in screen() and screen(), 10, "log")
    finally:
        subprocess.run([*tmux, "kill-server"], capture_output=True, check=False, timeout=20)
    assert service.verdicts()[before:] == ["accepted ACME"]
    assert "SOAP replay of POST /q: refreshed wsa:MessageID, wsse:Nonce" in shown
    assert h.PASSWORD not in shown


def test_an_edited_signed_request_is_signed_again_with_the_key(rig):
    tmp, wsdl, (key, cert), _, signed, socks = rig
    relay, web = mitmweb(tmp, signed.port, socks.port)
    try:
        price, expires = call(relay.port, wsdl, SignOnly(str(key), str(cert)))
        assert price == Decimal("42.5")
        flow_id = soap_post(web)
        edited = content(web, flow_id).replace(b">ACME<", b">MSFT<")
        web.send("PUT", f"/flows/{flow_id}", {"request": {"content": edited.decode()}})
        until_expired(expires)

        assert replay(web, flow_id)["response"]["status_code"] == 500
        log = web.log()
        web.send("PUT", "/options", {"soap_sign_key": str(key), "soap_sign_cert": str(cert)})
        assert replay(web, flow_id)["response"]["status_code"] == 200
        signed_log = web.log()
    finally:
        relay.stop()
    verdicts = signed.verdicts()
    assert verdicts[0] == "accepted ACME"
    assert verdicts[1].startswith("refused")
    assert verdicts[2:] == ["accepted MSFT"]
    assert (
        "left as recorded: ds:Signature (kept as recorded; an edited signed part fails the "
        "service's check: set soap_sign_key and soap_sign_cert to sign again)"
    ) in log
    assert "left as recorded: wsu:Timestamp (signed: set soap_sign_key and soap_sign_cert" in log
    assert re.search(r"refreshed .*ds:Signature \(rsa-sha1 over Body, Timestamp\)", signed_log)


def test_a_soap_new_request_is_accepted_with_the_token_the_replay_makes(rig):
    """soap.new with soap_wsse_password set writes a UsernameToken and a Timestamp; once the user
    gives the Username, the replay makes the digest, nonce and times, and WSS4J accepts it."""
    tmp, wsdl, _, service, _, socks = rig
    here = tmp / "quotes-at-the-service.wsdl"
    here.write_text(
        wsdl.read_text().replace("http://127.0.0.1:9/", f"http://{HOST}:{service.port}/q")
    )
    relay, web = mitmweb(tmp, service.port, socks.port, "--set", f"soap_wsdl={here}")
    try:
        made = web.send("POST", "/commands/soap.new", {"arguments": ["GetQuote", "Quotes11"]})
        assert "with a WS-Security UsernameToken" in made["value"], made
        flow_id = re.match(r"soap.new: flow (\S+):", made["value"]).group(1)
        body = content(web, flow_id).decode()
        body = body.replace(">?</wsse:Username>", f">{h.USER}</wsse:Username>")
        body = body.replace(">?<", ">ACME<")
        web.send("PUT", f"/flows/{flow_id}", {"request": {"content": body}})
        flow = replay(web, flow_id)
        assert flow["response"]["status_code"] == 200, service.verdicts()
        log = web.log()
    finally:
        relay.stop()
    assert service.verdicts()[-1] == "accepted ACME"
    assert (
        "SOAP replay of POST /q: refreshed wsu:Timestamp, wsse:Nonce, UsernameToken Created, "
        "PasswordDigest"
    ) in log
    assert h.PASSWORD not in log + relay.text()
