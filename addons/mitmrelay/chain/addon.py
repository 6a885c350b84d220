"""The proxy chain addon: options, validation, and the opener mitmproxy's connections go through."""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mitmproxy_rs
from mitmproxy import ctx, exceptions
from mitmproxy.addonmanager import Loader
from mitmproxy.utils import human

from .. import trust
from ..http_get import Opener
from ..optionkit import CWD
from ..streams import mock, recording
from . import envproxy, hookpoint, options, pac, routes
from .connector import open_chain
from .errors import UdpRefused
from .failover import Failover
from .routes import Decision, Router, build_router
from .spec import Chain

# Told (chain tried, event, hop index): with failover alternatives the steps name the chain at work.
ChainProgress = Callable[[Chain, str, int], None]

logger = logging.getLogger(__name__)

OPTIONS = (
    "proxy_chain",
    "proxy_bypass",
    "proxy_routes",
    "proxy_pac",
    "proxy_from_env",
    "proxy_connect_timeout",
    "proxy_failover_cooldown",
)


class ProxyChain:
    """Sends mitmproxy's server connections through SOCKS4/4a/5/5h and HTTP CONNECT proxies."""

    def __init__(self) -> None:
        self.router = Router()
        self.timeout = 10.0
        self.recordings: dict[Path, recording.Recording] = {}
        self.proxy_tls: ssl.SSLContext | None = None
        self.pac: pac.Pac | None = None
        self.env = envproxy.EnvProxies()
        self.failover = Failover()

    def load(self, loader: Loader) -> None:
        options.declare(loader, *OPTIONS)
        hookpoint.install(self._open_for_mitmproxy, self.open_udp_connection)

    def done(self) -> None:
        hookpoint.uninstall()
        if self.pac is not None:
            self.pac.close()

    def configure(self, updated: set[str]) -> None:
        if not updated & {*OPTIONS, *trust.OPTIONS}:
            return
        opts = ctx.options
        try:
            values = {name: options.parse(name, getattr(opts, name)) for name in OPTIONS}
            # proxy_pac's file check would read (or fetch) and run the script: done once, below,
            # where a URL is fetched the way the PAC loaded so far says.
            found = {
                name: options.check_environment(
                    name,
                    getattr(opts, name),
                    values[name],
                    place=None if name == "proxy_pac" else CWD,
                )
                for name in OPTIONS
            }
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        # The values are judged: building the router parses them again and cannot fail now.
        router = build_router(opts.proxy_chain, opts.proxy_bypass, opts.proxy_routes)
        recordings = {
            target: read
            for (_, target), read in zip(values["proxy_routes"], found["proxy_routes"], strict=True)
            if read is not None
        }
        env = envproxy.EnvProxies()
        if opts.proxy_from_env:
            try:
                env = envproxy.from_environ(os.environ)
            except ValueError as e:
                raise exceptions.OptionsError(str(e)) from None
        alternatives = [router.default, *(route.chain for route in router.routes)]
        alternatives += [(c,) for c in (env.http, env.https, env.all) if c is not None]
        chains = [chain for alts in alternatives for chain in alts]
        self.env = env
        self.router = router
        self.recordings = recordings
        self.timeout = values["proxy_connect_timeout"]
        self.failover.cool_down = values["proxy_failover_cooldown"]
        # Built here, once: loading the CA store for every connection would cost milliseconds each.
        # A PAC file can answer HTTPS proxies, and an https:// PAC URL is verified the same way.
        tls = opts.proxy_pac or any(hop.tls for chain in chains for hop in chain)
        try:
            self.proxy_tls = trust.client_context(opts) if tls else None
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        # mitmproxy's rollback after a refused change configures again with the same `updated`:
        # the PAC file loaded now is not read (or fetched) again.
        loaded = self.pac is not None and self.pac.name == opts.proxy_pac
        if "proxy_pac" in updated and not loaded:
            script = None
            if opts.proxy_pac:
                try:
                    source = pac.load_source(
                        opts.proxy_pac, self._pac_opener(self.pac), self.proxy_tls
                    )
                    script = pac.Pac(source, opts.proxy_pac)
                except ValueError as e:
                    raise exceptions.OptionsError(
                        f"Cannot use proxy_pac {opts.proxy_pac!r}: {e}"
                    ) from None
            if self.pac is not None:
                self.pac.close()
            self.pac = script

    def _pac_opener(self, previous: pac.Pac | None) -> Opener:
        """How a PAC URL is fetched: directly (never by the proxy environment), unless the PAC
        file loaded so far answers a proxy for its host; then through that, as any connection."""

        async def opener(host: str, port: int) -> tuple[asyncio.StreamReader, Any]:
            answer = await previous.find(host, port) if previous is not None else None
            if answer is None:
                return await asyncio.open_connection(host, port)
            assert previous is not None
            return await self._connect(Decision(answer, f"PAC {previous.name}"), host, port)

        return opener

    async def _open_for_mitmproxy(
        self, host: str, port: int, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Stands in for asyncio.open_connection in mitmproxy's server connection handler, whose
        own `server connect` line then tells the route (hookpoint.announce)."""
        return await self.open_connection(host, port, announce=hookpoint.announce, **kwargs)

    async def open_connection(
        self,
        host: str,
        port: int,
        *,
        local_addr: tuple[str, int] | None = None,
        progress: ChainProgress | None = None,
        announce: Callable[[str], None] = logger.info,
        **kwargs: Any,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A connection to host:port the way the relay's routing says; the `server connect` line
        goes to announce.

        progress (chain steps, see connector.py) is for `mitmrelay check`, which connects here too
        so that it checks exactly what the relay does; mitmproxy passes none."""
        if not (self.router.enabled or self.pac or self.env.enabled):
            return await asyncio.open_connection(host, port, local_addr=local_addr, **kwargs)
        decision = await self.decide(host, port)
        return await self._connect(decision, host, port, local_addr, progress, announce, **kwargs)

    async def _connect(
        self,
        decision: Decision,
        host: str,
        port: int,
        local_addr: tuple[str, int] | None = None,
        progress: ChainProgress | None = None,
        announce: Callable[[str], None] = logger.info,
        **kwargs: Any,
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Connect to host:port the way decision says; announce the `server connect` line."""
        start = time.monotonic()
        carried = ""
        if decision.recording is not None:
            streams = await mock.connect(
                self.recordings[decision.recording], name=str(decision.recording)
            )
        elif decision.direct:
            streams = await asyncio.open_connection(host, port, local_addr=local_addr, **kwargs)
        else:

            async def attempt(chain: Chain, seconds: float) -> Any:
                if not chain:
                    async with asyncio.timeout(seconds):
                        streams = await asyncio.open_connection(
                            host, port, local_addr=local_addr, **kwargs
                        )
                    if progress is not None:
                        progress(chain, "direct", -1)
                    return streams
                return await open_chain(
                    chain,
                    host,
                    port,
                    timeout=seconds,
                    proxy_tls=self.proxy_tls,
                    local_addr=local_addr,
                    progress=None if progress is None else functools.partial(progress, chain),
                )

            streams, index = await self.failover.connect(decision.chain, attempt, self.timeout)
            if len(decision.chain) > 1:
                carried = f", carried by alternative {index + 1}/{len(decision.chain)}"
        elapsed = (time.monotonic() - start) * 1000
        announce(
            f"server connect {human.format_address((host, port))} {decision} "
            f"({elapsed:.0f} ms{carried})"
        )
        return streams

    async def decide(self, host: str, port: int) -> Decision:
        """The route of a destination with the running options (routes.route)."""
        return await routes.route(self.router, self.pac, self.env, host, port)

    async def open_udp_connection(self, host: str, port: int, **kwargs: Any) -> Any:
        """Stands in for mitmproxy_rs.udp.open_udp_connection: UDP cannot cross a chain, so refuse
        rather than let a datagram leave directly when the route says it must not."""
        decision = self.router.decide(host, port)
        if not decision.direct or decision.recording:
            raise UdpRefused((host, port), str(decision))
        return await mitmproxy_rs.udp.open_udp_connection(host, port, **kwargs)
