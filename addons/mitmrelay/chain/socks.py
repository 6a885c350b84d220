"""The handshakes, from python-socks: the one module that touches its private API.

python-socks' public API (`python_socks.async_.asyncio.v2.Proxy`, chained with `forward=`) opens
its own TCP connection and reads an HTTP CONNECT reply with `read(65536)`, which takes bytes the
destination sends right behind the proxy's "200" out of the tunnel; it has no way to run one
handshake over a stream we hold. Its connectors, under `python_socks._connectors`, do exactly that,
and its maintainer removes underscore modules in minor releases. So: the private names are imported
here only, `check()` verifies their shape when the chain addon loads (the addon refuses to start,
naming the python-socks version and the fix, rather than fail on the first connection), and every
protocol error leaves this module as python-socks' public `ProxyError`, as its own proxies raise it.
"""

from __future__ import annotations

import asyncio
import inspect
import socket
from typing import Any

import python_socks
from python_socks import ProxyError, ProxyType

from .schemes import Handshake, Scheme

try:
    from python_socks._abc import AsyncSocketStream
    from python_socks._connectors.factory_async import create_connector
    from python_socks._protocols.errors import ReplyError
except ImportError as e:  # reported by check(), which the addon runs at load
    _import_error: ImportError | None = e
else:
    _import_error = None

# The versions whose private connectors have the shape used here (pyproject.toml says the same).
SUPPORTED = ">=3.2.1,<3.3"

# An HTTP CONNECT reply's header block may not exceed this (asyncio's default stream limit).
MAX_REPLY_HEADER = 64 * 1024

_PROXY_TYPES = {
    Handshake.SOCKS4: ProxyType.SOCKS4,
    Handshake.SOCKS5: ProxyType.SOCKS5,
    Handshake.HTTP_CONNECT: ProxyType.HTTP,
}
_CONNECTOR_PARAMETERS = ("proxy_type", "username", "password", "rdns", "resolver")


class AuthRejected(ProxyError):
    """The proxy did not accept our credentials, or wants some (error_code: its code, if any)."""


def check() -> None:
    """Raise RuntimeError unless this python-socks has its private connectors in our shape."""
    problem = _shape_problem()
    if problem:
        raise RuntimeError(
            f"mitmrelay's proxy chain cannot drive python-socks {python_socks.__version__}: "
            f"{problem}. Refusing to start rather than fail every connection; "
            f"install a supported version: pip install 'python-socks{SUPPORTED}'"
        )


def _shape_problem() -> str | None:
    if _import_error is not None:
        return f"its private connectors are gone ({_import_error})"
    try:
        parameters = inspect.signature(create_connector).parameters
    except (TypeError, ValueError):
        return "python_socks._connectors.factory_async.create_connector is not a function"
    missing = [name for name in _CONNECTOR_PARAMETERS if name not in parameters]
    if missing:
        return f"create_connector() no longer takes {', '.join(missing)}"
    # The connectors call these on the stream we hand them; 2.x called write_all/read_exact.
    wanted = {name for name in vars(AsyncSocketStream) if not name.startswith("_")} - {"close"}
    unknown = sorted(wanted - set(dir(Stream)))
    if unknown:
        return f"its connectors call stream methods we do not provide: {', '.join(unknown)}"
    if not hasattr(ReplyError("x", error_code=1), "error_code"):
        return "its protocol errors no longer carry a reply code"
    return None


class Stream:
    """The socket stream python-socks' connectors talk through (its AsyncSocketStream interface).

    It keeps the last bytes written and read: which message the proxy refused tells an
    authentication failure from any other.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.sent = b""
        self.received = b""

    async def write(self, data: bytes) -> None:
        self.sent = data
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, max_bytes: int = MAX_REPLY_HEADER) -> bytes:
        # Only HTTP CONNECT replies are read with read(). Take exactly the header block: bytes the
        # destination sends right behind the proxy's "200" (a server-first banner) belong to the
        # tunnel, and a reply split across TCP segments must be read whole.
        self.received = await self.reader.readuntil(b"\r\n\r\n")
        return self.received

    async def read_exactly(self, n: int) -> bytes:
        self.received = await self.reader.readexactly(n)
        return self.received


class _LocalResolver:
    """Resolves names on this machine: used only by hops whose scheme has no remote DNS."""

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_UNSPEC
    ) -> tuple[int, str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM
        )
        family, *_, address = min(infos, key=lambda info: info[0])  # IPv4 first
        return family, address[0]


async def handshake(
    stream: Stream,
    scheme: Scheme,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
) -> None:
    """Ask the proxy on stream to connect to host:port.

    Raises python-socks' ProxyError (AuthRejected for credentials) when the proxy answers no or
    breaks its protocol, asyncio's stream errors when it closes or overruns.
    """
    connector: Any = create_connector(
        proxy_type=_PROXY_TYPES[scheme.handshake],
        username=username,
        password=password,
        rdns=scheme.remote_dns,
        resolver=_LocalResolver(),
    )
    try:
        await connector.connect(stream=stream, host=host, port=port)
    except ReplyError as e:
        error = AuthRejected if _auth_rejected(scheme, stream, e.error_code) else ProxyError
        raise error(e, error_code=e.error_code) from e


def _auth_rejected(scheme: Scheme, stream: Stream, code: int | None) -> bool:
    """Whether the refused message was about credentials, judged by the protocol's own bytes."""
    if scheme.handshake is Handshake.HTTP_CONNECT:
        return code == 407  # RFC 9110 §15.5.8 Proxy Authentication Required
    if scheme.handshake is Handshake.SOCKS4:
        return code == 93  # SOCKS4: the user ID does not match what identd reports
    # SOCKS5: our RFC 1929 request (version 1; SOCKS5 messages start with 5) got a non-zero status,
    # or no method we offered is acceptable (RFC 1928 §3, X'FF': the proxy wants credentials).
    return (stream.sent[:1] == b"\x01" and stream.received[:1] == b"\x01") or (
        stream.received == b"\x05\xff"
    )
