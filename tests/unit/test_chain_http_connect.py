"""The HTTP CONNECT machine (RFC 9110 §9.3.6, §11.7) as byte tables: the requests it writes, and
what each reply means. No socket: the proxy's bytes are handed over as asked (through the end of a
header block, as the connector reads them), byte by byte, or all at once."""

from __future__ import annotations

import asyncio

import pytest
from handshake_helpers import FEEDS, RECONNECT, drive, outcome, waits_for_more
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.chain.protocols import (
    AuthRejected,
    AuthUnsupported,
    ConnectClient,
    LocalProtocolError,
    NeedToken,
    ProxyClosed,
    ProxyFailure,
    Refused,
    RemoteProtocolError,
    Reply,
    SendData,
    TunnelOpen,
)
from mitmrelay.chain.protocols.http_connect import MAX_LEGS, MAX_REPLY_HEADER
from mitmrelay.chain.proxyauth import Credentials, Responder

CONNECT = b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"
BASIC = "Basic YWxpY2U6c2VjcmV0"  # alice:secret
CONNECT_BASIC = (
    b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
    b"Proxy-Authorization: " + BASIC.encode() + b"\r\n\r\n"
)
OK = b"HTTP/1.1 200 Connection established\r\n\r\n"
# §15.5.8: 407 with a challenge (§11.7.1); framed, so the connection may carry the next request.
CHALLENGE = (
    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
    b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 5\r\n\r\ndenied'[:-1]
)
# The same without a length: the page ends when the proxy closes, so the next try needs a new one.
CHALLENGE_CLOSE = (
    b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="corp"\r\n\r\n'
)


def client(host: str = "example.com", port: int = 443) -> ConnectClient:
    return ConnectClient(host, port)


@pytest.mark.parametrize("feed", FEEDS)
def test_a_200_opens_the_tunnel(feed):
    sent, result, _rest = drive(client(), OK, feed)
    assert sent == [CONNECT]
    assert result == TunnelOpen(b"", None)


@pytest.mark.parametrize(
    "host,port,target",
    [
        ("192.0.2.7", 8443, b"192.0.2.7:8443"),
        ("2001:db8::1", 443, b"[2001:db8::1]:443"),  # §7.1 authority-form: IPv6 in brackets
        ("bücher.example", 443, b"xn--bcher-kva.example:443"),
    ],
)
def test_the_request_target_is_the_authority_form(host, port, target):
    sent, _, _ = drive(client(host, port), OK)
    assert sent == [b"CONNECT " + target + b" HTTP/1.1\r\nHost: " + target + b"\r\n\r\n"]


@pytest.mark.parametrize("port", [0, 65536])
def test_a_port_out_of_range_fails_before_anything_is_sent(port):
    with pytest.raises(LocalProtocolError, match="not a TCP port"):
        client(port=port)


def test_bytes_behind_the_200_belong_to_the_tunnel():
    # Read as the connector does, through the header block's end: the banner stays unread.
    _, result, rest = drive(client(), OK + b"SSH-2.0-banner\r\n")
    assert result == TunnelOpen(b"", None) and rest == b"SSH-2.0-banner\r\n"
    # Handed over in one piece: the machine gives them back with the tunnel.
    _sent, result, rest = drive(client(), OK + b"SSH-2.0-banner\r\n", "at once")
    assert result == TunnelOpen(b"SSH-2.0-banner\r\n", None)


@pytest.mark.parametrize("feed", FEEDS)
def test_informational_replies_are_skipped(feed):
    _, result, _ = drive(client(), b"HTTP/1.1 100 Continue\r\n\r\n" + OK, feed)
    assert isinstance(result, TunnelOpen)


