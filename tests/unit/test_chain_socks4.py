"""The SOCKS4 and SOCKS4a machine as byte tables (the SOCKS4 document's CONNECT section and the
SOCKS 4A extension). No socket: the proxy's bytes are handed over as asked, byte by byte, or all at
once."""

from __future__ import annotations

import pytest
from handshake_helpers import FEEDS, drive, outcome, waits_for_more
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.chain.protocols import (
    AuthRejected,
    LocalProtocolError,
    ProxyClosed,
    Refused,
    RemoteProtocolError,
    Socks4Client,
    TunnelOpen,
)

NAME_FOLLOWS = b"\x04\x01\x01\xbb\x00\x00\x00\x01"  # port 443, DSTIP 0.0.0.1 (SOCKS 4A)
GRANTED = b"\x00\x5a\x1f\x90\x0a\x00\x00\x01"  # VN 0, CD 90, bound 10.0.0.1:8080


NO_IDENTD = "SOCKS server cannot connect to identd on the client"
OTHER_USER = "the client program and identd report different user-ids"


def reply(code: int) -> bytes:
    return bytes([0, code]) + b"\x00" * 6


@pytest.mark.parametrize(
    "host,user_id,socks4a,request_bytes",
    [
        # VN 4 | CD 1 | DSTPORT | DSTIP | USERID | NULL
        ("192.0.2.7", None, False, b"\x04\x01\x01\xbb\xc0\x00\x02\x07\x00"),
        ("192.0.2.7", "alice", False, b"\x04\x01\x01\xbb\xc0\x00\x02\x07alice\x00"),
        # SOCKS 4A: an IPv4 address is sent as in SOCKS4
        ("192.0.2.7", "alice", True, b"\x04\x01\x01\xbb\xc0\x00\x02\x07alice\x00"),
        # SOCKS 4A: DSTIP 0.0.0.1, then the host name and a NULL after the user ID's NULL
        ("example.com", None, True, b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00example.com\x00"),
        ("example.com", "id", True, b"\x04\x01\x01\xbb\x00\x00\x00\x01id\x00example.com\x00"),
        ("bücher.example", None, True, NAME_FOLLOWS + b"\x00xn--bcher-kva.example\x00"),
        ("::1", None, True, b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00::1\x00"),
    ],
)  # fmt: skip
def test_connect_request(host, user_id, socks4a, request_bytes):
    sent, result, _ = drive(Socks4Client(host, 443, user_id, socks4a=socks4a), GRANTED)
    assert sent == [request_bytes]
    assert result == TunnelOpen(b"", ("10.0.0.1", 8080))


@pytest.mark.parametrize(
    "code,failure,words",
    [
        (91, Refused, "Request rejected or failed"),
        (92, Refused, "Request rejected because " + NO_IDENTD),
        (93, AuthRejected, "Request rejected because " + OTHER_USER),
        (0, Refused, "reply code 0, which SOCKS4 does not define (90 to 93)"),
        (94, Refused, "reply code 94, which SOCKS4 does not define (90 to 93)"),
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_every_reply_code(code, failure, words, feed):
    _, result, _ = drive(Socks4Client("192.0.2.7", 443, socks4a=True), reply(code), feed)
    assert type(result) is failure
    assert (result.code, result.reason) == (code, words)


@pytest.mark.parametrize("feed", FEEDS)
def test_granted_and_the_bytes_behind_the_reply(feed):
    banner = b"SSH-2.0-server speaks first\r\n"
    _, result, rest = drive(Socks4Client("example.com", 22, socks4a=True), GRANTED + banner, feed)
    assert isinstance(result, TunnelOpen)
    assert result.bound == ("10.0.0.1", 8080)
    assert result.leftover + rest == banner
    if feed != "at once":
        assert result.leftover == b""


@pytest.mark.parametrize("feed", FEEDS)
def test_wrong_reply_version(feed):
    # "VN is the version of the reply code and should be 0": a SOCKS5 proxy answers 5.
    _, result, _ = drive(Socks4Client("192.0.2.7", 443), b"\x05\x00", feed)
    assert isinstance(result, RemoteProtocolError)
    assert result.reason == "Unexpected reply version: 5 (a SOCKS4 reply starts with 0)"


@pytest.mark.parametrize("feed", FEEDS)
def test_a_truncated_reply_waits_then_ends_as_closed(feed):
    for cut in range(len(GRANTED)):
        assert waits_for_more(Socks4Client("192.0.2.7", 443), GRANTED[:cut])
        _, result, _ = drive(Socks4Client("192.0.2.7", 443), GRANTED[:cut], feed)
        assert isinstance(result, ProxyClosed), cut


def test_a_refusal_is_known_before_the_rest_of_the_reply():
    assert not waits_for_more(Socks4Client("192.0.2.7", 443), b"\x00\x5b")
    assert not waits_for_more(Socks4Client("192.0.2.7", 443), b"\x04")


@pytest.mark.parametrize(
    "host,user_id,socks4a,reason",
    [
        ("example.com", None, False, "only, not 'example.com': use socks4a or socks5h"),
        ("::1", None, False, "SOCKS4 carries IPv4 addresses only, not '::1'"),
        ("192.0.2.7", "a\0b", False, "the SOCKS4 user ID cannot hold a NUL byte"),
        ("", None, True, "'' cannot be sent as a SOCKS4a host name"),
        ("bü..example", None, True, "cannot be encoded"),
    ],
)  # fmt: skip
def test_what_socks4_cannot_carry_fails_before_anything_is_sent(host, user_id, socks4a, reason):
    with pytest.raises(LocalProtocolError) as e:
        Socks4Client(host, 443, user_id, socks4a=socks4a)
    assert reason in e.value.reason
    with pytest.raises(LocalProtocolError, match="port 65536 does not fit"):
        Socks4Client("192.0.2.7", 65536)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=20),
        st.tuples(st.sampled_from([b"\x00", b"\x00\x5a"]), st.binary(max_size=12)).map(b"".join),
    )
)
def test_any_reply_bytes_end_in_a_tunnel_or_a_typed_failure(incoming):
    ends = {outcome(drive(Socks4Client("h", 1, socks4a=True), incoming, f)[1]) for f in FEEDS}
    assert len(ends) == 1, ends
    (end,) = ends
    assert end[0] in (TunnelOpen, Refused, AuthRejected, RemoteProtocolError, ProxyClosed)
    assert waits_for_more(Socks4Client("h", 1, socks4a=True), incoming) == (end[0] is ProxyClosed)
