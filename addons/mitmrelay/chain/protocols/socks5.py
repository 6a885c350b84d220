r"""The client side of a SOCKS5 CONNECT (RFC 1928), with username/password auth (RFC 1929), sans-IO.

    machine = Socks5Client("example.com", 443, "alice", "secret")
    machine.next_event()  # SendData(b"\x05\x02\x00\x02"): the methods we offer
    machine.receive_data(b"\x05\x02")  # the proxy selects username/password
    machine.next_event()  # SendData(b"\x01\x05alice\x06secret")
    ...  # until next_event() returns TunnelOpen, or raises a ProxyFailure

Each field of a reply is judged as soon as it arrives: a wrong version or a refusal is known
before the rest of the reply, and what the proxy sends after its reply is left for the tunnel.
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

VERSION = 5
NO_AUTHENTICATION = 0x00  # RFC 1928 §3
USERNAME_PASSWORD = 0x02  # RFC 1928 §3, RFC 1929
NO_ACCEPTABLE_METHODS = 0xFF  # RFC 1928 §3
AUTH_VERSION = 1  # RFC 1929 §2: the version of the username/password subnegotiation
CONNECT = 1  # RFC 1928 §4
SUCCEEDED = 0  # RFC 1928 §6
IPV4, DOMAIN, IPV6 = 1, 3, 4  # RFC 1928 §5

# RFC 1928 §6: what each reply code says, in the words users have seen in 502 bodies since
# mitmrelay's first release; X'09' to X'FF' are unassigned.
REPLIES = {
    0x01: "General SOCKS server failure",
    0x02: "Connection not allowed by ruleset",
    0x03: "Network unreachable",
    0x04: "Host unreachable",
    0x05: "Connection refused by destination host",
    0x06: "TTL expired",
    0x07: "Command not supported or protocol error",
    0x08: "Address type not supported",
}

_METHOD_NAMES = {NO_AUTHENTICATION: "no authentication", USERNAME_PASSWORD: "username/password"}


class State(enum.Enum):
    GREETING = "sending the methods we offer"  # RFC 1928 §3
    METHOD = "waiting for the method the proxy selects"  # RFC 1928 §3
    AUTH = "waiting for the username/password status"  # RFC 1929 §2
    REPLY = "waiting for the reply to CONNECT"  # RFC 1928 §6


def reply_words(code: int) -> str:
    """A non-zero reply code in words."""
    return REPLIES.get(code, f"reply code {code:#04x}, which RFC 1928 §6 leaves unassigned")


class Socks5Client(Machine):
    """Ask a SOCKS5 proxy to connect to host:port: a name (the proxy resolves it) or an IP address.

    username and password are sent (RFC 1929) only if the proxy selects that method; it is
    offered when both are given and not empty.
    """

    def __init__(
        self, host: str, port: int, username: str | None = None, password: str | None = None
    ) -> None:
        super().__init__()
        self.state = State.GREETING
        # Built now: what cannot be said in SOCKS5 fails before anything is sent.
        self._request = _connect_request(host, port)
        self._auth_request = _auth_request(username, password) if username and password else None
        self._methods = (NO_AUTHENTICATION,) + ((USERNAME_PASSWORD,) if self._auth_request else ())

    def _step(self) -> Event:
        if self.state is State.GREETING:
            # RFC 1928 §3: VER | NMETHODS | METHODS
            self.state = State.METHOD
            return SendData(bytes([VERSION, len(self._methods), *self._methods]))
        if self.state is State.METHOD:
            return self._method_selected()
        if self.state is State.AUTH:
            return self._auth_status()
        return self._reply()

    def _offered(self) -> str:
        return ", ".join(_METHOD_NAMES[method] for method in self._methods)

    def _method_selected(self) -> Event:
        # RFC 1928 §3: VER | METHOD
        self._version(VERSION, "a SOCKS5 reply starts with 5 (RFC 1928 §3)")
        if need := self._need(2):
            return need
        method = self._take(2)[1]
        if method == NO_ACCEPTABLE_METHODS:
            hint = (
                ""
                if self._auth_request
                else "; a proxy that wants a password needs user:password@ in the hop's URL"
            )
            raise AuthRejected(
                "No acceptable authentication methods were offered "
                f"(we offered: {self._offered()}){hint}"
            )
        if method not in self._methods:
            raise RemoteProtocolError(
                f"Unexpected SOCKS authentication method: {method} (we offered: {self._offered()})"
            )
        if method == USERNAME_PASSWORD:
            assert self._auth_request is not None
            self.state = State.AUTH
            return SendData(self._auth_request)
        self.state = State.REPLY
        return SendData(self._request)

    def _auth_status(self) -> Event:
        # RFC 1929 §2: VER | STATUS, X'00' is success; anything else must close the connection.
        self._version(AUTH_VERSION, "a username/password status starts with 1 (RFC 1929 §2)")
        if need := self._need(2):
            return need
        status = self._take(2)[1]
        if status != 0:
            raise AuthRejected("Username and password authentication failure")
        self.state = State.REPLY
        return SendData(self._request)

    def _reply(self) -> Event:
        # RFC 1928 §6: VER | REP | RSV | ATYP | BND.ADDR | BND.PORT
        buffer = self._buffer
        self._version(VERSION, "a SOCKS5 reply starts with 5 (RFC 1928 §6)")
        if len(buffer) > 1 and buffer[1] != SUCCEEDED:
            raise Refused(reply_words(buffer[1]), buffer[1])
        if len(buffer) > 2 and buffer[2] != 0:
            raise RemoteProtocolError(
                f"The reserved byte must be 0X0, not {buffer[2]:#X} (RFC 1928 §6)"
            )
        if need := self._need(4):
            return need
        address_type = buffer[3]
        if address_type == IPV4:
            size = 4 + 4 + 2
        elif address_type == IPV6:
            size = 4 + 16 + 2
        elif address_type == DOMAIN:
            if need := self._need(5):
                return need
            size = 5 + buffer[4] + 2
        else:
            raise RemoteProtocolError(
                f"Invalid address type: {address_type:#X} (RFC 1928 §5 has 1, 3 and 4)"
            )
        if need := self._need(size):
            return need
        reply = self._take(size)
        address = reply[4:-2]
        if address_type == DOMAIN:
            host = address[1:].decode("ascii", "replace")
        else:
            host = socket.inet_ntop(
                socket.AF_INET if address_type == IPV4 else socket.AF_INET6, address
            )
        return TunnelOpen(bytes(buffer), (host, int.from_bytes(reply[-2:], "big")))

    def _version(self, expected: int, rule: str) -> None:
        if self._buffer and self._buffer[0] != expected:
            version = self._buffer[0]
            raise RemoteProtocolError(f"Unexpected SOCKS version number: {version} ({rule})")


def _connect_request(host: str, port: int) -> bytes:
    """RFC 1928 §4: VER | CMD | RSV | ATYP | DST.ADDR | DST.PORT, DST.ADDR as §5 says."""
    if not 0 <= port <= 0xFFFF:
        raise LocalProtocolError(f"port {port} does not fit SOCKS5's two bytes")
    ip = ip_literal(host)
    if ip is not None:
        address = bytes([IPV4 if ip.version == 4 else IPV6]) + ip.packed
    else:
        name = name_bytes(host)
        if not 0 < len(name) <= 255:
            raise LocalProtocolError(
                f"the host name is {len(name)} bytes; SOCKS5 carries 1 to 255 (RFC 1928 §5)"
            )
        address = bytes([DOMAIN, len(name)]) + name
    return bytes([VERSION, CONNECT, 0]) + address + port.to_bytes(2, "big")


def _auth_request(username: str, password: str) -> bytes:
    """RFC 1929 §2: VER | ULEN | UNAME | PLEN | PASSWD, each field 1 to 255 bytes."""
    fields = []
    for what, value in (("user name", username), ("password", password)):
        data = value.encode()
        if len(data) > 255:
            raise LocalProtocolError(
                f"the {what} is {len(data)} bytes; RFC 1929 §2 allows at most 255"
            )
        fields.append(bytes([len(data)]) + data)
    return bytes([AUTH_VERSION]) + b"".join(fields)
