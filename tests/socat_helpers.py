"""Helpers for tests that drive real socat and mitmdump processes over loopback.

A conversation is a list of blocks `(from_client, data)`. `converse` sends each block and waits
until the peer has received all of it before sending the next, so every relay in between reads
each block in one read: socat and mitmproxy then see the same read blocks.
"""

from __future__ import annotations

import queue
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ADDONS = Path(__file__).resolve().parent.parent / "addons"
MITMDUMP = str(Path(sys.executable).with_name("mitmdump"))
SOCAT = "/usr/bin/socat"
TIMEOUT = 15.0

Block = tuple[bool, bytes]

_STAMP = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}")
_MARK = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d mitmrelay\[\d+\] N [^\n]*\n")


def normalise(dump: str) -> str:
    """Timestamps replaced by a constant, mitmrelay's connection lines removed."""
    return _STAMP.sub("T", _MARK.sub("", dump))


def marks(dump: str) -> list[str]:
    """mitmrelay's connection lines, without their time and pid."""
    return [m.split(" N ", 1)[1].rstrip("\n") for m in _MARK.findall(dump)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener() -> socket.socket:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    s.settimeout(TIMEOUT)
    return s


def connect_when_ready(port: int) -> socket.socket:
    """Connect, retrying while nothing listens yet: the first accepted connect is the real one."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return sock
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise AssertionError(f"peer closed after {len(data)} of {n} bytes")
        data += chunk
    return data


def converse(
    connect: Callable[[], socket.socket],
    accept: Callable[[], socket.socket],
    blocks: list[Block],
) -> None:
    """Run the conversation through a relay, then close: client first, server on its EOF."""
    with ThreadPoolExecutor(1) as pool:
        # The relay may connect (and handshake TLS) to the server before the client's connect
        # returns, so the server side accepts in a thread.
        accepted = pool.submit(accept)
        client = connect()
        server = accepted.result(timeout=TIMEOUT)
    server.settimeout(TIMEOUT)
    for from_client, data in blocks:
        sender, receiver = (client, server) if from_client else (server, client)
        sender.sendall(data)
        assert recv_exactly(receiver, len(data)) == data
    client.close()
    assert server.recv(1) == b""
    server.close()


def plain_accept(lsock: socket.socket) -> Callable[[], socket.socket]:
    def accept() -> socket.socket:
        conn, _ = lsock.accept()
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    return accept


def tls_accept(lsock: socket.socket, pem: Path) -> Callable[[], socket.socket]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    plain = plain_accept(lsock)
    return lambda: context.wrap_socket(plain(), server_side=True)


def tls_connect(port: int) -> socket.socket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(connect_when_ready(port), server_hostname="localhost")


class Process:
    """A child process whose output lines are collected by a thread, stopped by pid."""

    def __init__(self, args: list[str], stderr: object = subprocess.STDOUT) -> None:
        self.popen = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=stderr, text=True)
        self.lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self.output.append(line)
            self.lines.put(line)

    def wait_for(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + TIMEOUT
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"no line matching {pattern!r} within {TIMEOUT}s: {''.join(self.output)}"
                ) from None
            if m := re.search(pattern, line):
                return m

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(TIMEOUT)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()


def start_mitmdump(
    scripts: list[str], mode: str, confdir: Path, *settings: str
) -> tuple[Process, int]:
    """mitmdump running addons/SCRIPTS in MODE on a port it picks; returns it and that port.

    A fresh confdir per test keeps the user's ~/.mitmproxy out of it (and gives the CA, whose
    mitmproxy-ca.pem holds a key and certificate that TLS peers in tests can use too).
    """
    args = [MITMDUMP, "--mode", mode]
    for script in scripts:
        args += ["-s", str(ADDONS / script)]
    for setting in ("listen_host=127.0.0.1", f"confdir={confdir}", *settings):
        args += ["--set", setting]
    proc = Process(args)
    try:
        port = int(proc.wait_for(r"listening at 127\.0\.0\.1:(\d+)").group(1))
    except BaseException:
        proc.stop()
        raise
    return proc, port


def wait_until(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)
