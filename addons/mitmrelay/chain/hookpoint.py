"""Route every server connection mitmproxy opens through our opener.

mitmproxy opens all server connections in one place, `ConnectionHandler.open_connection` in
`mitmproxy.proxy.server`, by calling `asyncio.open_connection` for TCP and
`mitmproxy_rs.udp.open_udp_connection` for UDP (mitmproxy 11.0 to 12.x). Only there does one
mechanism cover every mode, both connection strategies and every protocol; a layer added in
`next_layer` misses eager connections, and `server.via` is read by the HTTP layer only. So we give
that module an `asyncio` and a `mitmproxy_rs` whose openers are ours, and leave everything else of
them untouched.

`check()` verifies that the running mitmproxy still works this way: if it does not, the chain
refuses to load rather than let connections leave directly.

Right after our opener returns, that handler logs `server connect HOST:PORT (PEER)`, PEER being the
first hop's address under a chain. `announce()` gives that line our text instead (the route and its
setup time, see addon.py), through a logging filter on its logger: one line per connection, with
the client mitmproxy prefixes it with, and no proxy address passed off as the server's (its
`server disconnect` line of that connection loses that address too). A mitmproxy that stopped
logging that line gets our line on its own.
"""

from __future__ import annotations

import asyncio
import logging
import types
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import mitmproxy_rs
from mitmproxy.proxy import server

Opener = Callable[..., Awaitable[Any]]

logger = logging.getLogger(__name__)

# How the handler's lines begin (constants of its open_connection).
_CONNECT_LINE = "server connect "
_DISCONNECT_LINE = "server disconnect "


class _ConnectLine(logging.Filter):
    """Gives the handler's `server connect` line the text announced in the same task, and its
    `server disconnect` line of that connection the address alone, without the first hop's."""

    def __init__(self) -> None:
        super().__init__()
        self.pending: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = (
            weakref.WeakKeyDictionary()
        )
        # the address as the handler's lines give it, "HOST:PORT (PEER)", once its line is said
        self.opened: weakref.WeakKeyDictionary[asyncio.Task[Any], str] = weakref.WeakKeyDictionary()

    def filter(self, record: logging.LogRecord) -> bool:
        if not (self.pending or self.opened) or not isinstance(record.msg, str):
            return True
        try:
            task = asyncio.current_task()
        except RuntimeError:  # logged outside the event loop: not the handler's line
            return True
        if task is None:
            return True
        if record.msg.startswith(_CONNECT_LINE):
            text = self.pending.pop(task, None)
            if text is not None:
                self.opened[task] = record.msg.removeprefix(_CONNECT_LINE)
                record.msg, record.args = text, ()
        elif record.msg.startswith(_DISCONNECT_LINE):
            address = self.opened.pop(task, None)
            if address is not None and record.msg == _DISCONNECT_LINE + address:
                record.msg, record.args = _DISCONNECT_LINE + address.split(" (", 1)[0], ()
        return True


_line = _ConnectLine()
_handler_logger = logging.getLogger(server.__name__)


class _Overlay(types.SimpleNamespace):
    """A module as `mitmproxy.proxy.server` sees it: some attributes ours, the rest the module's."""

    def __init__(self, module: Any, **overrides: Any) -> None:
        super().__init__(**overrides)
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)


def check() -> None:
    """Raise RuntimeError if this mitmproxy does not open server connections where we hook in."""
    method = getattr(getattr(server, "ConnectionHandler", None), "open_connection", None)
    names = set(getattr(getattr(method, "__code__", None), "co_names", ()))
    modules = (getattr(server, "asyncio", None), getattr(server, "mitmproxy_rs", None))
    if not {
        "asyncio",
        "open_connection",
        "mitmproxy_rs",
        "udp",
        "open_udp_connection",
    } <= names or not all(
        module in (asyncio, mitmproxy_rs) or isinstance(module, _Overlay) for module in modules
    ):
        import mitmproxy.version

        raise RuntimeError(
            f"mitmrelay's proxy chain cannot hook into mitmproxy {mitmproxy.version.VERSION}: "
            "ConnectionHandler.open_connection no longer calls asyncio.open_connection and "
            "mitmproxy_rs.udp.open_udp_connection. "
            "Refusing to start rather than connect directly; use mitmproxy 11.0 to 12.x."
        )


def _logs_connect_line() -> bool:
    """Whether mitmproxy's handler logs a `server connect` line after opening a connection."""
    code = server.ConnectionHandler.open_connection.__code__
    return any(isinstance(c, str) and c.startswith(_CONNECT_LINE) for c in code.co_consts)


def announce(text: str) -> None:
    """Log the `server connect` line of a connection mitmproxy's handler asked our opener for."""
    task = asyncio.current_task()
    if task is not None and _line in _handler_logger.filters:
        _line.pending[task] = text
        task.add_done_callback(_unsaid)
    else:
        logger.info(text)


def _unsaid(task: asyncio.Task[Any]) -> None:
    """A line the handler did not log by the end of its task (it failed first, or a mitmproxy that
    logs it elsewhere): logged on its own rather than lost."""
    text = _line.pending.pop(task, None)
    if text is not None:
        logger.info(text)


def install(tcp_opener: Opener, udp_opener: Opener) -> None:
    check()
    if _logs_connect_line():
        _handler_logger.addFilter(_line)
    server.asyncio = _Overlay(asyncio, open_connection=tcp_opener)  # type: ignore[assignment]
    server.mitmproxy_rs = _Overlay(  # type: ignore[assignment]
        mitmproxy_rs, udp=_Overlay(mitmproxy_rs.udp, open_udp_connection=udp_opener)
    )


def uninstall() -> None:
    _handler_logger.removeFilter(_line)
    _line.pending.clear()
    _line.opened.clear()
    server.asyncio = asyncio  # type: ignore[assignment]
    server.mitmproxy_rs = mitmproxy_rs  # type: ignore[assignment]
