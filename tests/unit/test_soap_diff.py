"""soap.diff's comparison (mitmrelay.soap.diff): by meaning, with the replay matcher's canonical
form and volatile parts; element paths added, removed and changed with both values; the HTTP
facts that matter for SOAP; secrets masked unless asked."""

from __future__ import annotations

import pytest
import soap_helpers as h
from mitmproxy.test import tflow, tutils
from mitmrelay.soap import replay
from mitmrelay.soap.diff import NO_DIFFERENCES, compare, report, side_of

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"


def envelope(
    body: str,
    *,
    prefix: str = "soap",
    q: str = "q",
    message_id: str = "urn:uuid:1",
    nonce: str = h.NONCE,
    created: str = "2026-12-03T10:00:00Z",
    ns: str = S11,
) -> bytes:
    """A GetQuote request as a stack writes it; prefixes, IDs, nonce and time are its own."""
    return f"""<?xml version="1.0" encoding="utf-8"?>
<{prefix}:Envelope xmlns:{prefix}="{ns}" xmlns:wsa="{WSA}">
  <{prefix}:Header>
    <wsa:Action>urn:example:quotes/GetQuote</wsa:Action>
    <wsa:MessageID>{message_id}</wsa:MessageID>
    <wsse:Security xmlns:wsse="{h.WSSE}" xmlns:wsu="{h.WSU}">
      <wsu:Timestamp wsu:Id="TS-{message_id}"><wsu:Created>{created}</wsu:Created></wsu:Timestamp>
      <wsse:UsernameToken><wsse:Username>alice</wsse:Username>
        <wsse:Password>{h.SECRET}</wsse:Password><wsse:Nonce>{nonce}</wsse:Nonce>
      </wsse:UsernameToken>
    </wsse:Security>
  </{prefix}:Header>
  <{prefix}:Body xmlns:wsu="{h.WSU}" wsu:Id="body-{message_id}">
    {body.replace("q:", f"{q}:").replace("xmlns:q=", f"xmlns:{q}=")}
  </{prefix}:Body>
</{prefix}:Envelope>""".encode()


QUOTE = (
    '<q:GetQuote xmlns:q="urn:example:quotes" currency="EUR"><q:symbol>ACME</q:symbol></q:GetQuote>'
)


def flow(content: bytes, *, action: str | None = '"urn:example:quotes/GetQuote"', ct=None):
    f = tflow.tflow(resp=True)
    f.request = tutils.treq(method=b"POST", path=b"/quotes?x=1", content=content)
    f.request.headers["content-type"] = ct or "text/xml; charset=utf-8"
    if action is not None:
        f.request.headers["soapaction"] = action
    return f


def diff(a, b, which: str = "request", **kw) -> list[str]:
    rules = kw.pop("rules", ())
    side_a, side_b = side_of(a, which, rules), side_of(b, which, rules)
    assert side_a is not None and side_b is not None
    return compare(side_a, side_b, **kw)


def test_same_meaning_from_another_stack_has_no_differences():
    a = flow(envelope(QUOTE))
    other = QUOTE.replace("<q:symbol>", "\n      <q:symbol>")  # layout between elements
    b = flow(
        envelope(
            other,
            prefix="SOAP-ENV",
            q="ns1",
            message_id="urn:uuid:2",
            nonce="b3RoZXI=",
            created="2026-12-03T11:11:11Z",
        ),
        action="urn:example:quotes/GetQuote",  # unquoted: the same action
    )
    b.request.path = "/quotes?y=2"  # the query does not count, as in replay
    assert diff(a, b) == []
    lines = report(side_of(a, "request"), side_of(b, "request"))
    assert lines[0] == "SOAP diff of requests"
    assert lines[1].startswith("  A: POST http://address:22/quotes?x=1 (flow ")
    assert lines[-1] == f"  {NO_DIFFERENCES}"


def test_one_changed_value_is_that_path_only():
    a = flow(envelope(QUOTE))
    b = flow(envelope(QUOTE.replace("ACME", "MSFT"), message_id="urn:uuid:2"))
    assert diff(a, b) == ["changed  Body/GetQuote/symbol: 'ACME' -> 'MSFT'"]


