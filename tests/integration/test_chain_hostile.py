"""The connector against broken and hostile proxies: every fault is answered within the deadline
with the hop, the kind of failure and the reason, and nothing is left behind (file descriptors,
asyncio tasks)."""

from __future__ import annotations

import asyncio
import gc
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.chain.connector import HopError, open_chain
from mitmrelay.chain.errors import Failure
from mitmrelay.chain.spec import parse_chain
from mitmrelay.testing import HOST, free_port
from peers import ScriptedProxy

DEADLINE = 1.0
GREETING_OK = b"\x05\x00"  # SOCKS5: version 5, no authentication (RFC 1928 §3)
GREETING_AUTH = b"\x05\x02"  # SOCKS5: version 5, username/password (RFC 1928 §3)


def open_fds() -> int:
    # HopErrors kept by earlier tests hold their tracebacks' frames, and those the sockets, in
    # reference cycles: collect them first, so only descriptors still in use are counted.
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


def connect(
    chain: str, host: str = "dest.example", port: int = 443, deadline: float = DEADLINE
) -> tuple[HopError | None, float]:
    """Run open_chain in a fresh event loop; return the HopError (None: connected) and the time it
    took."""

    async def attempt() -> HopError | None:
        try:
            _, writer = await open_chain(parse_chain(chain), host, port, timeout=deadline)
        except HopError as e:
            return e
        writer.close()
        return None

    start = time.monotonic()
    result = asyncio.run(attempt())
    return result, time.monotonic() - start


def socks5_reply(atyp: int, address: bytes, rep: int = 0) -> bytes:
    return bytes([5, rep, 0, atyp]) + address + b"\x01\xbb"


@pytest.mark.parametrize(
    "chain_scheme,replies,then,kind,reason,code",
    [
        ("socks5h", [], "stall", Failure.TIMED_OUT, "within 1 s (proxy_connect_timeout)", None),
        (
            "socks5h",
            [b""],
            "close",
            Failure.CLOSED,
            "the proxy closed the connection during the handshake",
            None,
        ),
        (
            "socks5h",
            [b"\x05"],
            "close",
            Failure.CLOSED,
            "the proxy closed the connection during the handshake",
            None,
        ),
        (
            "socks5h",
            [b"\x05"],
            "stall",
            Failure.TIMED_OUT,
            "within 1 s (proxy_connect_timeout)",
            None,
        ),
        (
            "socks5h",
            [b"\x04\x00"],
            "stall",
            Failure.PROTOCOL,
            "Unexpected SOCKS version number: 4",
            None,
        ),
        (
            "socks5h",
            [GREETING_AUTH],
            "stall",
            Failure.PROTOCOL,
            "Unexpected SOCKS authentication method: 2",
            None,
        ),
        (
            "socks5h",
            [b"\x05\xff"],
            "stall",
            Failure.AUTH_REJECTED,
            "No acceptable authentication methods were offered",
            None,
        ),
        (
            "socks5h",
            [GREETING_OK, socks5_reply(7, b"\x00" * 4)],
            "stall",
            Failure.PROTOCOL,
            "Invalid address type: 0X7",
            None,
        ),
        (
            "socks5h",
            [GREETING_OK, socks5_reply(1, b"\x7f\x00\x00\x01", rep=5)],
            "stall",
            Failure.REFUSED,
            "Connection refused",
            5,
        ),
        (
            "socks5h",
            [GREETING_OK, b"\x05\x00\x00\x03\xff" + b"x" * 100],
            "stall",
            Failure.TIMED_OUT,
            "within 1 s",
            None,
        ),
        (
            "socks4a",
            [b"\x00\x5b" + b"\x00" * 6],
            "stall",
            Failure.REFUSED,
            "Request rejected or failed",
            0x5B,
        ),
        (
            "socks4a",
            [b"\x00\x5d" + b"\x00" * 6],
            "stall",
            Failure.AUTH_REJECTED,
            "the client program and identd report different user-ids",
            0x5D,
        ),
        (
            "http",
            [b"garbage without a status line\r\n\r\n"],
            "stall",
            Failure.PROTOCOL,
            "the proxy's reply is not HTTP/1.1: illegal status line",
            None,
        ),
        (
            "http",
            [b"HTTP/1.1 403 Forbidden\r\n\r\n"],
            "stall",
            Failure.REFUSED,
            "403 Forbidden",
            403,
        ),
        (
            "http",
            [b"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"],
            "stall",
            Failure.AUTH_REJECTED,
            "407 Proxy Authentication Required",
            407,
        ),
        (
            "http",
            [b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70000],
            "stall",
            Failure.PROTOCOL,
            "the proxy's reply is longer than 65536 bytes",
            None,
        ),
        (
            "http",
            [b"HTTP/1.1 200 OK\r\n"],
            "close",
            Failure.CLOSED,
            "the proxy closed the connection during the handshake",
            None,
        ),
    ],
)
def test_broken_proxy_replies(chain_scheme, replies, then, kind, reason, code):
    proxy = ScriptedProxy(replies, then)
    try:
        error, elapsed = connect(f"{chain_scheme}://{HOST}:{proxy.port}")
    finally:
        proxy.stop()
    assert error is not None
    assert (error.kind, error.index, error.count) == (kind, 1, 1)
    assert error.hop == f"{chain_scheme}://{HOST}:{proxy.port}"
    assert error.destination == error.target == ("dest.example", 443)
    assert reason in error.reason
    assert error.code == code and type(error.code) in (int, type(None))
    assert elapsed < DEADLINE + 0.5


