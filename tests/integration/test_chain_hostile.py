"""The connector against broken and hostile proxies: every fault is answered within the deadline with
the hop and the reason, and nothing is left behind (file descriptors, asyncio tasks)."""

from __future__ import annotations

import asyncio
import os
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.chain.connector import HopError, open_chain
from mitmrelay.chain.spec import parse_chain
from mitmrelay.testing import HOST, free_port
from peers import ScriptedProxy

DEADLINE = 1.0
GREETING_OK = b"\x05\x00"  # SOCKS5: version 5, no authentication (RFC 1928 §3)


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def connect(
    chain: str, host: str = "dest.example", port: int = 443, deadline: float = DEADLINE
) -> tuple[str, float]:
    """Run open_chain in a fresh event loop; return the HopError text and the time it took."""

    async def attempt() -> str:
        try:
            _, writer = await open_chain(parse_chain(chain), host, port, timeout=deadline)
        except HopError as e:
            return str(e)
        writer.close()
        return "connected"

    start = time.monotonic()
    result = asyncio.run(attempt())
    return result, time.monotonic() - start


def socks5_reply(atyp: int, address: bytes, rep: int = 0) -> bytes:
    return bytes([5, rep, 0, atyp]) + address + b"\x01\xbb"


@pytest.mark.parametrize(
    "chain_scheme,replies,then,reason",
    [
        (
            "socks5h",
            [],
            "stall",
            "did not complete its part of the connection to dest.example:443 within 1 s",
        ),
        ("socks5h", [b""], "close", "the proxy closed the connection during the handshake"),
        ("socks5h", [b"\x05"], "close", "the proxy closed the connection during the handshake"),
        ("socks5h", [b"\x05"], "stall", "did not complete"),
        ("socks5h", [b"\x04\x00"], "stall", "Unexpected SOCKS version number"),
        ("socks5h", [b"\x05\x02"], "stall", "Unexpected SOCKS authentication method"),
        ("socks5h", [GREETING_OK, socks5_reply(7, b"\x00" * 4)], "stall", "Invalid address type"),
        (
            "socks5h",
            [GREETING_OK, socks5_reply(1, b"\x7f\x00\x00\x01", rep=5)],
            "stall",
            "refused the connection to dest.example:443: Connection refused",
        ),
        (
            "socks5h",
            [GREETING_OK, b"\x05\x00\x00\x03\xff" + b"x" * 100],
            "stall",
            "did not complete",
        ),
        (
            "socks4a",
            [b"\x00\x5b" + b"\x00" * 6],
            "stall",
            "refused the connection to dest.example:443: Request rejected or failed",
        ),
        ("http", [b"garbage without a status line\r\n\r\n"], "stall", "failed the connection"),
        (
            "http",
            [b"HTTP/1.1 403 Forbidden\r\n\r\n"],
            "stall",
            "refused the connection to dest.example:443: 403 Forbidden",
        ),
        (
            "http",
            [b"HTTP/1.1 200 OK\r\n" + b"X: " + b"y" * 70000],
            "stall",
            "the proxy's reply is longer than 65536 bytes",
        ),
        (
            "http",
            [b"HTTP/1.1 200 OK\r\n"],
            "close",
            "the proxy closed the connection during the handshake",
        ),
    ],
)
def test_broken_proxy_replies(chain_scheme, replies, then, reason):
    proxy = ScriptedProxy(replies, then)
    try:
        message, elapsed = connect(f"{chain_scheme}://{HOST}:{proxy.port}")
    finally:
        proxy.stop()
    assert f"proxy hop 1/1 {chain_scheme}://{HOST}:{proxy.port}" in message
    assert reason in message
    assert elapsed < DEADLINE + 0.5


def test_no_descriptors_or_tasks_leak_across_faults(peer):
    auth = peer.microsocks("alice", "right")
    refused = free_port()
    connect(
        f"socks5h://{HOST}:{refused}"
    )  # warm up lazily created descriptors (event loop, resolver)
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

    async def all_faults() -> list[str]:
        messages = []
        for chain in chains * 2:
            try:
                await open_chain(parse_chain(chain), "localhost", 1, timeout=DEADLINE)
            except HopError as e:
                messages.append(str(e))
        await asyncio.sleep(0)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return messages

    try:
        assert len(asyncio.run(all_faults())) == len(chains) * 2
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
        message, elapsed = connect(f"{scheme}://{HOST}:{proxy.port}", deadline=0.3)
    finally:
        proxy.stop()
    assert message == "connected" or f"proxy hop 1/1 {scheme}://" in message
    assert elapsed < 0.8
