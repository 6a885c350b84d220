"""One bounded HTTP/1.1 GET over a connection someone else opens (directly, or the way the proxy
chain would for that host): what fetches WSDLs (`soap_wsdl`) and PAC files (`proxy_pac`).

TLS for https:// URLs follows mitmproxy's upstream verification options (`upstream_tls`). The
exchange is h11's (a mitmproxy dependency); the body is bounded in size and the whole GET in time.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import SplitResult, urlsplit

import h11

Opener = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
TIMEOUT = 30.0


class FetchError(OSError):
    """A URL that could not be fetched; the text names the URL and the reason."""


async def direct(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


def upstream_tls(cafile: str | None, insecure: bool) -> ssl.SSLContext:
    """The client context mitmproxy's `ssl_verify_upstream_trusted_ca`/`ssl_insecure` ask for."""
    context = ssl.create_default_context(cafile=cafile)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


async def get(
    url: str,
    open_connection: Opener = direct,
    tls: ssl.SSLContext | None = None,
    *,
    limit: int,
    accept: str = "*/*",
    timeout: float = TIMEOUT,
) -> bytes:
    """The body of a 200 answer to GET url, at most limit bytes (more is a FetchError)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url}: only http:// and https:// URLs can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await open_connection(parts.hostname, port)
            try:
                if parts.scheme == "https":
                    await writer.start_tls(
                        tls or ssl.create_default_context(), server_hostname=parts.hostname
                    )
                return await _exchange(url, parts, reader, writer, limit, accept)
            finally:
                writer.close()
    except TimeoutError as e:
        raise FetchError(f"{url}: no complete answer within {timeout:.0f} s") from e
    except (OSError, ssl.SSLError, h11.ProtocolError) as e:
        if isinstance(e, FetchError):
            raise
        raise FetchError(f"{url}: {e}") from e


async def _exchange(
    url: str,
    parts: SplitResult,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    limit: int,
    accept: str,
) -> bytes:
    connection = h11.Connection(h11.CLIENT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", host), ("Accept", accept), ("Connection", "close")],
    )
    writer.write(connection.send(request) + connection.send(h11.EndOfMessage()))
    await writer.drain()
    body, status = bytearray(), None
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > limit:
                raise FetchError(f"{url}: over {limit} bytes")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if status != 200:
        raise FetchError(f"{url}: the server answered {status}")
    return bytes(body)
