"""Matching SOAP requests by meaning: canonical envelopes, ignore rules, the index's order, and
what a miss says."""

from __future__ import annotations

import pytest
import soap_helpers as h
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree
from mitmproxy.test import tutils
from mitmrelay.soap import replay
from mitmrelay.soap.render import analyze
from mitmrelay.soap.summary import MessageInfo

S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
INFO = MessageInfo(content_type="text/xml; charset=utf-8", is_request=True)


def envelope(body: str, header: str = "", prefix: str = "soap", ns: str = S11) -> bytes:
    head = f"<{prefix}:Header>{header}</{prefix}:Header>" if header else ""
    return (
        f'<{prefix}:Envelope xmlns:{prefix}="{ns}">{head}'
        f"<{prefix}:Body>{body}</{prefix}:Body></{prefix}:Envelope>"
    ).encode()


QUOTE = '<q:GetQuote xmlns:q="urn:q" currency="EUR"><q:symbol>ACME</q:symbol></q:GetQuote>'


def canon(data: bytes, rules: tuple = (), info: MessageInfo = INFO) -> replay.SoapRequest:
    found = replay.soap_request(data, info, rules)
    assert isinstance(found, replay.SoapRequest), found
    return found


def test_prefixes_declaration_order_and_whitespace_between_elements_do_not_count():
    other = (
        f'<?xml version="1.0"?>\n<S:Envelope xmlns:x="urn:q" xmlns:S="{S11}">\n  <S:Body>\n'
        '    <x:GetQuote currency="EUR">\n      <x:symbol>ACME</x:symbol>\n    </x:GetQuote>\n'
        "  </S:Body>\n</S:Envelope>\n"
    ).encode()
    assert canon(other) == canon(envelope(QUOTE))
    assert canon(other).operation == ("urn:q", "GetQuote")


@pytest.mark.parametrize(
    "changed",
    [
        QUOTE.replace("ACME", "ACME "),  # text inside an element is content
        QUOTE.replace("EUR", "USD"),
        QUOTE.replace('xmlns:q="urn:q"', 'xmlns:q="urn:other"'),
        QUOTE.replace("</q:GetQuote>", "<q:extra/></q:GetQuote>"),
        QUOTE.replace(' currency="EUR"', ""),
    ],
)
def test_content_counts(changed):
    assert canon(envelope(changed)) != canon(envelope(QUOTE))


def test_element_order_counts():
    a = '<q:Op xmlns:q="urn:q"><q:a>1</q:a><q:b>2</q:b></q:Op>'
    b = '<q:Op xmlns:q="urn:q"><q:b>2</q:b><q:a>1</q:a></q:Op>'
    assert canon(envelope(a)) != canon(envelope(b))


def test_xsi_type_values_are_compared_by_namespace_not_prefix():
    def typed(prefix: str) -> bytes:
        return envelope(
            f'<q:Op xmlns:q="urn:q" xmlns:xsi="{replay.XSI_NS}" '
            f'xmlns:{prefix}="http://www.w3.org/2001/XMLSchema">'
            f'<q:v xsi:type="{prefix}:string">x</q:v></q:Op>'
        )

    assert canon(typed("xsd")) == canon(typed("xs"))


def test_volatile_headers_and_ids_are_left_out_but_other_headers_count():
    def with_header(message_id: str, action: str = "urn:q/GetQuote", nonce: str = "abc") -> bytes:
        header = (
            f'<wsa:Action xmlns:wsa="{WSA}">{action}</wsa:Action>'
            f'<wsa:MessageID xmlns:wsa="{WSA}">{message_id}</wsa:MessageID>'
            f'<wsa:RelatesTo xmlns:wsa="{WSA}">{message_id}</wsa:RelatesTo>'
            f'<wsa:To xmlns:wsa="{WSA}">http://127.0.0.1:{len(message_id)}/q</wsa:To>'
            f'<wsse:Security xmlns:wsse="{h.WSSE}"><wsse:Nonce>{nonce}</wsse:Nonce></wsse:Security>'
        )
        body = QUOTE.replace("<q:GetQuote ", f'<q:GetQuote xmlns:wsu="{h.WSU}" wsu:Id="{nonce}" ')
        return envelope(body, header)

    first = canon(with_header("urn:uuid:1", nonce="n1"))
    assert first == canon(with_header("urn:uuid:22", nonce="n2"))
    assert [node.name for node in first.header] == [(WSA, "Action")]
    assert first != canon(with_header("urn:uuid:1", action="urn:q/Other"))


