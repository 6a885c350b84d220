"""The Setup page's form as data: its fields to mitmproxy options and back, and to a recipe.

Pure: no tornado, no running mitmproxy. Each value is judged by the option's own check in
mitmrelay.options (what `--set` and recipes go through), and a refusal is returned under the key
of the form field it concerns, with the project's text.

Passwords: a hop's password is always an environment reference `${NAME}` in the option, in the
page and in a recipe. A password typed into the page goes into this process's environment under
that NAME (`secrets` below), never into an option, a log line or an answer to the browser.
"""

from __future__ import annotations

import os
import re
import types
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from mitmproxy.proxy.mode_specs import ProxyMode

from mitmrelay import options
from mitmrelay.chain import envproxy, schemes
from mitmrelay.chain.envproxy import EnvProxies
from mitmrelay.chain.failover import parse_alternatives
from mitmrelay.chain.routes import UNDECIDED, Decision, PacScript, build_router, route
from mitmrelay.chain.spec import MASKED, Hop, mask, names_in

MODES = ("reverse", "regular", "socks5")  # what a listener row builds; any other: as written
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# The form field each option is shown beside, for refusals that come from configure().
FIELD_OF = {
    "mode": "listeners",
    "listen_host": "listen_host",
    "proxy_chain": "hops",
    "proxy_bypass": "bypass",
    "proxy_routes": "routes",
    "proxy_pac": "pac",
    "proxy_from_env": "from_env",
    "proxy_connect_timeout": "timeout",
    "proxy_failover_cooldown": "cooldown",
    "ssl_insecure": "insecure",
    "ssl_verify_upstream_trusted_ca": "ca",
    "socat_dump": "socat_dump",
    "socat_dump_format": "socat_dump_format",
    "record_dir": "record_dir",
    "soap_wsdl": "soap_wsdl",
    "soap_replay": "soap_replay",
    "soap_validate": "soap_validate",
    "soap_mask_secrets": "soap_mask_secrets",
    "soap_refresh_on_replay": "soap_refresh_on_replay",
    "soap_wsse_password": "soap_wsse_password",
    "soap_sign_key": "soap_sign_key",
    "soap_sign_cert": "soap_sign_cert",
}


def field_of(refusal: str) -> str:
    """The field a refusal of configure() is shown beside: that of the option it names first."""
    found = [
        (match.start(), key)
        for name, key in FIELD_OF.items()
        if (match := re.search(rf"\b{name}\b", refusal))
    ]
    return min(found)[1] if found else "apply"


@dataclass
class Built:
    """What a submitted form gives: the options to set, the passwords to put in the environment
    (NAME -> value, never shown), and refusals by field."""

    options: dict[str, Any] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _port(text: Any) -> int | None:
    text = str(text).strip()
    return int(text) if text.isdigit() and 0 < int(text) < 65536 else None


def _lines(text: Any) -> list[str]:
    return [line.strip() for line in str(text or "").splitlines() if line.strip()]


def _judge(built: Built, key: str, name: str, value: Any) -> None:
    """Set option name to value if its check takes it; else the project's text under key."""
    try:
        if name in options.OPTIONS:
            options.parse(name, value)
        elif name in options.CHECKS:
            options.judge(name, value)
    except options.BadValue as e:
        built.errors[key] = str(e)
        return
    built.options[name] = value


def mode_spec(listener: Mapping[str, Any], n: int) -> tuple[str | None, str | None]:
    """One listener row as a `mode` entry, or the refusal (for the row's `listen-N` slot).
    `other` takes a mitmproxy mode spec as written (upstream:..., transparent, wireguard, ...)."""
    kind = listener.get("mode", "reverse")
    server = str(listener.get("server", "")).strip()
    if kind == "other":
        spec = server
    else:
        port = _port(listener.get("port", ""))
        if kind not in MODES:
            return None, f"listener {n}: mode {kind!r}: use one of {', '.join(MODES)} or other"
        if port is None:
            return None, (
                f"listener {n}: port {listener.get('port')!r} is not a number from 1 to 65535"
            )
        if kind == "reverse" and not server:
            return None, (
                f"listener {n}: reverse mode forwards to a server: give it, "
                "e.g. https://api.example:443"
            )
        spec = f"reverse:{server}@{port}" if kind == "reverse" else f"{kind}@{port}"
    try:
        options.judge("mode", spec)
    except options.BadValue as e:
        return None, f"listener {n}: {e}"
    return spec, None


