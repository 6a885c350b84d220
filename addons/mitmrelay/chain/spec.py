"""Parse `proxy_chain` values: comma-separated proxy URLs, first hop first.

    socks5h://user:${PROXY_PASS}@127.0.0.1:1080,http://proxy.corp:3128

Parsing is pure and happens once, when the option is set; connecting uses the parsed hops.
"""

from __future__ import annotations

import difflib
import os
import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass

from .proxyauth import SCHEMES as AUTH_SCHEMES
from .schemes import NAMES, SCHEMES, Credentials, Handshake, Scheme

# An environment reference: the secret itself never has to appear in a command line.
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MASKED = "***"


def shown_password(password: str, as_written: str | None = None) -> str:
    """The one masking rule, for parsed hops and raw text alike: a password that is exactly one
    `${NAME}` reference is shown (as written); anything else, `${A}tail` included, is `***`."""
    if _ENV_REF.fullmatch(password):
        return password if as_written is None else as_written
    return MASKED


@dataclass(frozen=True)
class Hop:
    """One proxy of a chain. Credentials are kept as written (`${NAME}` unexpanded)."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = None
    auth: str | None = None  # HTTP CONNECT hops: the one proxy auth scheme to use (`?auth=ntlm`)

    @property
    def kind(self) -> Scheme:
        """What the scheme means (schemes.py)."""
        return SCHEMES[self.scheme]

    @property
    def remote_dns(self) -> bool:
        """Whether the proxy, not this machine, resolves the destination's hostname."""
        return self.kind.remote_dns

    @property
    def tls(self) -> bool:
        """Whether this machine speaks TLS to the proxy itself (an `https://` hop)."""
        return self.kind.tls

    def __str__(self) -> str:
        """The hop as a URL safe to log, masked by `shown_password`."""
        userinfo = ""
        if self.username is not None:
            userinfo = urllib.parse.quote(self.username, safe="${}")
            if self.password is not None:
                userinfo += ":" + shown_password(self.password)
            userinfo += "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = f"?auth={self.auth}" if self.auth else ""
        return f"{self.scheme}://{userinfo}{host}:{self.port}{query}"

    def credentials(self, environ: Mapping[str, str] = os.environ) -> tuple[str | None, str | None]:
        """Username and password with `${NAME}` references read from the environment now."""
        return expand(self.username, environ), expand(self.password, environ)


Chain = tuple[Hop, ...]


def expand(value: str | None, environ: Mapping[str, str] = os.environ) -> str | None:
    """Replace each `${NAME}` in value by that environment variable; KeyError names a missing
    one."""
    if value is None:
        return None
    return _ENV_REF.sub(lambda m: environ[m.group(1)], value)


def names_in(value: str) -> list[str]:
    """Names of the environment variables the `${NAME}` references in value refer to."""
    return _ENV_REF.findall(value)


def env_refs(chain: Chain) -> list[str]:
    """Names of the environment variables a chain's credentials refer to."""
    return [
        name
        for hop in chain
        for value in (hop.username, hop.password)
        for name in names_in(value or "")
    ]


def suggest(word: str, choices: tuple[str, ...] | list[str]) -> str:
    """` (did you mean 'x'?)` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


# `scheme://user:password@` anywhere in a text: a spec, a route entry `PATTERN=CHAIN`, a list.
_USERINFO = re.compile(r"(://[^:/@,\s]*:)([^@,\s]*)@")


def mask(text: str) -> str:
    """Any text holding proxy URLs, as written, with passwords masked by `shown_password` (decided
    on the percent-decoded password, the value a parsed hop holds)."""
    return _USERINFO.sub(
        lambda m: m[1] + shown_password(urllib.parse.unquote(m[2]), as_written=m[2]) + "@", text
    )


def parse_hop(text: str) -> Hop:
    """Parse one proxy URL. ValueError says what is wrong and how to write it."""
    text = text.strip()
    if "://" not in text:
        raise ValueError(
            f"hop {mask(text)!r} has no scheme: write it as a URL such as socks5h://{mask(text)}"
        )
    scheme = text.split("://", 1)[0].lower()
    kind = SCHEMES.get(scheme)
    if kind is None:
        raise ValueError(
            f"unknown scheme {scheme!r}{suggest(scheme, NAMES)}; use one of {', '.join(NAMES)}"
        )
    url = urllib.parse.urlsplit(text)
    if url.path not in ("", "/") or url.fragment:
        raise ValueError(
            f"hop {mask(text)!r} has a path; a proxy is only scheme://[user:pass@]host:port"
        )
    auth = _auth_query(url.query, kind, mask(text))
    if not url.hostname:
        raise ValueError(f"hop {mask(text)!r} has no host")
    try:
        port = url.port
    except ValueError:
        port_text = url.netloc.rsplit(":", 1)[-1]
        raise ValueError(
            f"hop {mask(text)!r}: port {port_text!r} is not a number from 1 to 65535"
        ) from None
    if not port:
        raise ValueError(
            f"hop {mask(text)!r} has no port: add one, e.g. {scheme}://{url.hostname}:{kind.port_hint}"
        )
    username = urllib.parse.unquote(url.username) if url.username is not None else None
    password = urllib.parse.unquote(url.password) if url.password is not None else None
    if kind.credentials is Credentials.USER_ID and password is not None:
        raise ValueError(
            f"hop {mask(text)!r}: {kind.handshake.value} has a user ID but no password; "
            f"write {scheme}://USERID@host:port or use socks5"
        )
    if (
        kind.credentials is Credentials.USER_AND_PASSWORD
        and username is not None
        and password is None
    ):
        raise ValueError(
            f"hop {mask(text)!r}: a user name needs a password (SOCKS5: RFC 1929, HTTP: Basic); "
            f"write {scheme}://user:pass@host:port"
        )
    return Hop(scheme, url.hostname, port, username, password, auth)


def _auth_query(query: str, kind: Scheme, shown: str) -> str | None:
    """The `?auth=SCHEME` of an HTTP CONNECT hop: the proxy auth scheme it pins, or None."""
    if not query:
        return None
    fields = urllib.parse.parse_qs(query, keep_blank_values=True)
    if set(fields) != {"auth"} or len(fields["auth"]) != 1:
        raise ValueError(
            f"hop {shown!r}: the only query a hop takes is ?auth=SCHEME, "
            f"one of {', '.join(AUTH_SCHEMES)}"
        )
    if kind.handshake is not Handshake.HTTP_CONNECT:
        raise ValueError(f"hop {shown!r}: ?auth= is for http:// and https:// hops only")
    auth = fields["auth"][0].lower()
    if auth not in AUTH_SCHEMES:
        raise ValueError(
            f"hop {shown!r}: unknown auth {auth!r}{suggest(auth, AUTH_SCHEMES)}; "
            f"use one of {', '.join(AUTH_SCHEMES)}"
        )
    return auth


def parse_chain(text: str) -> Chain:
    """Parse a `proxy_chain` value; empty means a direct connection."""
    text = text.strip()
    if not text:
        return ()
    hops = []
    for n, part in enumerate(text.split(","), start=1):
        if not part.strip():
            raise ValueError(f"hop {n} is empty: remove the extra comma")
        try:
            hops.append(parse_hop(part))
        except ValueError as e:
            if "," not in text:
                raise
            raise ValueError(f"hop {n}: {e}") from None
    return tuple(hops)


def format_chain(chain: Chain) -> str:
    """A chain as a log-safe string."""
    return ",".join(str(hop) for hop in chain) if chain else "direct"
