"""The HTTP CONNECT exchange with a proxy (RFC 9110 §9.3.6), with proxy authentication.

h11 parses the proxy's replies; proxyauth makes the `Proxy-Authorization` values. Multi-leg schemes
(NTLM, Negotiate) run every leg on the same connection, since proxies bind them to it. Only the
reply's header block is read from the stream before the tunnel opens: bytes the destination sends
right behind the proxy's `200` (a server-first banner) stay in the reader for the tunnel.

Errors are `ConnectFailed` (an `OSError`, which mitmproxy's connect path catches) with fields:
`kind`, the proxy's `status`, the `scheme` tried; their text never holds a token or a password.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import h11

from . import proxyauth
from .proxyauth import AuthUnavailable, Challenge, Credentials, display

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]
Reopen = Callable[[], Awaitable[Streams]]

# A reply's header block may not exceed this (asyncio's default stream limit), nor its body.
MAX_REPLY_HEADER = 64 * 1024
MAX_REPLY_BODY = 1 << 20
# More 407s than this on one connection is a proxy playing with us, not an exchange.
MAX_LEGS = 6


class ConnectFailed(OSError):
    """The proxy did not open the tunnel.

    kind: refused (a non-407 status), auth_rejected (407 after our credentials),
    auth_unsupported (nothing offered that we can use), protocol (not a valid HTTP reply).
    """

    def __init__(
        self, kind: str, reason: str, *, status: int | None = None, scheme: str | None = None
    ) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status
        self.scheme = scheme

    def __str__(self) -> str:
        return self.reason


def authority(host: str, port: int) -> str:
    """The CONNECT request-target (RFC 9110 §7.1 authority-form); IPv6 in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class _Reply:
    """One reply read off the stream: status, reason, headers, and whether the proxy keeps the
    connection open for another request."""

    def __init__(self, status: int, reason: str, headers: list[tuple[str, str]], reusable: bool):
        self.status = status
        self.reason = reason
        self.headers = headers
        self.reusable = reusable

    def header(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    @property
    def line(self) -> str:
        return f"{self.status} {self.reason}".strip()


async def _read_reply(conn: h11.Connection, reader: asyncio.StreamReader) -> _Reply:
    """The next final reply; 1xx replies are skipped, the body of a non-2xx reply is drained."""
    response: h11.Response | None = None
    body = 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as e:
            raise ConnectFailed("protocol", f"the proxy's reply is not HTTP/1.1: {e}") from None
        if event is h11.NEED_DATA:
            if response is None:
                try:
                    data = await reader.readuntil(b"\r\n\r\n")
                except asyncio.LimitOverrunError:
                    raise ConnectFailed(
                        "protocol", f"the proxy's reply is longer than {MAX_REPLY_HEADER} bytes"
                    ) from None
            else:
                data = await reader.read(65536)
            conn.receive_data(bytes(data))
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            response = event
            if conn.their_state is h11.SWITCHED_PROTOCOL:
                break
            names = {name for name, _ in event.headers}
            if event.status_code != 407 or not names & {b"content-length", b"transfer-encoding"}:
                # No further request on this connection (a refusal), or an error page that
                # ends only when the proxy closes: its body is not waited for.
                return _Reply(
                    event.status_code,
                    event.reason.decode("latin-1", "replace"),
                    [(k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers],
                    reusable=False,
                )
            continue
        if isinstance(event, h11.Data):
            body += len(event.data)
            if body > MAX_REPLY_BODY:
                raise ConnectFailed("protocol", "the proxy's error page is larger than 1 MB")
            continue
        if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            break
    assert response is not None
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers]
    reusable = conn.our_state is h11.DONE and conn.their_state is h11.DONE
    return _Reply(
        response.status_code, response.reason.decode("latin-1", "replace"), headers, reusable
    )


async def _send(
    writer: asyncio.StreamWriter, conn: h11.Connection, target: str, auth: str | None
) -> None:
    headers = [("Host", target)]
    if auth:
        headers.append(("Proxy-Authorization", auth))
    data = conn.send(h11.Request(method="CONNECT", target=target, headers=headers))
    data = (data or b"") + (conn.send(h11.EndOfMessage()) or b"")
    writer.write(data)
    await writer.drain()


def _offers(challenges: list[Challenge]) -> str:
    names = []
    for challenge in challenges:
        name = display(challenge.scheme)
        if challenge.scheme == "digest" and "algorithm" in challenge.params:
            name += f" ({challenge.params['algorithm']})"
        if name not in names:
            names.append(name)
    return ", ".join(names) or "nothing"


async def _choose(
    challenges: list[Challenge],
    credentials: Credentials,
    uri: str,
    pinned: str | None,
    skip: tuple[str, ...] = (),
) -> tuple[proxyauth.Authenticator, str]:
    """The strongest offer we can use and its first header value; ConnectFailed if none."""
    offered = [c for c in proxyauth.rank(challenges) if c.scheme not in skip]
    if pinned:
        offered = [c for c in offered if c.scheme == pinned]
        if not offered:
            raise ConnectFailed(
                "auth_unsupported",
                f"the hop pins auth={pinned} but the proxy offers {_offers(challenges)}",
                status=407,
                scheme=pinned,
            )
    why = []
    for challenge in offered:
        try:
            authenticator = proxyauth.make(challenge.scheme, credentials, uri)
            value = await authenticator.respond(challenge if challenge.scheme == "digest" else None)
        except AuthUnavailable as e:
            why.append(f"{display(challenge.scheme)}: {e}")
            continue
        if value:
            return authenticator, value
        why.append(f"{display(challenge.scheme)}: its challenge has nothing we can answer")
    detail = f"; {'; '.join(why)}" if why else ""
    if skip:
        detail = f"; {display(skip[0])} was rejected" + detail
    raise ConnectFailed(
        "auth_unsupported",
        f"no supported authentication scheme: offered {_offers(challenges)}{detail}",
        status=407,
    )


async def connect(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    host: str,
    port: int,
    credentials: Credentials,
    *,
    pinned: str | None = None,
    reopen: Reopen | None = None,
) -> Streams:
    """Ask the proxy on reader/writer to open a tunnel to host:port; return the tunnel's streams.

    pinned names the one scheme to use (`basic`, `digest`, `ntlm`, `negotiate`); Basic, NTLM and
    Negotiate then go with the first request. Otherwise the first request carries no credentials
    and the proxy's 407 decides. reopen gives a new connection to the same proxy, for a proxy that
    closes after its 407 (the caller rebuilds the hops before it).
    The caller bounds the time (proxy_connect_timeout).
    """
    target = authority(host, port)
    conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_REPLY_HEADER)
    authenticator: proxyauth.Authenticator | None = None
    value: str | None = None
    if pinned in ("basic", "ntlm", "negotiate"):
        try:
            authenticator = proxyauth.make(pinned, credentials, target)
            value = await authenticator.respond(None)
        except AuthUnavailable as e:
            raise ConnectFailed(
                "auth_unsupported", f"auth={pinned}: {e}", scheme=display(pinned)
            ) from None
    fresh_connection = False
    for _ in range(MAX_LEGS):
        await _send(writer, conn, target, value)
        reply = await _read_reply(conn, reader)
        if 200 <= reply.status < 300:
            return reader, writer
        tried = display(authenticator.scheme) if authenticator else None
        if reply.status != 407:
            after = f" after {tried}" if tried else ""
            raise ConnectFailed(
                "refused",
                f"{reply.line}{after}",
                status=reply.status,
                scheme=tried,
            )
        challenges = proxyauth.parse_challenges(reply.header("proxy-authenticate"))
        if authenticator is None:
            try:
                authenticator, value = await _choose(challenges, credentials, target, pinned)
            except ConnectFailed as e:
                e.reason = f"{reply.line}: {e.reason}"
                raise
        else:
            same = [c for c in challenges if c.scheme == authenticator.scheme]
            if pinned and not same:
                raise ConnectFailed(
                    "auth_unsupported",
                    f"the hop pins auth={pinned} but the proxy offers {_offers(challenges)}",
                    status=407,
                    scheme=tried,
                )
            value = await authenticator.respond(same[0] if same else None)
            if value is None and authenticator.scheme == "negotiate" and not pinned:
                # A proxy that offers Negotiate may only do Kerberos, and SPNEGO's NTLM inside it
                # is then refused: go on with the next offer, as browsers do. squid keeps the
                # failed scheme bound to the connection, so the next offer needs a new one.
                others = [c for c in challenges if c.scheme != "negotiate"]
                if proxyauth.rank(others):
                    authenticator, value = await _choose(
                        others, credentials, target, None, skip=("negotiate",)
                    )
                    fresh_connection = reopen is not None
            if value is None:
                raise ConnectFailed(
                    "auth_rejected",
                    f"407 after {tried}: credentials rejected ({reply.line})"
                    + authenticator.rejected_note(),
                    status=407,
                    scheme=tried,
                )
        if reply.reusable and not fresh_connection:
            conn.start_next_cycle()
            continue
        # The proxy closes after its 407. A connection-bound scheme past its first leg is lost
        # with the connection; anything else starts over on a new one.
        if reopen is None or (authenticator.connection_bound and authenticator.legs > 1):
            raise ConnectFailed(
                "protocol",
                f"the proxy closed the connection after 407 during {display(authenticator.scheme)}",
                status=407,
                scheme=display(authenticator.scheme),
            )
        fresh_connection = False
        writer.transport.abort()
        reader, writer = await reopen()
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_REPLY_HEADER)
        if authenticator.connection_bound:
            authenticator = proxyauth.make(authenticator.scheme, credentials, target)
            value = await authenticator.respond(None)
    raise ConnectFailed(
        "auth_rejected",
        f"407 after {MAX_LEGS} rounds of {display(authenticator.scheme) if authenticator else '?'}",
        status=407,
    )
