"""CoalescingWriter and QuickAckReader: one send per event-loop turn, an immediate ACK per read."""

from __future__ import annotations

import asyncio
import socket

import pytest
from mitmrelay.chain import segments


async def _pair() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, list[bytes], asyncio.Server]:
    """A local server recording each chunk it receives, and a client connected to it."""
    received: list[bytes] = []
    arrived = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while chunk := await reader.read(65536):
            received.append(chunk)
            arrived.set()
            writer.write(b"ok")
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    reader, writer = await segments.open_connection(*server.sockets[0].getsockname()[:2])
    return reader, writer, received, server


def test_writes_of_one_turn_leave_in_one_send() -> None:
    async def run() -> None:
        reader, raw, _, server = await _pair()
        sends: list[bytes] = []
        real_write = raw.transport.write
        raw.transport.write = lambda data: (sends.append(bytes(data)), real_write(data))[1]
        writer = segments.CoalescingWriter(raw)
        writer.write(b"head ")
        writer.write(b"body")
        assert sends == []  # held until the turn ends
        await asyncio.sleep(0)
        assert sends == [b"head body"]
        assert await reader.readexactly(2) == b"ok"
        writer.write(b"last")
        writer.close()  # close flushes what is pending first
        await writer.wait_closed()
        assert sends == [b"head body", b"last"]
        server.close()

    asyncio.run(run())


def test_large_writes_are_not_held() -> None:
    async def run() -> None:
        _, raw, _, server = await _pair()
        writer = segments.CoalescingWriter(raw)
        writer.write(b"x" * (1 << 18))
        assert writer._pending == []
        writer.close()
        server.close()

    asyncio.run(run())


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux only")
def test_reader_acks_every_read_at_once() -> None:
    async def run() -> None:
        reader, writer, _, server = await _pair()
        assert isinstance(reader, segments.QuickAckReader)
        calls: list[tuple] = []
        sock = reader._sock
        reader._sock = type(
            "Spy", (), {"setsockopt": lambda self, *a: (calls.append(a), sock.setsockopt(*a))}
        )()
        writer.write(b"ping")
        assert await reader.readexactly(2) == b"ok"
        assert (socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1) in calls
        writer.close()
        server.close()

    asyncio.run(run())
