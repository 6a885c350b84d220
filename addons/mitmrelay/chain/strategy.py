"""Lazy server connections where a dead hop must reach an HTTP client as a 502.

With mitmproxy's default connection_strategy=eager, a reverse-mode listener connects to the server
when the client connects; if a proxy hop fails then, mitmproxy closes the client's connection and an
HTTP client never sees the 502 that names the hop. So when every listener is reverse mode to an
http:// or https:// server and a chain is configured, this addon sets connection_strategy=lazy,
unless the user set connection_strategy themselves (command line, config.yaml, a recipe, mitmweb).
The same holds while `soap_replay` answers requests: a request answered from a recording must not
need a server connection (the server or its proxy is down), so it is lazy in any mode then.

The option is global, and lazy breaks server-first protocols (SMTP banners...) on the other
listeners: a reverse:tcp or reverse:tls listener, or a regular/socks5 one that may carry raw TCP,
would wait for the client to speak first. Beside such a listener the strategy stays eager, and a
log line says so.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from mitmproxy import ctx
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.mode_specs import ProxyMode, ReverseMode

from ..given import by_user

logger = logging.getLogger(__name__)

WATCHED = frozenset({"mode", "proxy_chain", "proxy_routes", "soap_replay", "connection_strategy"})


def _reverse_http(text: str) -> bool | None:
    """Whether a mode is reverse to an HTTP(S) server; None for a mode that does not parse."""
    try:
        mode = ProxyMode.parse(text)
    except ValueError:
        return None  # mitmproxy reports a bad mode itself
    return isinstance(mode, ReverseMode) and mode.scheme in ("http", "https")


def wants_lazy(modes: Sequence[str], chained: bool, replaying: bool = False) -> bool:
    """Whether requests are answered from recordings (soap_replay), or every listener is reverse
    mode to an HTTP(S) server and connections use a chain."""
    kinds = [_reverse_http(text) for text in modes]
    return replaying or (chained and bool(kinds) and all(kinds))


def mixed(modes: Sequence[str]) -> bool:
    """Some listeners are reverse HTTP(S), others may carry server-first protocols."""
    kinds = [_reverse_http(text) for text in modes]
    return any(kinds) and not all(kinds)


class LazyForReverseHttp:
    """Sets connection_strategy=lazy for reverse-mode HTTP(S) listeners with a proxy chain."""

    def __init__(self) -> None:
        self._user_choice = False
        self._configured = False
        self._ours: str | None = None  # the value this addon last set

    def load(self, loader: Loader) -> None:
        options = loader.master.options
        strategy = dict(options.items()).get("connection_strategy")
        if strategy is None:  # an option manager without mitmproxy's proxy core (offline tests)
            self._user_choice = True
            return
        self._user_choice = "connection_strategy" in by_user(options)

    def configure(self, updated: set[str]) -> None:
        if not updated & WATCHED:
            return
        opts = ctx.options
        if (
            self._configured
            and "connection_strategy" in updated
            and opts.connection_strategy != self._ours
        ):
            self._user_choice = True  # set after start by someone else: a recipe, mitmweb, :set
        self._configured = True
        if self._user_choice:
            return
        chained = any(getattr(opts, name, None) for name in ("proxy_chain", "proxy_routes"))
        replaying = bool(getattr(opts, "soap_replay", None))
        lazy = wants_lazy(opts.mode, chained, replaying)
        if lazy and opts.connection_strategy == "eager":
            self._ours = "lazy"
            opts.update(connection_strategy="lazy")
            why = (
                "soap_replay answers requests without a server connection"
                if replaying
                else "reverse-mode HTTP clients get a 502 naming a failing proxy hop (eager would "
                "close their connection)"
            )
            logger.info(f"connection_strategy=lazy: {why}; set connection_strategy to choose")
        elif chained and mixed(opts.mode) and opts.connection_strategy == "eager":
            logger.info(
                "connection_strategy stays eager: beside the reverse HTTP(S) listener, others may "
                "carry server-first protocols, which lazy would stall; a dead hop then closes the "
                "HTTP client's connection instead of answering 502 (set connection_strategy=lazy "
                "to choose the 502)"
            )
        if not lazy and self._ours == "lazy" and opts.connection_strategy == "lazy":
            self._ours = "eager"
            opts.update(connection_strategy="eager")
