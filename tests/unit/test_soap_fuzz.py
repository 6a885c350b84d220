"""Whatever bytes arrive, the SOAP functions return (no exception escapes) and return quickly."""

import time

import soap_helpers as h
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmrelay.soap import MessageInfo, RenderOptions, analyze, is_soap, mask_text, render

SAMPLES = [
    h.SOAP11_REQUEST,
    h.SOAP11_FAULT,
    h.SOAP12_REQUEST,
    h.SOAP12_FAULT,
    h.MTOM_BODY,
    h.BILLION_LAUGHS,
]
ENVELOPE_START = b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>'
TOKENS = [
    b"<a>",
    b"</a>",
    b"<b:x xmlns:b='urn:b'>",
    b"</b:x>",
    b"<![CDATA[",
    b"]]>",
    b"&amp;",
    b"&lol;",
    b"&#0;",
    b"&#x110000;",
    b"<!DOCTYPE s [<!ENTITY lol 'x'>]>",
    b"<?pi ?>",
    b"<!--",
    b"-->",
    b"<Password>",
    b"</Password>",
    b"\x00",
    b"\xff\xfe",
    b"\r\n--b\r\n",
    b"xmlns:s='http://www.w3.org/2003/05/soap-envelope'",
    b"</s:Body></s:Envelope>",
    b"\"'<>",
]
CONTENT_TYPES = [
    None,
    "text/xml",
    'application/soap+xml; action="x',
    "multipart/related",
    'multipart/related; boundary="b"; start="<x>"',
    "multipart/related; boundary=",
]

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def mutated(sample: bytes, at: int, cut: int, insert: bytes) -> bytes:
    at %= len(sample) + 1
    return sample[:at] + insert + sample[at + cut :]


bodies = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda rest: ENVELOPE_START + rest, st.binary(max_size=2000)),
    st.builds(
        lambda parts: ENVELOPE_START + b"".join(parts),
        st.lists(st.sampled_from(TOKENS), max_size=60),
    ),
    st.builds(
        mutated,
        st.sampled_from(SAMPLES),
        st.integers(0, 5000),
        st.integers(0, 50),
        st.binary(max_size=40) | st.sampled_from(TOKENS),
    ),
    st.builds(lambda rest: b"--b\r\n" + rest, st.binary(max_size=1000)),
)


def _quick(call, *args, **kwargs):
    started = time.monotonic()
    result = call(*args, **kwargs)
    assert time.monotonic() - started < 2
    return result


@FUZZ
@given(bodies, st.sampled_from(CONTENT_TYPES), st.booleans(), st.sampled_from([None, True, False]))
def test_render_and_analyze_never_raise(body, content_type, mask, is_request):
    info = MessageInfo(content_type, '"urn:x/Op"', is_request)
    rendering = _quick(render, body, info, RenderOptions(mask=mask, max_bytes=1024))
    assert rendering.text.startswith("SOAP")
    assert "Traceback" not in rendering.text
    _quick(analyze, body, info, 1024)
    _quick(is_soap, body, content_type)


@FUZZ
@given(st.text(max_size=3000))
def test_mask_text_never_raises(text):
    _quick(mask_text, text)


@FUZZ
@given(
    st.text(
        alphabet=st.characters(
            min_codepoint=0x20, max_codepoint=0xFFFD, blacklist_categories=["Cs"]
        ),
        min_size=1,
        max_size=200,
    )
)
def test_views_do_not_depend_on_the_secret(secret):
    """Masked, any password gives the very same view as any other."""
    escaped = secret.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = h.SOAP11_REQUEST.replace(h.SECRET.encode(), escaped.encode())
    assert render(body, MessageInfo()).text == render(h.SOAP11_REQUEST, MessageInfo()).text
