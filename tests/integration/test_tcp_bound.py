"""A long raw TCP stream through a real mitmdump with tcp_messages_max: the bytes arrive intact
(same sha256) and mitmdump's peak memory does not grow with the stream (without the option it
grows by the stream's size: 256 MiB here)."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import pytest
from mitmproxy.version import VERSION
from mitmrelay.testing import start_mitmdump
from peers import ADDONS
from socat_helpers import connect_when_ready, listener

MITMPROXY_MAJOR = int(VERSION.split(".")[0])
STREAM = 256 * 2**20
CHUNK = 2**16


def peak_rss(pid: int) -> int:
    """The process's peak resident memory (VmHWM), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


def stream_through(port: int, server: socket.socket) -> tuple[str, str]:
    """The server sends STREAM bytes and closes; returns the sha256 sent and received."""
    sent = hashlib.sha256()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            block = bytes(range(256)) * (CHUNK // 256)
            for i in range(STREAM // CHUNK):
                data = block[i % 256 :] + block[: i % 256]
                sent.update(data)
                conn.sendall(data)

    thread = threading.Thread(target=serve)
    thread.start()
    received = hashlib.sha256()
    with connect_when_ready(port) as client:
        while data := client.recv(2**20):
            received.update(data)
    thread.join()
    return sent.hexdigest(), received.hexdigest()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_long_stream_keeps_memory_flat(tmp_path: Path) -> None:
    with listener() as server:
        proc = start_mitmdump(
            tmp_path,
            "--mode",
            f"reverse:tcp://127.0.0.1:{server.getsockname()[1]}@{{port}}",
            "--set",
            "tcp_messages_max=4",
            "--set",
            "flow_detail=0",
            scripts=[ADDONS / "tcp_bound.py"],
        )
        try:
            before = peak_rss(proc.proc.pid)
            sent, received = stream_through(proc.port, server)
            after = peak_rss(proc.proc.pid)
        finally:
            proc.stop()
    assert received == sent
    if MITMPROXY_MAJOR >= 12:
        assert after - before < STREAM // 4, f"peak memory grew by {(after - before) >> 20} MiB"
    # mitmproxy 11 keeps reading while a blocking hook runs and queues the reads
    # (Layer._paused_event_queue), so its peak grows with the stream whatever the flow keeps;
    # the queue is freed at the end. Nothing an addon can bound.
