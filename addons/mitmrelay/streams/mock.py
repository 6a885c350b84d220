"""Answer a client from a recording, as the recorded server did: a mock server.

The server's blocks are sent in the recorded order; before each one, the client must have sent
every byte it sent before that block in the recording (its segmentation may differ). A client that
sends other bytes, closes early, or goes quiet gets one log line saying where it left the
recording, and is closed. After the last block the mock closes its side and waits for the client's.

Usage:
    recording = mitmrelay.streams.recording.read(Path("rec/x.recording"))
    server = await asyncio.start_server(lambda r, w: answer(r, w, recording), "127.0.0.1", 0)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from itertools import groupby
from operator import attrgetter
from typing import Any

from mitmproxy.utils import human

from mitmrelay.streams.recording import Recording

log = logging.getLogger(__name__)

IDLE_TIMEOUT = 30.0


class Deviation(Exception):
    """The client left the recorded exchange; the message says where and how."""


def turns(recording: Recording) -> Iterator[tuple[bool, list[bytes]]]:
    """The blocks grouped into turns: consecutive blocks in one direction form one turn."""
    for from_client, blocks in groupby(recording.blocks, key=attrgetter("from_client")):
        yield from_client, [block.data for block in blocks]


def _show(data: bytes) -> str:
    return repr(data[:40]) + ("..." if len(data) > 40 else "")


async def _expect(reader: asyncio.StreamReader, expected: bytes, offset: int, idle: float) -> None:
    """Read `expected` from the client, failing at the first byte that differs."""
    seen = 0
    while seen < len(expected):
        try:
            chunk = await asyncio.wait_for(reader.read(len(expected) - seen), idle)
        except TimeoutError:
            raise Deviation(
                f"sent nothing for {idle:g} s at byte {offset + seen} of its stream; the "
                f"recording expects {_show(expected[seen:])}"
            ) from None
        if not chunk:
            raise Deviation(
                f"closed at byte {offset + seen} of its stream; the recording expects "
                f"{_show(expected[seen:])}"
            )
        want = expected[seen : seen + len(chunk)]
        if chunk != want:
            at = next(i for i, (a, b) in enumerate(zip(chunk, want, strict=True)) if a != b)
            raise Deviation(
                f"deviated at byte {offset + seen + at} of its stream: the recording expects "
                f"{_show(want[at:])}, the client sent {_show(chunk[at:])}"
            )
        seen += len(chunk)


async def _play(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, recording: Recording, idle: float
) -> None:
    offset = 0
    for from_client, datas in turns(recording):
        if from_client:
            expected = b"".join(datas)
            await _expect(reader, expected, offset, idle)
            offset += len(expected)
        else:
            for data in datas:
                writer.write(data)
                await writer.drain()
    if writer.can_write_eof():
        writer.write_eof()
    try:
        extra = await asyncio.wait_for(reader.read(4096), idle)
    except TimeoutError:
        raise Deviation(f"kept the connection open {idle:g} s after the recording ended") from None
    if extra:
        raise Deviation(
            f"sent {_show(extra)} at byte {offset} of its stream, after the recording ended"
        )


async def answer(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    recording: Recording,
    name: str = "mock",
    idle: float = IDLE_TIMEOUT,
) -> bool:
    """Play the server's side of `recording` to one client; True if the client followed it.

    `name` starts the log lines (e.g. the recording's path); `idle` bounds each wait for the
    client, in seconds. The writer is closed in every case.
    """
    peer = _address(writer.get_extra_info("peername"))
    try:
        await _play(reader, writer, recording, idle)
        log.info("%s: client %s followed the recording to its end", name, peer)
        return True
    except Deviation as e:
        log.warning("%s: client %s %s; closing the connection.", name, peer, e)
        return False
    except ConnectionError as e:
        log.warning("%s: client %s: %s; closing the connection.", name, peer, e)
        return False
    finally:
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


def _address(peer: Any) -> str:
    """127.0.0.1:46444 for a TCP peer; what else a stream has (a socket pair's '') as 'local'."""
    return human.format_address(peer) if isinstance(peer, tuple) else str(peer or "local")


async def connect(
    recording: Recording, name: str = "mock"
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A loopback connection to a one-shot server that answers it from recording.

    A TCP pair rather than socket.socketpair(): mitmproxy needs the server's peername."""
    accepted = asyncio.Event()

    def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> Any:
        accepted.set()
        return answer(reader, writer, recording, name=name)

    listener = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        streams = await asyncio.open_connection(*listener.sockets[0].getsockname()[:2])
        await accepted.wait()  # closing the listener before its accept would reset our connection
        return streams
    finally:
        listener.close()  # stops listening; the accepted connection plays on
