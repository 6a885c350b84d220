"""What a recipe may contain, as data: the top-level keys and what is known about some options.

The options themselves are not listed here: any option of the running mitmproxy and its addons is
allowed (see catalog.py), so a recipe can set whatever `--set` can.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.utils import human

from mitmrelay.chain.routes import parse_pattern, parse_route
from mitmrelay.chain.spec import parse_chain


@dataclass(frozen=True)
class Key:
    kind: str  # "str" or "mapping"
    required: bool
    help: str


TOP_KEYS: dict[str, Key] = {
    "description": Key("str", True, "what the setup is, in a sentence or two"),
    "try": Key("str", False, "a command that sends traffic through the running recipe"),
    "options": Key("mapping", True, "mitmproxy and mitmrelay options, as with --set NAME=VALUE"),
}

# Options that read `${NAME}` from the environment themselves, at each connection: the recipe keeps
# the reference as written so the secret never becomes an option value (visible in mitmweb).
ENV_AWARE = frozenset({"proxy_chain", "proxy_routes"})

# Options naming files that must exist before the proxy starts. A relative path is relative to the
# recipe file, so a recipe can ship with its certificates; output paths (record_dir, socat_dump) are
# not listed and stay relative to the current directory, as on the command line.
INPUT_FILES: dict[str, str] = {
    "ssl_verify_upstream_trusted_ca": "file",
    "ssl_verify_upstream_trusted_confdir": "dir",
    "client_certs": "file or dir",
    "rfile": "file",
    "server_replay": "file",
}


def route_recording(route: str) -> Path | None:
    """The recording a `PATTERN=file:RECORDING` route of proxy_routes answers from, as written.

    It is an input file too (relative to the recipe file), but inside a list item of an option that
    also takes chains, so it cannot be listed in INPUT_FILES."""
    try:
        target = parse_route(route)[1]
    except ValueError:
        return None  # reported by the value check
    return target if isinstance(target, Path) else None


def _check_mode(value: str) -> None:
    ProxyMode.parse(value)


def _check_size(value: str) -> None:
    try:
        human.parse_size(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a size: write bytes or a number with k, m or g, e.g. 1m"
        ) from None


# Checks of option values, by option: each raises ValueError saying what is wrong.
# proxy_* use the chain addon's own parsers, so a recipe is judged exactly as --set would be.
VALUE_CHECKS: dict[str, Callable[[str], object]] = {
    "mode": _check_mode,
    "proxy_chain": parse_chain,
    "proxy_routes": parse_route,
    "proxy_bypass": parse_pattern,
    "stream_large_bodies": _check_size,
    "body_size_limit": _check_size,
}

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