def hop_url(
    hop: Mapping[str, Any],
    n: int,
    live: Sequence[Hop],
    for_recipe: bool,
    built: Built,
    alt: int = 1,
) -> str | None:
    """Hop n (from 1) of alternative chain alt as a proxy URL with the password as `${NAME}`;
    None after a refusal under `hop-N` (`alt-A-hop-N` for the alternatives after the first)."""
    key = f"hop-{n}" if alt == 1 else f"alt-{alt}-hop-{n}"
    where = f"hop {n}" if alt == 1 else f"alternative {alt}, hop {n}"
    scheme = str(hop.get("scheme", ""))
    host = str(hop.get("host", "")).strip()
    port = str(hop.get("port", "")).strip()
    user = str(hop.get("user", "")).strip()
    env = str(hop.get("env", "")).strip()
    auth = str(hop.get("auth", "")).strip()
    typed = str(hop.get("password", ""))
    kind = schemes.SCHEMES.get(scheme)
    password: str | None = None
    if env and not _ENV_NAME.fullmatch(env):
        built.errors[key] = (
            f"{where}: {env!r} is not an environment variable name (letters, digits, _)"
        )
        return None
    if typed and not env:
        built.errors[key] = (
            f"{where}: give an environment variable name for the password: the page keeps a "
            "typed password only in this mitmweb's environment, as ${NAME}"
        )
        return None
    if env:
        password = "${" + env + "}"
        if typed:
            built.secrets[env] = typed
    elif hop.get("keep") and n <= len(live) and live[n - 1].password is not None:
        # The password the running option holds (given with --set): kept, never shown.
        kept = live[n - 1].password or ""
        if for_recipe and not _ENV_REF.fullmatch(kept):
            built.errors[key] = (
                f"{where}: a recipe holds no literal password: give an environment variable name"
            )
            return None
        password = kept
    if kind is not None and kind.credentials is schemes.Credentials.USER_ID:
        password = None
    userinfo = ""
    if user:
        userinfo = urllib.parse.quote(user, safe="${}")
        if password is not None:
            userinfo += ":" + urllib.parse.quote(password, safe="${}")
        userinfo += "@"
    bracketed = f"[{host}]" if ":" in host else host
    url = f"{scheme}://{userinfo}{bracketed}:{port}" + (f"?auth={auth}" if auth else "")
    try:
        options.judge("proxy_chain", url)
    except options.BadValue as e:
        built.errors[key] = f"{where}: {e.reason}"
        return None
    return url


def build(form: Mapping[str, Any], live_chain: str = "", for_recipe: bool = False) -> Built:
    """The options of a submitted form, judged field by field by the options' own checks."""
    built = Built()
    specs = []
    for n, listener in enumerate(form.get("listeners") or [], start=1):
        spec, error = mode_spec(listener, n)
        if error:
            built.errors[f"listen-{n}"] = error
        specs.append(spec)
    if not specs:
        built.errors["listeners"] = "add a listener: mitmproxy needs at least one mode"
    elif all(specs):
        built.options["mode"] = specs
    built.options["listen_host"] = str(form.get("listen_host", "")).strip()
    _chain(built, form, [chain for chain in _alternatives(live_chain) if chain], for_recipe)
    _judge(built, "bypass", "proxy_bypass", _lines(form.get("bypass")))
    routes = _lines(form.get("routes"))
    if any(f":{MASKED}@" in route for route in routes):
        # from_options showed a literal password as ***: applying it back would change it.
        built.errors["routes"] = (
            f"a route's password shows as {MASKED} (a literal, never sent to the page): "
            "write it as ${NAME} of an environment variable, or set proxy_routes with --set"
        )
    else:
        _judge(built, "routes", "proxy_routes", routes)
    _judge(built, "pac", "proxy_pac", str(form.get("pac", "")).strip())
    built.options["proxy_from_env"] = bool(form.get("from_env"))
    for key, name, default in (
        ("timeout", "proxy_connect_timeout", 10),
        ("cooldown", "proxy_failover_cooldown", 30),
    ):
        seconds = str(form.get(key, default)).strip()
        if seconds.isdigit():
            _judge(built, key, name, int(seconds))
        else:
            built.errors[key] = f"{key} {seconds!r} is not a whole number of seconds"
    built.options["ssl_insecure"] = bool(form.get("insecure"))
    built.options["ssl_verify_upstream_trusted_ca"] = str(form.get("ca", "")).strip() or None
    built.options["socat_dump"] = str(form.get("socat_dump", "")).strip()
    _judge(built, "socat_dump_format", "socat_dump_format", form.get("socat_dump_format", "v"))
    built.options["record_dir"] = str(form.get("record_dir", "")).strip()
    _judge(built, "soap_wsdl", "soap_wsdl", _lines(form.get("soap_wsdl")))
    _judge(built, "soap_replay", "soap_replay", _lines(form.get("soap_replay")))
    built.options["soap_validate"] = bool(form.get("soap_validate", True))
    built.options["soap_mask_secrets"] = bool(form.get("soap_mask_secrets", True))
    built.options["soap_refresh_on_replay"] = bool(form.get("soap_refresh_on_replay", True))
    _wsse_password(built, str(form.get("soap_wsse_password", "")).strip(), for_recipe)
    for name in ("soap_sign_key", "soap_sign_cert"):
        _judge(built, name, name, str(form.get(name, "")).strip())
    return built


