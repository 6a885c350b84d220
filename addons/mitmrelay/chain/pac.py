"""PAC files (`proxy_pac`): FindProxyForURL(url, host) per destination, its answer as alternatives.

    proxy_pac=/etc/corp/proxy.pac      or      proxy_pac=http://wpad.corp.example/wpad.dat

The script runs in a worker process of its own (pac_worker.py) in QuickJS, with the standard
helper functions (pac_helpers.js). PAC code is untrusted: whatever it does, or the engine does with
it, stays in that process. Every call has a time bound, kept by the engine and, should it fail, by
killing the worker from here; the engine's heap and stack are bounded, and the kernel bounds the
whole worker. A worker that dies or is stopped is replaced at the next lookup. Nothing the script
does reaches this machine but name lookups, and those are made here, asynchronously: dnsResolve
answers from a table, names it did not know are resolved and the call is made again.

An answer such as `PROXY a:3128; SOCKS5 b:1080; DIRECT` becomes the alternatives
`http://a:3128 | socks5h://b:1080 | direct` (failover.py tries them in order). SOCKS and SOCKS4 are
SOCKS4a and SOCKS5 is SOCKS5h here: the proxy resolves names, as everywhere in mitmrelay.
Answers are cached per host and port. When the script fails, the error is logged once and the
connection falls back to the next rule (proxy_chain, or direct when it is empty).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import importlib.util
import logging
import socket
import ssl
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from .. import http_get
from ..http_get import Opener, direct
from ..worker import START_SECONDS, Command, ReplyTooLong, Worker, WorkerDied
from .failover import Alternatives
from .spec import parse_hop

logger = logging.getLogger(__name__)

CALL_TIMEOUT_MS = 500  # per FindProxyForURL call (2 cores shared: not tighter)
LOAD_TIMEOUT_MS = 3000  # running the script once at load
DNS_TIMEOUT = 2.0  # per name the script asks for
MAX_PASSES = 4  # calls per answer when the script keeps asking for new names
CACHE_SIZE = 4096
MAX_SCRIPT_BYTES = 4 << 20
# The worker process's bounds, kept by the engine (heap, stack) and the kernel (address space).
WORKER = Path(__file__).with_name("pac_worker.py")
MEMORY_BYTES = 64 << 20  # QuickJS's heap
STACK_BYTES = 1 << 20  # QuickJS's stack: deep recursion stops here
WORKER_ADDRESS_SPACE = 512 << 20  # the whole worker, Python and engine included
# The engine bounds CPU time; from out here the bound is wall time, with room for a busy machine:
# a worker that has not answered after twice its bound and LATE_SECONDS more is killed.
LATE_SECONDS = 0.5
DNS_CACHE_SIZE = 1024
DNS_TTL = 300.0  # seconds a name's address (or its failure) is reused
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


# What the worker's environment keeps: the time zone and locale PAC date functions read, the path.
_ENV_KEPT = ("PATH", "SYSTEMROOT", "TZ", "LANG", "LC_ALL", "LC_TIME")


@functools.cache
def engine_path() -> str:
    """The folder the quickjs package is imported from, for the worker; ValueError naming the fix
    when it is not installed."""
    spec = importlib.util.find_spec("quickjs")
    if spec is None or spec.origin is None:
        raise ValueError("the PAC engine is not installed: pip install quickjs")
    return str(Path(spec.origin).parent.parent)


class Pac:
    """One loaded PAC script; find() answers per destination.

    The script runs in a worker process (pac_worker.py, QuickJS), started here and again
    whenever one dies or is stopped at a bound; mitmproxy's process never runs PAC code."""

    def __init__(self, source: str, name: str, call_timeout_ms: int = CALL_TIMEOUT_MS) -> None:
        self.name = name
        self.timeout = call_timeout_ms
        self._source = source
        self._cache: OrderedDict[tuple[str, int], Alternatives | None] = OrderedDict()
        # name -> (IPv4 address or "", when it expires): bounded, and only the names a lookup
        # asks for travel to the worker with it
        self._dns: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._failed = False  # a script error was logged (once per script)
        self._worker_failed = False  # a worker death was logged (once until the next answer)
        self._worker: Worker | None = None
        self._thread: concurrent.futures.ThreadPoolExecutor | None = (
            concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pac")
        )
        try:
            kind = self._thread.submit(self._start).result()
        except (WorkerDied, ScriptError) as e:
            self.close()
            raise ValueError(f"PAC {name}: the script does not run: {e}") from None
        except BaseException:
            self.close()
            raise
        if kind != "function":
            self.close()
            raise ValueError(f"PAC {name}: the script defines no function FindProxyForURL")

    @property
    def worker_pid(self) -> int | None:
        """The running worker's process id (None before the first start or after a death)."""
        worker = self._worker
        return worker.process.pid if worker is not None else None

    def _start(self) -> str:
        """A new worker with the script loaded; typeof FindProxyForURL there."""
        self._stop_worker()
        # The engine's folder is handed over: the worker imports nothing else of this process's.
        args = (str(WORKER_ADDRESS_SPACE), engine_path())
        self._worker = Worker(Command(WORKER, args, _ENV_KEPT, "PAC worker"))
        load_seconds = max(self.timeout, LOAD_TIMEOUT_MS) / 1000
        reply = self._exchange(
            {
                "load": self._source,
                "helpers": HELPERS,
                "my_ip": _my_ip(),
                "time": load_seconds,
                "memory": MEMORY_BYTES,
                "stack": STACK_BYTES,
            },
            # Python's start-up and the import of the engine come first, then the script.
            START_SECONDS + load_seconds,
        )
        return str(reply["kind"])

    def _exchange(self, request: dict[str, Any], deadline: float) -> dict[str, Any]:
        assert self._worker is not None
        try:
            reply = self._worker.ask(request, deadline)
        except ReplyTooLong as e:
            # the rest stays out of this process: a bound, so the worker is replaced
            reply = {"error": str(e), "bound": "size"}
        except WorkerDied:
            # Late or dead: not the script's answer (a busy machine can make a worker late; the
            # engine's own CPU-time bound stops a loop): the next lookup gets a new worker.
            self._stop_worker()
            raise
        if "error" in reply:
            if reply.get("bound"):
                self._stop_worker()  # a fresh engine for the next call: nothing of this one stays
            raise ScriptError(_js_error(reply["error"], reply.get("bound")))
        return reply

    def _call(self, url: str, host: str, dns: dict[str, str]) -> tuple[str, list[str]]:
        """One FindProxyForURL call: its answer and the names it asked for but we did not know."""
        if self._thread is None:  # closed while this call waited its turn
            raise WorkerDied("PAC used after close()")
        if self._worker is None:
            self._start()
        seconds = self.timeout / 1000
        reply = self._exchange(
            {"call": [url, host], "dns": dns, "time": seconds}, 2 * seconds + LATE_SECONDS
        )
        return str(reply["answer"]), [str(name) for name in reply["wanted"]]

    def _stop_worker(self) -> None:
        if self._worker is not None:
            worker, self._worker = self._worker, None
            worker.close()

    def close(self) -> None:
        """End the worker now (a call under way sees it die; queued ones find the PAC closed);
        returns without waiting for them, as it may run on mitmproxy's event loop."""
        if self._thread is not None:
            thread, self._thread = self._thread, None
            worker = self._worker
            if worker is not None:
                worker.process.kill()
            thread.submit(self._stop_worker)
            thread.shutdown(wait=False)

    async def find(self, host: str, port: int) -> Alternatives | None:
        """The alternatives for host:port, or None when the script failed (then: the next rule)."""
        key = (host, port)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            answer = await self._ask(host, port)
            result: Alternatives | None = parse_answer(answer)
            self._worker_failed = False
        except WorkerDied as e:
            if self._thread is None:  # closed meanwhile (proxy_pac changed): nothing to report
                return None
            # Not the script's answer for this destination: not cached, the next lookup retries.
            if not self._worker_failed:
                self._worker_failed = True
                logger.warning(
                    f"PAC {self.name}: {e} (for {host}:{port}); this connection uses the next "
                    "rule, proxy_chain (direct when empty), and a new worker answers the next "
                    "lookup. Logged once until the PAC answers again."
                )
            return None
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

    async def _address(self, name: str) -> str:
        """name's IPv4 address ("" when it does not resolve), from the cache while fresh."""
        now = time.monotonic()
        cached = self._dns.get(name)
        if cached is not None and cached[1] > now:
            return cached[0]
        address = await _resolve(name)
        self._dns[name] = (address, now + DNS_TTL)
        self._dns.move_to_end(name)
        if len(self._dns) > DNS_CACHE_SIZE:
            self._dns.popitem(last=False)
        return address

    async def _ask(self, host: str, port: int) -> str:
        url = _url(host, port)
        loop = asyncio.get_running_loop()
        dns: dict[str, str] = {}
        for _ in range(MAX_PASSES):
            if self._thread is None:
                raise WorkerDied("PAC used after close()")
            try:
                answer, wanted = await loop.run_in_executor(
                    self._thread, self._call, url, host.strip("[]"), dict(dns)
                )
            except ScriptError as e:
                raise ValueError(f"FindProxyForURL failed: {e}") from None
            if not wanted:
                return answer
            for name in wanted[:8]:
                dns[name] = await self._address(name)
        raise ValueError(f"FindProxyForURL asked for names {MAX_PASSES} times over")


class ScriptError(Exception):
    """The script threw, or was stopped at one of its bounds; the text says which."""


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


def _js_error(first: str, bound: str | None) -> str:
    if bound == "time":
        return "the script ran past its time bound and was stopped"
    if bound == "memory":
        return f"the script used more than {MEMORY_BYTES >> 20} MiB and was stopped"
    if bound == "stack":
        return "the script recursed too deep and was stopped"
    if bound == "size":
        return f"the script gave {first} and was stopped"
    return first
