"""Every option of mitmrelay, declared once: name, type, default, help, and the check of a value.

One entry serves the addon's `load()` (the declaration), its `configure()` (the check, raised as
OptionsError) and the recipe validator (the same check, reported with the file and line), so a
recipe is judged exactly as `--set` is. mitmproxy declares its own options; the checks known for
some of them are entries of the same kind, in MITMPROXY.

A check has up to three parts, each one function:

- check(value) -> parsed: the value alone, pure; for a list option, one item.
- environ(parsed, environ): the environment variables the option reads itself (the `${NAME}` of
  proxy credentials, read at each connection).
- files(parsed, place) -> found: the file system (input files that must exist, output paths that
  must be writable); returns what it read (a route's recording), or None.

Each raises ValueError with the exact fault and the fix; the functions below raise BadValue,
which names the option, the entry of a list and the value (passwords masked).

Usage, in an addon:

    def load(self, loader: Loader) -> None:
        options.declare(loader, "tcp_messages_max")

    def configure(self, updated: set[str]) -> None:
        try:
            keep = options.use("tcp_messages_max", ctx.options.tcp_messages_max)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mitmproxy.addonmanager import Loader
from mitmproxy.proxy.mode_specs import ProxyMode
from mitmproxy.utils import human

from mitmrelay.chain import pac, schemes
from mitmrelay.chain.failover import Alternatives, parse_alternatives
from mitmrelay.chain.routes import Pattern, parse_pattern, parse_route
from mitmrelay.chain.spec import env_refs
from mitmrelay.optionkit import (
    CWD,
    BadValue,
    Check,
    Missing,
    Option,
    Place,
    Unset,
    absolute_input,
    input_check,
    missing,
    no_such_file,
    require_env,
)
from mitmrelay.soap import replay
from mitmrelay.soap.catalog import Catalog, add_file
from mitmrelay.soap.render import DEFAULT_MAX_BYTES
from mitmrelay.soap.wsdl import ContractError
from mitmrelay.streams import recording, socat_format

# --- the checks: pure functions of the value, then of the environment and the file system ---


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


MIN_SOAP_BYTES = 1024


def _soap_bytes(value: int) -> int:
    if value < MIN_SOAP_BYTES:
        raise ValueError(
            f"must be at least {MIN_SOAP_BYTES} bytes; the default is {DEFAULT_MAX_BYTES} (4 MiB)"
        )
    return value


def _socat_format(value: str) -> socat_format.Format:
    for fmt in socat_format.FORMATS:
        if value == fmt:
            return fmt
    raise ValueError("choose 'v' (socat -v), 'x' (socat -x) or 'vx' (socat -v -x).")


# The fixes, also for the addons' own errors when opening or creating fails after all.
DUMP_FIX = "give a writable file path, '-' for stderr, or '' to turn dumps off"
RECORD_FIX = "give a directory this user can create and write, or '' to turn recording off"


def _dump_file(value: str, place: Place) -> None:
    """socat_dump's file can be written (without touching it: the addon truncates it at start).
    An output path: relative to the directory mitmproxy runs in, as on the command line."""
    if value in ("", "-"):
        return
    file = Path(value).expanduser()
    if file.is_dir():
        raise ValueError(f"{str(file)!r} is a directory: {DUMP_FIX}")
    folder = file.parent
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist: create it, or {DUMP_FIX}")
    if not os.access(file if file.exists() else folder, os.W_OK):
        raise ValueError(f"{str(file)!r} is not writable by this user: {DUMP_FIX}")


def _record_folder(value: str, place: Place) -> None:
    """record_dir exists as a writable directory, or can be created (without creating it)."""
    if not value:
        return
    folder = Path(value).expanduser()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path())
    if not existing.is_dir():
        raise ValueError(f"{str(existing)!r} is not a directory: {RECORD_FIX}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{str(existing)!r} is not writable by this user: {RECORD_FIX}")


def _wsdl_source(entry: str) -> Path | str:
    """A soap_wsdl entry: a WSDL file (a Path) or an http(s) URL (fetched once running)."""
    entry = entry.strip()
    if entry.startswith(("http://", "https://")):
        if not urlsplit(entry).hostname:
            raise ValueError("a URL needs a host, e.g. https://partner.example/quotes?wsdl")
        return entry
    if "://" in entry and not entry.startswith("file://"):
        raise ValueError("give a WSDL file or an http:// or https:// URL")
    if not entry.removeprefix("file://"):
        raise ValueError("an empty entry; give a WSDL file or an http(s) URL")
    return Path(entry.removeprefix("file://")).expanduser()


def _wsdl_file(source: Path | str, place: Place) -> None:
    """A WSDL file is read now, with its imports from its folder, so a bad one is refused with
    its line in a recipe; URLs are fetched once running, through the proxy chain."""
    if isinstance(source, str):
        return
    file = place.path(str(source))
    if not file.is_file():
        raise missing(
            file,
            f"no such file {str(file)!r}: fix the path (relative paths are relative to "
            f"{place.name})",
        )
    try:
        add_file(Catalog(), file)
    except ContractError as e:
        raise ValueError(str(e)) from None


def _absolute_wsdl(value: str, place: Place) -> str:
    try:
        source = _wsdl_source(value)
    except ValueError:
        return value  # refused by the check
    return value if isinstance(source, str) else str(place.path(str(source)))


def _flow_path(value: str) -> Path:
    if not value.strip():
        raise ValueError("an empty file name; give flow files written by mitmdump -w")
    return Path(value).expanduser()


def _flow_file(path: Path, place: Place) -> list:
    """The flows of a soap_replay file, read now, so a bad file is refused before traffic."""
    file = place.path(str(path))
    if not file.exists():
        raise no_such_file(file)
    return replay.read_flows(file)


def _unmatched(value: str) -> str:
    if value not in replay.UNMATCHED:
        raise ValueError(f"use one of {', '.join(replay.UNMATCHED)}")
    return value


def _tcp_messages(value: int) -> int:
    if value < 0:
        raise ValueError(
            "give the number of newest messages to keep per TCP flow (at least 1), "
            "or 0 to keep all."
        )
    return value


def _recipe_names() -> list[str]:
    from mitmrelay.recipe import shipped  # the recipe package imports this module

    return ["", *shipped.available()]


def _recipe_file(value: str, place: Place) -> None:
    from mitmrelay.recipe import shipped

    if not value:  # empty: no recipe
        return
    named = "/" not in value and value.removesuffix(".yaml") in shipped.available()
    if named and not place.path(value).exists():
        return  # a recipe's name
    input_check("file")(value, place)


def _size(value: str) -> int | None:
    try:
        return human.parse_size(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not a size: write bytes or a number with k, m or g, e.g. 1m"
        ) from None


# --- the table ---


def _remote_dns_schemes() -> str:
    return ", ".join(name for name, scheme in schemes.SCHEMES.items() if scheme.remote_dns)


_OPTIONS = (
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
        masked=True,
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
        masked=True,
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
    Option(
        name="soap_mask_secrets",
        typespec=bool,
        default=True,
        help="Mask WS-Security secrets (Password, Nonce, BinarySecurityToken, BinarySecret, "
        "SignatureValue, CipherValue) in the SOAP view. Display only: the forwarded bytes "
        "are never changed. Turn off to debug your own credentials: "
        "--set soap_mask_secrets=false",
    ),
    Option(
        name="soap_max_bytes",
        typespec=int,
        default=DEFAULT_MAX_BYTES,
        help="Parse at most this many bytes of a SOAP body for the view and labels; a longer "
        "body shows what its first soap_max_bytes hold. Example: --set soap_max_bytes=16777216",
        check=_soap_bytes,
    ),
    Option(
        name="soap_validate",
        typespec=bool,
        default=True,
        help="Validate SOAP messages against the schema of their WSDL (document/literal and "
        "rpc/literal) and label those that break it `invalid (...)`; filter them with "
        "~comment invalid. Never alters, delays or blocks a message. "
        "Example: --set soap_validate=false",
    ),
    Option(
        name="soap_wsdl",
        typespec=Sequence[str],
        default=[],
        help="WSDL 1.1 files (their imports are read from the same folder) or http(s) URLs "
        "(fetched once at start through the same proxy chain as the traffic, with imports "
        "from the same host). WSDLs that clients fetch through the proxy (?wsdl, "
        "?singleWsdl, ?xsd=...) are learned without it. Example: --set "
        "soap_wsdl=quotes.wsdl --set soap_wsdl=https://partner.example/quotes?wsdl",
        check=_wsdl_source,
        files=_wsdl_file,
        absolute=_absolute_wsdl,
    ),
    Option(
        name="soap_replay",
        typespec=Sequence[str],
        default=[],
        help="Answer SOAP requests from these flow files (written by mitmdump -w or mitmweb), "
        "matched by endpoint path, operation and envelope content, without contacting the "
        "server; other requests (a ?wsdl) by method, path and query. "
        "Example: --set soap_replay=tests/partner.flows",
        check=_flow_path,
        files=_flow_file,
        absolute=absolute_input,
    ),
    Option(
        name="soap_replay_ignore",
        typespec=Sequence[str],
        default=[],
        help="Elements soap_replay leaves out when comparing envelopes, besides WS-Security, "
        "wsa:MessageID/RelatesTo/To and wsu:Id: {namespace}Local, Local (any namespace) or a "
        "path of such steps, e.g. {urn:example}RequestTime or Body/*/Stamp",
        check=replay.parse_ignore,
    ),
    Option(
        name="soap_replay_unmatched",
        typespec=str,
        default="fault",
        help="What soap_replay does with a request no recording matches: fault (answer a SOAP "
        "fault, HTTP 500, naming the nearest recording) or forward (send it to the server), "
        "e.g. --set soap_replay_unmatched=forward",
        choices=replay.UNMATCHED,
        check=_unmatched,
    ),
    Option(
        name="socat_dump",
        typespec=str,
        default="",
        help="Dump every connection's plaintext in socat's format: '-' for stderr, or a file "
        "path (truncated at start), e.g. --set socat_dump=/tmp/dump.txt. Empty: off.",
        files=_dump_file,
    ),
    Option(
        name="socat_dump_format",
        typespec=str,
        default="v",
        help="socat_dump format: 'v' like socat -v (text), 'x' like socat -x (hex), "
        "'vx' like socat -v -x (hex and text columns), e.g. --set socat_dump_format=vx",
        choices=socat_format.FORMATS,
        check=_socat_format,
    ),
    Option(
        name="record_dir",
        typespec=str,
        default="",
        help="Record each connection's bytes in both directions to files in this directory, "
        "replayable with scripts/mock-server, e.g. --set record_dir=recordings/. Empty: off.",
        files=_record_folder,
    ),
    Option(
        name="tcp_messages_max",
        typespec=int,
        default=0,
        help="Keep at most this many of the newest messages in each TCP flow, dropping older "
        "ones to bound memory on long streams, e.g. --set tcp_messages_max=16. 0: keep all.",
        check=_tcp_messages,
    ),
    Option(
        name="setup_open_browser",
        typespec=bool,
        default=False,
        help="Open mitmrelay's Setup page (/mitmrelay/ on mitmweb's port) in a browser at start; "
        "`mitmrelay web` turns it on instead of mitmweb's web_open_browser. "
        "e.g. --set setup_open_browser=true",
    ),
    Option(
        name="recipe",
        typespec=str,
        default="",
        help="A recipe: a YAML file of options for one setup, validated before traffic flows, "
        "e.g. recipes/soap-over-socks5.yaml, or a recipe's name: one of yours in "
        "~/.config/mitmrelay/recipes ($XDG_CONFIG_HOME), else a shipped one (soap-over-socks5). "
        "Options given explicitly win over the recipe.",
        # mitmweb's Options editor shows them as a drop-down; --set takes any path too.
        choices=_recipe_names,
        files=_recipe_file,
        absolute=absolute_input,
    ),
)

# mitmproxy's own options with a check: mitmproxy declares them; recipes are judged by these.
_MITMPROXY = (
    Check(name="mode", check=ProxyMode.parse),
    Check(name="stream_large_bodies", check=_size),
    Check(name="body_size_limit", check=_size),
    # Input files: a relative path in a recipe is relative to the recipe file, so a recipe can
    # ship with its certificates. Output paths (record_dir, socat_dump) stay relative to the
    # directory mitmproxy runs in, as on the command line.
    Check(
        name="ssl_verify_upstream_trusted_ca", files=input_check("file"), absolute=absolute_input
    ),
    Check(
        name="ssl_verify_upstream_trusted_confdir",
        files=input_check("dir"),
        absolute=absolute_input,
    ),
    Check(name="client_certs", files=input_check("file or dir"), absolute=absolute_input),
    Check(name="rfile", files=input_check("file"), absolute=absolute_input),
    Check(name="server_replay", files=input_check("file"), absolute=absolute_input),
)

OPTIONS: dict[str, Option] = {option.name: option for option in _OPTIONS}
MITMPROXY: dict[str, Check] = {check.name: check for check in _MITMPROXY}
CHECKS: dict[str, Check] = {**MITMPROXY, **OPTIONS}


# --- what load(), configure() and the validator call ---


def declare(loader: Loader, *names: str) -> None:
    """Declare options of this project, for an addon's load()."""
    for name in names:
        option = OPTIONS[name]
        choices = option.choices() if callable(option.choices) else option.choices
        loader.add_option(option.name, option.typespec, option.default, option.help, choices)