def _wsse_password(built: Built, value: str, for_recipe: bool) -> None:
    """soap_wsse_password from the page: only ever a ${NAME} reference. A literal set with --set
    shows as MASKED (from_options) and stays as it is, but is not saved into a recipe."""
    key = "soap_wsse_password"
    if value == MASKED:
        if for_recipe:
            built.errors[key] = (
                "the password was given itself (--set), and is never sent to the page: write it "
                "as ${NAME} of an environment variable to save it in a recipe"
            )
        return  # left out of the options applied: unchanged
    if value and not names_in(value):
        built.errors[key] = (
            "give the password as ${NAME} of an environment variable, e.g. ${WSSE_PASS}: "
            "the page takes no password itself"
        )
        return
    _judge(built, key, key, value)


def _chain(
    built: Built, form: Mapping[str, Any], live: Sequence[Sequence[Hop]], for_recipe: bool
) -> None:
    """proxy_chain of the hop rows: the first chain, its alternatives (`A | B`), then `direct`
    when asked (failover.py tries them in turn, a failed one cooled down)."""
    chains = [form.get("hops") or [], *(form.get("alternatives") or [])]
    texts = []
    for alt, rows in enumerate(chains, start=1):
        if alt > 1 and not rows:
            built.errors[f"alt-{alt}"] = f"alternative {alt} has no hop: add one, or remove it"
            continue
        known = live[alt - 1] if alt <= len(live) else ()
        urls = [
            hop_url(hop, n, known, for_recipe, built, alt) for n, hop in enumerate(rows, start=1)
        ]
        texts.append(",".join(u or "" for u in urls))
    if len(chains) > 1 and not chains[0]:
        built.errors["hops"] = "the first chain has no hop: add one, or remove the alternatives"
    if any(key.startswith(("hop-", "alt-")) for key in built.errors) or "hops" in built.errors:
        return
    if texts[0] and form.get("fallback_direct"):
        texts.append("direct")
    _judge(built, "hops", "proxy_chain", " | ".join(texts))


def describe(decision: Decision) -> str:
    """A routing decision and the rule that made it, once."""
    if decision.direct or decision.recording is not None:
        return str(decision)  # names its rule already
    return f"{decision} ({decision.rule})"


async def preview(built: Built, host: str, port: int, running_pac: PacScript | None = None) -> str:
    """The route a destination takes with the built options, by the chain's own routing rule
    (routes.route), the proxy environment included. The running PAC file answers when the form
    names that same file; a new one is read only once applied."""
    opts = built.options
    router = build_router(opts["proxy_chain"], opts["proxy_bypass"], opts["proxy_routes"])
    pac = running_pac if running_pac is not None and running_pac.name == opts["proxy_pac"] else None
    try:
        env = envproxy.from_environ(os.environ) if opts["proxy_from_env"] else EnvProxies()
    except ValueError as e:
        return f"{host}:{port}: the proxy environment cannot be used: {e}"
    decision = await route(router, pac, env, host, port)
    text = f"{host}:{port}: {describe(decision)}"
    if opts["proxy_pac"] and pac is None and router.decide(host, port).rule in UNDECIDED:
        text += "; the new PAC file may answer first: Apply, then check"
    return text


