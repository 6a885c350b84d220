"""The chain's options, declared and checked here: proxy_chain, proxy_bypass, proxy_routes,
proxy_pac, proxy_from_env, proxy_connect_timeout, proxy_failover_cooldown (see optionkit)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from mitmrelay.optionkit import BadValue, Option, Place, Table, missing, no_such_file, require_env
from mitmrelay.streams import recording

from . import pac, schemes
from .failover import Alternatives, parse_alternatives
from .routes import Pattern, parse_pattern, parse_route
from .spec import env_refs, mask


def _chain_env(alternatives: Alternatives, environ: Mapping[str, str]) -> None:
    require_env([name for chain in alternatives for name in env_refs(chain)], environ)


def _pac_location(value: str) -> str:
    """proxy_pac: '' (none), an http(s):// URL or a file path."""
    if value.startswith(("ftp://", "file://", "data:")):
        raise ValueError("give a file path or an http:// or https:// URL")
    return value


def _pac_script(value: str, place: Place) -> None:
    """The PAC script can be read (or fetched, if place says so) and defines FindProxyForURL."""
    if not value:
        return
    if value.startswith(("http://", "https://")):
        if place.fetch:
            pac.Pac(pac.load_source(value), value).close()
        return
    file = place.path(value)
    if not file.exists():
        raise no_such_file(file)
    pac.Pac(pac.load_source(str(file)), value).close()


def _absolute_pac(value: str, place: Place) -> str:
    if not value or value.startswith(("http://", "https://")):
        return value
    return str(place.path(value))


def _route_env(route: tuple[Pattern, Alternatives | Path], environ: Mapping[str, str]) -> None:
    target = route[1]
    if not isinstance(target, Path):
        _chain_env(target, environ)


def _route_recording(
    route: tuple[Pattern, Alternatives | Path], place: Place
) -> recording.Recording | None:
    """The recording a `PATTERN=file:RECORDING` route answers from, read now, so a bad one is
    refused before traffic flows; None for routes to a chain."""
    target = route[1]
    if not isinstance(target, Path):
        return None
    file = place.path(str(target))
    if not file.is_file():
        raise missing(
            file,
            f"recording {str(file)!r} does not exist: fix the path after file: (relative paths "
            f"are relative to {place.name}; record_dir writes NAME.recording)",
        )
    try:
        return recording.read(file)
    except recording.RecordingError as e:
        raise ValueError(
            f"{e}: give a .recording written by record_dir, or see docs/dumps-and-recordings.md"
        ) from None


def _absolute_recording(route: str, place: Place) -> str:
    """A `PATTERN=file:RECORDING` route with its recording's path taken from place; others as is."""
    try:
        target = parse_route(route)[1]
    except ValueError:
        return route  # refused by the check
    if not isinstance(target, Path):
        return route
    return f"{route.partition('=')[0]}=file:{place.path(str(target))}"


def _positive_seconds(value: int) -> float:
    if value <= 0:
        raise ValueError("must be a positive number of seconds, e.g. 10")
    return float(value)


def _cool_down(value: int) -> float:
    if value < 0:
        raise ValueError("must be 0 (always try in the written order) or more seconds, e.g. 30")
    return float(value)


def _remote_dns_schemes() -> str:
    return ", ".join(name for name, scheme in schemes.SCHEMES.items() if scheme.remote_dns)


TABLE = Table(
    Option(
        name="proxy_chain",
        typespec=str,
        default="",
        help="Proxies that server connections go through, first hop first, comma-separated: "
        f"{', '.join(schemes.NAMES)} URLs (remote DNS: {_remote_dns_schemes()}), "
        "e.g. socks5h://user:${PROXY_PASS}@127.0.0.1:1080,http://proxy.corp:3128. "
        "${NAME} is read from the environment. http/https hops authenticate with Basic, "
        "Digest, NTLM or Negotiate (Kerberos), the strongest the proxy offers, or the one "
        "pinned with ?auth=ntlm. Alternatives, tried in order: A | B | direct. "
        "Empty: connect directly.",
        check=parse_alternatives,
        environ=_chain_env,
        masked=mask,
    ),
    Option(
        name="proxy_bypass",
        typespec=Sequence[str],
        default=[],
        help="Destinations that connect directly, checked first: host, *.glob, .domain, IP or "
        "CIDR, each with an optional :port, e.g. *.internal.example or 10.0.0.0/8.",
        check=parse_pattern,
    ),
    Option(
        name="proxy_routes",
        typespec=Sequence[str],
        default=[],
        help="Per-destination chains, PATTERN=CHAIN, first match wins, checked after "
        "proxy_bypass and before proxy_chain; CHAIN is a proxy_chain value, 'direct', or "
        "file:RECORDING to answer from a recording (a mock server), "
        "e.g. *.corp.example=http://proxy.corp:3128",
        check=parse_route,
        environ=_route_env,
        files=_route_recording,
        absolute=_absolute_recording,
        masked=mask,
    ),
    Option(
        name="proxy_pac",
        typespec=str,
        default="",
        help="A PAC file (path or http(s):// URL) whose FindProxyForURL picks the proxies for "
        "destinations no proxy_bypass or proxy_routes entry matched; its answer (PROXY, HTTPS, "
        "SOCKS, SOCKS4, SOCKS5, DIRECT) gives alternatives tried in order. A failing script "
        "falls back to proxy_chain. e.g. --set proxy_pac=/etc/proxy.pac",
        check=_pac_location,
        files=_pac_script,
        absolute=_absolute_pac,
    ),
    Option(
        name="proxy_from_env",
        typespec=bool,
        default=False,
        help="When proxy_chain is empty, go out as curl would in this shell: https_proxy / "
        "HTTPS_PROXY (http_proxy for port 80), ALL_PROXY (socks5h:// too) and NO_PROXY. "
        "e.g. --set proxy_from_env=true",
    ),
    Option(
        name="proxy_connect_timeout",
        typespec=int,
        default=10,
        help="Seconds allowed for setting up the whole proxy chain of a server connection, "
        "e.g. --set proxy_connect_timeout=5",
        check=_positive_seconds,
    ),
    Option(
        name="proxy_failover_cooldown",
        typespec=int,
        default=30,
        help="Seconds an alternative of 'A | B | direct' that failed is tried last (logged once "
        "when down, once when back); 0 tries them in the written order every time, "
        "e.g. --set proxy_failover_cooldown=300",
        check=_cool_down,
    ),
)


declare = TABLE.declare
use = TABLE.use
parse = TABLE.parse
check_environment = TABLE.check_environment

__all__ = ["TABLE", "BadValue", "check_environment", "declare", "parse", "use"]
