import importlib
import io
from pathlib import Path

import pytest
import soap_helpers as h
import soap_service
from mitmproxy import contentviews, exceptions, flowfilter, hooks
from mitmproxy.addons import dumper
from mitmproxy.test import taddons, tflow
from mitmproxy.tools.web import webaddons
from mitmrelay.soap._xml import parse

SCRIPT = Path(__file__).parents[2] / "addons" / "soap.py"
NEW_API = hasattr(contentviews, "Contentview")


def view(message, flow) -> tuple[str, str]:
    """(name of the view auto-selected, its text), through mitmproxy's own API of this version."""
    if NEW_API:
        result = contentviews.prettify_message(message, flow)
        return result.view_name or "", result.text
    description, lines, error = contentviews.get_message_content_view("auto", message, flow)
    assert error is None
    text = "\n".join("".join(text for _, text in line) for line in lines)
    return ("SOAP" if description.startswith("SOAP") else description), text


def soap_flow(request: bytes = h.SOAP11_REQUEST, response: bytes | None = h.SOAP11_FAULT):
    f = tflow.tflow(resp=response is not None)
    f.request.method = "POST"
    f.request.headers["content-type"] = "text/xml; charset=utf-8"
    f.request.headers["SOAPAction"] = '"urn:example:quotes/GetQuote"'
    f.request.content = request
    if response is not None:
        f.response.status_code = 500
        f.response.headers["content-type"] = "text/xml; charset=utf-8"
        f.response.content = response
    return f


@pytest.fixture
def tctx():
    with taddons.context() as ctx:
        script = ctx.script(str(SCRIPT))  # loads it, as `-s` does
        # `-s` puts the script under the script loader in the chain; here it goes there directly,
        # so that option changes reach it.
        ctx.master.addons.chain.append(script)
        ctx.configure(script)
        ctx.addon = script.addons[0]
        ctx.loaded_script = script
        yield ctx
        if script in ctx.master.addons:
            ctx.master.addons.remove(script)


def test_the_view_is_chosen_shows_the_summary_and_masks(tctx):
    f = soap_flow()
    name, text = view(f.request, f)
    assert name == "SOAP"
    assert text.startswith("SOAP 1.1 request\n  Body:          GetQuote {urn:example:quotes}")
    assert h.SECRET not in text and h.NONCE not in text and "[masked]" in text
    name, text = view(f.response, f)
    assert name == "SOAP" and "FAULT:        SOAP-ENV:Server: Quote backend unavailable" in text


def test_masking_can_be_turned_off(tctx):
    tctx.options.update(soap_mask_secrets=False)
    f = soap_flow()
    assert h.SECRET in view(f.request, f)[1]


def test_max_bytes_is_checked(tctx):
    with pytest.raises(
        exceptions.OptionsError, match=r"^Cannot use soap_max_bytes 10: must be at least 1024 bytes"
    ):
        tctx.options.update(soap_max_bytes=10)


def test_hooks_label_faults_and_leave_the_bytes_alone(tctx):
    f = soap_flow()
    f.comment = "checked by Bob"
    tctx.master.addons.invoke_addon_sync(tctx.addon, _hook("request", f))
    assert f.comment == "checked by Bob\nSOAP GetQuote"
    tctx.master.addons.invoke_addon_sync(tctx.addon, _hook("response", f))
    assert (
        f.comment
        == "checked by Bob\nSOAP GetQuote Fault SOAP-ENV:Server: Quote backend unavailable"
    )
    assert f.marked == ":warning:"
    assert flowfilter.match("~comment Fault", f) and flowfilter.match("~marked", f)
    view(f.request, f)
    assert f.request.content == h.SOAP11_REQUEST and f.response.content == h.SOAP11_FAULT


def test_each_message_is_parsed_once_for_label_validation_and_view(tctx, tmp_path, monkeypatch):
    render = importlib.import_module("mitmrelay.soap.render")
    wsdl = tmp_path / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL)
    tctx.options.update(soap_wsdl=[str(wsdl)])
    parsed = []
    monkeypatch.setattr(
        render, "parse", lambda data, *a, **k: parsed.append(data) or parse(data, *a, **k)
    )
    f = soap_flow()
    for event in ("request", "response"):
        tctx.master.addons.invoke_addon_sync(tctx.addon, _hook(event, f))
    view(f.request, f)
    view(f.response, f)
    assert parsed == [h.SOAP11_REQUEST, h.SOAP11_FAULT]
    # The schema has no `currency` attribute: validation ran on that one parse too.
    assert f.comment == (
        "SOAP GetQuote Fault SOAP-ENV:Server: Quote backend unavailable invalid (line 17 "
        "GetQuote, attribute 'currency': The attribute 'currency' is not allowed.)"
    )


