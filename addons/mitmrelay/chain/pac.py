"""PAC files (`proxy_pac`): FindProxyForURL(url, host) per destination, its answer as alternatives.

    proxy_pac=/etc/corp/proxy.pac      or      proxy_pac=http://wpad.corp.example/wpad.dat

The script runs in V8 (mini-racer) with the standard helper functions (pac_helpers.js). PAC code is
untrusted: every call has a time bound (a script that loops is stopped), nothing it does reaches
this machine but name lookups, and those are made here, asynchronously: dnsResolve answers from a
table, names it did not know are resolved and the call is made again.

An answer such as `PROXY a:3128; SOCKS5 b:1080; DIRECT` becomes the alternatives
`http://a:3128 | socks5h://b:1080 | direct` (failover.py tries them in order). SOCKS and SOCKS4 are
SOCKS4a and SOCKS5 is SOCKS5h here: the proxy resolves names, as everywhere in mitmrelay.
Answers are cached per host and port. When the script fails, the error is logged once and the
connection falls back to the next rule (proxy_chain, or direct when it is empty).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import logging
import socket
import ssl
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .. import http_get
from ..http_get import Opener, direct
from .failover import Alternatives
from .spec import parse_hop

logger = logging.getLogger(__name__)

CALL_TIMEOUT_MS = 500  # per FindProxyForURL call (2 cores shared: not tighter)
LOAD_TIMEOUT_MS = 3000  # running the script once at load, V8 warming up included
DNS_TIMEOUT = 2.0  # per name the script asks for
MAX_PASSES = 4  # calls per answer when the script keeps asking for new names
CACHE_SIZE = 4096
MAX_SCRIPT_BYTES = 4 << 20
FETCH_TIMEOUT = 10.0
ACCEPT = "application/x-ns-proxy-autoconfig, */*"
HELPERS = (Path(__file__).parent / "pac_helpers.js").read_text()

_KINDS = {"PROXY": "http", "HTTP": "http", "HTTPS": "https", "SOCKS": "socks4a"}
_KINDS |= {"SOCKS4": "socks4a", "SOCKS5": "socks5h"}


def parse_answer(answer: str) -> Alternatives:
    """FindProxyForURL's answer as alternatives; ValueError when nothing in it is usable.

    Entries we cannot use are skipped, as browsers skip them: the others still apply.
    """
    alternatives: list[tuple] = []
    for entry in str(answer).split(";"):
        words = entry.split()
        if not words:
            continue
        kind = words[0].upper()
        if kind == "DIRECT" and len(words) == 1:
            alternatives.append(())
        elif kind in _KINDS and len(words) == 2:
            try:
                alternatives.append((parse_hop(f"{_KINDS[kind]}://{words[1]}"),))
            except ValueError:
                continue
    if not alternatives:
        raise ValueError(f"no usable entry in the answer {str(answer)[:200]!r}")
    return tuple(alternatives)


def load_source(location: str, opener: Opener = direct, tls: ssl.SSLContext | None = None) -> str:
    """The PAC script at a path, or at an http(s):// URL fetched over opener (directly unless
    told otherwise). Blocks until fetched: configure() must know before traffic flows."""
    if location.startswith(("http://", "https://")):
        fetch = http_get.get(
            location,
            opener,
            tls,
            limit=MAX_SCRIPT_BYTES,
            accept=ACCEPT,
            timeout=FETCH_TIMEOUT,
            redirects=3,  # WPAD servers redirect (http to https, wpad.dat to proxy.pac)
        )
        # On a loop of its own: configure() may run on mitmproxy's, which cannot be waited on.
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pac-fetch") as pool:
            try:
                return pool.submit(asyncio.run, fetch).result().decode("utf-8", "replace")
            except http_get.FetchError as e:
                raise ValueError(f"cannot fetch {e}") from None
    try:
        return Path(location).read_text(errors="replace")
    except OSError as e:
        raise ValueError(f"cannot read {location}: {e.strerror or e}") from None


def _my_ip() -> str:
    try:
        return socket.gethostbyname(socket.gethostname())
    except OSError:
        return "127.0.0.1"


class Pac:
    """One loaded PAC script; find() answers per destination."""

    def __init__(self, source: str, name: str, call_timeout_ms: int = CALL_TIMEOUT_MS) -> None:
        from py_mini_racer import MiniRacer

        self.name = name
        self.timeout = call_timeout_ms
        self._cache: OrderedDict[tuple[str, int], Alternatives | None] = OrderedDict()
        self._dns: dict[str, str] = {}
        self._failed = False
        # mini-racer applies a time bound only outside a running event loop: every call into the
        # engine runs on this one thread (which also keeps V8 on a single thread).
        # mini-racer ties a context to the event loop of the thread that made it: made there too.
        self._thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pac")
        self._context: Any = self._thread.submit(MiniRacer).result()
        # An open context keeps the interpreter from exiting; close it at the latest there.
        atexit.register(self.close)
        try:
            kind = self._thread.submit(self._load, source).result()
        except Exception as e:
            self.close()
            raise ValueError(f"PAC {name}: the script does not run: {_js_error(e)}") from None
        if kind != "function":
            self.close()
            raise ValueError(f"PAC {name}: the script defines no function FindProxyForURL")

    def _load(self, source: str) -> str:
        assert self._context is not None
        self._context.eval(HELPERS)
        self._context.eval(f"__mitmrelay_my_ip = {json.dumps(_my_ip())}")
        self._context.eval(source, timeout=max(self.timeout, LOAD_TIMEOUT_MS))
        return str(self._context.eval("typeof FindProxyForURL"))

    def _call(self, url: str, host: str, dns: dict[str, str]) -> tuple[str, list[str]]:
        """One FindProxyForURL call: its answer and the names it asked for but we did not know."""
        assert self._context is not None, "PAC used after close()"
        self._context.eval(f"__mitmrelay_dns = {json.dumps(dns)}; __mitmrelay_wanted = [];")
        answer = self._context.call("FindProxyForURL", url, host, timeout=self.timeout)
        return str(answer), [str(name) for name in self._context.eval("__mitmrelay_wanted")]

    def close(self) -> None:
        if self._context is not None:
            context, self._context = self._context, None
            # At exit the executors may be shut down already: the process ends V8 anyway.
            with contextlib.suppress(RuntimeError):
                self._thread.submit(context.close).result()
            self._thread.shutdown()
        atexit.unregister(self.close)

    async def find(self, host: str, port: int) -> Alternatives | None:
        """The alternatives for host:port, or None when the script failed (then: the next rule)."""
        key = (host, port)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            answer = await self._ask(host, port)
            result: Alternatives | None = parse_answer(answer)
        except ValueError as e:
            if not self._failed:
                self._failed = True
                logger.warning(
                    f"PAC {self.name}: {e} (for {host}:{port}); destinations it cannot answer use "
                    "the next rule, proxy_chain (direct when empty). Logged once."
                )
            result = None
        self._cache[key] = result
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    async def _ask(self, host: str, port: int) -> str:
        url = _url(host, port)
        loop = asyncio.get_running_loop()
        for _ in range(MAX_PASSES):
            try:
                answer, wanted = await loop.run_in_executor(
                    self._thread, self._call, url, host.strip("[]"), dict(self._dns)
                )
            except Exception as e:
                raise ValueError(f"FindProxyForURL failed: {_js_error(e)}") from None
            if not wanted:
                return answer
            for name in wanted[:8]:
                self._dns[name] = await _resolve(name)
        raise ValueError(f"FindProxyForURL asked for names {MAX_PASSES} times over")


def _url(host: str, port: int) -> str:
    """The URL the script is asked about; the relay knows only host and port, so port 80 stands
    for http:// and every other port for https:// (as for the proxy environment)."""
    if port == 80:
        return f"http://{host}/"
    return f"https://{host}/" if port == 443 else f"https://{host}:{port}/"


async def _resolve(name: str) -> str:
    """An IPv4 address for name, or "" when it does not resolve in time (PAC knows only IPv4)."""
    try:
        async with asyncio.timeout(DNS_TIMEOUT):
            infos = await asyncio.get_running_loop().getaddrinfo(
                name, None, family=socket.AF_INET, type=socket.SOCK_STREAM
            )
    except (OSError, TimeoutError):
        return ""
    return str(infos[0][4][0]) if infos else ""


def _js_error(e: Exception) -> str:
    text = str(e).strip().splitlines()
    first = text[0] if text else type(e).__name__
    if "timeout" in first.lower():
        return "the script ran past its time bound and was stopped"
    return first[:300]
