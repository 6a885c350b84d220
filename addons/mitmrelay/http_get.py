"""One bounded HTTP/1.1 GET over a connection someone else opens (directly, or the way the proxy
chain would for that host): what fetches WSDLs (`soap_wsdl`) and PAC files (`proxy_pac`).

TLS for https:// URLs is verified by the one trust rule (trust.py: mitmproxy's for the server). The
exchange is h11's (a mitmproxy dependency); the body is bounded in size and the whole GET in time.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import SplitResult, urljoin, urlsplit

import h11

from . import trust

Opener = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
TIMEOUT = 30.0
REDIRECTS = frozenset({301, 302, 303, 307, 308})


class FetchError(OSError):
    """A URL that could not be fetched; the text names the URL and the reason."""


async def direct(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def get(
    url: str,
    open_connection: Opener = direct,
    tls: ssl.SSLContext | None = None,
    *,
    limit: int,
    accept: str = "*/*",
    timeout: float = TIMEOUT,
    redirects: int = 0,
) -> bytes:
    """The body of a 200 answer to GET url, at most limit bytes (more is a FetchError).
    Up to `redirects` redirects (to http(s) URLs) are followed, each over open_connection.
    tls verifies https:// URLs: trust.client_context(options); None is mitmproxy's defaults."""
    try:
        async with asyncio.timeout(timeout):
            at, followed = url, 0
            while True:
                status, location, body = await _get_once(at, open_connection, tls, limit, accept)
                if status == 200:
                    return body
                if status not in REDIRECTS or not location:
                    raise FetchError(f"{at}: the server answered {status}")
                if followed == redirects:
                    more = f"more than {redirects} redirects" if redirects else "not followed"
                    raise FetchError(f"{at}: the server answered {status} to {location} ({more})")
                at, followed = urljoin(at, location), followed + 1
    except TimeoutError as e:
        raise FetchError(f"{url}: no complete answer within {timeout:.0f} s") from e
    except (OSError, ssl.SSLError, h11.ProtocolError) as e:
        if isinstance(e, FetchError):
            raise
        raise FetchError(f"{url}: {e}") from e


async def _get_once(
    url: str, open_connection: Opener, tls: ssl.SSLContext | None, limit: int, accept: str
) -> tuple[int | None, str | None, bytes]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url}: only http:// and https:// URLs can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    reader, writer = await open_connection(parts.hostname, port)
    try:
        if parts.scheme == "https":
            await trust.start_tls(writer, tls or trust.client_context(), parts.hostname)
        return await _exchange(url, parts, reader, writer, limit, accept)
    finally:
        writer.close()


async def _exchange(
    url: str,
    parts: SplitResult,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    limit: int,
    accept: str,
) -> tuple[int | None, str | None, bytes]:
    """(status, Location, body) of one GET."""
    connection = h11.Connection(h11.CLIENT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", host), ("Accept", accept), ("Connection", "close")],
    )
    # h11 returns None from send() only for ConnectionClosed, never sent here.
    writer.write(b"".join(connection.send(e) or b"" for e in (request, h11.EndOfMessage())))
    await writer.drain()
    body, status, location = bytearray(), None, None
    while True:
        event = connection.next_event()
        if event is h11.NEED_DATA:
            connection.receive_data(await reader.read(65536))
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            location = next(
                (v.decode("latin-1") for k, v in event.headers if k == b"location"), None
            )
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > limit:
                raise FetchError(f"{url}: over {limit} bytes")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    return status, location, bytes(body)
