"""The `recipe` option: apply a validated recipe's options; options given explicitly win.

Which options count as given explicitly: those the user had set when this addon loaded, as
given.by_user answers — on the command line or in config.yaml, whatever the value (so
`--set proxy_chain=` overrides a recipe's chain with a direct connection).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import socket
from typing import Any

from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.mode_specs import ProxyMode

from mitmrelay.given import by_user

from . import options, shipped
from .catalog import catalog
from .validate import parse, resolve, validate

logger = logging.getLogger(__name__)

# Options read only when a listener starts: mitmproxy does not restart listeners when they change.
LISTEN_OPTIONS = frozenset({"mode", "listen_host", "listen_port"})
GIVEN = "command line, config file"  # where options the recipe does not override come from


class Recipe:
    """Sets the options of a recipe file (`--set recipe=recipes/NAME.yaml`) before traffic flows."""

    def __init__(self) -> None:
        self._explicit: frozenset[str] = frozenset()
        self._applied: set[str] = set()  # options whose value came from the recipe
        self._source: tuple[str, str] | None = None  # (path, text) last applied
        self._running = False
        self._restart: asyncio.Task | None = None

    def load(self, loader: Loader) -> None:
        options.declare(loader, "recipe")
        self._explicit = frozenset(by_user(loader.master.options)) - {"recipe"}

    async def running(self) -> None:
        # With Python 3.12's eager tasks, mitmproxy starts its listeners before scripts load, so a
        # recipe's mode and listen address arrive after the default listener is up: restart them.
        self._running = True
        if self._applied & LISTEN_OPTIONS:
            await _restart_listeners()

    def configure(self, updated: set[str]) -> None:
        if "recipe" not in updated:
            return
        path = ctx.options.recipe
        if not path:
            self._apply(path, {})
            return
        try:
            options.use("recipe", path)
            file = shipped.find(path)  # a path, or a recipe's name
        except (options.BadValue, ValueError) as e:
            raise exceptions.OptionsError(str(e)) from None
        try:
            text = file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise exceptions.OptionsError(f"Cannot read recipe {path!r}: {e}") from None
        if self._source == (path, text):
            return
        known = catalog(ctx.options)
        recipe, problems = parse(text, path)
        if not problems:
            problems = validate(recipe, known, os.environ, file.parent, skip=self._explicit)
        errors = [str(p) for p in problems if p.stops]
        if errors:
            raise exceptions.OptionsError(
                f"Recipe {path} has {len(errors)} problem(s), nothing applied:\n"
                + "\n".join(errors)
            )
        for problem in problems:
            logger.warning(str(problem))
        self._source = (path, text)
        self._apply(path, resolve(recipe, known, file.parent))
        _offer(path)

    def _apply(self, path: str, values: dict[str, Any]) -> None:
        chosen = {name: v for name, v in values.items() if name not in self._explicit}
        # Options a previous recipe set and this one does not go back to their defaults.
        stale = {name: ctx.options.default(name) for name in self._applied - chosen.keys()}
        self._applied = set(chosen)
        try:
            ctx.options.update(**stale, **chosen)
        except exceptions.OptionsError as e:
            self._source = None
            raise exceptions.OptionsError(f"Recipe {path}: {e}") from None
        if self._running and (chosen.keys() | stale.keys()) & LISTEN_OPTIONS:
            self._restart = asyncio.get_running_loop().create_task(_restart_listeners())
        kept = sorted(values.keys() & self._explicit)
        if path:
            logger.info(
                f"recipe {path}: set {', '.join(chosen) or 'nothing'}"
                + (f"; kept as given ({GIVEN}): {', '.join(kept)}" if kept else "")
            )


async def _restart_listeners() -> None:
    """Start the listeners the options ask for; restart those bound to an outdated address."""
    servers = ctx.master.addons.get("proxyserver").servers
    modes = [ProxyMode.parse(mode) for mode in ctx.options.mode]
    stale = {server.mode for server in servers if _outdated(server.mode, server.listen_addrs)}
    if stale:
        await servers.update([mode for mode in modes if mode not in stale])
        await asyncio.gather(*(_until_bindable(mode) for mode in stale))
    await servers.update(modes)


async def _until_bindable(mode: ProxyMode, timeout: float = 3.0) -> None:
    """Wait until the address mode now listens on can be bound, for its transports.

    mitmproxy closes a stopped listener without waiting for it (CPython issue 104344), and
    mitmproxy 12 frees the UDP socket of a mode that listens on UDP too (reverse HTTP(S), for
    HTTP/3) a moment later: binding the new address at once fails with "address in use", which
    at start-up ends mitmproxy. A port of 0 (any free port) needs no wait.
    """
    host = mode.listen_host(ctx.options.listen_host)
    port = mode.listen_port(ctx.options.listen_port)
    if not port:
        return
    kinds = {
        "tcp": (socket.SOCK_STREAM,),
        "udp": (socket.SOCK_DGRAM,),
        "both": (socket.SOCK_STREAM, socket.SOCK_DGRAM),
    }[mode.transport_protocol]
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host or None, port, flags=socket.AI_PASSIVE)
    except OSError:
        return  # mitmproxy will say what is wrong with the address
    addresses = {(info[0], info[4]) for info in infos if info[0] in _FAMILIES}
    deadline = loop.time() + timeout
    while not all(_bindable(family, address, kinds) for family, address in addresses):
        if loop.time() > deadline:
            return  # mitmproxy tries anyway and logs why it cannot listen
        await asyncio.sleep(0.02)


_FAMILIES = (socket.AF_INET, socket.AF_INET6)


def _bindable(family: socket.AddressFamily, address: tuple, kinds: tuple[int, ...]) -> bool:
    """False only while the address is in use; any other fault is mitmproxy's to report."""
    for kind in kinds:
        try:
            probe = socket.socket(family, kind)
        except OSError:
            continue  # no such family here (IPv6 off): mitmproxy will not listen on it either
        with probe:
            if kind == socket.SOCK_STREAM:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as asyncio does
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as e:
                if e.errno == errno.EADDRINUSE:
                    return False
    return True


def _outdated(mode: ProxyMode, bound: tuple[tuple, ...]) -> bool:
    """Whether a listener's bound addresses differ from what the options now say."""
    host = mode.listen_host(ctx.options.listen_host)
    port = mode.listen_port(ctx.options.listen_port)
    hosts = {address[0] for address in bound}
    if port and port not in {address[1] for address in bound}:
        return True
    if not host:
        return not hosts <= {"0.0.0.0", "::"}
    try:
        return str(ipaddress.ip_address(host)) not in hosts
    except ValueError:
        return False  # a name: mitmproxy resolved it, nothing to compare


def _offer(path: str) -> None:
    """Make a recipe given by path one of the option's choices: mitmweb's Options editor shows
    the option as a drop-down of its choices, and a value that is none of them as blank.
    (mitmproxy keeps choices on its private option objects; without them, nothing to do.)"""
    option = getattr(ctx.options, "_options", {}).get("recipe")
    choices = getattr(option, "choices", None)
    if option is not None and choices is not None and path not in choices:
        option.choices = [*choices, path]
