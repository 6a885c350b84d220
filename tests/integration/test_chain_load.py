"""Load through a real 2-hop chain (microsocks SOCKS5 -> tinyproxy CONNECT): many concurrent
clients, every answer correct, no errors, the relay's memory bounded. Sized to take seconds."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from mitmrelay.testing import HOST

CLIENTS = 500


async def soap_post(port: int, n: int) -> bytes:
    reader, writer = await asyncio.open_connection(HOST, port)
    body = f"<soap:Envelope xmlns:soap='http://schemas.xmlsoap.org/soap/envelope/'><soap:Body><N>{n}</N></soap:Body></soap:Envelope>".encode()
    writer.write(
        b"POST /svc HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\nConnection: close\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    await writer.drain()
    response = await asyncio.wait_for(reader.read(), 60)
    writer.close()
    return response


async def many(port: int) -> list[bytes | BaseException]:
    return await asyncio.gather(
        *(soap_post(port, n) for n in range(CLIENTS)), return_exceptions=True
    )


def peak_rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)) / 1024


def test_500_concurrent_clients_through_socks5_then_connect(peer):
    origin = peer.https_origin()
    socks = peer.microsocks()
    connect = peer.tinyproxy(max_clients=CLIENTS + 50)
    relay = peer.mitmdump(
        "--mode",
        f"reverse:https://localhost:{origin.port}@{{port}}",
        "--ssl-insecure",
        "--flow-detail",
        "0",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{socks.port},http://{HOST}:{connect.port}",
    )
    results = asyncio.run(many(relay.port))
    errors = [r for r in results if isinstance(r, BaseException) or b" 200 OK" not in r]
    assert not errors, errors[:3]
    for n, response in enumerate(results):
        assert f"<N>{n}</N>".encode() in response
    assert len(origin.requests) == CLIENTS
    assert peak_rss_mb(relay.proc.pid) < 600