def test_socks5_password_rejected_is_an_authentication_failure_and_masked():
    # RFC 1929 §2: a non-zero status byte after the username/password request.
    proxy = ScriptedProxy([GREETING_AUTH, b"\x01\x01"])
    try:
        error, _ = connect(f"socks5h://alice:hunter2@{HOST}:{proxy.port}")
    finally:
        proxy.stop()
    assert error is not None and error.kind is Failure.AUTH_REJECTED
    assert error.hop == f"socks5h://alice:***@{HOST}:{proxy.port}"
    assert str(error) == (
        f"proxy hop 1/1 socks5h://alice:***@{HOST}:{proxy.port} failed the connection to "
        "dest.example:443: Username and password authentication failure"
    )


def test_second_hop_failure_names_that_hop_and_what_it_was_asked_for(peer):
    first = peer.microsocks()
    refusing = ScriptedProxy([b"HTTP/1.1 403 Forbidden\r\n\r\n"])
    try:
        error, _ = connect(f"socks5h://{HOST}:{first.port},http://{HOST}:{refusing.port}")
    finally:
        refusing.stop()
    assert error is not None
    assert (error.kind, error.index, error.count, error.code) == (Failure.REFUSED, 2, 2, 403)
    assert error.hop == f"http://{HOST}:{refusing.port}"
    assert error.target == ("dest.example", 443)
    assert str(error) == (
        f"proxy hop 2/2 http://{HOST}:{refusing.port} refused the connection to "
        "dest.example:443: 403 Forbidden"
    )


def test_timeout_names_the_hop_that_stalled_and_the_destination(peer):
    first = peer.microsocks()
    silent = ScriptedProxy([])
    try:
        error, _ = connect(f"socks5h://{HOST}:{first.port},socks5h://{HOST}:{silent.port}")
    finally:
        silent.stop()
    assert error is not None
    assert (error.kind, error.index, error.hop) == (
        Failure.TIMED_OUT,
        2,
        f"socks5h://{HOST}:{silent.port}",
    )
    assert str(error) == (
        f"proxy hop 2/2 socks5h://{HOST}:{silent.port} did not complete its part of the "
        "connection to dest.example:443 within 1 s (proxy_connect_timeout)"
    )


