"""The socat_dump addon in a real mitmdump prints what the real socat prints for the same stream.

The same scripted conversation (same bytes, same read blocks) runs once through `socat -v|-x|-v -x`
and once through `mitmdump -s addons/socat_dump.py`; the dumps must be equal byte for byte once
timestamps are replaced and mitmrelay's connection lines removed.
"""

from __future__ import annotations

import re
import shutil
import socket
from collections.abc import Callable
from pathlib import Path

import pytest
from socat_helpers import (
    SOCAT,
    TIMEOUT,
    Block,
    Process,
    connect_when_ready,
    converse,
    free_port,
    listener,
    marks,
    normalise,
    plain_accept,
    start_mitmdump,
    tls_accept,
    tls_connect,
    wait_until,
)

pytestmark = pytest.mark.skipif(not shutil.which(SOCAT), reason="needs the socat binary")

SOCAT_FLAGS = {"v": ["-v"], "x": ["-x"], "vx": ["-v", "-x"]}

CONVERSATION: list[Block] = [
    (False, b"220 ready, server speaks first\r\n"),
    (True, b"HELO client\r\n"),
    (False, bytes(range(256))),
    (True, b"a block without a newline at its end"),
    (False, b"fifteen bytes..\n\n\n"),
    (True, b"\\ back\\slash \a\b\v\f\r\t and \x1b\x7f\x80\xff"),
    (False, b"x" * 5000),
    (True, b"QUIT\r\n"),
]


def http_conversation(host: str) -> list[Block]:
    """Two HTTP/1.1 exchanges, each message one block; Host already names the server, so the
    reverse proxy forwards the request unchanged."""
    body = b"\x00\x01\r\n"
    return [
        (True, f"GET /a HTTP/1.1\r\nHost: {host}\r\nUser-Agent: t\r\n\r\n".encode()),
        (False, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"),
        (True, f"POST /b HTTP/1.1\r\nHost: {host}\r\ncontent-length: 4\r\n\r\n".encode() + body),
        (False, b"HTTP/1.1 201 Created\r\nContent-Length: 3\r\nX-Case: kept\r\n\r\nok\n"),
    ]


def run_socat(
    tmp_path: Path, fmt: str, server: socket.socket, pem: Path | None, conversation: list[Block]
) -> str:
    port = free_port()
    dest = f"127.0.0.1:{server.getsockname()[1]}"
    if pem is None:
        addresses = [f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr", f"TCP4:{dest}"]
        connect: Callable[[], socket.socket] = lambda: connect_when_ready(port)
        accept = plain_accept(server)
    else:
        addresses = [
            f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,cert={pem},verify=0",
            f"OPENSSL:{dest},verify=0",
        ]
        connect = lambda: tls_connect(port)
        accept = tls_accept(server, pem)
    dump = tmp_path / f"socat-{fmt}.txt"
    with dump.open("w") as stderr:
        proc = Process([SOCAT, *SOCAT_FLAGS[fmt], *addresses], stderr=stderr)
        try:
            converse(connect, accept, conversation)
            proc.popen.wait(TIMEOUT)
        finally:
            proc.stop()
    return dump.read_text()


def run_mitmdump(
    tmp_path: Path, fmt: str, server: socket.socket, scheme: str, conversation: list[Block]
) -> str:
    dump = tmp_path / f"mitm-{fmt}.txt"
    proc, port = start_mitmdump(
        ["socat_dump.py"],
        f"reverse:{scheme}://127.0.0.1:{server.getsockname()[1]}@0",
        tmp_path / "conf",
        f"socat_dump={dump}",
        f"socat_dump_format={fmt}",
        "ssl_insecure=true",
    )
    try:
        if scheme == "tls":
            pem = tmp_path / "conf" / "mitmproxy-ca.pem"
            converse(lambda: tls_connect(port), tls_accept(server, pem), conversation)
        else:
            converse(lambda: connect_when_ready(port), plain_accept(server), conversation)
            # Over TLS, mitmproxy 11/12 log a TLS error when the server closes without
            # close_notify and then never end the flow, so only TCP waits for the closing line.
            wait_until(lambda: "closed" in dump.read_text(), "the dump's closing line")
    finally:
        proc.stop()
    return dump.read_text()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
@pytest.mark.parametrize("fmt", ["v", "x", "vx"])
def test_dump_is_socats_dump(tmp_path: Path, fmt: str, tls: bool) -> None:
    with listener() as server:
        dest = f"127.0.0.1:{server.getsockname()[1]}"
        ours = run_mitmdump(tmp_path, fmt, server, "tls" if tls else "tcp", CONVERSATION)
        pem = tmp_path / "conf" / "mitmproxy-ca.pem" if tls else None
        theirs = run_socat(tmp_path, fmt, server, pem, CONVERSATION)

    assert normalise(ours) == normalise(theirs)
    assert len(normalise(ours)) > 5000
    opened, *closed = marks(ours)
    assert re.fullmatch(rf"conn 1: 127\.0\.0\.1:\d+ -> {re.escape(dest)}", opened)
    assert closed == ["conn 1: closed"] or (tls and closed == [])
    # socat 1.7.4 prints microseconds as nine digits; so must we.
    stamps = re.findall(r"\.(\d{9})  length=", ours)
    assert len(stamps) == len(CONVERSATION)
    assert all(s.startswith("000") for s in stamps)


@pytest.mark.parametrize("fmt", ["v", "vx"])
def test_http1_dump_is_socats_dump(tmp_path: Path, fmt: str) -> None:
    with listener() as server:
        conversation = http_conversation(f"127.0.0.1:{server.getsockname()[1]}")
        ours = run_mitmdump(tmp_path, fmt, server, "http", conversation)
        theirs = run_socat(tmp_path, fmt, server, None, conversation)

    assert normalise(ours) == normalise(theirs)
    assert "hello> " in normalise(ours) or fmt == "vx"
    assert marks(ours)[-1] == "conn 1: closed"
