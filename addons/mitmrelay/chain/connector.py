"""Open a TCP stream to a destination through a chain of SOCKS/HTTP CONNECT proxies.

The handshakes are python-socks' protocol code (its connectors, one per proxy type). This module
drives them hop by hop over one TCP connection to the first proxy, and adds what mitmproxy needs:
one deadline for the whole chain, and every failure turned into a `HopError` (an `OSError`, the only
thing mitmproxy's connect path catches) whose text names the hop and the reason.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Mapping
from typing import cast

from python_socks import ProxyType
from python_socks._connectors.factory_async import create_connector

from . import segments
from .spec import Chain, Hop

_TYPES = {
    "socks4": ProxyType.SOCKS4,
    "socks4a": ProxyType.SOCKS4,
    "socks5": ProxyType.SOCKS5,
    "socks5h": ProxyType.SOCKS5,
    "http": ProxyType.HTTP,
    "https": ProxyType.HTTP,
}

# An HTTP CONNECT reply's header block may not exceed this (asyncio's default stream limit).
MAX_REPLY_HEADER = 64 * 1024


class HopError(OSError):
    """A proxy chain could not be set up; the text names the hop and the reason."""


class _Stream:
    """The socket stream python-socks' connectors talk through (its AsyncSocketStream interface)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def write(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read(self, max_bytes: int = MAX_REPLY_HEADER) -> bytes:
        # Only HTTP CONNECT replies are read with read(). Take exactly the header block: bytes the
        # destination sends right behind the proxy's "200" (a server-first banner) belong to the
        # tunnel, and a reply split across TCP segments must be read whole.
        return await self.reader.readuntil(b"\r\n\r\n")

    async def read_exactly(self, n: int) -> bytes:
        return await self.reader.readexactly(n)


class _LocalResolver:
    """Resolves names on this machine: used only by socks4/socks5 hops, whose scheme asks for it."""

    async def resolve(
        self, host: str, port: int = 0, family: int = socket.AF_UNSPEC
    ) -> tuple[int, str]:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM
        )
        family, *_, address = min(infos, key=lambda info: info[0])  # IPv4 first
        return family, address[0]


def _reason(e: BaseException) -> str:
    """The failure in words."""
    if isinstance(e, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return "the proxy closed the connection during the handshake"
    if isinstance(e, asyncio.LimitOverrunError):
        return f"the proxy's reply is longer than {MAX_REPLY_HEADER} bytes"
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {e.verify_message}"
    if isinstance(e, ssl.SSLError):
        return f"TLS handshake failed: {e.reason or e}"
    if isinstance(e, OSError) and e.errno:
        return os.strerror(e.errno)
    return str(e) or type(e).__name__


async def open_chain(
    chain: Chain,
    host: str,
    port: int,
    *,
    timeout: float,
    proxy_tls: ssl.SSLContext | None = None,
    environ: Mapping[str, str] = os.environ,
    local_addr: tuple[str, int] | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to host:port through every hop of chain (first hop first), within timeout seconds.

    proxy_tls is the client context for `https://` hops (TLS to the proxy itself).
    Raises HopError, naming the hop and the reason, for every failure.
    """
    assert chain
    credentials = [_credentials(chain, index, environ) for index in range(len(chain))]
    stage = 0
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await segments.open_connection(
                    chain[0].host, chain[0].port, local_addr=local_addr
                )
            except OSError as e:
                raise HopError(f"{_label(0, chain)} is not reachable: {_reason(e)}") from e
            stream = _Stream(reader, writer)
            for stage, _hop in enumerate(chain):
                target = (
                    (chain[stage + 1].host, chain[stage + 1].port)
                    if stage + 1 < len(chain)
                    else (host, port)
                )
                await _handshake(chain, stage, stream, target, credentials[stage], proxy_tls)
    except TimeoutError as e:
        _abort(writer)
        raise HopError(
            f"{_label(stage, chain)} did not complete its part of the connection to "
            f"{host}:{port} within {timeout:g} s (proxy_connect_timeout)"
        ) from e
    except BaseException:
        _abort(writer)
        raise
    # Through a proxy, a request written in several pieces stalls ~40 ms (see segments.py).
    return reader, cast(asyncio.StreamWriter, segments.CoalescingWriter(writer))


async def _handshake(
    chain: Chain,
    index: int,
    stream: _Stream,
    target: tuple[str, int],
    credentials: tuple[str | None, str | None],
    proxy_tls: ssl.SSLContext | None,
) -> None:
    """Ask hop `index`, already connected on stream, to connect to target."""
    hop = chain[index]
    try:
        if hop.tls:
            await stream.writer.start_tls(
                proxy_tls or ssl.create_default_context(), server_hostname=hop.host
            )
        connector = create_connector(
            proxy_type=_TYPES[hop.scheme],
            username=credentials[0],
            password=credentials[1],
            rdns=hop.remote_dns,
            resolver=_LocalResolver(),
        )
        await connector.connect(stream=stream, host=target[0], port=target[1])
    except (asyncio.CancelledError, TimeoutError):
        raise
    except Exception as e:
        # python-socks reports a proxy's answer as an error with a reply code: the proxy said no.
        verb = "refused" if getattr(e, "error_code", None) else "failed"
        raise HopError(
            f"{_label(index, chain)} {verb} the connection to {target[0]}:{target[1]}: {_reason(e)}"
        ) from e


def _label(index: int, chain: Chain) -> str:
    return f"proxy hop {index + 1}/{len(chain)} {chain[index]}"


def _credentials(
    chain: Chain, index: int, environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    hop: Hop = chain[index]
    try:
        return hop.credentials(environ)
    except KeyError as e:
        raise HopError(
            f"{_label(index, chain)}: environment variable {e.args[0]} is not set; "
            "export it before starting mitmproxy"
        ) from None


def _abort(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.transport.abort()
