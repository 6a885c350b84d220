"""The SoapRefresh addon in mitmproxy: only replayed requests are refreshed, as mitmproxy's client
replay prepares them (in place, the recorded request kept in the flow's backup); the log names
parts, never secrets; the options are checked as the table says."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
import struct
import sys
import termios
import threading

import pytest
import wssec_helpers as h
from lxml import etree
from mitmproxy import exceptions
from mitmproxy.addons.clientplayback import ClientPlayback
from mitmproxy.test import taddons, tflow
from mitmrelay.soap.refresh_addon import SoapRefresh
from mitmrelay.testing import wait_for

pytest.importorskip("zeep")


def soap_flow(content: bytes):
    flow = tflow.tflow(resp=True)
    flow.request.method = "POST"
    flow.request.path = "/quotes"
    flow.request.headers["Content-Type"] = "text/xml; charset=utf-8"
    flow.request.content = content
    flow.live = False  # recorded, as a flow in mitmweb's list or a flow file
    return flow


def texts(content: bytes, local: str) -> list[str]:
    root = etree.fromstring(content)
    return [e.text or "" for e in root.iter(etree.Element) if etree.QName(e).localname == local]


@pytest.fixture
def addon(monkeypatch):
    monkeypatch.setenv("MITMRELAY_TEST_WSSE", h.PASSWORD)
    refresh = SoapRefresh()
    with taddons.context(refresh, ClientPlayback()) as tctx:
        yield refresh, tctx


def replayed(tctx, flow):
    """The flow as mitmproxy's replay.client hands it to the request hook."""
    tctx.master.addons.get("clientplayback").start_replay([flow])
    assert flow.is_replay == "request"
    return flow


def test_a_replay_leaves_refreshed_and_the_recorded_request_is_in_the_backup(addon, caplog):
    refresh, tctx = addon
    tctx.configure(refresh, soap_wsse_password="${MITMRELAY_TEST_WSSE}")
    recorded = h.zeep_request()
    flow = replayed(tctx, soap_flow(recorded))
    caplog.set_level(logging.INFO)
    asyncio.run(refresh.request(flow))
    sent = flow.request.content
    assert sent != recorded
    assert texts(sent, "Nonce") != texts(recorded, "Nonce")
    assert "refreshed wsa:MessageID, wsse:Nonce, UsernameToken Created, PasswordDigest" in (
        caplog.text
    )
    assert h.PASSWORD not in caplog.text
    for value in texts(sent, "Password") + texts(sent, "Nonce"):
        assert value not in caplog.text
    flow.revert()
    assert flow.request.content == recorded


def test_flows_that_are_not_replays_go_as_they_are(addon):
    refresh, tctx = addon
    tctx.configure(refresh, soap_wsse_password="${MITMRELAY_TEST_WSSE}")
    recorded = h.zeep_request()
    flow = soap_flow(recorded)
    asyncio.run(refresh.request(flow))
    assert flow.request.content == recorded


def test_turned_off_a_replay_is_the_recorded_bytes(addon):
    refresh, tctx = addon
    tctx.configure(refresh, soap_refresh_on_replay=False)
    recorded = h.zeep_request()
    flow = replayed(tctx, soap_flow(recorded))
    asyncio.run(refresh.request(flow))
    assert flow.request.content == recorded


def test_without_the_password_the_log_names_the_stale_token_and_the_option(addon, caplog):
    refresh, tctx = addon
    recorded = h.zeep_request()
    flow = replayed(tctx, soap_flow(recorded))
    asyncio.run(refresh.request(flow))
    assert (
        "SOAP replay of POST /quotes: left as recorded: UsernameToken PasswordDigest, Nonce and "
        "Created (set soap_wsse_password to refresh them)"
    ) in caplog.text
    assert texts(flow.request.content, "Password") == texts(recorded, "Password")


def test_an_unset_variable_at_replay_time_is_said_and_the_token_kept(addon, caplog, monkeypatch):
    refresh, tctx = addon
    tctx.configure(refresh, soap_wsse_password="${MITMRELAY_TEST_WSSE}")
    monkeypatch.delenv("MITMRELAY_TEST_WSSE")
    flow = replayed(tctx, soap_flow(h.zeep_request()))
    asyncio.run(refresh.request(flow))
    assert "soap_wsse_password: ${MITMRELAY_TEST_WSSE} is not set in the environment" in (
        caplog.text
    )


def test_a_key_without_its_certificate_is_refused(addon, tmp_path):
    pytest.importorskip("xmlsec")
    refresh, tctx = addon
    key, _ = h.signing_pair(tmp_path)
    with pytest.raises(exceptions.OptionsError, match="soap_sign_key is set but soap_sign_cert"):
        tctx.configure(refresh, soap_sign_key=str(key))


def test_a_signed_replay_is_signed_again_with_the_configured_key(addon, tmp_path, caplog):
    pytest.importorskip("xmlsec")
    from zeep.wsse.signature import verify_envelope

    refresh, tctx = addon
    key, cert = h.signing_pair(tmp_path)
    tctx.configure(
        refresh,
        soap_wsse_password="${MITMRELAY_TEST_WSSE}",
        soap_sign_key=str(key),
        soap_sign_cert=str(cert),
    )
    edited = h.zeep_request(sign=(key, cert)).replace(b">ACME<", b">MSFT<")
    flow = replayed(tctx, soap_flow(edited))
    caplog.set_level(logging.INFO)
    asyncio.run(refresh.request(flow))
    verify_envelope(etree.fromstring(flow.request.content), str(cert))
    assert "ds:Signature (rsa-sha1 over Body, Timestamp" in caplog.text


