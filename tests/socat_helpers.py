"""Helpers for tests that drive real socat and mitmdump processes over loopback (the processes
themselves are started with tests/peers.py).

A conversation is a list of blocks `(from_client, data)`. `converse` sends each block and waits
until the peer has received all of it before sending the next, so every relay in between reads
each block in one read: socat and mitmproxy then see the same read blocks.
"""

from __future__ import annotations

import re
import socket
import ssl
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SOCAT = "/usr/bin/socat"
TIMEOUT = 15.0

Block = tuple[bool, bytes]

_STAMP = re.compile(r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d\.\d{9}")
_MARK = re.compile(
    r"\d{4}/\d\d/\d\d \d\d:\d\d:\d\d mitmrelay\[\d+\] N (conn \d+)(: closed)?[^\n]*\n"
)


def normalise(dump: str) -> str:
    """Timestamps replaced by a constant, mitmrelay's connection lines removed."""
    return _STAMP.sub("T", _MARK.sub("", dump))


def by_connection(dump: str) -> dict[str, str]:
    """Split a dump as a reader would: the text after a connection line, up to the next one,
    belongs to the connection it names ('conn 2'). Text after a closing line belongs to none."""
    before, *parts = _MARK.split(dump)
    assert before == "", f"text before the first connection line: {before!r}"
    split: dict[str, str] = {}
    for name, closing, text in zip(parts[0::3], parts[1::3], parts[2::3], strict=True):
        if closing:
            assert text == "", f"text after {name} closed: {text!r}"
        else:
            split[name] = split.get(name, "") + text
    return split


def marks(dump: str) -> list[str]:
    """mitmrelay's connection lines, without their time and pid."""
    return [m.group(0).split(" N ", 1)[1].rstrip("\n") for m in _MARK.finditer(dump)]


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


def open_pair(
    connect: Callable[[], socket.socket], accept: Callable[[], socket.socket]
) -> tuple[socket.socket, socket.socket]:
    """A client connected through a relay, and the server's side of that connection."""
    with ThreadPoolExecutor(1) as pool:
        # The relay may connect (and handshake TLS) to the server before the client's connect
        # returns, so the server side accepts in a thread.
        accepted = pool.submit(accept)
        client = connect()
        server = accepted.result(timeout=TIMEOUT)
    server.settimeout(TIMEOUT)
    return client, server


def deliver(client: socket.socket, server: socket.socket, block: Block) -> None:
    """Send one block and wait until all of it has arrived at the other end."""
    from_client, data = block
    sender, receiver = (client, server) if from_client else (server, client)
    sender.sendall(data)
    assert recv_exactly(receiver, len(data)) == data


def close_pair(client: socket.socket, server: socket.socket) -> None:
    """Close the client first, the server on its EOF."""
    client.close()
    assert server.recv(1) == b""
    server.close()


def converse(
    connect: Callable[[], socket.socket],
    accept: Callable[[], socket.socket],
    blocks: list[Block],
) -> None:
    """Run the conversation through a relay, then close."""
    client, server = open_pair(connect, accept)
    for block in blocks:
        deliver(client, server, block)
    close_pair(client, server)


def endpoints(
    port: int, server: socket.socket, client_pem: Path | None, server_pem: Path | None
) -> tuple[Callable[[], socket.socket], Callable[[], socket.socket]]:
    """How to connect to a relay on `port` (TLS if `client_pem`) and accept its connection to
    the server (TLS with `server_pem`). A relay terminating TLS from the client needs the
    server's handshake first; one with a plain client may start TLS only after the client spoke."""
    connect = (lambda: tls_connect(port)) if client_pem else (lambda: connect_when_ready(port))
    accept = plain_accept(server)
    if server_pem:
        accept = tls_accept(server, server_pem, at_once=client_pem is not None)
    return connect, accept


def plain_accept(lsock: socket.socket) -> Callable[[], socket.socket]:
    def accept() -> socket.socket:
        conn, _ = lsock.accept()
        conn.settimeout(TIMEOUT)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    return accept


def tls_accept(lsock: socket.socket, pem: Path, at_once: bool) -> Callable[[], socket.socket]:
    """Accept TLS: the handshake at once, or (`at_once` False) at the first read or write,
    for a proxy that opens the TCP connection at once but TLS only after its client has sent
    something (mitmproxy's reverse:https with a plain client)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem)
    plain = plain_accept(lsock)
    return lambda: context.wrap_socket(plain(), server_side=True, do_handshake_on_connect=at_once)


def tls_connect(port: int) -> socket.socket:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context.wrap_socket(connect_when_ready(port), server_hostname="localhost")
