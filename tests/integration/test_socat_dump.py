"""The socat_dump addon in a real mitmdump prints what the real socat prints for the same stream.

The same scripted conversation (same bytes, same read blocks) runs once through `socat -v|-x|-v -x`
and once through `mitmdump -s addons/socat_dump.py`; the dumps must be equal byte for byte once
timestamps are replaced and mitmrelay's connection lines removed.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from pathlib import Path

import pytest
from mitmrelay.testing import Mitm, free_port, start_mitmdump, wait_for
from peers import ADDONS
from socat_helpers import (
    SOCAT,
    TIMEOUT,
    Block,
    by_connection,
    close_pair,
    converse,
    deliver,
    endpoints,
    listener,
    marks,
    normalise,
    open_pair,
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
    tmp_path: Path,
    fmt: str,
    server: socket.socket,
    conversation: list[Block],
    client_pem: Path | None = None,
    server_pem: Path | None = None,
) -> str:
    """The dump of `socat FLAGS LISTEN CONNECT`; TLS towards the client with `client_pem` (its
    certificate), towards the server with `server_pem` (the server's)."""
    port = free_port()
    dest = f"127.0.0.1:{server.getsockname()[1]}"
    listen = f"TCP4-LISTEN:{port},bind=127.0.0.1,reuseaddr"
    if client_pem:
        listen = f"OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,cert={client_pem},verify=0"
    forward = f"OPENSSL:{dest},verify=0" if server_pem else f"TCP4:{dest}"
    dump = tmp_path / f"socat-{fmt}.txt"
    with dump.open("w") as stderr:
        proc = subprocess.Popen([SOCAT, *SOCAT_FLAGS[fmt], listen, forward], stderr=stderr)
        try:
            converse(*endpoints(port, server, client_pem, server_pem), conversation)
            proc.wait(TIMEOUT)
        finally:
            proc.kill()
            proc.wait()
    return dump.read_text()


def dumping_mitmdump(
    tmp_path: Path, fmt: str, server: socket.socket, scheme: str
) -> tuple[Mitm, int, Path]:
    """mitmdump in reverse:SCHEME mode to `server`, dumping to the returned path."""
    dump = tmp_path / f"mitm-{fmt}.txt"
    proc = start_mitmdump(
        tmp_path,
        "--mode",
        f"reverse:{scheme}://127.0.0.1:{server.getsockname()[1]}@{{port}}",
        "--set",
        f"socat_dump={dump}",
        "--set",
        f"socat_dump_format={fmt}",
        "--set",
        "ssl_insecure=true",
        scripts=[ADDONS / "socat_dump.py"],
    )
    return proc, proc.port, dump


def run_mitmdump(
    tmp_path: Path,
    fmt: str,
    server: socket.socket,
    scheme: str,
    conversation: list[Block],
    client_tls: bool = False,
    server_tls: bool = False,
) -> str:
    proc, port, dump = dumping_mitmdump(tmp_path, fmt, server, scheme)
    # mitmproxy's CA (key and certificate) serves as the test server's certificate.
    pem = tmp_path / "mitmproxy-conf" / "mitmproxy-ca.pem"
    try:
        converse(
            *endpoints(port, server, pem if client_tls else None, pem if server_tls else None),
            conversation,
        )
        if not (client_tls or server_tls):
            # Over TLS, mitmproxy 11/12 log a TLS error when the server closes without
            # close_notify and then never end the flow, so only TCP waits for the closing line.
            wait_for(lambda: "closed" in dump.read_text(), TIMEOUT, "the dump's closing line")
    finally:
        proc.stop()
    return dump.read_text()


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
@pytest.mark.parametrize("fmt", ["v", "x", "vx"])
def test_dump_is_socats_dump(tmp_path: Path, fmt: str, tls: bool) -> None:
    with listener() as server:
        dest = f"127.0.0.1:{server.getsockname()[1]}"
        ours = run_mitmdump(tmp_path, fmt, server, "tls" if tls else "tcp", CONVERSATION, tls, tls)
        pem = tmp_path / "mitmproxy-conf" / "mitmproxy-ca.pem" if tls else None
        theirs = run_socat(tmp_path, fmt, server, CONVERSATION, pem, pem)

    assert normalise(ours) == normalise(theirs)
    assert len(normalise(ours)) > 5000
    opened, *closed = marks(ours)
    assert re.fullmatch(rf"conn 1: 127\.0\.0\.1:\d+ -> {re.escape(dest)}", opened)
    # TLS: mitmproxy 11/12 do not end the flow (see run_mitmdump), so no closing line yet.
    assert closed == ([] if tls else ["conn 1: closed"])
    # socat 1.7.4 prints microseconds as nine digits; so must we.
    stamps = re.findall(r"\.(\d{9})  length=", ours)
    assert len(stamps) == len(CONVERSATION)
    assert all(s.startswith("000") for s in stamps)


@pytest.mark.parametrize("fmt", ["v", "vx"])
def test_http1_dump_is_socats_dump(tmp_path: Path, fmt: str) -> None:
    with listener() as server:
        conversation = http_conversation(f"127.0.0.1:{server.getsockname()[1]}")
        ours = run_mitmdump(tmp_path, fmt, server, "http", conversation)
        theirs = run_socat(tmp_path, fmt, server, conversation)

    text = normalise(ours)
    assert text == normalise(theirs)
    if fmt == "v":  # a block that does not end in a newline: the next header follows on its line
        assert "hello> " in text
    else:  # rows of hex and ASCII, a separator line after each block
        assert text.count("\n--\n") == len(conversation)
    assert marks(ours)[-1] == "conn 1: closed"


def test_the_seed_socat_chain_dump_from_one_mitmdump(tmp_path: Path) -> None:
    """`socat -v TCP4-LISTEN:5000 OPENSSL:server:443,verify=0`, the seed's first socat (the
    second only adds the proxy hop), against `mitmdump --mode reverse:https://server:443`:
    plain HTTP in, TLS out, the same dump."""
    with listener() as server:
        conversation = http_conversation(f"127.0.0.1:{server.getsockname()[1]}")
        ours = run_mitmdump(tmp_path, "v", server, "https", conversation, server_tls=True)
        pem = tmp_path / "mitmproxy-conf" / "mitmproxy-ca.pem"
        theirs = run_socat(tmp_path, "v", server, conversation, server_pem=pem)

    assert normalise(ours) == normalise(theirs)


def test_interleaved_connections_split_into_socats_dumps(tmp_path: Path) -> None:
    """Two connections whose blocks alternate in one dump: split at the connection lines, each
    is what socat prints for that connection alone."""
    first, second = CONVERSATION[:5], CONVERSATION[3:]
    with listener() as server:
        proc, port, dump = dumping_mitmdump(tmp_path, "v", server, "tcp")
        try:
            pairs = [open_pair(*endpoints(port, server, None, None)) for _ in range(2)]
            for i in range(max(len(first), len(second))):
                for (client, server_side), blocks in zip(pairs, (first, second), strict=True):
                    if i < len(blocks):
                        deliver(client, server_side, blocks[i])
            for pair in pairs:
                close_pair(*pair)
            wait_for(lambda: dump.read_text().count("closed") == 2, TIMEOUT, "both closing lines")
        finally:
            proc.stop()
        ours = by_connection(dump.read_text())
        theirs = [run_socat(tmp_path, "v", server, blocks) for blocks in (first, second)]

    assert list(ours) == ["conn 1", "conn 2"]
    assert [normalise(ours[name]) for name in ours] == [normalise(t) for t in theirs]
    assert dump.read_text().count(" N conn ") > 2 * len(first)