def judge(name: str, value: Any) -> Any:
    """One value (one item, for a list option) judged alone: what the check parses it to."""
    try:
        return CHECKS[name].check(value)
    except ValueError as e:
        raise BadValue(name, value, str(e), masked=CHECKS[name].masked) from None


def judge_environment(
    name: str,
    value: Any,
    parsed: Any,
    environ: Mapping[str, str] | None,
    place: Place | None,
) -> Any:
    """One value (one item) judged against the environment and the file system; environ=None or
    place=None skips that part (recipes checked as shipped). Returns what the files check read."""
    check = CHECKS[name]
    try:
        if check.environ is not None and environ is not None:
            check.environ(parsed, environ)
        if check.files is not None and place is not None:
            return check.files(parsed, place)
    except ValueError as e:
        raise BadValue(name, value, str(e), cause=e, masked=check.masked) from None
    return None


def parse(name: str, value: Any) -> Any:
    """An option's value parsed by its check; a list option item by item, into a tuple."""
    if not OPTIONS[name].is_list:
        return judge(name, value)
    parsed = []
    for n, item in enumerate(value, start=1):
        try:
            parsed.append(judge(name, item))
        except BadValue as e:
            raise e.at(n) from None
    return tuple(parsed)


def check_environment(
    name: str,
    value: Any,
    parsed: Any,
    environ: Mapping[str, str] = os.environ,
    place: Place | None = CWD,
) -> Any:
    """An option's parsed value judged against the environment and the file system (place=None:
    not the files): what the files check read (a list of it, for a list option)."""
    if not OPTIONS[name].is_list:
        return judge_environment(name, value, parsed, environ, place)
    found = []
    for n, (item, item_parsed) in enumerate(zip(value, parsed, strict=True), start=1):
        try:
            found.append(judge_environment(name, item, item_parsed, environ, place))
        except BadValue as e:
            raise e.at(n) from None
    return found


def use(name: str, value: Any, environ: Mapping[str, str] = os.environ, place: Place = CWD) -> Any:
    """What configure() uses: the value parsed and checked against the environment and files."""
    parsed = parse(name, value)
    check_environment(name, value, parsed, environ, place)
    return parsed


__all__ = [
    "CHECKS",
    "CWD",
    "DUMP_FIX",
    "MITMPROXY",
    "OPTIONS",
    "RECORD_FIX",
    "BadValue",
    "Check",
    "Missing",
    "Option",
    "Place",
    "Unset",
    "check_environment",
    "declare",
    "judge",
    "judge_environment",
    "parse",
    "require_env",
    "use",
]
