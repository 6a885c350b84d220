r"""The client side of an HTTP CONNECT exchange (RFC 9110 §9.3.6) with the 407 legs of proxy
authentication (RFC 9110 §11.7.1), sans-IO.

    machine = ConnectClient("example.com", 443)
    machine.next_event()  # NeedToken(None): what goes with the first request, if anything
    machine.authorize(None)
    machine.next_event()  # SendData(b"CONNECT example.com:443 HTTP/1.1\r\nhost: ...")
    machine.next_event()  # NeedData(65536, b"\r\n\r\n"): the reply's header block
    machine.receive_data(b"HTTP/1.1 407 Proxy Authentication Required\r\n...")
    machine.next_event()  # NeedToken(Reply(407, ...)): answer its challenge, or give up
    ...  # until next_event() returns TunnelOpen, or raises a ProxyFailure

h11 parses the HTTP/1.1 framing; this machine decides what a reply means. Which scheme answers a
challenge, and with what, is the caller's (proxyauth.Responder): a token may take a Kerberos
round trip, which is I/O. Multi-leg schemes (NTLM, Negotiate) run every leg on one connection, so
a proxy that closes after its 407 is reported as `Reconnect`, and the caller decides whether the
exchange can go on.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import h11

from .common import (
    AuthRejected,
    LocalProtocolError,
    NeedData,
    ProxyClosed,
    ProxyFailure,
    Refused,
    RemoteProtocolError,
    SendData,
    TunnelOpen,
    name_bytes,
)

# A reply's header block may not exceed this (asyncio's default stream limit), nor its body.
MAX_REPLY_HEADER = 64 * 1024
MAX_REPLY_BODY = 1 << 20
# More 407s than this on one exchange is a proxy playing with us, not authentication.
MAX_LEGS = 6
_BODY_READ = 64 * 1024
_END_OF_HEADER = b"\r\n\r\n"  # RFC 9112 §2.1: the empty line that ends a header block


def authority(host: str, port: int) -> str:
    """The CONNECT request-target (RFC 9110 §7.1's authority-form); IPv6 in brackets."""
    if not 0 < port <= 0xFFFF:
        raise LocalProtocolError(f"port {port} is not a TCP port (1 to 65535)")
    if ":" in host:
        return f"[{host}]:{port}"
    return f"{name_bytes(host).decode('ascii')}:{port}"


@dataclass(frozen=True, slots=True)
class Reply:
    """A final reply that did not open the tunnel; header names are lower case. `reusable`: the
    proxy keeps the connection for another request (its body was read to the end)."""

    status: int
    reason: str
    headers: tuple[tuple[str, str], ...]
    reusable: bool

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def line(self) -> str:
        return f"{self.status} {self.reason}".strip()


@dataclass(frozen=True, slots=True)
class NeedToken:
    """Say what the next request's Proxy-Authorization is, with `authorize()`: `reply` is None
    before the first request (credentials sent up front, or none), else the 407 to answer."""

    reply: Reply | None


@dataclass(frozen=True, slots=True)
class Reconnect:
    """The next request needs a new connection to the same proxy: it closed after its 407, or
    the caller asked for one. Call `reconnected()` once it is open."""


HttpEvent = SendData | NeedData | NeedToken | Reconnect | TunnelOpen


class State(enum.Enum):
    AUTHORIZE = "waiting for the request's credentials"  # NeedToken, answered by authorize()
    SEND = "sending CONNECT"  # RFC 9110 §9.3.6
    REPLY = "waiting for the proxy's reply"  # RFC 9110 §15
    RECONNECT = "waiting for a new connection"
    OVER = "the tunnel is open, or the exchange failed"


class ConnectClient:
    """Ask an HTTP proxy to open a tunnel to host:port, answering its 407s with what the caller
    authorizes, for at most MAX_LEGS requests."""

    def __init__(self, host: str, port: int) -> None:
        self.target = authority(host, port)  # what cannot be said fails before anything is sent
        self.state = State.AUTHORIZE
        # The scheme whose credentials the last request carried, as users read it (errors).
        self.scheme: str | None = None
        self._conn = self._connection()
        self._closed = False
        self._requests = 0
        self._value: str | None = None
        self._reply: Reply | None = None
        self._response: h11.Response | None = None
        self._body = 0
        self._header_bytes = 0  # received since the request, before its final reply's header

    @staticmethod
    def _connection() -> h11.Connection:
        return h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_REPLY_HEADER)

    def authorize(
        self, value: str | None, *, scheme: str | None = None, new_connection: bool = False
    ) -> None:
        """Answer NeedToken: the Proxy-Authorization value (None: no header), the scheme's name
        for messages, and whether it must go on a new connection (a scheme that starts over)."""
        if self.state is not State.AUTHORIZE:
            raise LocalProtocolError("authorize() answers a NeedToken event only")
        self._value = value
        self.scheme = scheme or self.scheme
        if self._reply is None or (self._reply.reusable and not new_connection):
            if self._reply is not None:
                self._conn.start_next_cycle()
            self.state = State.SEND
        else:
            self.state = State.RECONNECT

    def reconnected(self) -> None:
        """A new connection to the same proxy is open, after Reconnect."""
        if self.state is not State.RECONNECT:
            raise LocalProtocolError("reconnected() follows a Reconnect event only")
        self._conn = self._connection()
        self._closed = False
        self.state = State.SEND

    def receive_data(self, data: bytes) -> None:
        """Take bytes the proxy sent; b"" when it closed the connection."""
        if self.state is State.OVER:
            raise LocalProtocolError("the exchange is over: its bytes belong to the tunnel")
        if self._closed:
            raise LocalProtocolError("data received after the proxy closed the connection")
        self._closed = not data
        if self._response is None:
            self._header_bytes += len(data)
        self._conn.receive_data(data)

    def next_event(self) -> HttpEvent:
        """What to do next; raises a ProxyFailure when the tunnel cannot open."""
        if self.state is State.OVER:
            raise LocalProtocolError("the exchange is over")
        try:
            event = self._step()
        except ProxyFailure:
            self.state = State.OVER
            raise
        if isinstance(event, TunnelOpen):
            self.state = State.OVER
        return event

    def _step(self) -> HttpEvent:
        if self.state is State.AUTHORIZE:
            return NeedToken(self._reply)
        if self.state is State.RECONNECT:
            return Reconnect()
        if self.state is State.SEND:
            return self._request()
        return self._read_reply()

    def _request(self) -> SendData:
        # RFC 9110 §9.3.6: CONNECT with the authority-form target, Host the same (RFC 9112 §3.2).
        headers = [("Host", self.target)]
        if self._value:
            headers.append(("Proxy-Authorization", self._value))  # RFC 9110 §11.7.2
        try:
            request = h11.Request(method="CONNECT", target=self.target, headers=headers)
            data = self._conn.send(request)
            data = (data or b"") + (self._conn.send(h11.EndOfMessage()) or b"")
        except h11.LocalProtocolError as e:
            raise LocalProtocolError(f"the CONNECT request cannot be written: {e}") from None
        self._requests += 1
        self._response = None
        self._body = 0
        self._header_bytes = 0
        self.state = State.REPLY
        return SendData(data)

    def _read_reply(self) -> HttpEvent:
        """The final reply, read no further than its header block unless it is a 407 whose body
        must be read before the next request; 1xx replies are skipped (RFC 9110 §15.2)."""
        while True:
            try:
                event = self._conn.next_event()
            except h11.RemoteProtocolError as e:
                raise self._malformed(e) from None
            if event is h11.NEED_DATA:
                if self._response is None:
                    if self._header_bytes >= MAX_REPLY_HEADER:
                        raise RemoteProtocolError(self._too_long)
                    return NeedData(MAX_REPLY_HEADER, _END_OF_HEADER)
                return NeedData(_BODY_READ)
            if isinstance(event, h11.Response):
                self._response = event
                if self._conn.their_state is h11.SWITCHED_PROTOCOL:
                    break  # a 2xx to CONNECT: the tunnel follows the header block
                framed = {name for name, _ in event.headers} & {
                    b"content-length",
                    b"transfer-encoding",
                }
                if event.status_code != 407 or not framed:
                    # No further request on this connection (a refusal), or an error page that
                    # ends only when the proxy closes: its body is not waited for.
                    return self._judge(event, reusable=False)
            elif isinstance(event, h11.Data):
                self._body += len(event.data)
                if self._body > MAX_REPLY_BODY:
                    raise RemoteProtocolError("the proxy's error page is larger than 1 MB")
            elif isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                break
        assert self._response is not None
        reusable = self._conn.our_state is h11.DONE and self._conn.their_state is h11.DONE
        return self._judge(self._response, reusable)

    _too_long = f"the proxy's reply is longer than {MAX_REPLY_HEADER} bytes"

    def _malformed(self, e: h11.RemoteProtocolError) -> ProxyFailure:
        if self._closed and self._response is None:
            return ProxyClosed()
        if e.error_status_hint == 431:  # h11's words for a header block past its bound
            return RemoteProtocolError(self._too_long)
        return RemoteProtocolError(f"the proxy's reply is not HTTP/1.1: {e}")

    def _judge(self, response: h11.Response, reusable: bool) -> HttpEvent:
        status = response.status_code
        if 200 <= status < 300:
            # RFC 9110 §9.3.6: any 2xx opens the tunnel; h11 keeps what came after the header.
            leftover, _closed = self._conn.trailing_data
            return TunnelOpen(bytes(leftover), None)
        reply = Reply(
            status,
            response.reason.decode("latin-1", "replace"),
            tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers),
            reusable,
        )
        if status != 407:
            after = f" after {self.scheme}" if self.scheme else ""
            raise Refused(f"{reply.line}{after}", status)
        if self._requests >= MAX_LEGS:  # RFC 9110 §11.7.1: 407, Proxy Authentication Required
            raise AuthRejected(f"407 after {MAX_LEGS} rounds of {self.scheme or '?'}", 407)
        self._reply = reply
        self.state = State.AUTHORIZE
        return NeedToken(reply)
