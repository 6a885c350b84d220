"""The SOAP addon's soap.new, soap.diff and soap.reference commands and the `SOAP diff`
contentview, loaded by path as users load addons/soap.py, with mitmproxy's own flow list."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import soap_service
from mitmproxy import contentviews, exceptions
from mitmproxy.addons import view as view_addon
from mitmproxy.test import taddons, tflow

SCRIPT = Path(__file__).parents[2] / "addons" / "soap.py"
NS = soap_service.NS


def shown(message, flow, name: str = "SOAP diff") -> str:
    """The text of a contentview chosen by name, through mitmproxy's API of this version."""
    if hasattr(contentviews, "Contentview"):
        return contentviews.prettify_message(message, flow, view_name=name).text
    _, lines, error = contentviews.get_message_content_view(name, message, flow)
    assert error is None
    return "\n".join("".join(text for _, text in line) for line in lines)


@pytest.fixture
def tctx(tmp_path):
    wsdl = tmp_path / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL)
    with taddons.context() as ctx:
        flows = view_addon.View()
        ctx.master.addons.add(flows)
        script = ctx.script(str(SCRIPT))
        ctx.master.addons.chain.append(script)
        ctx.configure(script, soap_wsdl=[str(wsdl)])
        ctx.addon = script.addons[0]
        ctx.flows = flows
        yield ctx
        ctx.master.addons.remove(script)


def call(ctx, name: str, *args: str):
    return ctx.master.commands.call_strings(name, list(args))


def quote(symbol: str, prefix: str = "s", message_id: str = "1"):
    f = tflow.tflow(resp=True)
    f.request.method = "POST"
    f.request.url = "http://quotes.example/q"
    f.request.headers["content-type"] = "text/xml; charset=utf-8"
    f.request.headers["SOAPAction"] = f'"{NS}/GetQuote"'
    f.request.content = (
        f'<{prefix}:Envelope xmlns:{prefix}="http://schemas.xmlsoap.org/soap/envelope/"'
        f' xmlns:wsa="http://www.w3.org/2005/08/addressing"><{prefix}:Header>'
        f"<wsa:MessageID>urn:uuid:{message_id}</wsa:MessageID></{prefix}:Header><{prefix}:Body>"
        f'<q:GetQuote xmlns:q="{NS}"><q:symbol>{symbol}</q:symbol></q:GetQuote>'
        f"</{prefix}:Body></{prefix}:Envelope>"
    ).encode()
    return f


def test_soap_new_adds_an_editable_request_to_the_flow_list(tctx):
    text = call(tctx, "soap.new", "GetQuote", "Quotes12")
    (flow,) = tctx.flows
    assert text == (
        f"soap.new: flow {flow.id}: POST http://127.0.0.1:9/ GetQuote (port Quotes12, "
        "SOAP 1.2); edit it, then replay it"
    )
    assert (flow.request.method, flow.request.url, flow.response) == (
        "POST",
        "http://127.0.0.1:9/",
        None,
    )
    assert flow.request.headers["content-type"] == (
        f'application/soap+xml; charset=utf-8; action="{NS}/GetQuote"'
    )
    assert flow.request.headers["host"] == "127.0.0.1:9"
    assert flow.comment == "SOAP GetQuote (new: edit it, then replay it)"
    assert b"<ns1:symbol>?</ns1:symbol>" in flow.request.content
    # The SOAP view reads it as the operation it was made for.
    text = shown(flow.request, flow, "SOAP")
    assert re.search(r"Operation: +GetQuote \(document/literal, matched by action\)", text)
    assert re.search(r"Schema: +valid\n", text)


def test_soap_new_writes_a_username_token_when_replays_make_its_digest(tctx, monkeypatch):
    monkeypatch.setenv("WSSE_PASS", "s3cret")
    tctx.options.update(soap_wsse_password="${WSSE_PASS}")
    text = call(tctx, "soap.new", "GetQuote", "Quotes11")
    assert "with a WS-Security UsernameToken (give its Username; its digest, nonce" in text
    tctx.options.update(soap_refresh_on_replay=False)  # nothing would make the digest
    assert "UsernameToken" not in call(tctx, "soap.new", "GetQuote", "Quotes11")
    with_token, without = list(tctx.flows)
    assert b"<wsse:UsernameToken" in with_token.request.content
    assert b"Security" not in without.request.content
    # The token hides neither the operation nor the schema's verdict from the SOAP view.
    with_token.request.content = with_token.request.content.replace(b">?<", b">ACME<")
    view_text = shown(with_token.request, with_token, "SOAP")
    assert re.search(r"Operation: +GetQuote \(document/literal", view_text)
    assert re.search(r"Schema: +valid\n", view_text)


def test_soap_new_errors_name_the_operations(tctx):
    with pytest.raises(exceptions.CommandError, match=r"soap.new: operation GetQuote is ambig"):
        call(tctx, "soap.new", "GetQuote")
    with pytest.raises(exceptions.CommandError, match=r"known operations: GetLogo \(ports"):
        call(tctx, "soap.new", "Nothing")
    assert len(tctx.flows) == 0


def test_commands_need_a_flow_list():
    with taddons.context() as ctx:
        script = ctx.script(str(SCRIPT))
        ctx.master.addons.chain.append(script)
        ctx.configure(script)
        with pytest.raises(exceptions.CommandError, match="run it in mitmweb or the mitmproxy"):
            call(ctx, "soap.new", "GetQuote")
        ctx.master.addons.remove(script)


def test_soap_diff_by_id_prefix_and_spec(tctx):
    a, b, c = quote("ACME"), quote("ACME", "soapenv", "2"), quote("MSFT")
    tctx.flows.add([a, b, c])
    lines = call(tctx, "soap.diff", a.id, b.id[:8])
    assert lines[0] == "SOAP diff of requests" and lines[3] == "  no differences"
    assert lines[4:] == [
        "SOAP diff of responses",
        f"  A: POST http://quotes.example/q (flow {a.id[:8]})",
        f"  B: POST http://quotes.example/q (flow {b.id[:8]})",
        "  no differences",
    ]
    lines = call(tctx, "soap.diff", f"@{a.id}", "~b MSFT")
    assert lines[3] == "  changed  Body/GetQuote/symbol: 'ACME' -> 'MSFT'"
    with pytest.raises(exceptions.CommandError, match="matched 3 flows, not one; name a flow"):
        call(tctx, "soap.diff", a.id, "~u quotes")
    with pytest.raises(exceptions.CommandError, match="no flow has the id 'abcdef12'"):
        call(tctx, "soap.diff", a.id, "abcdef12")


def test_the_soap_diff_view_compares_with_the_reference(tctx):
    a, b = quote("ACME"), quote("MSFT", "x", "2")
    tctx.flows.add([a, b])
    assert shown(b.request, b).startswith("No reference flow. Mark one with the command")
    assert call(tctx, "soap.reference", a.id) == (
        f"soap.reference: flow {a.id} POST http://quotes.example/q"
    )
    assert shown(b.request, b).splitlines()[3:] == [
        "  changed  Body/GetQuote/symbol: 'ACME' -> 'MSFT'"
    ]
    assert shown(b.response, b).splitlines()[3:] == ["  no differences"]
    assert shown(a.request, a) == "This is the reference flow (POST http://quotes.example/q)."


def test_the_soap_diff_view_is_never_picked_by_itself(tctx):
    f = quote("ACME")
    assert shown(f.request, f, "auto").startswith("SOAP 1.1 request")
