"""Route every server connection mitmproxy opens through our opener.

mitmproxy opens all server connections in one place, `ConnectionHandler.open_connection` in
`mitmproxy.proxy.server`, by calling `asyncio.open_connection` (mitmproxy 11.0 to 12.x). Only there
does one mechanism cover every mode, both connection strategies and every protocol; a layer added in
`next_layer` misses eager connections, and `server.via` is read by the HTTP layer only. So we give
that module an `asyncio` whose `open_connection` is ours, and leave everything else of it untouched.

`check()` verifies that the running mitmproxy still works this way: if it does not, the chain refuses
to load rather than let connections leave directly.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any

from mitmproxy.proxy import server

Opener = Callable[..., Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


class _AsyncioWithOpener(types.SimpleNamespace):
    """The asyncio module as `mitmproxy.proxy.server` sees it, with our `open_connection`."""

    def __init__(self, opener: Opener) -> None:
        super().__init__(open_connection=opener)

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)


def check() -> None:
    """Raise RuntimeError if this mitmproxy does not open server connections where we hook in."""
    method = getattr(getattr(server, "ConnectionHandler", None), "open_connection", None)
    names = getattr(getattr(method, "__code__", None), "co_names", ())
    module = getattr(server, "asyncio", None)
    if not {"asyncio", "open_connection"} <= set(names) or not (
        module is asyncio or isinstance(module, _AsyncioWithOpener)
    ):
        import mitmproxy.version

        raise RuntimeError(
            f"mitmrelay's proxy chain cannot hook into mitmproxy {mitmproxy.version.VERSION}: "
            "ConnectionHandler.open_connection no longer calls asyncio.open_connection. "
            "Refusing to start rather than connect directly; use mitmproxy 11.0 to 12.x."
        )


def install(opener: Opener) -> None:
    check()
    server.asyncio = _AsyncioWithOpener(opener)  # type: ignore[assignment]


def uninstall() -> None:
    server.asyncio = asyncio  # type: ignore[assignment]
