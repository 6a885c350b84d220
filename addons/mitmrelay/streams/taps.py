"""Turn mitmproxy's hooks into one stream of read blocks per client connection.

Raw TCP and TLS flows (`reverse:tcp://`, `reverse:tls://`, `tcp_hosts`): each `tcp_message` is one
read, exactly the block socat would see. HTTP/1 flows: each request and each response is one block,
re-assembled by `mitmrelay.streams.wire`. Subclasses implement `on_block` and `on_close`;
`on_close` may be called more than once for a connection.
"""

from __future__ import annotations

from mitmproxy import connection, http, tcp

from mitmrelay.streams import wire
from mitmrelay.streams.block import Block

Flow = http.HTTPFlow | tcp.TCPFlow


def address(addr: tuple | None) -> str:
    """host:port, with IPv6 hosts in brackets, '?' when unknown."""
    if not addr:
        return "?"
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


def destination(flow: Flow) -> str:
    """The server's address; for an HTTP request mitmproxy has not connected yet, its host."""
    if not flow.server_conn.address and isinstance(flow, http.HTTPFlow):
        return address((flow.request.host, flow.request.port))
    return address(flow.server_conn.address)


class BlockTap:
    """Base for addons that watch the bytes of each connection as blocks."""

    def active(self) -> bool:
        raise NotImplementedError

    def on_block(self, flow: Flow, block: Block) -> None:
        raise NotImplementedError

    def on_close(self, client: connection.Client) -> None:
        raise NotImplementedError

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        if not self.active():
            return
        message = flow.messages[-1]
        block = Block(message.from_client, message.content, message.timestamp)
        self.on_block(flow, block)

    def request(self, flow: http.HTTPFlow) -> None:
        if not self.active() or not wire.is_http1(flow):
            return
        block = Block(True, wire.request_bytes(flow.request), flow.request.timestamp_start)
        self.on_block(flow, block)

    def response(self, flow: http.HTTPFlow) -> None:
        if not self.active() or not wire.is_http1(flow) or flow.response is None:
            return
        block = Block(False, wire.response_bytes(flow.response), flow.response.timestamp_start)
        self.on_block(flow, block)

    def tcp_end(self, flow: tcp.TCPFlow) -> None:
        if self.active():
            self.on_close(flow.client_conn)

    def tcp_error(self, flow: tcp.TCPFlow) -> None:
        # A TLS error while the client closes can leave mitmproxy without a client_disconnected
        # event until shutdown; the flow's own end is the reliable signal for TCP flows.
        if self.active():
            self.on_close(flow.client_conn)

    def client_disconnected(self, client: connection.Client) -> None:
        # HTTP flows have no end hook of their own; this is called once for every connection,
        # so subclasses make on_close idempotent.
        if self.active():
            self.on_close(client)
