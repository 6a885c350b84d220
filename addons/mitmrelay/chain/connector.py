"""Open a TCP stream to a destination through a chain of SOCKS/HTTP CONNECT proxies.

The handshakes are python-socks' (its asyncio `v2.Proxy`, chained with `forward=`). This module adds
what mitmproxy needs around them: one deadline for the whole chain, and every failure turned into a
`HopError` (an `OSError`, the only thing mitmproxy's connect path catches) whose text names the hop
and the reason.
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Mapping
from typing import Any

from python_socks import ProxyConnectionError, ProxyError, ProxyType
from python_socks.async_.asyncio.v2 import Proxy

from .spec import Chain, Hop

_TYPES = {
    "socks4": ProxyType.SOCKS4,
    "socks4a": ProxyType.SOCKS4,
    "socks5": ProxyType.SOCKS5,
    "socks5h": ProxyType.SOCKS5,
    "http": ProxyType.HTTP,
    "https": ProxyType.HTTP,
}


class HopError(OSError):
    """A proxy chain could not be set up; the text names the hop and the reason."""


def _label(index: int, chain: Chain) -> str:
    return f"proxy hop {index + 1}/{len(chain)} {chain[index]}"


def _reason(e: BaseException) -> str:
    """The failure in words, without python-socks' own wrapping."""
    if isinstance(e, ProxyConnectionError) and e.errno:
        return os.strerror(e.errno)
    if isinstance(e, ProxyError) and isinstance(e.__cause__, Exception) and not str(e.__cause__):
        return "the proxy closed the connection during the handshake"
    if isinstance(e, ssl.SSLCertVerificationError):
        return f"TLS certificate verification failed: {e.verify_message}"
    if isinstance(e, ssl.SSLError):
        return f"TLS handshake failed: {e.reason or e}"
    if isinstance(e, ConnectionError | EOFError | asyncio.IncompleteReadError):
        return "the proxy closed the connection during the handshake"
    if isinstance(e, OSError) and e.strerror:
        return e.strerror
    return str(e) or type(e).__name__


class _ChainHop(Proxy):
    """python-socks' proxy, reporting which hop failed and which hops are done."""

    def __init__(self, chain: Chain, index: int, done: list[int], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._chain = chain
        self._index = index
        self._done = done

    async def connect(self, dest_host: str, dest_port: int, *args: Any, **kwargs: Any) -> Any:
        try:
            stream = await super().connect(dest_host, dest_port, *args, **kwargs)
        except HopError:
            raise
        except ProxyConnectionError as e:
            raise HopError(
                f"{_label(self._index, self._chain)} is not reachable: {_reason(e)}",
            ) from e
        except Exception as e:  # noqa: BLE001 - anything escaping here would hang mitmproxy's client
            verb = "refused" if isinstance(e, ProxyError) and e.error_code else "failed"
            raise HopError(
                f"{_label(self._index, self._chain)} {verb} the connection to "
                f"{dest_host}:{dest_port}: {_reason(e)}"
            ) from e
        self._done.append(self._index)
        return stream


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
    done: list[int] = []
    last: _ChainHop | None = None
    for index, hop in enumerate(chain):
        last = _ChainHop(chain, index, done, **_proxy_args(chain, index, hop, environ, proxy_tls), forward=last)
    assert last is not None
    try:
        async with asyncio.timeout(timeout):
            # python-socks applies its own per-hop deadline too; ours must fire first.
            stream = await last.connect(host, port, timeout=timeout + 5, local_addr=local_addr)
    except TimeoutError as e:
        stalled = len(done)
        raise HopError(
            f"{_label(stalled, chain)} did not complete its part of the connection to "
            f"{host}:{port} within {timeout:g} s (proxy_connect_timeout)",
        ) from e
    return stream.reader, stream.writer


def _proxy_args(
    chain: Chain, index: int, hop: Hop, environ: Mapping[str, str], proxy_tls: ssl.SSLContext | None
) -> dict[str, Any]:
    try:
        username, password = hop.credentials(environ)
    except KeyError as e:
        raise HopError(
            f"{_label(index, chain)}: environment variable {e.args[0]} is not set; "
            f"export it before starting mitmproxy"
        ) from None
    return dict(
        proxy_type=_TYPES[hop.scheme],
        host=hop.host,
        port=hop.port,
        username=username,
        password=password,
        rdns=hop.remote_dns,
        proxy_ssl=(proxy_tls or ssl.create_default_context()) if hop.tls else None,
    )
