"""The SoapReplay addon, loaded by path as `-s addons/soap_replay.py` loads it."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import soap_helpers as h
from lxml import etree
from mitmproxy import exceptions, io
from mitmproxy.test import taddons, tflow
from mitmrelay.soap.render import analyze
from mitmrelay.soap.summary import MessageInfo

SCRIPT = Path(__file__).parents[2] / "addons" / "soap_replay.py"
S11 = "http://schemas.xmlsoap.org/soap/envelope/"


def quote(symbol: str, prefix: str = "soap", message_id: str = "urn:uuid:1") -> bytes:
    return (
        f'<{prefix}:Envelope xmlns:{prefix}="{S11}"><{prefix}:Header>'
        f'<a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing">{message_id}</a:MessageID>'
        f'</{prefix}:Header><{prefix}:Body><q:GetQuote xmlns:q="urn:q"><q:symbol>{symbol}'
        f"</q:symbol><q:at>10:00</q:at></q:GetQuote></{prefix}:Body></{prefix}:Envelope>"
    ).encode()


def soap_flow(request: bytes, response: bytes | None = None, status: int = 200):
    f = tflow.tflow(resp=response is not None)
    f.request.method = "POST"
    f.request.path = "/quotes"
    f.request.headers["content-type"] = "text/xml; charset=utf-8"
    f.request.content = request
    if response is not None:
        f.response.status_code = status
        f.response.headers["content-type"] = "text/xml; charset=utf-8"
        f.response.content = response
    return f


def get_flow(path: str, response: bytes | None = None):
    f = tflow.tflow(resp=response is not None)
    f.request.method, f.request.path, f.request.content = "GET", path, b""
    if response is not None:
        f.response.content = response
    return f


@pytest.fixture
def flows_file(tmp_path: Path) -> Path:
    path = tmp_path / "partner.flows"
    recorded = [
        get_flow("/quotes?wsdl", b"<definitions/>"),
        soap_flow(quote("ACME"), b"<price>1</price>"),
        soap_flow(quote("FAIL"), h.SOAP11_FAULT, 500),
        soap_flow(quote("ACME"), b"<price>2</price>"),
        tflow.ttcpflow(),  # not HTTP: skipped, but it keeps its position in the file
        soap_flow(quote("LATE"), b"<price>late</price>"),
    ]
    replayed = soap_flow(quote("LATE"), b"<replayed/>")
    replayed.is_replay = "response"  # a replay recorded again is not the server's answer
    recorded.append(replayed)
    for n, flow in enumerate(recorded):
        if hasattr(flow, "request"):
            flow.request.timestamp_start = 1000.0 + n
    with path.open("wb") as f:
        writer = io.FlowWriter(f)
        for flow in recorded:
            writer.add(flow)
    return path


@pytest.fixture
def tctx():
    with taddons.context() as ctx:
        # Declared by mitmproxy's proxy server addon, which a bare test context does not load.
        ctx.options.add_option("connection_strategy", str, "eager", "", choices=("eager", "lazy"))
        script = ctx.script(str(SCRIPT))
        ctx.master.addons.chain.append(script)
        ctx.configure(script)
        ctx.addon = script.addons[-1]  # after the connection_strategy addon
        yield ctx
        if script in ctx.master.addons:
            ctx.master.addons.remove(script)


def answer(tctx, flow):
    tctx.addon.request(flow)
    return flow


def test_nothing_is_answered_while_the_option_is_empty(tctx):
    flow = answer(tctx, soap_flow(quote("ACME")))
    assert flow.response is None and tctx.options.connection_strategy == "eager"


def test_recorded_answers_by_content_in_order_then_the_last_repeats(tctx, flows_file, caplog):
    caplog.set_level(logging.INFO)
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    flows = [answer(tctx, soap_flow(quote("ACME", "S", f"urn:uuid:{n}"))) for n in range(3)]
    assert [f.response.content for f in flows] == [b"<price>1</price>"] + [b"<price>2</price>"] * 2
    assert all(f.is_replay == "response" for f in flows)
    assert [f.comment for f in flows] == [
        "replayed from partner.flows #2 (answer 1 of 2)",
        "replayed from partner.flows #4 (answer 2 of 2)",
        "replayed from partner.flows #4 (answer 2 of 2, repeated)",
    ]
    assert "POST /quotes GetQuote (SOAP 1.1) answered from partner.flows #2" in caplog.text
    fault = answer(tctx, soap_flow(quote("FAIL")))
    assert fault.response.status_code == 500
    assert fault.response.content == h.SOAP11_FAULT
    # Positions count every flow of the file, as mitmweb lists them.
    assert answer(tctx, soap_flow(quote("LATE"))).comment.startswith(
        "replayed from partner.flows #6"
    )
    wsdl = answer(tctx, get_flow("/quotes?wsdl"))
    assert wsdl.response.content == b"<definitions/>" and wsdl.is_replay == "response"


def test_a_flow_answered_by_another_addon_is_left_alone(tctx, flows_file):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    flow = soap_flow(quote("ACME"), b"<mine/>")
    answer(tctx, flow)
    assert flow.response.content == b"<mine/>" and not flow.is_replay


def test_an_unmatched_request_gets_a_fault_and_one_log_line(tctx, flows_file, caplog):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    flow = answer(tctx, soap_flow(quote("NOPE")))
    assert flow.response.status_code == 500
    assert flow.response.headers["content-type"] == "text/xml; charset=utf-8"
    summary = analyze(flow.response.content, MessageInfo("text/xml", is_request=False))
    assert summary.fault.code == "soap:Server"
    reason = etree.fromstring(flow.response.content).findtext(".//faultstring")
    assert reason == (
        "mitmrelay soap_replay: no recorded exchange matched POST /quotes GetQuote (SOAP 1.1); "
        "nearest: partner.flows #2 POST /quotes GetQuote (SOAP 1.1), "
        "first difference at Body/GetQuote/symbol: 'NOPE' here, 'ACME' recorded"
    )
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [reason]
    assert flow.comment == "soap_replay: no recorded exchange matched"
    other = answer(tctx, get_flow("/other"))
    assert other.response.status_code == 404
    assert b"no recorded exchange matched GET /other; nearest: partner.flows #1" in (
        other.response.content
    )


def test_ignored_elements_match_and_the_index_follows_the_option(tctx, flows_file):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    later = quote("LATE").replace(b"10:00", b"10:05")
    assert answer(tctx, soap_flow(later)).response.status_code == 500
    tctx.configure(tctx.addon, soap_replay_ignore=["{urn:q}at"])
    assert answer(tctx, soap_flow(later)).response.content == b"<price>late</price>"


def test_unmatched_forward_leaves_the_request_to_the_server(tctx, flows_file, caplog):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)], soap_replay_unmatched="forward")
    flow = answer(tctx, soap_flow(quote("NOPE")))
    assert flow.response is None
    assert flow.comment == "soap_replay: no recorded exchange matched; forwarded"
    assert "first difference at Body/GetQuote/symbol" in caplog.text
    assert "forwarded to the server" in caplog.text


def test_the_default_eager_strategy_becomes_lazy_while_replaying(tctx, flows_file):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    assert tctx.options.connection_strategy == "lazy"
    tctx.configure(tctx.addon, soap_replay=[])
    assert tctx.options.connection_strategy == "eager"


def test_a_strategy_the_user_chose_is_kept(tctx, flows_file):
    tctx.options.connection_strategy = "lazy"
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    tctx.configure(tctx.addon, soap_replay=[])
    assert tctx.options.connection_strategy == "lazy"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"soap_replay": ["missing.flows"]},
            "cannot read missing.flows: No such file or directory",
        ),
        ({"soap_replay": [""]}, "an empty file name"),
        ({"soap_replay_ignore": ["a//b"]}, "Cannot use soap_replay_ignore entry 1 'a//b': step 2"),
    ],
)
def test_bad_options_are_refused_with_the_reason(tctx, options, message):
    with pytest.raises(exceptions.OptionsError) as caught:
        tctx.configure(tctx.addon, **options)
    assert message in str(caught.value)


def test_a_file_that_is_not_a_flow_file_is_named(tctx, tmp_path):
    bad = tmp_path / "notes.txt"
    bad.write_text("just text\n")
    with pytest.raises(exceptions.OptionsError) as caught:
        tctx.configure(tctx.addon, soap_replay=[str(bad)])
    assert f"Cannot use soap_replay entry 1 '{bad}': {bad} is not a mitmproxy flow file" in str(
        caught.value
    )


def test_changing_the_options_reloads_and_starts_the_answers_over(tctx, flows_file):
    tctx.configure(tctx.addon, soap_replay=[str(flows_file)])
    assert [answer(tctx, soap_flow(quote("ACME"))).response.content for _ in range(2)] == [
        b"<price>1</price>",
        b"<price>2</price>",
    ]
    tctx.configure(tctx.addon, soap_replay_ignore=["{urn:q}at"])
    assert answer(tctx, soap_flow(quote("ACME"))).response.content == b"<price>1</price>"
