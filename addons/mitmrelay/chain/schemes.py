"""What each proxy URL scheme means: the one table parsing, logging, masking and connecting read.

Nothing else derives a fact from the scheme's text (no `scheme.startswith("socks4")`): add a scheme
here and every reader follows. The "Hop URLs" table of docs/chains.md is checked against
`readme_rows()`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Handshake(enum.Enum):
    """The protocol spoken to the proxy to have it open the next connection."""

    SOCKS4 = "SOCKS4"  # SOCKS4 and SOCKS4a (a domain name in the request instead of an IPv4)
    SOCKS5 = "SOCKS5"  # RFC 1928, user/password sub-negotiation RFC 1929
    HTTP_CONNECT = "HTTP CONNECT"  # RFC 9110 §9.3.6; proxy auth: proxyauth.py


class Credentials(enum.Enum):
    """Which `user[:password]@` a scheme takes."""

    USER_ID = "user ID only"  # SOCKS4 carries a user ID and has no field for a password
    USER_AND_PASSWORD = "user and password"  # RFC 1929, Basic, Digest, NTLM: a user, a password


@dataclass(frozen=True)
class Scheme:
    name: str
    handshake: Handshake
    remote_dns: bool  # the proxy, not this machine, resolves the destination's name
    tls: bool  # this machine speaks TLS to the proxy itself
    credentials: Credentials
    port_hint: int  # the port suggested when a hop URL lacks one
    proxy: str  # the words of docs/chains.md for what the proxy is

    @property
    def resolver(self) -> str:
        """Who resolves the destination's name, in the words of docs/chains.md."""
        return "the proxy (remote DNS)" if self.remote_dns else "this machine"


# What an http(s):// hop answers a 407 with (proxyauth.py; the order is its preference).
_HTTP_AUTH = "Negotiate, NTLM, Digest or Basic auth, the strongest offered (`?auth=` pins one)"

_TABLE = (
    Scheme("socks4", Handshake.SOCKS4, False, False, Credentials.USER_ID, 1080,
           "SOCKS4, user ID only, IPv4 only"),
    Scheme("socks4a", Handshake.SOCKS4, True, False, Credentials.USER_ID, 1080,
           "SOCKS4a, user ID only"),
    Scheme("socks5", Handshake.SOCKS5, False, False, Credentials.USER_AND_PASSWORD, 1080,
           "SOCKS5 (RFC 1928), user/password auth (RFC 1929)"),
    Scheme("socks5h", Handshake.SOCKS5, True, False, Credentials.USER_AND_PASSWORD, 1080,
           "SOCKS5 (RFC 1928), user/password auth (RFC 1929)"),
    Scheme("http", Handshake.HTTP_CONNECT, True, False, Credentials.USER_AND_PASSWORD, 3128,
           f"HTTP CONNECT (RFC 9110 §9.3.6), {_HTTP_AUTH}"),
    Scheme("https", Handshake.HTTP_CONNECT, True, True, Credentials.USER_AND_PASSWORD, 443,
           "HTTP CONNECT over TLS to the proxy itself (verified like the server: the "
           f"[trust rule](../README.md#which-certificates-are-trusted)), {_HTTP_AUTH}"),
)  # fmt: skip

SCHEMES: dict[str, Scheme] = {scheme.name: scheme for scheme in _TABLE}
NAMES: tuple[str, ...] = tuple(SCHEMES)


def readme_rows() -> list[str]:
    """The rows of the "Hop URLs" table of docs/chains.md, one per scheme."""
    return [f"| `{s.name}` | {s.proxy} | {s.resolver} |" for s in _TABLE]