def test_added_removed_repeated_attributes_and_order():
    a = flow(
        envelope(
            '<q:GetQuote xmlns:q="urn:example:quotes" currency="EUR"><q:symbol>ACME</q:symbol>'
            "<q:symbol>IBM</q:symbol><q:old>1</q:old><q:when>now</q:when></q:GetQuote>"
        )
    )
    b = flow(
        envelope(
            '<q:GetQuote xmlns:q="urn:example:quotes" currency="USD" mode="fast">'
            "<q:symbol>ACME</q:symbol><q:symbol>SAP</q:symbol><q:new><q:x>1</q:x></q:new>"
            "<q:when>now</q:when></q:GetQuote>"
        )
    )
    assert diff(a, b) == [
        "changed  Body/GetQuote/@currency: 'EUR' -> 'USD'",
        "added    Body/GetQuote/@mode = 'fast'",
        "changed  Body/GetQuote/symbol[2]: 'IBM' -> 'SAP'",
        "removed  Body/GetQuote/old {urn:example:quotes} = '1'",
        "added    Body/GetQuote/new {urn:example:quotes} (1 child elements)",
    ]
    c = flow(
        envelope(
            '<q:GetQuote xmlns:q="urn:example:quotes" currency="EUR"><q:when>now</q:when>'
            "<q:symbol>ACME</q:symbol><q:symbol>IBM</q:symbol><q:old>1</q:old></q:GetQuote>"
        )
    )
    assert diff(a, c) == ["order    Body/GetQuote: when, symbol[1], symbol[2], old"]


def test_headers_that_matter():
    a = flow(envelope(QUOTE))
    b = flow(envelope(QUOTE), action='"urn:example:quotes/Other"')
    b.request.path = "/other"
    assert diff(a, b) == [
        "changed  path: '/quotes' -> '/other'",
        "changed  SOAPAction: 'urn:example:quotes/GetQuote' -> 'urn:example:quotes/Other'",
    ]
    ct = 'application/soap+xml; charset=utf-8; action="urn:example:quotes/GetQuote"'
    c = flow(envelope(QUOTE, ns=S12), action=None, ct=ct)
    d = flow(envelope(QUOTE, ns=S12), action=None, ct=ct.replace("GetQuote", "Get"))
    assert diff(c, d) == [
        "changed  Content-Type action: 'urn:example:quotes/GetQuote' -> 'urn:example:quotes/Get'"
    ]
    assert diff(a, c) == [
        "changed  SOAPAction: 'urn:example:quotes/GetQuote' -> None",
        "changed  Content-Type action: None -> 'urn:example:quotes/GetQuote'",
        "changed  SOAP version: 1.1 -> 1.2",
    ]


def test_a_header_of_the_application_counts_and_wsa_action_too():
    a = flow(envelope(QUOTE))
    b = flow(envelope(QUOTE).replace(b"quotes/GetQuote</wsa:Action>", b"quotes/X</wsa:Action>"))
    assert diff(a, b) == [
        "changed  Header/Action: 'urn:example:quotes/GetQuote' -> 'urn:example:quotes/X'"
    ]


def test_secrets_are_masked_unless_asked():
    body = '<q:Login xmlns:q="urn:example:quotes"><q:Password>{}</q:Password></q:Login>'
    a = flow(envelope(body.format(h.SECRET)))
    b = flow(envelope(body.format("other-secret")))
    assert diff(a, b) == ["changed  Body/Login/Password: [masked] -> [masked]"]
    assert diff(a, b, mask=False) == [
        f"changed  Body/Login/Password: {h.SECRET!r} -> 'other-secret'"
    ]
    side_a, side_b = side_of(a, "request"), side_of(b, "request")
    assert h.SECRET not in "\n".join(report(side_a, side_b))
    assert h.NONCE not in "\n".join(report(side_a, side_b, mask=False))  # volatile: left out


def test_responses_compare_status_and_body():
    a, b = flow(envelope(QUOTE)), flow(envelope(QUOTE))
    a.response = tutils.tresp(status_code=200, content=h.SOAP11_FAULT)
    b.response = tutils.tresp(
        status_code=500, content=h.SOAP11_FAULT.replace(b"unavailable", b"gone")
    )
    assert diff(a, b, "response") == [
        "changed  status: '200' -> '500'",
        "changed  Body/Fault/faultstring: 'Quote backend unavailable' -> 'Quote backend gone'",
    ]
    b.response = None
    assert side_of(b, "response") is None


def test_not_soap_and_unreadable_bodies():
    a = flow(envelope(QUOTE))
    b = flow(b"plain text")
    assert diff(a, b) == ["body     a SOAP envelope -> not SOAP"]
    assert diff(b, b) == []
    c = flow(h.BILLION_LAUGHS)
    assert diff(a, c) == [
        "body     a SOAP envelope -> unreadable: the envelope has a DTD, which SOAP forbids"
    ]


@pytest.mark.parametrize("rule", ["symbol", "{urn:example:quotes}symbol", "Body/*/symbol"])
def test_the_replay_ignore_rules_apply(rule):
    a = flow(envelope(QUOTE))
    b = flow(envelope(QUOTE.replace("ACME", "MSFT")))
    assert diff(a, b, rules=(replay.parse_ignore(rule),)) == []
