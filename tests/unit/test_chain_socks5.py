"""The SOCKS5 machine (RFC 1928, RFC 1929) as byte tables: what it sends, and what each reply
means. No socket: the proxy's bytes are handed over as asked, byte by byte, or all at once."""

from __future__ import annotations

import pytest
from handshake_helpers import FEEDS, drive, outcome, waits_for_more
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.chain.protocols import (
    AuthRejected,
    LocalProtocolError,
    ProxyClosed,
    ProxyFailure,
    Refused,
    RemoteProtocolError,
    SendData,
    Socks5Client,
    TunnelOpen,
)

GREETING = b"\x05\x01\x00"  # §3: version 5, one method: no authentication
GREETING_CREDENTIALS = b"\x05\x02\x00\x02"  # §3: no authentication, username/password
AUTH = b"\x01\x05alice\x06secret"  # RFC 1929 §2
CONNECT = b"\x05\x01\x00\x03\x0bexample.com\x01\xbb"  # §4: CONNECT example.com:443 (§5 domain)
NO_AUTH = b"\x05\x00"
USER_PASS = b"\x05\x02"
AUTH_OK = b"\x01\x00"
IPV6 = bytes.fromhex("20010db8" + "00" * 11 + "01")  # 2001:db8::1
IPV4_OK = b"\x05\x00\x00\x01\x0a\x00\x00\x01\x1f\x90"  # §6: succeeded, bound 10.0.0.1:8080


def client(credentials: bool = False, host: str = "example.com", port: int = 443) -> Socks5Client:
    return Socks5Client(host, port, *(("alice", "secret") if credentials else (None, None)))


def reply(code: int, atyp: int = 1, address: bytes = b"\x7f\x00\x00\x01") -> bytes:
    return bytes([5, code, 0, atyp]) + address + b"\x01\xbb"


@pytest.mark.parametrize(
    "host,request_bytes",
    [
        ("example.com", CONNECT),
        ("192.0.2.7", b"\x05\x01\x00\x01\xc0\x00\x02\x07\x01\xbb"),
        ("2001:db8::1", b"\x05\x01\x00\x04" + IPV6 + b"\x01\xbb"),
        ("bücher.example", b"\x05\x01\x00\x03\x15xn--bcher-kva.example\x01\xbb"),
    ],
)  # fmt: skip
def test_connect_request_carries_each_address_type(host, request_bytes):
    sent, result, _ = drive(client(host=host), NO_AUTH + IPV4_OK)
    assert sent == [GREETING, request_bytes]
    assert result == TunnelOpen(b"", ("10.0.0.1", 8080))


