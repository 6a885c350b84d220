"""Record a banner-first TCP session through a real mitmdump, replay it with scripts/mock-server:
a real client gets the same bytes from the mock as from the real server."""

from __future__ import annotations

import re
import socketserver
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mitmrelay.streams.recording import read
from mitmrelay.testing import HOST, Process, free_port, start_mitmdump, wait_for
from peers import ADDONS, REPO
from socat_helpers import TIMEOUT, connect_when_ready

MOCK_SERVER = str(REPO / "scripts" / "mock-server")
BANNER = b"220 banner server ready\r\n"
COMMANDS = [b"ECHO one\r\n", b"ECHO two, \x00\xff binary\r\n", b"QUIT\r\n"]


class BannerHandler(socketserver.StreamRequestHandler):
    """Speaks first, answers each line, says goodbye and closes: an SMTP-like protocol."""

    def handle(self) -> None:
        self.wfile.write(BANNER)
        for line in self.rfile:
            if line.startswith(b"QUIT"):
                self.wfile.write(b"221 bye\r\n")
                return
            self.wfile.write(b"250 " + line[5:])


@pytest.fixture
def banner_server() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), BannerHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def banner_client(port: int, commands: list[bytes]) -> bytes:
    """A client of the banner protocol; returns every byte it received."""
    with connect_when_ready(port) as sock, sock.makefile("rb") as f:
        received = f.readline()
        for command in commands:
            sock.sendall(command)
            received += f.readline()
        return received + f.read()


def mock_server(recording: Path) -> tuple[Process, int]:
    port = free_port()
    args = [
        sys.executable,
        MOCK_SERVER,
        str(recording),
        "--once",
        "--idle",
        "5",
        "--listen",
        f"{HOST}:{port}",
    ]
    # Process waits without connecting: with --once a probing connect would be its one client.
    return Process(args, recording.with_suffix(".mock.log"), [port]), port


def record(tmp_path: Path, server_port: int) -> tuple[bytes, Path]:
    rec_dir = tmp_path / "rec"
    proc = start_mitmdump(
        tmp_path,
        "--mode",
        f"reverse:tcp://127.0.0.1:{server_port}@{{port}}",
        "--set",
        f"record_dir={rec_dir}",
        scripts=[ADDONS / "recorder.py"],
    )
    try:
        received = banner_client(proc.port, COMMANDS)
        wait_for(
            lambda: '{"end"' in "".join(p.read_text() for p in rec_dir.glob("*.recording")),
            TIMEOUT,
            "the recording's end line",
        )
    finally:
        proc.stop()
    (recording,) = rec_dir.glob("*.recording")
    return received, recording


def test_record_then_replay_gives_the_client_the_same_bytes(tmp_path: Path, banner_server: int):
    direct = banner_client(banner_server, COMMANDS)
    through_mitmdump, recording = record(tmp_path, banner_server)
    assert through_mitmdump == direct

    blocks = read(recording).blocks
    assert blocks[0].data == BANNER and not blocks[0].from_client
    assert recording.with_suffix(".c2s").read_bytes() == b"".join(COMMANDS)
    assert recording.with_suffix(".s2c").read_bytes() == direct

    proc, port = mock_server(recording)
    try:
        assert banner_client(port, COMMANDS) == direct
        assert proc.proc.wait(TIMEOUT) == 0
    finally:
        proc.stop()
    assert re.search(r": client 127\.0\.0\.1:\d+ followed the recording to its end", proc.text())


def test_a_client_that_deviates_from_the_recording_is_told_and_closed(
    tmp_path: Path, banner_server: int
) -> None:
    _, recording = record(tmp_path, banner_server)
    proc, port = mock_server(recording)
    try:
        received = banner_client(port, [b"ECHO one\r\n", b"ECHO three\r\n"])
        assert proc.proc.wait(TIMEOUT) == 1
    finally:
        proc.stop()
    assert received == BANNER + b"250 one\r\n"
    assert (
        "deviated at byte 16 of its stream: the recording expects b'wo, \\x00\\xff', "
        "the client sent b'hree\\r\\n'; closing the connection." in proc.text()
    )


def test_a_hand_written_recording_serves_a_real_client(tmp_path: Path) -> None:
    recording = tmp_path / "greeting.recording"
    recording.write_text(
        '{"mitmrelay": "recording"}\n'
        '{"dir": "<", "text": "220 mock ready\\r\\n"}\n'
        '{"dir": ">", "text": "QUIT\\r\\n"}\n'
        '{"dir": "<", "hex": "32 32 31 20 62 79 65 0d 0a"}\n'
    )
    proc, port = mock_server(recording)
    try:
        assert banner_client(port, [b"QUIT\r\n"]) == b"220 mock ready\r\n221 bye\r\n"
        assert proc.proc.wait(TIMEOUT) == 0
    finally:
        proc.stop()
