"""The SoapRefresh addon in mitmproxy: only replayed requests are refreshed, as mitmproxy's client
replay prepares them (in place, the recorded request kept in the flow's backup); the log names
parts, never secrets; the options are checked as the table says."""

from __future__ import annotations

import logging
import sys

import pytest
import wssec_helpers as h
from lxml import etree
from mitmproxy import exceptions
from mitmproxy.addons.clientplayback import ClientPlayback
from mitmproxy.test import taddons, tflow
from mitmrelay.soap.refresh_addon import SoapRefresh

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
    refresh.request(flow)
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
    refresh.request(flow)
    assert flow.request.content == recorded


def test_turned_off_a_replay_is_the_recorded_bytes(addon):
    refresh, tctx = addon
    tctx.configure(refresh, soap_refresh_on_replay=False)
    recorded = h.zeep_request()
    flow = replayed(tctx, soap_flow(recorded))
    refresh.request(flow)
    assert flow.request.content == recorded


def test_without_the_password_the_log_names_the_stale_token_and_the_option(addon, caplog):
    refresh, tctx = addon
    recorded = h.zeep_request()
    flow = replayed(tctx, soap_flow(recorded))
    refresh.request(flow)
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
    refresh.request(flow)
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
    refresh.request(flow)
    verify_envelope(etree.fromstring(flow.request.content), str(cert))
    assert "ds:Signature (rsa-sha1 over Body, Timestamp" in caplog.text


def test_a_literal_password_works_and_is_warned_about_without_being_shown(addon, caplog):
    refresh, tctx = addon
    tctx.configure(refresh, soap_wsse_password=h.PASSWORD)
    assert "soap_wsse_password holds the password itself" in caplog.text
    flow = replayed(tctx, soap_flow(h.zeep_request()))
    caplog.set_level(logging.INFO)
    refresh.request(flow)
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
