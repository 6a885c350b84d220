"""Pick the chains for a destination from `proxy_bypass`, `proxy_routes` and `proxy_chain`.

The rule: `proxy_bypass` first (direct), then `proxy_routes` in order (first match wins), then
the PAC file and `proxy_chain`, then the proxy environment for everything else: `route`, which
the addon and the Setup page's preview both ask. A target is a list of alternatives
(`A | B | direct`, failover.py). Patterns never resolve hostnames: a CIDR or IP pattern matches
a destination given as an IP address, a host pattern one given as a name.
"""

from __future__ import annotations

import fnmatch
import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from .envproxy import EnvProxies
from .failover import Alternatives, format_alternatives, parse_alternatives
from .spec import mask

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class Pattern:
    """A destination pattern: `*`, host, `*.glob`, `.domain`, IP or CIDR; `:port` optional."""

    text: str
    host: str | None = None  # lower-case name or glob; None matches any host
    network: IPNetwork | None = None
    port: int | None = None

    def matches(self, host: str, port: int) -> bool:
        if self.port is not None and port != self.port:
            return False
        if self.network is not None:
            try:
                return ipaddress.ip_address(host.strip("[]")) in self.network
            except ValueError:
                return False
        if self.host is None:
            return True
        name = host.lower().rstrip(".")
        if self.host.startswith("."):
            return name == self.host[1:] or name.endswith(self.host)
        return fnmatch.fnmatchcase(name, self.host)


def _split_port(text: str) -> tuple[str, int | None]:
    """Split `host:port`, `[v6]:port`; a bare IPv6 address or CIDR has no port."""
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ValueError(f"pattern {text!r}: write an IPv6 address with a port as [::1]:443")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    else:
        host, port_text = text, None
    if port_text is None:
        return host, None
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"pattern {text!r}: port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def parse_pattern(text: str) -> Pattern:
    """Parse a destination pattern; ValueError says what is wrong."""
    text = text.strip()
    if not text:
        raise ValueError("empty destination pattern; use * to match everything")
    host, port = _split_port(text)
    if host in ("*", ""):
        return Pattern(text, port=port)
    try:
        return Pattern(text, network=ipaddress.ip_network(host, strict=False), port=port)
    except ValueError:
        pass
    if "/" in host:
        raise ValueError(f"pattern {text!r}: {host!r} is not a valid CIDR such as 10.0.0.0/8")
    if not all(c.isalnum() or c in "-._*?[]" for c in host):
        raise ValueError(f"pattern {text!r}: {host!r} is not a host name, glob, IP or CIDR")
    return Pattern(text, host=host.lower().rstrip("."), port=port)


@dataclass(frozen=True)
class Route:
    pattern: Pattern
    chain: Alternatives
    source: str  # where the rule came from, for logs: "proxy_routes[2]"
    recording: Path | None = None  # answer from this recording (a mock server) instead


def parse_route(text: str) -> tuple[Pattern, Alternatives | Path]:
    """Parse one `proxy_routes` entry, `PATTERN=TARGET`: alternatives (chains or `direct`,
    separated by `|`), or `file:RECORDING`."""
    pattern_text, sep, chain_text = text.partition("=")
    if not sep:
        raise ValueError("missing '=': write PATTERN=CHAIN, e.g. *.corp.example=http://proxy:3128")
    chain_text = chain_text.strip()
    if not chain_text:
        raise ValueError("nothing after '=': write a proxy URL or 'direct'")
    if chain_text.startswith("file:"):
        if not chain_text[5:]:
            raise ValueError(
                "file: needs the path of a recording, e.g. file:recordings/api.recording"
            )
        return parse_pattern(pattern_text), Path(chain_text[5:])
    return parse_pattern(pattern_text), parse_alternatives(chain_text)


@dataclass(frozen=True)
class Decision:
    chain: Alternatives
    rule: str  # the rule that chose it, for the log line
    recording: Path | None = None

    @property
    def direct(self) -> bool:
        return self.chain in ((), ((),))

    def __str__(self) -> str:
        if self.recording is not None:
            return f"answered from {self.recording} ({self.rule})"
        if self.direct:
            return f"direct ({self.rule})"
        return f"via {format_alternatives(self.chain)}"


@dataclass(frozen=True)
class Router:
    """The parsed routing options; `decide` is a pure function of the destination."""

    default: Alternatives = ()
    bypass: tuple[Pattern, ...] = ()
    routes: tuple[Route, ...] = ()

    @property
    def enabled(self) -> bool:
        """Whether any connection can leave through a proxy."""
        return any(self.default) or any(
            any(route.chain) or route.recording for route in self.routes
        )

    def decide(self, host: str, port: int) -> Decision:
        for pattern in self.bypass:
            if pattern.matches(host, port):
                return Decision((), f"proxy_bypass {pattern.text}")
        for route in self.routes:
            if route.pattern.matches(host, port):
                return Decision(
                    route.chain, f"{route.source} {route.pattern.text}", route.recording
                )
        return Decision(self.default, "proxy_chain" if any(self.default) else "no proxy_chain set")


# A decision by proxy_chain (set or not) leaves the PAC file and the proxy environment to answer.
UNDECIDED = ("proxy_chain", "no proxy_chain set")


class PacScript(Protocol):
    """What the rule asks of a loaded PAC file (pac.Pac)."""

    name: str

    async def find(self, host: str, port: int) -> Alternatives | None: ...


async def route(
    router: Router, pac: PacScript | None, env: EnvProxies, host: str, port: int
) -> Decision:
    """The one routing rule: proxy_bypass, proxy_routes, the PAC file, proxy_chain, then the
    proxy environment (when proxy_chain is empty)."""
    decision = router.decide(host, port)
    if decision.rule not in UNDECIDED:
        return decision
    if pac is not None:
        answer = await pac.find(host, port)
        if answer is not None:
            return Decision(answer, f"PAC {pac.name}")
    if decision.rule == "no proxy_chain set" and env.enabled:
        found = env.decide(host, port)
        if found is not None:
            return Decision((found[0],), found[1])
    return decision


def build_router(
    chain: str, bypass: list[str] | tuple[str, ...], routes: list[str] | tuple[str, ...]
) -> Router:
    """Parse all three options; ValueError names the option and entry that is wrong."""
    try:
        default = parse_alternatives(chain)
    except ValueError as e:
        raise ValueError(f"proxy_chain {mask(chain)!r}: {e}") from None
    patterns = []
    for n, text in enumerate(bypass, start=1):
        try:
            patterns.append(parse_pattern(text))
        except ValueError as e:
            raise ValueError(f"proxy_bypass entry {n} {text!r}: {e}") from None
    parsed = []
    for n, text in enumerate(routes, start=1):
        try:
            pattern, target = parse_route(text)
        except ValueError as e:
            raise ValueError(f"proxy_routes entry {n} {mask(text)!r}: {e}") from None
        if isinstance(target, Path):
            parsed.append(Route(pattern, (), f"proxy_routes[{n}]", target))
        else:
            parsed.append(Route(pattern, target, f"proxy_routes[{n}]"))
    return Router(default, tuple(patterns), tuple(parsed))
