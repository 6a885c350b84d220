"""The proxy environment (`proxy_from_env`): go out the way curl in the same shell would.

curl's rules, which we follow:
- `http_proxy` (lower case only: a CGI server sets HTTP_PROXY from a request header) for
  destinations on port 80, `https_proxy`/`HTTPS_PROXY` for the others (the relay cannot tell an
  HTTP-over-TLS destination from raw TLS, so "not port 80" stands for https://), then
  `all_proxy`/`ALL_PROXY` for both. Lower case wins over upper case.
- A proxy URL without a scheme is `http://`; without a port, 1080 (443 for `https://`).
  `socks5h://` and the other SOCKS schemes are hops as in proxy_chain.
- `no_proxy`/`NO_PROXY`: comma- or space-separated; `*` alone matches every host; a name matches
  itself and its subdomains (a leading dot is ignored: `.corp.example` and `corp.example` are
  the same entry); an IP address or CIDR (`10.0.0.0/8`, `::1`) matches destinations given as an
  address; no entry matches a name by resolving it.
"""

from __future__ import annotations

import ipaddress
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .spec import Chain, mask, parse_chain

_DEFAULT_PORTS = {"https": 443}


def _get(environ: Mapping[str, str], name: str, upper: bool = True) -> str:
    value = environ.get(name, "")
    if not value and upper:
        value = environ.get(name.upper(), "")
    return value.strip()


def normalize(url: str) -> str:
    """A proxy URL as curl reads it, made into a proxy_chain hop: scheme and port filled in."""
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    host_part = netloc.rsplit("@", 1)[-1]
    try:
        port = parts.port
    except ValueError:  # urllib's message quotes the text it read as the port: a password's part
        raise ValueError(
            "the port is not a number (percent-encode '#', '/' and '?' in a password)"
        ) from None
    if port is None and not host_part.endswith(":"):
        netloc += f":{_DEFAULT_PORTS.get(scheme, 1080)}"
    return f"{scheme}://{netloc}"


@dataclass(frozen=True)
class NoProxy:
    """A parsed NO_PROXY value."""

    everything: bool = False
    names: tuple[str, ...] = ()
    networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    def matches(self, host: str) -> bool:
        if self.everything:
            return True
        host = host.strip("[]").lower().rstrip(".")
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return any(host == name or host.endswith("." + name) for name in self.names)
        return any(address in network for network in self.networks)


def parse_no_proxy(value: str) -> NoProxy:
    entries = [e for e in value.replace(",", " ").split() if e]
    if "*" in entries:
        return NoProxy(everything=True)
    names, networks = [], []
    for entry in entries:
        entry = entry.strip("[]")
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
            continue
        except ValueError:
            pass
        name = entry.lower().lstrip(".").rstrip(".")
        if name:
            names.append(name)
    return NoProxy(names=tuple(names), networks=tuple(networks))


@dataclass(frozen=True)
class EnvProxies:
    """The proxy variables of one environment, parsed once."""

    http: Chain | None = None
    https: Chain | None = None
    all: Chain | None = None
    no_proxy: NoProxy = NoProxy()
    sources: tuple[str, str, str] = ("", "", "")  # the variable each chain came from

    @property
    def enabled(self) -> bool:
        return any(chain is not None for chain in (self.http, self.https, self.all))

    def decide(self, host: str, port: int) -> tuple[Chain, str] | None:
        """The chain for host:port and the variable that chose it; None when none applies."""
        if self.no_proxy.matches(host):
            return (), "NO_PROXY"
        picks = (
            [(self.http, self.sources[0])] if port == 80 else [(self.https, self.sources[1])]
        ) + [(self.all, self.sources[2])]
        for chain, source in picks:
            if chain is not None:
                return chain, source
        return None


def from_environ(environ: Mapping[str, str]) -> EnvProxies:
    """Parse the proxy variables; ValueError names the variable and what is wrong with it."""
    chains: list[Chain | None] = []
    sources = []
    for name, upper in (("http_proxy", False), ("https_proxy", True), ("all_proxy", True)):
        value = _get(environ, name, upper)
        source = name if environ.get(name, "").strip() else name.upper()
        if not value:
            chains.append(None)
            sources.append("")
            continue
        try:
            chains.append(parse_chain(normalize(value)))
        except ValueError as e:
            raise ValueError(f"proxy_from_env: {source}={mask(value)!r}: {e}") from None
        sources.append(source)
    no_proxy = _get(environ, "no_proxy")
    return EnvProxies(
        chains[0],
        chains[1],
        chains[2],
        parse_no_proxy(no_proxy),
        (sources[0], sources[1], sources[2]),
    )
