"""Fetching `soap_wsdl` URLs the way the service's own traffic goes: over the connection the
proxy-chain addon would open for that destination (its chain, bypass list and routes), then
http_get's bounded GET, and the imports the WSDL names on the same host. A failure is the
WSDL's, never the traffic's."""

from __future__ import annotations

import ssl
from typing import Any

from mitmrelay import http_get, trust
from mitmrelay.http_get import Opener, direct

from .catalog import Catalog, same_origin
from .wsdl import (
    MAX_DOCUMENT_BYTES,
    MAX_DOCUMENTS,
    Contract,
    ContractError,
    build_contract,
    normalize_url,
)

ACCEPT = "text/xml, application/xml"


async def get(url: str, open_connection: Opener, tls: ssl.SSLContext | None) -> bytes:
    return await http_get.get(url, open_connection, tls, limit=MAX_DOCUMENT_BYTES, accept=ACCEPT)


async def add_as_relay(
    catalog: Catalog, url: str, open_connection: Opener, options: Any
) -> Contract:
    """add_url for a soap_wsdl URL as the relay fetches it: TLS by the one trust rule of these
    mitmproxy options. Whatever stops it is a ValueError: 'cannot use soap_wsdl URL: why'."""
    try:
        return await add_url(catalog, url, open_connection, trust.client_context(options))
    except (OSError, ValueError) as e:  # the fetch, a bad CA option, a document that is no WSDL
        raise ValueError(f"cannot use soap_wsdl {url}: {e}") from None


async def add_url(
    catalog: Catalog,
    url: str,
    open_connection: Opener = direct,
    tls: ssl.SSLContext | None = None,
) -> Contract:
    """Fetch a WSDL and the imports it names on the same host; add them to the catalog."""
    data = await get(url, open_connection, tls)
    catalog.add(url, data)
    tried: set[str] = set()
    while len(tried) <= MAX_DOCUMENTS:
        new = [
            m
            for m in build_contract(url, catalog.lookup).missing
            if m not in tried and same_origin(url, m)
        ]
        if not new:
            break
        for missing in new:
            tried.add(missing)
            catalog.add(missing, await get(missing, open_connection, tls))
    found = catalog.contracts.get(normalize_url(url))
    if found is None:
        key = normalize_url(url)
        raise ContractError(catalog.errors.get(key) or f"{url}: no SOAP binding")
    return found