def test_user_ignore_rules_by_name_namespace_and_path():
    def stamped(value: str, where: str = "q:stamp") -> bytes:
        return envelope(QUOTE.replace("</q:GetQuote>", f"<{where}>{value}</{where}></q:GetQuote>"))

    a, b = stamped("10:00"), stamped("10:01")
    assert canon(a) != canon(b)
    for rule in ["stamp", "{urn:q}stamp", "GetQuote/stamp", "Body/*/{urn:q}stamp", "*/stamp"]:
        rules = (replay.parse_ignore(rule),)
        assert canon(a, rules) == canon(b, rules) == canon(envelope(QUOTE), rules), rule
    for rule in ["{urn:other}stamp", "{}stamp", "Header/*/stamp", "Other/stamp"]:
        rules = (replay.parse_ignore(rule),)
        assert canon(a, rules) != canon(b, rules), rule


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("", "empty element name"),
        ("a//b", "step 2 of 'a//b': an empty step"),
        ("{urn:x", "step 1 of '{urn:x': an unclosed '{'"),
        ("a b", "step 1 of 'a b' is followed by ' b'; separate steps with '/'"),
        ("1a", "step 1 of '1a': '1a' is not an XML name"),
        ("/Body/a", "step 1 of '/Body/a': an empty step"),
        ("a/", "step 2 of 'a/': an empty step"),
    ],
)
def test_bad_ignore_rules_say_what_is_wrong(entry, message):
    with pytest.raises(ValueError) as caught:
        replay.parse_ignore(entry)
    assert str(caught.value).startswith(message)


def test_ignore_rule_syntax():
    assert replay.parse_ignore(" {http://x/y}A/b/* ") == (
        replay.Step("http://x/y", "A"),
        replay.Step(None, "b"),
        replay.Step(None, "*"),
    )
    assert replay.parse_ignore("{}Local") == (replay.Step("", "Local"),)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"<a>not soap</a>", None),
        (b"", None),
        (h.BILLION_LAUGHS, "the envelope has a DTD, which SOAP forbids"),
        (envelope(QUOTE)[:-20], "the envelope cannot be read: malformed XML"),
    ],
)
def test_what_is_not_a_readable_soap_request(data, expected):
    found = replay.soap_request(data, INFO)
    assert found == expected or (isinstance(found, str) and found.startswith(expected))


def test_mtom_attachments_compare_by_their_bytes_not_their_content_ids():
    info = MessageInfo(h.MTOM_CONTENT_TYPE, is_request=True)

    def upload(cid: str, data: bytes) -> replay.SoapRequest:
        body = h.MTOM_BODY.replace(b"logo%40example", cid.encode())
        body = body.replace(b"<logo@example>", f"<{cid}>".encode())
        return canon(body.replace(h.PNG_BYTES, data), info=info)

    assert upload("one@x", h.PNG_BYTES) == upload("two@x", h.PNG_BYTES)
    assert upload("one@x", h.PNG_BYTES) != upload("one@x", b"other bytes")
    assert upload("one@x", h.PNG_BYTES).operation == ("urn:example:files", "Upload")


def test_the_operation_is_the_soap_views():
    request = canon(h.SOAP11_REQUEST)
    assert request.operation == analyze(h.SOAP11_REQUEST, INFO).operation
    assert request.version == "1.1"


# --- the index -----------------------------------------------------------------------------------


def http_request(content: bytes = b"", path: str = "/quotes", method: str = "POST"):
    return tutils.treq(
        method=method.encode(),
        path=path.encode(),
        content=content,
        headers=((b"content-type", b"text/xml; charset=utf-8"),),
    )


def recorded(content: bytes, answer: bytes, n: int, path: str = "/quotes", method: str = "POST"):
    return replay.Recorded(
        f"flows.mitm #{n}",
        replay.request_of(http_request(content, path, method)),
        tutils.tresp(content=answer),
    )


def ask(index: replay.Index, content: bytes, path: str = "/quotes", method: str = "POST"):
    return index.answer(replay.request_of(http_request(content, path, method)))


