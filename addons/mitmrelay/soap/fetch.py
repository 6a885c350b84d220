"""Fetching `soap_wsdl` URLs the way the service's own traffic goes: over the connection the
proxy-chain addon would open for that destination (its chain, bypass list and routes), then TLS
for https with mitmproxy's upstream verification options, then one HTTP/1.1 GET (h11, a mitmproxy
dependency). Bounded in size and time; a failure is the WSDL's, never the traffic's."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import h11

from . import contract

Opener = Callable[[str, int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]
FETCH_TIMEOUT = 30.0


class FetchError(OSError):
    """A WSDL URL that could not be fetched; the text names the URL and the reason."""


async def direct(host: str, port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(host, port)


async def get(
    url: str, open_connection: Opener = direct, tls: ssl.SSLContext | None = None
) -> bytes:
    """The body of a 200 answer to GET url, at most contract.MAX_DOCUMENT_BYTES."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise FetchError(f"{url}: only http:// and https:// URLs can be fetched")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        async with asyncio.timeout(FETCH_TIMEOUT):
            reader, writer = await open_connection(parts.hostname, port)
            try:
                if parts.scheme == "https":
                    await writer.start_tls(
                        tls or ssl.create_default_context(), server_hostname=parts.hostname
                    )
                return await _exchange(url, parts, reader, writer)
            finally:
                writer.close()
    except TimeoutError as e:
        raise FetchError(f"{url}: no complete answer within {FETCH_TIMEOUT:.0f} s") from e
    except (OSError, ssl.SSLError) as e:
        if isinstance(e, FetchError):
            raise
        raise FetchError(f"{url}: {e}") from e


async def _exchange(url, parts, reader: asyncio.StreamReader, writer) -> bytes:
    connection = h11.Connection(h11.CLIENT)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = parts.netloc.rpartition("@")[2]
    request = h11.Request(
        method="GET",
        target=target,
        headers=[("Host", host), ("Accept", "text/xml, application/xml"), ("Connection", "close")],
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
            if len(body) > contract.MAX_DOCUMENT_BYTES:
                raise FetchError(f"{url}: over {contract.MAX_DOCUMENT_BYTES} bytes")
        elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    if status != 200:
        raise FetchError(f"{url}: the server answered {status}")
    return bytes(body)


async def add_url(
    catalog: contract.Catalog,
    url: str,
    open_connection: Opener = direct,
    tls: ssl.SSLContext | None = None,
) -> contract.Contract:
    """Fetch a WSDL and the imports it names on the same host; add them to the catalog."""
    data = await get(url, open_connection, tls)
    catalog.add(url, data)
    tried: set[str] = set()
    while len(tried) <= contract.MAX_DOCUMENTS:
        new = [
            m
            for m in contract.build_contract(url, catalog.lookup).missing
            if m not in tried and contract.same_origin(url, m)
        ]
        if not new:
            break
        for missing in new:
            tried.add(missing)
            catalog.add(missing, await get(missing, open_connection, tls))
    found = catalog.contracts.get(contract.normalize_url(url))
    if found is None:
        key = contract.normalize_url(url)
        raise contract.ContractError(catalog.errors.get(key) or f"{url}: no SOAP binding")
    return found