@pytest.mark.parametrize(
    "reply,tokens,reason,code",
    [
        (b"HTTP/1.1 403 Forbidden\r\n\r\n", (), "403 Forbidden", 403),
        (b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad", (), "502 Bad Gateway", 502),
        (b"HTTP/1.1 503 \r\n\r\n", (), "503", 503),
        (b"HTTP/1.0 301 Moved\r\n\r\n", (), "301 Moved", 301),
        # Refused after credentials went with the request: the message names the scheme.
        (b"HTTP/1.1 403 Forbidden\r\n\r\n", (BASIC,), "403 Forbidden after Basic", 403),
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_every_other_status_is_a_refusal_with_its_code(reply, tokens, reason, code, feed):
    _, result, _ = drive(client(), reply, feed, tokens)
    assert outcome(result) == (Refused, reason, code)


@pytest.mark.parametrize("feed", FEEDS)
def test_a_407_is_answered_on_the_same_connection_when_its_page_is_framed(feed):
    sent, result, _ = drive(client(), CHALLENGE + OK, feed, (None, BASIC))
    assert sent == [CONNECT, CONNECT_BASIC]
    assert isinstance(result, TunnelOpen)


def test_a_407_the_proxy_ends_by_closing_needs_a_new_connection():
    sent, result, _ = drive(client(), CHALLENGE_CLOSE + OK, tokens=(None, BASIC))
    assert sent == [CONNECT, RECONNECT, CONNECT_BASIC]
    assert isinstance(result, TunnelOpen)


def test_the_407_is_handed_over_with_its_challenges():
    machine = client()
    assert machine.next_event() == NeedToken(None)
    machine.authorize(None)
    assert machine.next_event() == SendData(CONNECT)
    machine.next_event()
    machine.receive_data(CHALLENGE)
    event = machine.next_event()
    assert isinstance(event, NeedToken) and event.reply is not None
    assert event.reply.line == "407 Proxy Authentication Required"
    assert event.reply.header("proxy-authenticate") == ['Basic realm="corp"']
    assert event.reply.reusable


@pytest.mark.parametrize("feed", ["asked", "at once"])
def test_a_proxy_that_answers_407_forever_is_given_up_after_max_legs(feed):
    sent, result, _ = drive(client(), CHALLENGE * (MAX_LEGS + 2), feed, (None,) + (BASIC,) * 10)
    assert len(sent) == MAX_LEGS
    assert outcome(result) == (AuthRejected, f"407 after {MAX_LEGS} rounds of Basic", 407)


@pytest.mark.parametrize(
    "incoming,reason",
    [
        (b"HTTP/1.1 200 OK\r\nX: " + b"a" * MAX_REPLY_HEADER + b"\r\n\r\n", "longer than 65536"),
        (b"SSH-2.0-OpenSSH_9.2\r\n\r\n", "not HTTP/1.1"),
        (b"HTTP/1.1 2000 Huge\r\n\r\n", "not HTTP/1.1"),
        (b"HTTP/1.1 407 Proxy\r\nContent-Length: 2000000\r\n\r\n" + b"x" * 1_100_000, "1 MB"),
    ],
)
def test_what_is_not_a_bounded_http_reply_is_the_proxys_fault(incoming, reason):
    _, result, _ = drive(client(), incoming, "asked")
    assert isinstance(result, RemoteProtocolError) and reason in result.reason


@pytest.mark.parametrize("incoming", [b"", b"HTTP/1.1 200 Conn", b"HTTP/1.1 200 OK\r\nVia: x\r\n"])
@pytest.mark.parametrize("feed", FEEDS)
def test_a_close_before_the_reply_is_complete(incoming, feed):
    _, result, _ = drive(client(), incoming, feed)
    assert isinstance(result, ProxyClosed)


def test_an_incomplete_reply_waits_for_more():
    assert waits_for_more(client(), b"HTTP/1.1 200 OK\r\n")
    assert not waits_for_more(client(), OK)


def test_misuse_is_the_callers_fault():
    machine = client()
    with pytest.raises(LocalProtocolError):
        machine.reconnected()
    drive(machine, OK)
    with pytest.raises(LocalProtocolError):
        machine.receive_data(b"tunnel bytes")
    with pytest.raises(LocalProtocolError):
        machine.next_event()
    machine = client()
    machine.next_event()
    machine.authorize("Basic bad\r\nX-Injected: 1")
    with pytest.raises(LocalProtocolError, match="cannot be written"):
        machine.next_event()


@settings(max_examples=300, deadline=None)
@given(
    st.binary(max_size=300)
    | st.sampled_from([OK, CHALLENGE, CHALLENGE_CLOSE]).map(lambda reply: reply[: len(reply) // 2])
)
def test_any_reply_ends_in_a_tunnel_or_a_typed_failure_whatever_the_feed(incoming):
    ends = set()
    for feed in FEEDS:
        _, result, _ = drive(client(), incoming, feed, (None, BASIC))
        assert isinstance(result, TunnelOpen | ProxyFailure)
        ends.add(outcome(result)[::2])  # h11's words for a malformed reply vary with the feed
    assert len(ends) == 1, ends


# The policy that answers the machine's NeedToken: no socket either.


def answer(responder: Responder, *replies: Reply | None):
    async def run():
        return [await responder.answer(reply) for reply in replies]

    return asyncio.run(run())


def reply407(*challenges: str, reusable: bool = True) -> Reply:
    headers = tuple(("proxy-authenticate", c) for c in challenges)
    return Reply(407, "Proxy Authentication Required", headers, reusable)


def test_the_strongest_usable_offer_answers_and_a_second_407_is_a_rejection():
    responder = Responder(Credentials("alice", "secret", "proxy"), "example.com:443")
    first, second = answer(responder, None, reply407('Basic realm="corp"'))
    assert first.value is None  # nothing pinned: the proxy's 407 decides
    assert (second.value, second.scheme, second.new_connection) == (BASIC, "Basic", False)
    with pytest.raises(AuthRejected) as info:
        answer(responder, reply407('Basic realm="corp"'))
    assert info.value.reason == (
        "407 after Basic: credentials rejected (407 Proxy Authentication Required)"
    )
    assert "secret" not in str(info.value) and BASIC not in str(info.value)


def test_a_pin_the_proxy_does_not_offer_and_an_offer_we_cannot_answer():
    pinned = Responder(Credentials("alice", "secret", "proxy"), "example.com:443", "digest")
    with pytest.raises(AuthUnsupported, match="pins auth=digest but the proxy offers Basic"):
        answer(pinned, None, reply407('Basic realm="corp"'))
    anonymous = Responder(Credentials(None, None, "proxy"), "example.com:443")
    with pytest.raises(AuthUnsupported) as info:
        answer(anonymous, None, reply407('Basic realm="corp"', "Bearer"))
    assert info.value.reason == (
        "407 Proxy Authentication Required: no supported authentication scheme: offered Basic, "
        "bearer; Basic: the hop has no user:password@"
    )
