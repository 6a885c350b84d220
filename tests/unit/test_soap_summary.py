import pytest
import soap_helpers as h
from mitmrelay.soap import MessageInfo, analyze
from mitmrelay.soap.summary import flow_label, with_label

S11_OP = b"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"%s>
<s:Body><q:GetQuote xmlns:q="urn:q"/></s:Body></s:Envelope>"""
S12_ROLE_FAULT = (
    b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body><e:Fault>'
    b"<e:Code><e:Value>e:Receiver</e:Value></e:Code><e:Reason><e:Text>x</e:Text></e:Reason>"
    b"<e:Role>urn:role</e:Role><e:Detail><z xmlns='urn:z'/></e:Detail></e:Fault></e:Body>"
    b"</e:Envelope>"
)
WSA_ACTION = (
    b'><s:Header><a:Action xmlns:a="http://www.w3.org/2005/08/addressing">%s</a:Action></s:Header'
)


def test_soap11_request_summary():
    info = MessageInfo("text/xml; charset=utf-8", '"urn:example:quotes/GetQuote"', True)
    s = analyze(h.SOAP11_REQUEST, info)
    assert s is not None
    assert (s.version, s.operation) == ("1.1", ("urn:example:quotes", "GetQuote"))
    assert s.action == "urn:example:quotes/GetQuote"
    assert s.addressing == {
        "To": "http://quotes.example/service",
        "Action": "urn:example:quotes/GetQuote",
        "MessageID": "urn:uuid:1111",
    }
    assert s.security == ("UsernameToken user 'alice' PasswordText with Nonce",)
    assert s.fault is None and s.warnings == ()


def test_soap12_action_comes_from_the_content_type():
    s = analyze(h.SOAP12_REQUEST, MessageInfo(h.SOAP12_CONTENT_TYPE, None, True))
    assert s is not None
    assert (s.version, s.operation[1], s.action) == ("1.2", "Reserve", "urn:example:travel/Reserve")


@pytest.mark.parametrize(
    "body, code, reason, actor, detail",
    [
        (
            h.SOAP11_FAULT,
            "SOAP-ENV:Server",
            "Quote backend unavailable",
            "http://quotes.example/backend",
            '<e:info xmlns:e="urn:example:errors"> backend timed out after 30 s second line'
            "</e:info>",
        ),
        (
            h.SOAP12_FAULT,
            "env:Sender / t:SeatTaken",
            "Seat already reserved",
            "http://travel.example/booking",
            '<t:seat xmlns:t="urn:example:travel">12A</t:seat>',
        ),
        (S12_ROLE_FAULT, "e:Receiver", "x", "urn:role", '<z xmlns="urn:z"/>'),
    ],
)
def test_faults_of_both_versions(body, code, reason, actor, detail):
    s = analyze(body, MessageInfo(is_request=False))
    assert s is not None and s.fault is not None
    assert (s.fault.code, s.fault.reason, s.fault.actor, s.fault.detail) == (
        code,
        reason,
        actor,
        detail,
    )


@pytest.mark.parametrize(
    "soap_action, wsa_action, warnings",
    [
        ('"urn:q/GetQuote"', None, []),
        ('"http://q.example/IQuotes/GetQuote"', None, []),
        ("urn:q#GetQuoteRequest", None, []),
        ('""', None, []),
        (None, "urn:q/GetQuote", []),
        ('"urn:q/GetQuote"', "urn:q/GetQuote", []),
        # document/literal bare: the Body element names a part, not the operation; only a
        # WSDL could say that this action and this element disagree.
        ('"http://example.com/GetLastTradePrice"', None, []),
        ('"urn:q/DeleteAll"', "urn:q/DeleteAll", []),
        (
            '"urn:q/GetQuote"',
            "urn:q/Other",
            ["SOAPAction 'urn:q/GetQuote' differs from wsa:Action 'urn:q/Other'"],
        ),
    ],
)
def test_only_real_action_contradictions_are_warned(soap_action, wsa_action, warnings):
    header = WSA_ACTION % wsa_action.encode() if wsa_action else b""
    s = analyze(S11_OP % header, MessageInfo("text/xml", soap_action, True))
    assert s is not None and list(s.warnings) == warnings


def test_responses_get_no_action_warnings():
    s = analyze(S11_OP % b"", MessageInfo("text/xml", '"urn:q/Other"', False))
    assert s is not None and s.warnings == ()


@pytest.mark.parametrize(
    "request_body, response_body, label",
    [
        (h.SOAP11_REQUEST, None, "SOAP GetQuote"),
        (
            h.SOAP11_REQUEST,
            h.SOAP11_FAULT,
            "SOAP GetQuote Fault SOAP-ENV:Server: Quote backend unavailable",
        ),
        (None, h.SOAP12_FAULT, "SOAP Fault env:Sender / t:SeatTaken: Seat already reserved"),
        (None, S11_OP % b"", "SOAP GetQuote"),
        (None, None, None),
    ],
)
def test_flow_labels(request_body, response_body, label):
    request = analyze(request_body, MessageInfo()) if request_body else None
    response = analyze(response_body, MessageInfo()) if response_body else None
    assert flow_label(request, response) == label


@pytest.mark.parametrize(
    "comment, expected",
    [
        ("", "SOAP B"),
        ("SOAP A", "SOAP B"),
        ("my note", "my note\nSOAP B"),
        ("my note\nSOAP A", "my note\nSOAP B"),
    ],
)
def test_labels_replace_only_our_own_comment_lines(comment, expected):
    assert with_label(comment, "SOAP B") == expected
