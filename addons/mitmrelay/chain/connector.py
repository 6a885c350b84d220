"""Open a TCP stream to a destination through a chain of SOCKS/HTTP CONNECT proxies.

The one I/O driver of the proxy protocols, whose handshakes are sans-IO machines (protocols/):
this module runs them hop by hop over one TCP connection to the first proxy (TLS to a hop where
its scheme says so), answers an HTTP proxy's 407s with proxyauth's Responder, and adds what
mitmproxy needs: one deadline for the whole chain, and every failure turned into a `HopError` (an
`OSError`, the only thing mitmproxy's connect path catches) whose fields say which hop failed,
how, and why.
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from typing import cast

from .. import trust
from . import protocols, segments
from .errors import Failure, HopError
from .protocols.common import ip_literal
from .protocols.http_connect import HttpEvent, authority
from .proxyauth import Answer, Credentials, Responder
from .schemes import Handshake, Scheme
from .spec import Chain

# Told each step as it completes: ("reached", 0) once the first hop's address answers, then
# ("handshake", i) once hop i connected onward (to hop i+1, or to the destination for the last).
# `mitmrelay check` reports through it; the relay passes none.
Progress = Callable[[str, int], None]

# Inner set-ups run under the caller's deadline; they need none of their own.
_NO_LIMIT = 24 * 3600.0

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Reopen = Callable[[], Awaitable[Streams]]
Machine = protocols.Socks4Client | protocols.Socks5Client | protocols.ConnectClient

# What the machines' failures are, in the chain's terms.
_FAILURES: dict[type[protocols.ProxyFailure], Failure] = {
    protocols.Refused: Failure.REFUSED,
    protocols.AuthRejected: Failure.AUTH_REJECTED,
    protocols.AuthUnsupported: Failure.AUTH_REJECTED,
    protocols.RemoteProtocolError: Failure.PROTOCOL,
    protocols.LocalProtocolError: Failure.PROTOCOL,
    protocols.ProxyClosed: Failure.CLOSED,
}

__all__ = ["HopError", "Progress", "http_connect", "open_chain"]


class Unresolved(OSError):
    """A name a hop without remote DNS must be given as an address does not resolve here."""


def _failure(e: Exception) -> tuple[Failure, str, int | None]:
    """What a handshake's exception means: the failure, its reason in words, the proxy's code."""
    if isinstance(e, protocols.ProxyFailure):
        return _FAILURES[type(e)], e.reason, e.code
    if isinstance(e, ssl.SSLCertVerificationError):
        return Failure.TLS, f"TLS certificate verification failed: {e.verify_message}", None
    if isinstance(e, ssl.SSLError):
        return Failure.TLS, f"TLS handshake failed: {e.reason or e}", None
    if isinstance(e, Unresolved):
        return Failure.UNRESOLVED, str(e), None
    if isinstance(e, asyncio.IncompleteReadError | ConnectionResetError | BrokenPipeError):
        return Failure.CLOSED, "the proxy closed the connection during the handshake", None
    if isinstance(e, OSError):
        return Failure.CLOSED, _reason(e), None
    return Failure.PROTOCOL, _reason(e), None


def _reason(e: BaseException) -> str:
    """An OS error in words, or the exception's own text."""
    if isinstance(e, socket.gaierror):  # its errno is getaddrinfo's: os.strerror has no words
        return f"its name does not resolve ({e.strerror})"
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
    progress: Progress | None = None,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to host:port through every hop of chain (first hop first), within timeout seconds.

    proxy_tls is the client context for `https://` hops (TLS to the proxy itself), from
    trust.client_context (None: mitmproxy's default trust); progress, if given, is told each step
    as it completes.
    Raises HopError, naming the hop and the reason, for every failure.
    """
    assert chain
    credentials = [_credentials(chain, index, (host, port), environ) for index in range(len(chain))]
    stage = 0
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout):
            try:
                reader, writer = await segments.open_connection(
                    chain[0].host, chain[0].port, local_addr=local_addr
                )
            except OSError as e:
                raise _error(Failure.UNREACHABLE, chain, 0, (host, port), _reason(e)) from e
            if progress:
                progress("reached", 0)
            for stage, _hop in enumerate(chain):
                target = (
                    (chain[stage + 1].host, chain[stage + 1].port)
                    if stage + 1 < len(chain)
                    else (host, port)
                )
                reader, writer = await _handshake(
                    chain,
                    stage,
                    (reader, writer),
                    target,
                    (host, port),
                    credentials[stage],
                    proxy_tls,
                    local_addr,
                    environ,
                )
                if progress:
                    progress("handshake", stage)
    except TimeoutError as e:
        _abort(writer)
        raise _error(
            Failure.TIMED_OUT,
            chain,
            stage,
            (host, port),
            f"within {timeout:g} s (proxy_connect_timeout)",
        ) from e
    except BaseException:
        _abort(writer)
        raise
    # Through a proxy, a request written in several pieces stalls ~40 ms (see segments.py).
    return reader, cast(asyncio.StreamWriter, segments.CoalescingWriter(writer))


async def _handshake(
    chain: Chain,
    index: int,
    streams: Streams,
    target: tuple[str, int],
    destination: tuple[str, int],
    credentials: tuple[str | None, str | None],
    proxy_tls: ssl.SSLContext | None,
    local_addr: tuple[str, int] | None,
    environ: Mapping[str, str],
) -> Streams:
    """Ask hop `index`, already connected on streams, to connect to target; the tunnel's streams
    (new ones when an HTTP proxy closed after its 407 and the first hop was dialled again)."""
    hop = chain[index]
    reader, writer = streams
    try:
        if hop.tls:
            await trust.start_tls(writer, proxy_tls or trust.client_context(), hop.host)
        if hop.kind.handshake is not Handshake.HTTP_CONNECT:
            await _socks(streams, hop.kind, *target, *credentials)
            return streams

        async def reopen() -> Streams:
            # A proxy that closes after its 407: the hops before it are set up again, under the
            # caller's deadline.
            if index == 0:
                reader, writer = await segments.open_connection(
                    hop.host, hop.port, local_addr=local_addr
                )
            else:
                reader, writer = await open_chain(
                    chain[:index],
                    hop.host,
                    hop.port,
                    timeout=_NO_LIMIT,
                    proxy_tls=proxy_tls,
                    environ=environ,
                    local_addr=local_addr,
                )
            if hop.tls:
                await trust.start_tls(writer, proxy_tls or trust.client_context(), hop.host)
            return reader, writer

        return await http_connect(
            (reader, writer),
            *target,
            Credentials(*credentials, proxy_host=hop.host),
            pinned=hop.auth,
            reopen=reopen,
        )
    except asyncio.CancelledError:
        raise
    except Exception as e:
        kind, reason, code = _failure(e)
        raise _error(kind, chain, index, destination, reason, target=target, code=code) from e


async def _socks(
    streams: Streams,
    scheme: Scheme,
    host: str,
    port: int,
    username: str | None,
    password: str | None,
) -> None:
    """Run the SOCKS handshake scheme names on streams."""
    if not scheme.remote_dns and ip_literal(host) is None:
        host = await _resolve(host, port, scheme)
    machine: Machine
    if scheme.handshake is Handshake.SOCKS4:
        machine = protocols.Socks4Client(host, port, username, socks4a=scheme.remote_dns)
    else:
        machine = protocols.Socks5Client(host, port, username, password)
    await _drive(machine, streams)


async def http_connect(
    streams: Streams,
    host: str,
    port: int,
    credentials: Credentials,
    *,
    pinned: str | None = None,
    reopen: Reopen | None = None,
) -> Streams:
    """Ask the HTTP proxy on streams to open a tunnel to host:port, answering its 407s (pinned:
    the one scheme to use); the tunnel's streams. reopen gives a new connection to the same proxy,
    for a proxy that closes after its 407. Raises a protocols.ProxyFailure; the caller bounds the
    time."""
    responder = Responder(credentials, authority(host, port), pinned)
    return await _drive(protocols.ConnectClient(host, port), streams, responder.answer, reopen)


async def _drive(
    machine: Machine,
    streams: Streams,
    answer: Callable[[protocols.Reply | None], Awaitable[Answer]] | None = None,
    reopen: Reopen | None = None,
) -> Streams:
    """Run a handshake machine on streams: write what it emits, read no more than it asks for
    (what follows the proxy's reply stays in the reader, for the tunnel)."""
    reader, writer = streams
    try:
        while True:
            event: HttpEvent = machine.next_event()
            if isinstance(event, protocols.SendData):
                writer.write(event.data)
            elif isinstance(event, protocols.NeedData):
                await writer.drain()
                machine.receive_data(await _read(reader, event))
            elif isinstance(event, protocols.NeedToken):
                assert answer is not None and isinstance(machine, protocols.ConnectClient)
                given = await answer(event.reply)
                machine.authorize(
                    given.value, scheme=given.scheme, new_connection=given.new_connection
                )
            elif isinstance(event, protocols.Reconnect):
                assert isinstance(machine, protocols.ConnectClient)
                if reopen is None:
                    raise protocols.ProxyClosed()
                writer.transport.abort()
                reader, writer = await reopen()
                machine.reconnected()
            else:
                # Read no further than the reply asked: the tunnel's first bytes stay in reader.
                assert not event.leftover
                return reader, writer
    except BaseException:
        if writer is not streams[1]:  # a connection opened here: the caller holds only its own
            writer.transport.abort()
        raise


async def _read(reader: asyncio.StreamReader, need: protocols.NeedData) -> bytes:
    """What NeedData asks for: through its delimiter if it comes within the stream's limit (64
    KiB, which bounds a reply's header block), else what is there, up to its size; b"" at the
    end of the stream."""
    if need.delimiter is None:
        return await reader.read(need.size)
    try:
        return await reader.readuntil(need.delimiter)
    except asyncio.IncompleteReadError as e:
        return e.partial  # the end of the stream follows, on the next read
    except asyncio.LimitOverrunError:
        return await reader.read(need.size)


async def _resolve(host: str, port: int, scheme: Scheme) -> str:
    """host's address, resolved on this machine for a hop without remote DNS; IPv4 first, and
    IPv4 only for SOCKS4."""
    family = socket.AF_INET if scheme.handshake is Handshake.SOCKS4 else socket.AF_UNSPEC
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port, family=family, type=socket.SOCK_STREAM
        )
    except socket.gaierror as e:
        raise Unresolved(
            f"{host} does not resolve on this machine ({e.strerror}); a {scheme.name} hop has no "
            "remote DNS"
        ) from e
    _family, *_, address = min(infos, key=lambda info: info[0])
    return str(address[0])


def _error(
    kind: Failure,
    chain: Chain,
    index: int,
    destination: tuple[str, int],
    reason: str,
    *,
    target: tuple[str, int] | None = None,
    code: int | None = None,
) -> HopError:
    return HopError(
        kind,
        index=index + 1,
        count=len(chain),
        hop=str(chain[index]),
        destination=destination,
        reason=reason,
        target=target,
        code=code,
    )


def _credentials(
    chain: Chain, index: int, destination: tuple[str, int], environ: Mapping[str, str]
) -> tuple[str | None, str | None]:
    try:
        return chain[index].credentials(environ)
    except KeyError as e:
        raise _error(
            Failure.ENV_MISSING,
            chain,
            index,
            destination,
            f"environment variable {e.args[0]} is not set; export it before starting mitmproxy",
        ) from None


def _abort(writer: asyncio.StreamWriter | None) -> None:
    if writer is not None:
        writer.transport.abort()
