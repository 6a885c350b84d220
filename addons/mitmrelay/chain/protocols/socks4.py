r"""The client side of a SOCKS4 CONNECT, and of SOCKS4a's host names, sans-IO.

The protocol is two documents by Ying-Da Lee: "SOCKS: A protocol for TCP proxy across firewalls"
(SOCKS4, its CONNECT section) and "SOCKS 4A: A Simple Extension to SOCKS 4 Protocol" (SOCKS4a).

    machine = Socks4Client("example.com", 443, "id", socks4a=True)
    machine.next_event()  # SendData(b"\x04\x01\x01\xbb\x00\x00\x00\x01id\x00example.com\x00")
    machine.receive_data(b"\x00\x5a\x00\x00\x00\x00\x00\x00")
    machine.next_event()  # TunnelOpen(leftover=b"", bound=("0.0.0.0", 0))
"""

from __future__ import annotations

import enum
import socket

from .common import (
    AuthRejected,
    Event,
    LocalProtocolError,
    Machine,
    Refused,
    RemoteProtocolError,
    SendData,
    TunnelOpen,
    ip_literal,
    name_bytes,
)

VERSION = 4  # SOCKS4, CONNECT: VN is 4 in a request
REPLY_VERSION = 0  # SOCKS4, CONNECT: "VN is the version of the reply code and should be 0"
CONNECT = 1
REPLY_SIZE = 8  # VN | CD | DSTPORT | DSTIP
GRANTED = 90
IDENTD_MISMATCH = 93
# SOCKS 4A: DSTIP 0.0.0.x, x non-zero, says "the host name follows the user ID".
_NAME_FOLLOWS = bytes([0, 0, 0, 1])

# SOCKS4, CONNECT: what each reply code says, in the words users have seen since mitmrelay's
# first release. 93 is about the user ID, so it is an authentication failure.
REPLIES = {
    90: "Request granted",
    91: "Request rejected or failed",
    92: "Request rejected because SOCKS server cannot connect to identd on the client",
    93: "Request rejected because the client program and identd report different user-ids",
}


class State(enum.Enum):
    REQUEST = "sending the request"
    REPLY = "waiting for the reply"


def reply_words(code: int) -> str:
    """A reply code in words."""
    return REPLIES.get(code, f"reply code {code}, which SOCKS4 does not define (90 to 93)")


class Socks4Client(Machine):
    """Ask a SOCKS4 proxy to connect to host:port.

    host is an IPv4 address; with socks4a, a host name too (the proxy resolves it). user_id is
    the SOCKS4 USERID field (SOCKS4 has no password).
    """

    def __init__(
        self, host: str, port: int, user_id: str | None = None, *, socks4a: bool = False
    ) -> None:
        super().__init__()
        self.state = State.REQUEST
        # Built now: what cannot be said in SOCKS4 fails before anything is sent.
        self._request = _connect_request(host, port, user_id or "", socks4a)

    def _step(self) -> Event:
        if self.state is State.REQUEST:
            self.state = State.REPLY
            return SendData(self._request)
        buffer = self._buffer
        if buffer and buffer[0] != REPLY_VERSION:
            raise RemoteProtocolError(
                f"Unexpected reply version: {buffer[0]} (a SOCKS4 reply starts with 0)"
            )
        if len(buffer) > 1 and buffer[1] != GRANTED:
            code = buffer[1]
            failure = AuthRejected if code == IDENTD_MISMATCH else Refused
            raise failure(reply_words(code), code)
        if need := self._need(REPLY_SIZE):
            return need
        reply = self._take(REPLY_SIZE)
        bound = (socket.inet_ntop(socket.AF_INET, reply[4:8]), int.from_bytes(reply[2:4], "big"))
        return TunnelOpen(bytes(buffer), bound)


def _connect_request(host: str, port: int, user_id: str, socks4a: bool) -> bytes:
    """SOCKS4: VN | CD | DSTPORT | DSTIP | USERID | NULL; SOCKS4a adds the host name and a NULL."""
    if not 0 <= port <= 0xFFFF:
        raise LocalProtocolError(f"port {port} does not fit SOCKS4's two bytes")
    user = user_id.encode()
    if b"\0" in user:
        raise LocalProtocolError("the SOCKS4 user ID cannot hold a NUL byte")
    head = bytes([VERSION, CONNECT]) + port.to_bytes(2, "big")
    ip = ip_literal(host)
    if ip is not None and ip.version == 4:
        return head + ip.packed + user + b"\0"
    if not socks4a:
        raise LocalProtocolError(
            f"SOCKS4 carries IPv4 addresses only, not {host!r}: use socks4a or socks5h"
        )
    name = name_bytes(host)
    if not name or b"\0" in name:
        raise LocalProtocolError(f"{host!r} cannot be sent as a SOCKS4a host name")
    return head + _NAME_FOLLOWS + user + b"\0" + name + b"\0"
