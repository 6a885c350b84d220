"""The SOAP addon with a contract: WSDLs from soap_wsdl files and from ?wsdl answers in traffic,
operation labels, invalid labels, and the view's contract lines."""

import logging
from pathlib import Path

import pytest
import wsdl_samples as w
from mitmproxy import contentviews, exceptions, flowfilter
from mitmproxy.proxy.layers import http as http_layer
from mitmproxy.test import taddons, tflow

SCRIPT = Path(__file__).parents[2] / "addons" / "soap.py"
ACTION = '"http://example.com/GetLastTradePrice"'


def view(message, flow) -> tuple[str, str]:
    """(name of the view auto-selected, its text), through mitmproxy's own API of this version."""
    if hasattr(contentviews, "Contentview"):
        result = contentviews.prettify_message(message, flow)
        return result.view_name or "", result.text
    description, lines, error = contentviews.get_message_content_view("auto", message, flow)
    assert error is None
    return description, "\n".join("".join(text for _, text in line) for line in lines)


def _hook(name: str, f):
    return {"request": http_layer.HttpRequestHook, "response": http_layer.HttpResponseHook}[name](f)


@pytest.fixture
def tctx():
    with taddons.context() as ctx:
        script = ctx.script(str(SCRIPT))
        ctx.master.addons.chain.append(script)
        ctx.configure(script)
        ctx.addon = script.addons[0]
        yield ctx
        ctx.master.addons.remove(script)


def exchange(ctx, request: bytes, response: bytes | None, action: str | None = ACTION):
    f = tflow.tflow(resp=response is not None)
    f.request.method = "POST"
    f.request.url = "http://example.com/stockquote"
    f.request.headers["content-type"] = "text/xml; charset=utf-8"
    if action is not None:
        f.request.headers["SOAPAction"] = action
    f.request.content = request
    if response is not None:
        f.response.headers["content-type"] = "text/xml; charset=utf-8"
        f.response.content = response
    for event in ("request", "response") if response is not None else ("request",):
        ctx.master.addons.invoke_addon_sync(ctx.addon, _hook(event, f))
    return f


def wsdl_fetch(ctx, url: str, document: str):
    f = tflow.tflow(resp=True)
    f.request.method = "GET"
    f.request.url = url
    f.response.headers["content-type"] = "text/xml"
    f.response.content = document.encode()
    ctx.master.addons.invoke_addon_sync(ctx.addon, _hook("response", f))
    return f


def test_without_a_wsdl_the_label_is_the_body_element(tctx):
    f = exchange(tctx, w.stock_request(), w.stock_response())
    assert f.comment == "SOAP TradePriceRequest"
    assert "WARNING" not in view(f.request, f)[1]


def test_a_wsdl_fetched_through_the_proxy_names_the_operation(tctx, caplog):
    caplog.set_level(logging.INFO)
    wsdl_fetch(tctx, "http://example.com/stockquote?wsdl", w.STOCK_QUOTE)
    assert (
        "SOAP: learned WSDL http://example.com/stockquote?wsdl: service StockQuoteService, "
        "ports StockQuotePort, 1 operations" in caplog.text
    )
    f = exchange(tctx, w.stock_request(), w.stock_response())
    assert f.comment == "SOAP GetLastTradePrice"
    text = view(f.request, f)[1]
    lines = text.splitlines()
    assert lines[1] == ("  Operation:  GetLastTradePrice (document/literal, matched by SOAPAction)")
    assert lines[2] == (
        "  WSDL:       service StockQuoteService, port StockQuotePort, binding "
        "StockQuoteSoapBinding (http://example.com/stockquote?wsdl)"
    )
    assert "  Body:       TradePriceRequest {http://example.com/stockquote.xsd}" in lines
    assert "  Schema:     valid" in lines
    response = view(f.response, f)[1].splitlines()
    assert response[1] == (
        "  Operation: GetLastTradePrice (document/literal, matched by its request (SOAPAction))"
    )


def test_a_schema_breaking_message_is_labelled_invalid_and_filterable(tctx, tmp_path):
    wsdl = tmp_path / "stock.wsdl"
    wsdl.write_text(w.STOCK_QUOTE)
    tctx.options.update(soap_wsdl=[str(wsdl)])
    f = exchange(tctx, w.stock_request(), w.stock_response("cheap"))
    assert f.comment == (
        "SOAP GetLastTradePrice invalid (line 1 price: 'cheap' is not a valid value of the "
        "atomic type 'xs:float'.)"
    )
    assert flowfilter.match("~comment invalid", f)
    assert f.response.content == w.stock_response("cheap")  # never altered
    text = view(f.response, f)[1]
    assert "  INVALID:   line 1 /m:TradePrice/m:price: Element " in text
    tctx.options.update(soap_validate=False)
    f = exchange(tctx, w.stock_request(), w.stock_response("cheap"))
    assert f.comment == "SOAP GetLastTradePrice"


def test_imports_learned_from_traffic_complete_the_contract(tctx, caplog):
    caplog.set_level(logging.INFO)
    for url, text in w.ORDERS_FILES.items():
        wsdl_fetch(tctx, url, text)
    assert "imports not seen yet" in caplog.text
    assert caplog.text.rstrip().endswith(
        "SOAP: learned WSDL https://shop.example/wsdl/service.wsdl: service OrderService, "
        "ports Orders11Port, Orders12Port, 1 operations"
    )
    f = exchange(tctx, w.order_request("0"), None, action=None)
    assert f.comment.startswith("SOAP PlaceOrder invalid (line 2 quantity: '0' ")


def test_wsdl_files_with_imports_from_their_folder(tctx, tmp_path):
    for url, text in w.ORDERS_FILES.items():
        (tmp_path / url.rsplit("/", 1)[1]).write_text(text)
    tctx.options.update(soap_wsdl=[str(tmp_path / "service.wsdl")])
    f = exchange(tctx, w.order_request(), None, action=None)
    assert f.comment == "SOAP PlaceOrder"


def test_a_hostile_wsdl_is_refused_with_the_reason(tctx, tmp_path, caplog):
    bad = tmp_path / "bad.wsdl"
    bad.write_bytes(w.billion_laughs_wsdl())
    with pytest.raises(exceptions.OptionsError, match="must not contain a DTD"):
        tctx.options.update(soap_wsdl=[str(bad)])
    wsdl_fetch(tctx, "http://evil.example/x?wsdl", w.xxe_wsdl("/etc/passwd").decode())
    assert "SOAP: cannot use the WSDL http://evil.example/x?wsdl: " in caplog.text
    assert "root:" not in caplog.text


def test_the_known_wsdls_are_listed_by_a_command(tctx):
    assert tctx.master.commands.call("soap.wsdls") == []
    wsdl_fetch(tctx, "http://example.com/stockquote?wsdl", w.STOCK_QUOTE)
    assert tctx.master.commands.call("soap.wsdls") == [
        "WSDL http://example.com/stockquote?wsdl: service StockQuoteService, "
        "ports StockQuotePort, 1 operations"
    ]
