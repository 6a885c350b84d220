"""Why a proxy chain could not be set up, as fields; the text users see is made from them.

Both errors are `OSError`s: mitmproxy catches only `OSError` around the server connect, and turns
its text into the 502 body or the "error establishing server connection" log line.
"""

from __future__ import annotations

import enum

from mitmproxy.utils import human


class Failure(enum.Enum):
    """What went wrong with a hop, in the terms a user acts on."""

    UNREACHABLE = "unreachable"  # no TCP connection to the (first) proxy
    REFUSED = "refused"  # the proxy answered no, with a reply code (SOCKS reply, HTTP status)
    AUTH_REJECTED = "auth_rejected"  # the proxy did not accept the credentials, or wants some
    TIMED_OUT = "timed_out"  # the chain was not set up within proxy_connect_timeout
    TLS = "tls"  # TLS to an https:// proxy failed
    ENV_MISSING = "env_missing"  # a ${NAME} of the hop's credentials is not set
    PROTOCOL = "protocol"  # the proxy's answer is not what its protocol allows
    CLOSED = "closed"  # the proxy closed the connection during the handshake
    # A hop without remote DNS (socks4://, socks5://) is given an address: the name of what it
    # must connect to does not resolve on this machine.
    UNRESOLVED = "unresolved"


class HopError(OSError):
    """Hop `index` (1-based) of `count` could not do its part of the connection to `destination`.

    `hop` is the hop's URL as logged (passwords masked); `target` is what that hop was asked to
    connect to (the next hop, or the destination); `code` is the proxy's reply code when it answered
    with one (a SOCKS reply code, an HTTP status), the proxy's answer in words being in `reason`.
    """

    def __init__(
        self,
        kind: Failure,
        *,
        index: int,
        count: int,
        hop: str,
        destination: tuple[str, int],
        reason: str,
        target: tuple[str, int] | None = None,
        code: int | None = None,
    ) -> None:
        self.kind = kind
        self.index = index
        self.count = count
        self.hop = hop
        self.destination = destination
        self.target = target or destination
        self.reason = reason
        self.code = code
        super().__init__(self._text())

    def _text(self) -> str:
        label = f"proxy hop {self.index}/{self.count} {self.hop}"
        if self.kind is Failure.UNREACHABLE:
            return f"{label} is not reachable: {self.reason}"
        if self.kind is Failure.ENV_MISSING:
            return f"{label}: {self.reason}"
        if self.kind is Failure.TIMED_OUT:
            return (
                f"{label} did not complete its part of the connection to "
                f"{_address(self.destination)} {self.reason}"
            )
        verb = "refused" if self.code is not None else "failed"
        return f"{label} {verb} the connection to {_address(self.target)}: {self.reason}"


class UdpRefused(OSError):
    """A UDP destination whose route names a chain or a recording: routes carry TCP only."""

    def __init__(self, destination: tuple[str, int], route: str) -> None:
        self.destination = destination
        self.route = route
        super().__init__(
            f"UDP to {human.format_address(destination)} cannot go {route}: routes carry TCP "
            f"only. Add {destination[0]} to proxy_bypass to send it directly."
        )


def _address(address: tuple[str, int]) -> str:
    return f"{address[0]}:{address[1]}"
