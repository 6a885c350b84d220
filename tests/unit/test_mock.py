"""answer(): the mock plays the server's side of a recording to a client over real sockets."""

from __future__ import annotations

import asyncio
import logging
import re
import socket

import pytest
from mitmrelay.streams.block import Block
from mitmrelay.streams.mock import answer, turns
from mitmrelay.streams.recording import Recording

SMTPISH = Recording(
    meta={},
    blocks=[
        Block(False, b"220 ready\r\n"),
        Block(True, b"HELO a\r\n"),
        Block(True, b"HELO b\r\n"),
        Block(False, b"250 a\r\n"),
        Block(False, b"250 b\r\n"),
        Block(True, b"QUIT\r\n"),
        Block(False, b"221 bye\r\n"),
    ],
)


def test_turns_group_consecutive_blocks() -> None:
    assert [(c, len(d)) for c, d in turns(SMTPISH)] == [
        (False, 1),
        (True, 2),
        (False, 2),
        (True, 1),
        (False, 1),
    ]


async def exchange(
    recording: Recording, sends: list[bytes], idle: float = 5.0, half_close: bool = True
) -> tuple[bool, bytes]:
    """Serve one connection from `recording`; the client sends `sends` one by one, then
    half-closes, reading everything. Returns (followed, bytes the client received)."""
    result: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    async def handle(reader, writer) -> None:
        result.set_result(await answer(reader, writer, recording, "test.recording", idle))

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    async with server:
        reader, writer = await asyncio.open_connection(*server.sockets[0].getsockname()[:2])
        for data in sends:
            writer.write(data)
            await writer.drain()
        if half_close:
            writer.write_eof()
        received = await reader.read()
        writer.close()
        return await result, received


def test_answer_serves_an_in_process_socket_pair() -> None:
    """How a proxy can answer a connection from a file with no listening socket at all."""

    async def main() -> tuple[bool, bytes]:
        ours, theirs = socket.socketpair()
        mock_reader, mock_writer = await asyncio.open_connection(sock=theirs)
        mock = asyncio.create_task(answer(mock_reader, mock_writer, SMTPISH))
        reader, writer = await asyncio.open_connection(sock=ours)
        writer.write(b"HELO a\r\nHELO b\r\nQUIT\r\n")
        received = await reader.read()
        writer.close()
        return await mock, received

    assert asyncio.run(main()) == (True, b"220 ready\r\n250 a\r\n250 b\r\n221 bye\r\n")


def test_a_client_that_follows_gets_the_servers_bytes(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    # The client's bytes arrive in other pieces than recorded: only the stream counts.
    followed, received = asyncio.run(exchange(SMTPISH, [b"HELO a\r\nHE", b"LO b\r\nQUIT\r\n"]))
    assert followed
    assert received == b"220 ready\r\n250 a\r\n250 b\r\n221 bye\r\n"
    assert "followed the recording to its end" in caplog.text


@pytest.mark.parametrize(
    ("sends", "received", "message"),
    [
        (
            [b"HELO a\r\nHELO c\r\n"],
            b"220 ready\r\n",
            (
                "deviated at byte 13 of its stream: the recording expects b'b\\r\\n', "
                "the client sent b'c\\r\\n'; closing the connection."
            ),
        ),
        ([b"HELO a\r\n"], b"220 ready\r\n", "closed at byte 8 of its stream; the recording"),
        (
            [b"HELO a\r\nHELO b\r\nQUIT\r\nmore"],
            b"220 ready\r\n250 a\r\n250 b\r\n221 bye\r\n",
            "sent b'more' at byte 22 of its stream, after the recording ended",
        ),
    ],
)
def test_a_deviating_client_gets_a_log_line_and_is_closed(
    caplog: pytest.LogCaptureFixture, sends: list[bytes], received: bytes, message: str
) -> None:
    followed, got = asyncio.run(exchange(SMTPISH, sends))
    assert not followed
    assert got == received
    assert re.search(r"test\.recording: client 127\.0\.0\.1:\d+ ", caplog.text)
    assert message in caplog.text


def test_a_quiet_client_times_out(caplog: pytest.LogCaptureFixture) -> None:
    followed, received = asyncio.run(exchange(SMTPISH, [], idle=0.05, half_close=False))
    assert (followed, received) == (False, b"220 ready\r\n")
    assert "sent nothing for 0.05 s at byte 0 of its stream" in caplog.text