def test_unreachable_and_missing_environment_variable():
    port = free_port()
    error, _ = connect(f"socks5h://{HOST}:{port}")
    assert error is not None
    assert (error.kind, error.index, error.reason) == (
        Failure.UNREACHABLE,
        1,
        "Connection refused",
    )
    assert (
        str(error) == f"proxy hop 1/1 socks5h://{HOST}:{port} is not reachable: Connection refused"
    )
    # .invalid never resolves (RFC 6761): said in words, not "Unknown error -2"
    error, _ = connect("socks5h://no-such-proxy.invalid:1080")
    assert error is not None and error.kind is Failure.UNREACHABLE
    assert str(error).startswith(
        "proxy hop 1/1 socks5h://no-such-proxy.invalid:1080 is not reachable: its name does not "
        "resolve ("
    )
    error, _ = connect(f"socks5h://{HOST}:{port},socks5h://u:${{MITMRELAY_UNSET_VAR}}@{HOST}:1")
    assert error is not None
    assert (error.kind, error.index, error.count) == (Failure.ENV_MISSING, 2, 2)
    assert str(error) == (
        f"proxy hop 2/2 socks5h://u:${{MITMRELAY_UNSET_VAR}}@{HOST}:1: environment variable "
        "MITMRELAY_UNSET_VAR is not set; export it before starting mitmproxy"
    )


def test_no_descriptors_or_tasks_leak_across_faults(peer):
    auth = peer.microsocks("alice", "right")
    refused = free_port()
    # Warm up lazily created descriptors (event loop, resolver).
    connect(f"socks5h://{HOST}:{refused}")
    before = open_fds()
    # In-process proxies hold their side of stalled connections: count after stopping them.
    stalled, closing = ScriptedProxy([]), ScriptedProxy([b""], then="close")
    chains = [
        f"socks5h://{HOST}:{refused}",
        f"socks5h://{HOST}:{stalled.port}",
        f"socks5h://{HOST}:{closing.port}",
        f"socks5h://alice:wrong@{HOST}:{auth.port}",
        f"socks5h://alice:right@{HOST}:{auth.port},http://{HOST}:{stalled.port}",
    ]

    async def all_faults() -> list[Failure]:
        kinds = []
        for chain in chains * 2:
            try:
                await open_chain(parse_chain(chain), "localhost", 1, timeout=DEADLINE)
            except HopError as e:
                kinds.append(e.kind)
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return kinds

    kinds = [
        Failure.UNREACHABLE,
        Failure.TIMED_OUT,
        Failure.CLOSED,
        Failure.AUTH_REJECTED,
        Failure.TIMED_OUT,
    ]
    try:
        assert asyncio.run(all_faults()) == kinds * 2
    finally:
        stalled.stop()
        closing.stop()
    assert open_fds() == before


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.binary(max_size=300), min_size=1, max_size=3),
    st.sampled_from(["socks4a", "socks5h", "http"]),
    st.sampled_from(["stall", "close"]),
)
def test_any_reply_bytes_end_in_a_connection_or_a_hop_error_in_time(replies, scheme, then):
    proxy = ScriptedProxy(replies, then)
    try:
        error, elapsed = connect(f"{scheme}://{HOST}:{proxy.port}", deadline=0.3)
    finally:
        proxy.stop()
    assert error is None or (error.index, error.hop) == (1, f"{scheme}://{HOST}:{proxy.port}")
    assert error is None or str(error).startswith(f"proxy hop 1/1 {scheme}://")
    assert elapsed < 0.8


def test_tls_to_an_https_hop_fails_as_tls(peer):
    # A TLS server whose certificate comes from a CA this machine does not trust, as the "proxy".
    untrusted = peer.https_origin()
    error, _ = connect(f"https://localhost:{untrusted.port}")
    assert error is not None and (error.kind, error.index) == (Failure.TLS, 1)
    assert (
        error.reason
        == "TLS certificate verification failed: unable to get local issuer certificate"
    )
    # A proxy that answers TLS with plain bytes.
    plain = ScriptedProxy([b"HTTP/1.1 400 Bad Request\r\n\r\n"], then="close")
    try:
        error, _ = connect(f"https://{HOST}:{plain.port}")
    finally:
        plain.stop()
    assert error is not None and (error.kind, error.hop) == (
        Failure.TLS,
        f"https://{HOST}:{plain.port}",
    )
    assert error.reason.startswith("TLS handshake failed: ")