def from_options(opts: Any) -> dict[str, Any]:
    """The form of the running options (mitmproxy's, as the Options editor shows them).
    Passwords: `${NAME}` as the name; a literal one only as `keep` (it is never sent)."""
    form: dict[str, Any] = {"notes": []}
    form["listeners"] = [listener_row(spec, opts.listen_port) for spec in opts.mode]
    form["listen_host"] = opts.listen_host
    alternatives = list(_alternatives(opts.proxy_chain))
    form["fallback_direct"] = len(alternatives) > 1 and alternatives[-1] == ()
    if form["fallback_direct"]:
        alternatives.pop()
    if () in alternatives:
        form["notes"].append(
            f"proxy_chain has 'direct' before other alternatives ({mask(opts.proxy_chain)}): "
            "this page shows the chains only, and Apply tries direct last"
        )
    chains = [[hop_row(hop) for hop in chain] for chain in alternatives if chain]
    form["hops"] = chains[0] if chains else []
    form["alternatives"] = chains[1:]
    form["bypass"] = "\n".join(opts.proxy_bypass)
    form["routes"] = "\n".join(mask(route) for route in opts.proxy_routes)
    form["pac"] = opts.proxy_pac
    form["from_env"] = opts.proxy_from_env
    form["timeout"] = opts.proxy_connect_timeout
    form["cooldown"] = opts.proxy_failover_cooldown
    form["insecure"] = opts.ssl_insecure
    form["ca"] = opts.ssl_verify_upstream_trusted_ca or ""
    form["socat_dump"] = opts.socat_dump
    form["socat_dump_format"] = opts.socat_dump_format
    form["record_dir"] = opts.record_dir
    form["soap_wsdl"] = "\n".join(opts.soap_wsdl)
    form["soap_replay"] = "\n".join(opts.soap_replay)
    form["soap_validate"] = opts.soap_validate
    form["soap_mask_secrets"] = opts.soap_mask_secrets
    form["soap_refresh_on_replay"] = opts.soap_refresh_on_replay
    password = opts.soap_wsse_password
    form["soap_wsse_password"] = MASKED if password and not names_in(password) else password
    form["soap_sign_key"] = opts.soap_sign_key
    form["soap_sign_cert"] = opts.soap_sign_cert
    return form


def listener_row(spec: str, listen_port: int | None) -> dict[str, Any]:
    """A `mode` entry as a listener row; modes the row cannot build stay as written (other)."""
    try:
        mode = ProxyMode.parse(spec)
    except ValueError:
        mode = None
    if mode is None or mode.type_name not in MODES:
        return {"mode": "other", "server": spec, "port": ""}
    return {
        "mode": mode.type_name,
        "server": mode.data if mode.type_name == "reverse" else "",
        "port": mode.listen_port(listen_port) or "",
    }


def _alternatives(text: str) -> tuple[tuple[Hop, ...], ...]:
    try:
        found = parse_alternatives(text)
    except ValueError:
        return ()
    # Without a chain there are no hops to show; `direct` last is the fallback checkbox.
    return found if any(found) else ()


def hop_row(hop: Hop) -> dict[str, Any]:
    """A parsed hop as a row of the form; the password only as the name it is read from."""
    ref = _ENV_REF.fullmatch(hop.password or "")
    return {
        "scheme": hop.scheme,
        "host": hop.host,
        "port": hop.port,
        "user": hop.username or "",
        "env": ref.group(1) if ref else "",
        "password": "",
        "keep": hop.password is not None and ref is None,
        "auth": hop.auth or "",
    }


# mitmproxy's defaults of the options the form sets: a recipe leaves them out, and a recipe's
# form starts from them.
DEFAULTS: dict[str, Any] = {
    "mode": ["regular"],
    "listen_port": None,
    "listen_host": "",
    "proxy_chain": "",
    "proxy_bypass": [],
    "proxy_routes": [],
    "proxy_pac": "",
    "proxy_from_env": False,
    "proxy_connect_timeout": 10,
    "proxy_failover_cooldown": 30,
    "ssl_insecure": False,
    "ssl_verify_upstream_trusted_ca": None,
    "socat_dump": "",
    "socat_dump_format": "v",
    "record_dir": "",
    "soap_wsdl": [],
    "soap_replay": [],
    "soap_validate": True,
    "soap_mask_secrets": True,
    "soap_refresh_on_replay": True,
    "soap_wsse_password": "",
    "soap_sign_key": "",
    "soap_sign_cert": "",
}


def from_recipe(data: Any) -> dict[str, Any]:
    """The form of a recipe's options (the others at their defaults)."""
    given = data.get("options") if isinstance(data, dict) else None
    values = {**DEFAULTS, **{k: v for k, v in (given or {}).items() if k in DEFAULTS}}
    for name in ("mode", "proxy_bypass", "proxy_routes", "soap_wsdl", "soap_replay"):
        if isinstance(values[name], str):
            values[name] = [values[name]]
    values["proxy_chain"] = str(values["proxy_chain"] or "")
    form = from_options(types.SimpleNamespace(**values))
    for hop in form["hops"]:
        if hop["keep"]:
            hop["keep"] = False
            form["notes"].append(
                f"hop {hop['host']}:{hop['port']} has a literal password in the recipe: "
                "give an environment variable name"
            )
    return form


def recipe_yaml(built: Built, description: str) -> str:
    """A recipe of the built options: `mode` as one text, defaults left out, `${NAME}` kept."""
    opts: dict[str, Any] = {}
    for name, value in built.options.items():
        if name in DEFAULTS and value == DEFAULTS[name]:
            continue
        opts[name] = value[0] if name == "mode" and len(value) == 1 else value
    data = {
        "description": description.strip() or "made on mitmrelay's Setup page",
        "options": opts,
    }
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=False, allow_unicode=True)
