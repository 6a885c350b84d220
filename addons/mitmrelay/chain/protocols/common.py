"""What every proxy protocol machine here emits and raises, and the bytes they share.

A machine never touches a socket: `next_event()` says what to do next (send these bytes, read at
most this many, the tunnel is open), `receive_data()` takes the proxy's bytes (`b""`: the proxy
closed). A failure is raised as a `ProxyFailure`, whose type says whose fault it is.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SendData:
    """Write these bytes to the proxy."""

    data: bytes


@dataclass(frozen=True, slots=True)
class NeedData:
    """Read from the proxy, at most `size` bytes: more would already belong to the tunnel. With a
    `delimiter` (a header block's end), read through the next one and no further, if it comes
    within `size` bytes; else at most `size` bytes, and the machine judges them."""

    size: int
    delimiter: bytes | None = None


@dataclass(frozen=True, slots=True)
class TunnelOpen:
    """The proxy connected onward. `leftover`: bytes received after its reply, which belong to the
    tunnel (a server that speaks first); `bound`: the address and port the proxy reports (None:
    the protocol reports none, as HTTP CONNECT)."""

    leftover: bytes
    bound: tuple[str, int] | None


Event = SendData | NeedData | TunnelOpen


class ProxyFailure(Exception):
    """The handshake failed; `reason` in words, `code` the proxy's reply code if it gave one."""

    def __init__(self, reason: str, code: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


class Refused(ProxyFailure):
    """The proxy answered no, with a reply code (its words from the protocol's table)."""

    def __init__(self, reason: str, code: int) -> None:
        super().__init__(reason, code)
        self.code: int = code


class AuthRejected(ProxyFailure):
    """The proxy did not accept our credentials, or accepts none we offered."""


class AuthUnsupported(AuthRejected):
    """The proxy asks for authentication in no way we can answer (its offers, our pin, a missing
    backend): no credentials of ours were judged."""


class RemoteProtocolError(ProxyFailure):
    """The proxy's bytes are not what its protocol allows: the proxy's fault."""


class ProxyClosed(ProxyFailure):
    """The proxy closed the connection before its reply was complete."""

    def __init__(self) -> None:
        super().__init__("the proxy closed the connection during the handshake")


class LocalProtocolError(ProxyFailure):
    """What we were asked to send cannot be said in this protocol, or the machine was misused
    (used after its end): the caller's fault, found before anything is sent where possible."""


class Machine:
    """The buffer, end-of-stream and once-only rules every handshake machine shares.

    Subclasses implement `_step()`, which looks at `_buffer` and returns the next event (or
    raises); bytes that belong to the tunnel stay in the buffer and leave as `TunnelOpen.leftover`.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._closed = False  # the proxy sent its end of stream
        self._over = False  # the tunnel opened, or the handshake failed

    def receive_data(self, data: bytes) -> None:
        """Take bytes the proxy sent; b"" when it closed the connection."""
        if self._over:
            raise LocalProtocolError("the handshake is over: its bytes belong to the tunnel")
        if self._closed:
            raise LocalProtocolError("data received after the proxy closed the connection")
        if data:
            self._buffer += data
        else:
            self._closed = True

    def next_event(self) -> Event:
        """What to do next; raises a ProxyFailure when the handshake cannot succeed."""
        if self._over:
            raise LocalProtocolError("the handshake is over")
        try:
            event = self._step()
        except ProxyFailure:
            self._over = True
            raise
        if isinstance(event, TunnelOpen):
            self._over = True
        return event

    def _step(self) -> Event:
        raise NotImplementedError

    def _need(self, size: int) -> NeedData | None:
        """NeedData for the rest of a message of `size` bytes, None once the buffer holds it."""
        missing = size - len(self._buffer)
        if missing <= 0:
            return None
        if self._closed:
            raise ProxyClosed()
        return NeedData(missing)

    def _take(self, size: int) -> bytes:
        """The first `size` bytes of the buffer, removed from it."""
        message = bytes(self._buffer[:size])
        del self._buffer[:size]
        return message


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """host as an IP address, if it is one written out."""
    if ":" not in host and not host.replace(".", "").isdigit():
        return None  # a name: said without ipaddress' two failed parses (~10 µs a connection)
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def name_bytes(host: str) -> bytes:
    """A host name as sent in a request: ASCII as is, anything else IDNA-encoded."""
    try:
        return host.encode("ascii")
    except UnicodeEncodeError:
        pass
    try:
        return host.encode("idna")
    except UnicodeError as e:
        raise LocalProtocolError(f"the host name {host!r} cannot be encoded ({e})") from None
