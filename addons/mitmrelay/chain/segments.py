"""Keep small exchanges through a relaying proxy from stalling ~40 ms on Nagle and delayed ACKs.

Simple relaying proxies (microsocks among them) copy each read with its own `send()` on sockets
without TCP_NODELAY. Two things then stall a small HTTP exchange for the 40 ms of a delayed ACK:

- Requests: mitmproxy writes one request as several TLS records, one `write()` each. The proxy
  forwards the first; Nagle holds the second until the server ACKs the first, and the server delays
  that ACK because it waits for the rest of the request. `CoalescingWriter` joins the writes of one
  event-loop turn, so the proxy reads, and forwards, the request whole.
- Responses: the proxy reads the server's answer in pieces (microsocks: 1 KB) and sends the last
  piece only once we ACK the first; we delay that ACK since a partial TLS record gives us nothing to
  answer. `QuickAckReader` sets TCP_QUICKACK after each read, which sends the pending ACK at once.

Each costs one system call per read or write, and saves one per coalesced write; both apply only to
connections through a proxy chain. bench/run (keep-alive through SOCKS5) shows the effect.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import Any, SupportsIndex

# Above this, write at once: joining bulk uploads would only copy bytes without saving a stall.
_FLUSH_AT = 1 << 18
_QUICKACK = getattr(
    socket, "TCP_QUICKACK", None
)  # Linux only; elsewhere the reader does nothing more


class QuickAckReader(asyncio.StreamReader):
    """A StreamReader that has its socket ACK every read immediately."""

    _sock: Any = None

    def feed_data(self, data: Iterable[SupportsIndex]) -> None:  # asyncio's own signature
        super().feed_data(data)
        if self._sock is not None:
            try:
                self._sock.setsockopt(socket.IPPROTO_TCP, _QUICKACK, 1)
            except OSError:
                self._sock = None  # closed under us: the reader sees that on its own


class CoalescingWriter:
    """A StreamWriter whose writes are held until the end of the current event-loop turn."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        if not self._pending:
            asyncio.get_running_loop().call_soon(self._flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= _FLUSH_AT:
            self._flush()

    def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._writer.is_closing():
            self._writer.write(data)

    def write_eof(self) -> None:
        self._flush()
        self._writer.write_eof()

    def close(self) -> None:
        self._flush()
        self._writer.close()

    async def drain(self) -> None:
        self._flush()
        await self._writer.drain()

    def __getattr__(self, name: str) -> Any:
        # get_extra_info, is_closing, transport, wait_closed...: the wrapped writer's own.
        return getattr(self._writer, name)


async def open_connection(
    host: str, port: int, *, local_addr: tuple[str, int] | None = None
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """asyncio.open_connection, with a QuickAckReader."""
    loop = asyncio.get_running_loop()
    reader = QuickAckReader(loop=loop)
    protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
    transport, _ = await loop.create_connection(lambda: protocol, host, port, local_addr=local_addr)
    if _QUICKACK is not None:
        reader._sock = transport.get_extra_info("socket")
    return reader, asyncio.StreamWriter(transport, protocol, reader, loop)