def test_several_answers_come_in_order_then_the_last_repeats():
    index = replay.Index.of(
        [
            recorded(envelope(QUOTE), b"first", 1),
            recorded(envelope(QUOTE.replace("ACME", "X")), b"other", 2),
            recorded(envelope(QUOTE), b"second", 3),
        ]
    )
    answers = [ask(index, envelope(QUOTE, prefix="s")) for _ in range(4)]
    assert [a.recorded.response.content for a in answers] == [b"first", b"second"] + [b"second"] * 2
    assert [(a.number, a.total, a.repeated) for a in answers] == [
        (1, 2, False),
        (2, 2, False),
        (2, 2, True),
        (2, 2, True),
    ]
    assert ask(index, envelope(QUOTE.replace("ACME", "X"))).recorded.source == "flows.mitm #2"


def test_version_and_path_are_part_of_the_match():
    index = replay.Index.of([recorded(envelope(QUOTE), b"ok", 1)])
    assert ask(index, envelope(QUOTE, ns=S12)) is None
    assert ask(index, envelope(QUOTE), path="/other") is None
    assert ask(index, envelope(QUOTE), path="/quotes?x=1") is not None  # a SOAP endpoint's path


def test_other_requests_match_method_path_and_query_exactly():
    index = replay.Index.of([recorded(b"", b"<wsdl/>", 1, "/quotes?wsdl", "GET")])
    assert ask(index, b"", "/quotes?wsdl", "GET").recorded.response.content == b"<wsdl/>"
    assert ask(index, b"", "/quotes?WSDL", "GET") is None
    assert ask(index, b"", "/quotes?wsdl", "HEAD") is None
    assert ask(index, b"", "/quotes", "GET") is None


def test_an_unreadable_envelope_is_never_answered():
    index = replay.Index.of([recorded(h.BILLION_LAUGHS, b"x", 1)])
    request = replay.request_of(http_request(h.BILLION_LAUGHS))
    assert index.answer(request) is None
    assert request.soap_version == "1.1"
    assert index.miss(request) == (
        "no recorded exchange matched POST /quotes: the envelope has a DTD, which SOAP forbids"
    )


def miss(index: replay.Index, content: bytes, path: str = "/quotes", method: str = "POST") -> str:
    return index.miss(replay.request_of(http_request(content, path, method)))


SECOND = '<q:GetPrice xmlns:q="urn:q"><q:symbol>ACME</q:symbol><q:day>1</q:day></q:GetPrice>'


@pytest.fixture
def index() -> replay.Index:
    return replay.Index.of(
        [
            recorded(envelope(QUOTE), b"", 1),
            recorded(envelope(SECOND), b"", 2),
            recorded(b"", b"", 3, "/quotes?wsdl", "GET"),
        ]
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            QUOTE.replace("ACME", "NOPE"),
            "nearest: flows.mitm #1 POST /quotes GetQuote (SOAP 1.1), "
            "first difference at Body/GetQuote/symbol: 'NOPE' here, 'ACME' recorded",
        ),
        (
            SECOND.replace("<q:day>1</q:day>", ""),
            "nearest: flows.mitm #2 POST /quotes GetPrice (SOAP 1.1), first difference: "
            "element Body/GetPrice/day {urn:q} recorded, not in this request",
        ),
        (
            SECOND.replace("</q:GetPrice>", "<q:more/></q:GetPrice>"),
            "first difference: element Body/GetPrice/more {urn:q} here, "
            "not in the recorded request",
        ),
        (
            QUOTE.replace("<q:symbol>", "<q:venue>X</q:venue><q:symbol>"),
            "first difference: element Body/GetQuote/venue {urn:q} here, "
            "element Body/GetQuote/symbol {urn:q} recorded",
        ),
        (
            QUOTE.replace('currency="EUR"', 'currency="USD"'),
            "first difference at Body/GetQuote/@currency: 'USD' here, 'EUR' recorded",
        ),
        (
            QUOTE.replace("GetQuote", "GetQuotes"),
            "nearest: flows.mitm #1 POST /quotes GetQuote (SOAP 1.1), first difference: "
            "operation {urn:q}GetQuotes here, {urn:q}GetQuote recorded",
        ),
        (
            QUOTE.replace('xmlns:q="urn:q"', 'xmlns:q="urn:q2"'),
            "first difference: operation {urn:q2}GetQuote here, {urn:q}GetQuote recorded",
        ),
    ],
)
def test_a_miss_names_the_nearest_and_the_first_difference(index, content, expected):
    text = miss(index, envelope(content))
    assert text.startswith("no recorded exchange matched POST /quotes ")
    assert expected in text