@pytest.mark.parametrize(
    "credentials,incoming,sent,expected",
    [
        # §3: the proxy selects no authentication: the request follows at once.
        (False, NO_AUTH + IPV4_OK, [GREETING, CONNECT], TunnelOpen),
        (True, NO_AUTH + IPV4_OK, [GREETING_CREDENTIALS, CONNECT], TunnelOpen),
        # §3 + RFC 1929 §2: username/password, then status 0, then the request.
        (True, USER_PASS + AUTH_OK + IPV4_OK, [GREETING_CREDENTIALS, AUTH, CONNECT], TunnelOpen),
        # §3: X'FF', no acceptable methods; decided by the state, whatever we offered.
        (False, b"\x05\xff", [GREETING], AuthRejected),
        (True, b"\x05\xff", [GREETING_CREDENTIALS], AuthRejected),
        # A method we did not offer: username/password without credentials, GSSAPI, unassigned.
        (False, USER_PASS, [GREETING], RemoteProtocolError),
        (True, b"\x05\x01", [GREETING_CREDENTIALS], RemoteProtocolError),
        (True, b"\x05\x80", [GREETING_CREDENTIALS], RemoteProtocolError),
        # RFC 1929 §2: any non-zero status is a failure.
        (True, USER_PASS + b"\x01\x01", [GREETING_CREDENTIALS, AUTH], AuthRejected),
        (True, USER_PASS + b"\x01\xff", [GREETING_CREDENTIALS, AUTH], AuthRejected),
        # RFC 1929 §2: the status's version is the subnegotiation's, 1.
        (True, USER_PASS + b"\x05\x00", [GREETING_CREDENTIALS, AUTH], RemoteProtocolError),
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_method_selection_and_username_password(credentials, incoming, sent, expected, feed):
    got_sent, result, _ = drive(client(credentials), incoming, feed)
    assert got_sent == sent
    assert type(result) is expected


def test_failure_texts_of_the_method_and_auth_steps():
    _, result, _ = drive(client(), b"\x05\xff")
    assert (result.reason, result.code) == (
        "No acceptable authentication methods were offered (we offered: no authentication); "
        "a proxy that wants a password needs user:password@ in the hop's URL",
        None,
    )
    _, result, _ = drive(client(True), b"\x05\xff")
    assert result.reason == (
        "No acceptable authentication methods were offered "
        "(we offered: no authentication, username/password)"
    )
    _, result, _ = drive(client(), USER_PASS)
    assert result.reason == (
        "Unexpected SOCKS authentication method: 2 (we offered: no authentication)"
    )
    _, result, _ = drive(client(True), USER_PASS + b"\x01\x01")
    assert (result.reason, result.code) == ("Username and password authentication failure", None)
    _, result, _ = drive(client(), b"\x04\x00")
    assert result.reason == (
        "Unexpected SOCKS version number: 4 (a SOCKS5 reply starts with 5 (RFC 1928 §3))"
    )


@pytest.mark.parametrize(
    "code,words",
    [
        (0x01, "General SOCKS server failure"),
        (0x02, "Connection not allowed by ruleset"),
        (0x03, "Network unreachable"),
        (0x04, "Host unreachable"),
        (0x05, "Connection refused by destination host"),
        (0x06, "TTL expired"),
        (0x07, "Command not supported or protocol error"),
        (0x08, "Address type not supported"),
        (0x09, "reply code 0x09, which RFC 1928 §6 leaves unassigned"),
        (0xF0, "reply code 0xf0, which RFC 1928 §6 leaves unassigned"),  # Tor's extended errors
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_every_reply_code_is_a_refusal_with_its_words(code, words, feed):
    _, result, _ = drive(client(), NO_AUTH + reply(code), feed)
    assert isinstance(result, Refused)
    assert (result.code, result.reason) == (code, words)


@pytest.mark.parametrize(
    "atyp,address,bound",
    [
        (1, b"\xc0\x00\x02\x07", "192.0.2.7"),
        (3, b"\x0fproxy.example.n", "proxy.example.n"),
        (3, b"\x00", ""),
        (4, IPV6, "2001:db8::1"),
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_each_bound_address_type_and_the_bytes_behind_the_reply(atyp, address, bound, feed):
    banner = b"220 server speaks first\r\n"
    _, result, rest = drive(client(), NO_AUTH + reply(0, atyp, address) + banner, feed)
    assert isinstance(result, TunnelOpen)
    assert result.bound == (bound, 443)
    # The bytes behind the reply belong to the tunnel: left unread, or handed back as leftover.
    assert result.leftover + rest == banner
    if feed != "at once":
        assert result.leftover == b""


@pytest.mark.parametrize(
    "incoming,reason",
    [
        (NO_AUTH + b"\x04\x00\x00\x01", "Unexpected SOCKS version number: 4"),
        (NO_AUTH + b"\x05\x00\x01\x01", "The reserved byte must be 0X0, not 0X1 (RFC 1928 §6)"),
        (NO_AUTH + reply(0, 0), "Invalid address type: 0X0 (RFC 1928 §5 has 1, 3 and 4)"),
        (NO_AUTH + reply(0, 2), "Invalid address type: 0X2"),
        (NO_AUTH + reply(0, 7, b"\0" * 4), "Invalid address type: 0X7"),
        (b"\x17\x03\x03 not a proxy reply", "Unexpected SOCKS version number: 23"),
    ],
)
@pytest.mark.parametrize("feed", FEEDS)
def test_protocol_violations(incoming, reason, feed):
    _, result, _ = drive(client(), incoming, feed)
    assert isinstance(result, RemoteProtocolError)
    assert reason in result.reason and result.code is None


EXCHANGES = [
    (False, NO_AUTH + IPV4_OK),
    (True, USER_PASS + AUTH_OK + IPV4_OK),
    (False, NO_AUTH + reply(0, 3, b"\x05a.b.c")),
    (False, NO_AUTH + reply(0, 4, b"\x00" * 16)),
]


@pytest.mark.parametrize("credentials,complete", EXCHANGES)
@pytest.mark.parametrize("feed", FEEDS)
def test_a_truncated_reply_waits_then_ends_as_closed(credentials, complete, feed):
    for cut in range(len(complete)):
        assert waits_for_more(client(credentials), complete[:cut])
        _, result, _ = drive(client(credentials), complete[:cut], feed)
        assert isinstance(result, ProxyClosed), cut
        assert result.reason == "the proxy closed the connection during the handshake"


def test_asks_for_no_more_than_the_message_it_reads():
    machine = client()
    assert machine.next_event() == SendData(GREETING)
    assert machine.next_event().size == 2
    machine.receive_data(b"\x05")
    assert machine.next_event().size == 1
    machine.receive_data(b"\x00")
    assert machine.next_event() == SendData(CONNECT)
    assert machine.next_event().size == 4  # VER REP RSV ATYP
    machine.receive_data(b"\x05\x00\x00\x03")
    assert machine.next_event().size == 1  # the domain's length
    machine.receive_data(b"\x03")
    assert machine.next_event().size == 5  # the domain and the port
    machine.receive_data(b"abc\x00\x50")
    assert machine.next_event() == TunnelOpen(b"", ("abc", 80))


def test_a_refusal_or_a_wrong_version_is_known_before_the_rest_of_the_reply():
    assert not waits_for_more(client(), NO_AUTH + b"\x05\x05")
    assert not waits_for_more(client(), b"\x04")
    assert not waits_for_more(client(True), USER_PASS + b"\x02")


@pytest.mark.parametrize(
    "arguments,reason",
    [
        (("h" * 256, 443), "the host name is 256 bytes; SOCKS5 carries 1 to 255 (RFC 1928 §5)"),
        (("", 443), "the host name is 0 bytes"),
        (("example.com", 70000), "port 70000 does not fit SOCKS5's two bytes"),
        (("example.com", 443, "u" * 256, "p"), "the user name is 256 bytes; RFC 1929 §2 allows"),
        (("example.com", 443, "u", "p" * 256), "the password is 256 bytes; RFC 1929 §2 allows"),
        (("bü..example", 443), "cannot be encoded"),
    ],
)
def test_what_socks5_cannot_carry_fails_before_anything_is_sent(arguments, reason):
    with pytest.raises(LocalProtocolError) as e:
        Socks5Client(*arguments)
    assert reason in e.value.reason
    assert "p" * 256 not in e.value.reason


def test_empty_credentials_offer_no_username_password():
    # RFC 1929 §2: ULEN and PLEN are 1 to 255, so an empty one cannot be sent.
    assert drive(Socks5Client("example.com", 443, "alice", ""), b"")[0] == [GREETING]
    assert drive(Socks5Client("example.com", 443, "", "pw"), b"")[0] == [GREETING]
    sent, _, _ = drive(Socks5Client("h", 1, "ü", "pässwörd"), USER_PASS)
    assert sent[1] == b"\x01\x02\xc3\xbc\x0ap\xc3\xa4ssw\xc3\xb6rd"


def test_the_machine_ends_once():
    machine = client()
    drive(machine, NO_AUTH + IPV4_OK)
    with pytest.raises(LocalProtocolError):
        machine.next_event()
    with pytest.raises(LocalProtocolError):
        machine.receive_data(b"tunnel bytes")
    failed = client()
    assert isinstance(drive(failed, b"\x05\xff")[1], AuthRejected)
    with pytest.raises(LocalProtocolError):
        failed.next_event()
    closed = client()
    closed.receive_data(b"")
    with pytest.raises(LocalProtocolError):
        closed.receive_data(b"\x05")


@settings(max_examples=400, deadline=None)
@given(
    st.booleans(),
    st.one_of(
        st.binary(max_size=40),
        # Mostly well-formed: a valid prefix, then anything.
        st.tuples(
            st.sampled_from([b"", NO_AUTH, USER_PASS, USER_PASS + AUTH_OK, NO_AUTH + b"\x05\0\0"]),
            st.binary(max_size=30),
        ).map(b"".join),
    ),
)  # fmt: skip
def test_any_reply_bytes_end_in_a_tunnel_or_a_typed_failure(credentials, incoming):
    results = [drive(client(credentials), incoming, feed) for feed in FEEDS]
    # Never an exception of another type (drive lets those through), nor an endless wait.
    ends = {outcome(result) for _, result, _ in results}
    assert len(ends) == 1, ends  # however the bytes arrive
    (end,) = ends
    assert end[0] in (TunnelOpen, Refused, AuthRejected, RemoteProtocolError, ProxyClosed)
    assert issubclass(end[0], TunnelOpen | ProxyFailure)
    # It waits only when it needs more: given every byte, it decides unless they end too soon.
    assert waits_for_more(client(credentials), incoming) == (end[0] is ProxyClosed)