def test_non_fault_and_non_soap_flows(tctx):
    ok = soap_flow(response=h.SOAP12_REQUEST)
    plain = tflow.tflow(resp=True)
    for f in (ok, plain):
        for event in ("request", "response"):
            tctx.master.addons.invoke_addon_sync(tctx.addon, _hook(event, f))
    assert (ok.comment, ok.marked) == ("SOAP GetQuote", "")
    assert (plain.comment, plain.marked) == ("", "")
    assert not flowfilter.match("~comment Fault", ok)


def test_a_log_line_for_faults_and_invalid_messages_and_every_call_on_request(
    tctx, tmp_path, caplog
):
    def logged(f) -> list[str]:
        caplog.clear()
        for event in ("request", "response"):
            tctx.master.addons.invoke_addon_sync(tctx.addon, _hook(event, f))
        return [r.getMessage() for r in caplog.records if r.name == "mitmrelay.soap.addon"]

    caplog.set_level("INFO")
    ok, fault = soap_flow(response=h.SOAP12_REQUEST), soap_flow()
    url = ok.request.pretty_url
    assert logged(ok) == []
    assert logged(fault) == [
        f"POST {url}: SOAP GetQuote Fault SOAP-ENV:Server: Quote backend unavailable"
    ]
    tctx.options.update(soap_log_calls=True)
    assert logged(soap_flow(response=h.SOAP12_REQUEST)) == [f"POST {url}: SOAP GetQuote"]
    tctx.options.update(soap_log_calls=False)
    wsdl = tmp_path / "quotes.wsdl"
    wsdl.write_text(soap_service.WSDL)
    tctx.options.update(soap_wsdl=[str(wsdl)])
    # The schema has no `currency` attribute: the request is invalid, the call logged,
    # whatever the answer: SOAP, an HTML error page, or nothing (one-way).
    invalid = f"POST {url}: SOAP GetQuote invalid (line 17 GetQuote, attribute"
    [line] = logged(soap_flow(response=h.SOAP12_REQUEST))
    assert line.startswith(invalid)
    html = soap_flow(response=b"<html><body>Internal Server Error</body></html>")
    html.response.headers["content-type"] = "text/html"
    empty = soap_flow(response=b"")
    empty.response.status_code = 202
    for answered in (html, empty):
        [line] = logged(answered)
        assert line.startswith(invalid)
        assert answered.comment.startswith("SOAP GetQuote invalid (line 17")
    # Other traffic, answered or not, is left alone.
    for body in (b"", b"<html>a page</html>"):
        other = tflow.tflow(resp=True)
        other.request.content = b'{"json": true}'
        other.response.content = body
        assert logged(other) == [] and other.comment == ""


def test_the_mitmdump_output_has_the_summary_and_no_secret(tctx):
    out = io.StringIO()
    d = dumper.Dumper(out)
    tctx.master.addons.add(d)
    tctx.options.update(flow_detail=3)
    d.response(soap_flow())
    printed = out.getvalue()
    assert "Body:          GetQuote {urn:example:quotes}" in printed
    assert "FAULT:        SOAP-ENV:Server: Quote backend unavailable" in printed
    assert h.SECRET not in printed and h.NONCE not in printed


@pytest.mark.parametrize("chosen", [None, ["path"]])
def test_mitmweb_gets_the_comment_column_unless_columns_were_chosen(chosen):
    with taddons.context(webaddons.WebAddon()) as ctx:
        default = list(ctx.options.web_columns)
        if chosen:
            ctx.options.update(web_columns=chosen)
        script = ctx.script(str(SCRIPT))
        ctx.master.addons.invoke_addon_sync(script, hooks.RunningHook())
        assert ctx.options.web_columns == (chosen or [*default, "comment"])
        ctx.master.addons.remove(script)


def test_unloading_removes_the_view(tctx):
    tctx.master.addons.remove(tctx.loaded_script)
    f = soap_flow()
    assert view(f.request, f)[0] != "SOAP"


def _hook(name: str, f):
    from mitmproxy.proxy.layers import http as http_layer

    return {"request": http_layer.HttpRequestHook, "response": http_layer.HttpResponseHook}[name](f)
