"""The load: wrk for request rates and latency, and small Python clients for bulk, idle connections
and the proxy handshakes' own cost.

wrk (C, epoll, one thread) drives the SOAP POSTs: a Python client would spend as much CPU as the
relay on 2 cores and measure itself. Bulk is one Python download (recv_into a reused buffer, sha256
checked), which costs little next to the relays' per-byte work.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import socket
import ssl
import statistics
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import peers
from mitmrelay.testing import HOST

_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


@dataclass
class WrkResult:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int  # non-2xx answers and socket errors


def wrk_script(path: Path, body: bytes, new_connection: bool) -> Path:
    """A wrk Lua script posting body; with new_connection each request says Connection: close."""
    lines = [
        'wrk.method = "POST"',
        f"wrk.body = [==[{body.decode()}]==]",
        'wrk.headers["Content-Type"] = "text/xml; charset=utf-8"',
        'wrk.headers["SOAPAction"] = "\\"http://example.org/calculator/Add\\""',
    ]
    if new_connection:
        # wrk reconnects when the server closes after answering: one connection setup per request.
        lines.append('wrk.headers["Connection"] = "close"')
    path.write_text("\n".join(lines) + "\n")
    return path


def run_wrk(url: str, script: Path, seconds: int, connections: int) -> WrkResult:
    out = subprocess.run(
        [
            peers.need("wrk"),
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr or out.stdout}")
    return parse_wrk(out.stdout)


def parse_wrk(text: str) -> WrkResult:
    def latency(percent: str) -> float:
        m = re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", text, re.MULTILINE)
        return float(m[1]) * _UNITS[m[2]] if m else float("nan")

    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    count = re.search(r"^\s+(\d+) requests in", text, re.MULTILINE)
    if not rps or not count:
        raise RuntimeError(f"cannot read wrk's output:\n{text}")
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    errors = (int(non2xx[1]) if non2xx else 0) + (
        sum(int(g) for g in sockets.groups()) if sockets else 0
    )
    return WrkResult(float(rps[1]), latency("50"), latency("99"), int(count[1]), errors)


def _connect(scheme: str, port: int, ca: Path, timeout: float) -> socket.socket:
    sock = socket.create_connection((HOST, port), timeout=timeout)
    if scheme == "https":
        context = ssl.create_default_context(cafile=str(ca))
        sock = context.wrap_socket(sock, server_hostname="localhost")
    return sock


def download(
    scheme: str, port: int, path: str, ca: Path, timeout: float = 300
) -> tuple[int, str, float]:
    """GET path over one connection: (bytes received, sha256 hex of the body, seconds taken)."""
    start = time.perf_counter()
    with _connect(scheme, port, ca, timeout) as sock:
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        head, body = _read_head(sock, f"GET {path}")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"GET {path}: {head.splitlines()[0]!r}")
        digest = hashlib.sha256(body)
        received = len(body)
        buffer = memoryview(bytearray(1 << 20))
        while n := sock.recv_into(buffer):
            digest.update(buffer[:n])
            received += n
    return received, digest.hexdigest(), time.perf_counter() - start


async def _open_idle(scheme: str, port: int, ca: Path, request: bytes) -> asyncio.StreamWriter:
    context = ssl.create_default_context(cafile=str(ca)) if scheme == "https" else None
    reader, writer = await asyncio.open_connection(
        HOST, port, ssl=context, server_hostname="localhost" if context else None
    )
    # One full exchange first, so the connection is set up end to end (every hop, the TLS) and not
    # only accepted by the first process.
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = re.search(rb"(?i)content-length:\s*(\d+)", head)
    await reader.readexactly(int(length[1]) if length else 0)
    return writer


async def hold_idle(scheme: str, port: int, ca: Path, count: int, measure, parallel: int = 25):
    """Open count connections (each after one exchange), call measure() while all are idle, close
    them."""
    request = b"GET /soap HTTP/1.1\r\nHost: localhost\r\n\r\n"
    gate = asyncio.Semaphore(
        parallel
    )  # socat forks and handshakes per connection: don't stampede it

    async def one() -> asyncio.StreamWriter:
        async with gate:
            return await asyncio.wait_for(_open_idle(scheme, port, ca, request), 30)

    writers = await asyncio.gather(*(one() for _ in range(count)), return_exceptions=True)
    failures = [w for w in writers if isinstance(w, BaseException)]
    try:
        await asyncio.sleep(0.5)  # let every process settle after the last exchange
        return measure(), len(failures)
    finally:
        for writer in writers:
            if not isinstance(writer, BaseException):
                writer.close()


def proxy_handshake_ms(
    kind: str, socks_port: int, http_port: int, origin_port: int, samples: int = 30
) -> float:
    """Median time to get a TCP stream to the origin: kind tcp (direct), socks5, http or 2hop
    (both).

    The bytes are the minimal exchange (RFC 1928 §4-6 without auth; RFC 9110 §9.3.6) so that the
    time is the proxies' and the loopback's, not a client library's.
    """
    first = {"tcp": origin_port, "socks5": socks_port, "http": http_port, "2hop": socks_port}[kind]
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        with socket.create_connection((HOST, first), timeout=10) as sock:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if kind == "socks5":
                _socks5(sock, origin_port)
            elif kind == "http":
                _http_connect(sock, origin_port)
            elif kind == "2hop":
                _socks5(sock, http_port)
                _http_connect(sock, origin_port)
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _socks5(sock: socket.socket, port: int) -> None:
    sock.sendall(b"\x05\x01\x00")
    _recv_exactly(sock, 2)
    sock.sendall(b"\x05\x01\x00\x01" + socket.inet_aton(HOST) + port.to_bytes(2, "big"))
    reply = _recv_exactly(sock, 10)
    if reply[1] != 0:
        raise RuntimeError(f"SOCKS5 proxy refused: reply code {reply[1]}")


def _http_connect(sock: socket.socket, port: int) -> None:
    sock.sendall(f"CONNECT {HOST}:{port} HTTP/1.1\r\nHost: {HOST}:{port}\r\n\r\n".encode())
    head, _ = _read_head(sock, "CONNECT")
    if b" 200" not in head.split(b"\r\n")[0]:
        raise RuntimeError(f"CONNECT refused: {head[:100]!r}")


def _read_head(sock: socket.socket, what: str) -> tuple[bytes, bytes]:
    """An HTTP response's header block, and the bytes read past it."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise RuntimeError(
                f"{what}: connection closed before the end of the headers: {data[:200]!r}"
            )
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def _recv_exactly(sock: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise RuntimeError("proxy closed the connection during the handshake")
        data += chunk
    return data