def test_a_miss_on_path_version_and_query(index):
    assert miss(index, envelope(QUOTE), "/other").endswith(
        "nearest: flows.mitm #1 POST /quotes GetQuote (SOAP 1.1), "
        "first difference: path /other here, /quotes recorded"
    )
    assert miss(index, envelope(QUOTE, ns=S12)).endswith(
        "first difference: SOAP 1.2 here, SOAP 1.1 recorded"
    )
    assert miss(index, b"", "/quotes?xsd=1", "GET") == (
        "no recorded exchange matched GET /quotes?xsd=1; nearest: flows.mitm #3 GET /quotes?wsdl, "
        "first difference: query 'xsd=1' here, 'wsdl' recorded"
    )
    assert miss(replay.Index.of([]), b"", "/x", "GET") == (
        "no recorded exchange matched GET /x; no non-SOAP exchange was recorded"
    )


def test_a_miss_never_shows_a_secret():
    def login(password: str) -> bytes:
        return envelope(f'<q:Login xmlns:q="urn:q"><q:Password>{password}</q:Password></q:Login>')

    index = replay.Index.of([recorded(login("recorded-secret"), b"", 1)])
    text = miss(index, login("typed-secret"))
    assert "at Body/Login/Password: [masked] here, [masked] recorded" in text
    assert "secret" not in text


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_the_no_match_fault_is_a_fault_of_the_requests_version(version):
    reason = "no recorded exchange matched <x> & 'y'"
    body = replay.fault_body(version, reason)
    summary = analyze(body, MessageInfo(replay.FAULT_CONTENT_TYPES[version], is_request=False))
    assert summary is not None and summary.version == version
    assert summary.fault is not None and summary.fault.reason == reason
    assert summary.fault.code == ("soap:Server" if version == "1.1" else "soap:Receiver")


# --- properties ----------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.sampled_from([b"", envelope("<q:x xmlns:q='u'>")[:60]]))
def test_any_bytes_give_a_request_a_reason_or_none(data, prefix):
    found = replay.soap_request(prefix + data, INFO)
    assert found is None or isinstance(found, str | replay.SoapRequest)
    request = replay.request_of(http_request(prefix + data))
    assert replay.Index.of([]).answer(request) is None
    assert replay.Index.of([]).miss(request).startswith("no recorded exchange matched")


_names = st.sampled_from(["a", "b", "item", "Id"])
_namespaces = st.sampled_from(["urn:one", "urn:two", ""])
_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Cn"]), max_size=8
)


@st.composite
def trees(draw, depth: int = 0) -> etree._Element:
    ns = draw(_namespaces)
    element = etree.Element(f"{{{ns}}}{draw(_names)}" if ns else draw(_names))
    for name, value in draw(st.dictionaries(_names, _texts, max_size=2)).items():
        element.set(name, value)
    children = draw(st.lists(trees(depth + 1), max_size=3)) if depth < 3 else []
    if children:
        element.extend(children)
    else:
        element.text = draw(_texts)
    return element


def _serialize(tree: etree._Element, prefixes: dict[str, str], indent: bool) -> bytes:
    """The same tree written with other prefixes (all declared on the root) and layout."""
    nsmap = {prefix: ns for ns, prefix in prefixes.items()}
    root = etree.Element(f"{{{S11}}}Envelope", nsmap={"env": S11, **nsmap})
    etree.SubElement(root, f"{{{S11}}}Body").append(etree.fromstring(etree.tostring(tree)))
    if indent:
        etree.indent(root)
    return etree.tostring(root)


@settings(max_examples=200, deadline=None)
@given(trees(), st.booleans())
def test_prefixes_and_indentation_never_change_the_canonical_form(tree, indent):
    plain = _serialize(tree, {}, False)
    other = _serialize(tree, {"urn:one": "p1", "urn:two": "p2"}, indent)
    assert canon(plain) == canon(other)


@settings(max_examples=200, deadline=None)
@given(trees(), trees())
def test_any_two_different_envelopes_get_a_named_first_difference(one, other):
    a = replay.Request("POST", "/q", "", canon(_serialize(one, {}, False)))
    b = replay.Request("POST", "/q", "", canon(_serialize(other, {}, True)))
    text = replay.first_difference(a, b)
    if a.key == b.key:
        assert text.startswith("no difference")
    else:
        # Each side is named: "... here", or "... recorded, not in this request".
        assert text.startswith("first difference")
        assert " here" in text or text.endswith(" recorded, not in this request")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_ignore_entry_parses_or_says_why(entry):
    try:
        rule = replay.parse_ignore(entry)
    except ValueError as e:
        assert str(e)
    else:
        assert rule and all(step.local for step in rule)
