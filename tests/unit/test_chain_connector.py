"""The connector's SOCKS driver over in-memory streams: it writes what the machine emits, reads no
further than the reply (bytes behind it stay for the tunnel), resolves locally only for schemes
without remote DNS, and maps each machine failure to the chain's terms. The real proxies are in
tests/integration/test_chain_*.py."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mitmrelay.chain import connector, protocols
from mitmrelay.chain.errors import Failure
from mitmrelay.chain.schemes import SCHEMES


class Writer:
    """Records what is written; drain does nothing."""

    def __init__(self) -> None:
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)

    async def drain(self) -> None:
        pass


def run_socks(scheme: str, host: str, incoming: bytes) -> tuple[list[bytes], bytes]:
    """Run the driver against a proxy whose bytes are `incoming`; (writes, what the reader still
    holds)."""

    async def run() -> tuple[list[bytes], bytes]:
        reader = asyncio.StreamReader()
        reader.feed_data(incoming)
        reader.feed_eof()
        writer: Any = Writer()
        await connector._socks((reader, writer), SCHEMES[scheme], host, 443, None, None)
        return writer.written, await reader.read()

    return asyncio.run(run())


def test_bytes_behind_the_socks5_reply_stay_in_the_reader():
    reply = b"\x05\x00" + b"\x05\x00\x00\x03\x03abc\x01\xbb"
    written, rest = run_socks("socks5h", "dest.example", reply + b"220 banner\r\n")
    assert written == [b"\x05\x01\x00", b"\x05\x01\x00\x03\x0cdest.example\x01\xbb"]
    assert rest == b"220 banner\r\n"


def test_bytes_behind_the_socks4_reply_stay_in_the_reader():
    written, rest = run_socks("socks4a", "dest.example", b"\x00\x5a" + b"\0" * 6 + b"SSH-2.0-x\r\n")
    assert written == [b"\x04\x01\x01\xbb\x00\x00\x00\x01\x00dest.example\x00"]
    assert rest == b"SSH-2.0-x\r\n"


@pytest.mark.parametrize(
    "scheme,request_bytes",
    [
        ("socks5", b"\x05\x01\x00\x01\x7f\x00\x00\x01\x01\xbb"),  # resolved here, IPv4 first
        ("socks4", b"\x04\x01\x01\xbb\x7f\x00\x00\x01\x00"),
    ],
)
def test_schemes_without_remote_dns_send_the_address_resolved_here(scheme, request_bytes):
    granted = (
        b"\x05\x00\x05\x00\x00\x01\0\0\0\0\0\0" if scheme == "socks5" else b"\0\x5a" + b"\0" * 6
    )
    written, _ = run_socks(scheme, "localhost", granted)
    assert written[-1] == request_bytes


def test_a_name_that_does_not_resolve_here_is_said_so():
    with pytest.raises(OSError) as e:
        run_socks("socks4", "no-such-host.invalid", b"")
    assert str(e.value).startswith("no-such-host.invalid does not resolve on this machine (")
    assert str(e.value).endswith("); a socks4 hop has no remote DNS")
    # Its own kind: not "closed", as if the proxy had hung up.
    assert connector._failure(e.value) == (Failure.UNRESOLVED, str(e.value), None)


@pytest.mark.parametrize(
    "failure,kind,code",
    [
        (protocols.Refused("Host unreachable", 4), Failure.REFUSED, 4),
        (protocols.AuthRejected("words", 93), Failure.AUTH_REJECTED, 93),
        (protocols.AuthRejected("Username and password"), Failure.AUTH_REJECTED, None),
        (protocols.RemoteProtocolError("Invalid address type: 0X7"), Failure.PROTOCOL, None),
        (protocols.LocalProtocolError("port 70000 does not fit"), Failure.PROTOCOL, None),
        (protocols.ProxyClosed(), Failure.CLOSED, None),
    ],
)  # fmt: skip
def test_each_machine_failure_in_the_chains_terms(failure, kind, code):
    assert connector._failure(failure) == (kind, failure.reason, code)


class Transport:
    def __init__(self) -> None:
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class Connection(Writer):
    """A connection to the proxy: what it wrote, whether it was aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.transport = Transport()


def streams_with(incoming: bytes) -> tuple[asyncio.StreamReader, Any]:
    reader = asyncio.StreamReader()
    reader.feed_data(incoming)
    reader.feed_eof()
    return reader, Connection()


CLOSING_407 = (
    b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="x"\r\n\r\n'
)


def test_a_connection_reopened_after_a_407_is_closed_when_the_exchange_then_fails():
    """A proxy that closes after its 407 is dialled again; when that second exchange fails, the
    new connection is aborted here (the caller holds only the first, aborted before)."""
    opened = []

    async def reopen():
        opened.append(streams_with(b"HTTP/1.1 403 Forbidden\r\n\r\n"))
        return opened[-1]

    async def run():
        opened.append(streams_with(CLOSING_407))
        credentials = connector.Credentials("alice", "secret", "proxy")
        await connector.http_connect(opened[0], "example.com", 443, credentials, reopen=reopen)

    with pytest.raises(protocols.Refused, match="403 Forbidden after Basic"):
        asyncio.run(run())
    [(_, first), (_, second)] = opened
    assert first.transport.aborted and second.transport.aborted
    assert b"Proxy-Authorization: Basic" in b"".join(second.written)