def test_a_literal_password_works_and_is_warned_about_without_being_shown(addon, caplog):
    refresh, tctx = addon
    tctx.configure(refresh, soap_wsse_password=h.PASSWORD)
    assert "soap_wsse_password holds the password itself" in caplog.text
    flow = replayed(tctx, soap_flow(h.zeep_request()))
    caplog.set_level(logging.INFO)
    asyncio.run(refresh.request(flow))
    assert "PasswordDigest" in caplog.text
    assert h.PASSWORD not in caplog.text


def test_without_xmlsec_a_signing_option_says_which_extra(addon, tmp_path, monkeypatch):
    refresh, tctx = addon
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    key.write_text("")
    cert.write_text("")
    monkeypatch.setitem(sys.modules, "xmlsec", None)  # import xmlsec raises ImportError
    with pytest.raises(exceptions.OptionsError) as refused:
        tctx.configure(refresh, soap_sign_key=str(key), soap_sign_cert=str(cert))
    assert "signing needs python-xmlsec" in str(refused.value)
    assert "pip install 'mitmrelay[sign]'" in str(refused.value)


@pytest.fixture
def signing(addon, tmp_path):
    """The addon with a key configured (its signing worker running) and an edited signed request."""
    pytest.importorskip("xmlsec")
    refresh, tctx = addon
    key, cert = h.signing_pair(tmp_path)
    tctx.configure(refresh, soap_sign_key=str(key), soap_sign_cert=str(cert))
    edited = h.zeep_request(sign=(key, cert)).replace(b">ACME<", b">MSFT<")
    return refresh, tctx, edited, cert


def signed_again(refresh, tctx, edited, cert) -> bool:
    from zeep.wsse.signature import SignatureVerificationFailed, verify_envelope

    flow = replayed(tctx, soap_flow(edited))
    asyncio.run(refresh.request(flow))
    try:
        verify_envelope(etree.fromstring(flow.request.content), str(cert))
    except SignatureVerificationFailed:
        assert flow.request.content == edited  # not signed: sent as recorded
        return False
    return True


def pending_input(pid: int) -> int:
    """Bytes written to a worker's stdin that it has not read (FIONREAD on its pipe)."""
    fd = os.open(f"/proc/{pid}/fd/0", os.O_RDONLY | os.O_NONBLOCK)
    try:
        return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0" * 4))[0]
    finally:
        os.close(fd)


def test_signing_runs_in_a_worker_process_started_with_the_key(signing):
    refresh, tctx, edited, cert = signing
    pid = refresh.signer.worker_pid
    assert pid not in (None, os.getpid())
    assert signed_again(refresh, tctx, edited, cert)
    assert refresh.signer.worker_pid == pid  # reused
    tctx.configure(refresh, soap_sign_key="", soap_sign_cert="")
    assert refresh.signer is None
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # ended with the key


def test_the_signing_worker_killed_mid_signature(signing, caplog):
    """SIGKILL while it holds the envelope: this replay goes as recorded and the log says why;
    the next one is signed by a new worker."""
    refresh, tctx, edited, cert = signing
    pid = refresh.signer.worker_pid
    os.kill(pid, signal.SIGSTOP)
    results: list[bool] = []
    replay = threading.Thread(target=lambda: results.append(signed_again(*signing)))
    replay.start()
    wait_for(lambda: pending_input(pid) > 0, what="the envelope sent to the worker")
    os.kill(pid, signal.SIGKILL)
    replay.join(10)
    assert results == [False]
    assert (
        "SOAP replay of POST /quotes sent as recorded: the signing worker process died (SIGKILL); "
        "a new one signs the next replay"
    ) in caplog.text
    assert signed_again(refresh, tctx, edited, cert)
    assert refresh.signer.worker_pid not in (None, pid)


def test_a_signing_worker_that_does_not_answer_in_time_is_killed(signing, caplog, monkeypatch):
    from mitmrelay.soap import sign

    monkeypatch.setattr(sign, "SIGN_SECONDS", 0.5)
    refresh, tctx, edited, cert = signing
    pid = refresh.signer.worker_pid
    os.kill(pid, signal.SIGSTOP)
    assert not signed_again(refresh, tctx, edited, cert)
    assert (
        "sent as recorded: the signing worker did not answer within its time bound and was killed"
    ) in caplog.text
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert signed_again(refresh, tctx, edited, cert)


def test_a_replay_waiting_on_the_signing_worker_holds_up_no_other_connection(signing, monkeypatch):
    from mitmrelay.soap import sign

    monkeypatch.setattr(sign, "SIGN_SECONDS", 0.5)
    refresh, tctx, edited, _ = signing
    os.kill(refresh.signer.worker_pid, signal.SIGSTOP)  # it answers only at the deadline: killed
    flow = replayed(tctx, soap_flow(edited))

    async def ticks_while_waiting() -> int:
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.02)
                ticks += 1

        ticker = asyncio.create_task(tick())
        await refresh.request(flow)
        ticker.cancel()
        return ticks

    # The event loop (every other connection's) ran on while the replay waited its 0.5 s.
    assert asyncio.run(ticks_while_waiting()) >= 5
