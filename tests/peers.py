"""Real peers for integration tests and the bench, all on 127.0.0.1: proxies (microsocks, dante,
tinyproxy, pproxy, scripted hostile ones) and origins (HTTP(S), banner, WebSocket, nginx h2).

Every start_* function and peer class returns something whose `stop()` ends exactly what it
started; the fixtures in conftest.py call it. Ports, certificates, readiness and the process
runner (mitmdump too) come from mitmrelay.testing.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import socket
import socketserver
import struct
import subprocess
import sys
import threading
import time
from pathlib import Path

from mitmrelay.testing import HOST, Certs, Process, free_port

REPO = Path(__file__).resolve().parent.parent
ADDONS = REPO / "addons"
BIN = Path(sys.executable).parent


def memory_kib(pid: int, name: str) -> int:
    """A /proc/PID/status memory line (VmHWM: peak resident, VmRSS: resident now), in KiB."""
    match = re.search(
        rf"^{name}:\s+(\d+) kB$", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE
    )
    assert match, f"no {name} in /proc/{pid}/status"
    return int(match.group(1))


def curl(*args: str, timeout: float = 20) -> tuple[int, str]:
    """Run the real curl; return (HTTP status, body)."""
    out = subprocess.run(
        ["curl", "-sS", "-m", str(timeout), "-w", "\n%{http_code}", *args],
        capture_output=True,
        text=True,
        timeout=timeout + 5,
        check=False,
    )
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


SOAP = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soap:Body><Echo>hi</Echo></soap:Body></soap:Envelope>"
)


def soap_call(port: int) -> tuple[int, str]:
    """POST a SOAP Echo with curl to http://HOST:port/service (a relay in front of an HttpOrigin,
    which echoes the body back): (HTTP status, body)."""
    return curl(
        f"http://{HOST}:{port}/service",
        "-H",
        "content-type: text/xml",
        "-H",
        'SOAPAction: "urn:Echo"',
        "--data",
        SOAP,
    )


# --- in-process origins ---------------------------------------------------------------------------


class Threaded:
    """A socketserver served in a thread; stop() shuts it down and closes its socket."""

    server: socketserver.BaseServer
    port: int

    def _serve(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class HttpOrigin(Threaded):
    """An HTTP(S) server answering POSTs with a SOAP-ish echo (see soap_call); it records each
    request's path, Host header and body."""

    def __init__(self, certs: Certs | None = None) -> None:
        origin = self
        self.requests: list[dict] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                origin.requests.append(
                    {"path": self.path, "host": self.headers["host"], "body": body}
                )
                reply = (
                    b'<?xml version="1.0"?><soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><EchoResponse>'
                    + body
                    + b"</EchoResponse></soap:Body></soap:Envelope>"
                )
                self.send_response(200)
                self.send_header("content-type", "text/xml; charset=utf-8")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def do_GET(self) -> None:
                origin.requests.append(
                    {"path": self.path, "host": self.headers["host"], "body": b""}
                )
                reply = f"hello from origin {self.path}".encode()
                self.send_response(200)
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            request_queue_size = 1024  # load tests open hundreds of connections at once
            daemon_threads = True

        self.server = Server((HOST, 0), Handler)
        if certs:
            self.server.socket = certs.server_context().wrap_socket(
                self.server.socket, server_side=True
            )
        self.port = self.server.server_address[1]
        self._serve()


class FileServer(Threaded):
    """An HTTP server for the files in a folder (PAC files, WSDLs), logging each path asked for."""

    def __init__(self, folder: Path) -> None:
        served = self
        self.paths: list[str] = []

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args, **kwargs) -> None:
                super().__init__(*args, directory=str(folder), **kwargs)

            def log_message(self, *args) -> None:
                served.paths.append(self.path)

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._serve()

    def url(self, name: str) -> str:
        return f"http://{HOST}:{self.port}/{name}"


class BannerServer(Threaded):
    """A raw TCP server that speaks first (like SMTP), then echoes each line upper-cased."""

    BANNER = b"220 banner.test ready\r\n"

    def __init__(self, certs: Certs | None = None) -> None:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(BannerServer.BANNER)
                try:
                    for line in self.rfile:
                        self.wfile.write(line.upper())
                except ConnectionResetError:
                    pass  # the client went away without a FIN: its right

        self.server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        if certs:
            self.server.socket = certs.server_context().wrap_socket(
                self.server.socket, server_side=True
            )
        self.port = self.server.server_address[1]
        self._serve()


class WebSocketEcho:
    """A WebSocket server (the websockets library) answering each text message with "echo: ..."."""

    def __init__(self) -> None:
        from websockets.sync.server import serve

        def echo(ws) -> None:
            for message in ws:
                ws.send(f"echo: {message}")

        self.server = serve(echo, HOST, 0)
        self.port = self.server.socket.getsockname()[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


class ScriptedProxy(Threaded):
    """A hostile or broken "proxy": per connection, for each reply it reads once and sends the
    reply; then it closes (then="close"), resets (then="reset") or holds the connection open, silent
    (then="stall")."""

    def __init__(self, replies: list[bytes], then: str = "stall") -> None:
        stop = threading.Event()
        self._stop_event = stop

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                for reply in replies:
                    if not self.request.recv(65536):
                        return
                    self.request.sendall(reply)
                if then == "stall":
                    stop.wait(30)
                elif then == "reset":  # close with RST instead of FIN
                    self.request.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )

        self.server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._serve()

    def stop(self) -> None:
        self._stop_event.set()
        super().stop()


# --- external processes ---------------------------------------------------------------------------


def need(program: str) -> str:
    path = shutil.which(program) or (str(BIN / program) if (BIN / program).exists() else None)
    if path is None:
        raise RuntimeError(
            f"{program} is not installed: run scripts/test, which installs the test peers"
        )
    return path


def start_microsocks(
    tmp: Path, user: str | None = None, password: str | None = None, port: int = 0
) -> Process:
    port = port or free_port()
    args = [need("stdbuf"), "-oL", need("microsocks"), "-i", HOST, "-p", str(port)]
    if user:
        args += ["-u", user, "-P", password]
    return Process(args, tmp / f"microsocks-{port}-{time.monotonic_ns()}.log", [port])


def start_dante(tmp: Path) -> Process:
    """dante-server, SOCKS4 and SOCKS5 without authentication; logs each connection it carries."""
    port = free_port()
    conf = tmp / f"danted-{port}.conf"
    conf.write_text(
        f"logoutput: stderr\ninternal: {HOST} port = {port}\nexternal: {HOST}\n"
        "clientmethod: none\nsocksmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\n"
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }\n"
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }\n"
    )
    return Process(
        [need("danted"), "-f", str(conf), "-p", str(tmp / f"danted-{port}.pid")],
        tmp / f"danted-{port}.log",
        [port],
    )


def start_tinyproxy(
    tmp: Path, user: str | None = None, password: str | None = None, max_clients: int = 200
) -> Process:
    """tinyproxy, an HTTP CONNECT proxy, optionally with Basic auth; logs each CONNECT."""
    port = free_port()
    conf = tmp / f"tinyproxy-{port}.conf"
    lines = [
        f"Port {port}",
        f"Listen {HOST}",
        "Timeout 60",
        "LogLevel Connect",
        f"MaxClients {max_clients}",
        "Allow 127.0.0.1",
    ]
    if user:
        lines.append(f"BasicAuth {user} {password}")
    conf.write_text("\n".join(lines) + "\n")
    return Process(
        [need("tinyproxy"), "-d", "-c", str(conf)], tmp / f"tinyproxy-{port}.log", [port]
    )


def start_pproxy(
    tmp: Path, scheme: str, auth: str | None = None, certs: Certs | None = None
) -> Process:
    """pproxy listening for `scheme` (socks4, socks5, http, http+ssl), logging each connection."""
    port = free_port()
    url = f"{scheme}://{HOST}:{port}" + (f"#{auth}" if auth else "")
    args = [need("pproxy"), "-l", url, "-v"]
    if certs:
        args += ["--ssl", f"{certs.cert},{certs.key}"]
    return Process(
        args, tmp / f"pproxy-{port}.log", [port], env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def start_nginx_h2(tmp: Path, certs: Certs) -> Process:
    """nginx serving HTTP/2 over TLS (ALPN h2) with a fixed page."""
    port = free_port()
    prefix = tmp / f"nginx-{port}"
    prefix.mkdir()
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"worker_processes 1; pid {prefix}/nginx.pid; error_log stderr;\n"
        "events { worker_connections 64; }\n"
        f"http {{ access_log off; client_body_temp_path {prefix}; proxy_temp_path {prefix};\n"
        f"  fastcgi_temp_path {prefix}; uwsgi_temp_path {prefix}; scgi_temp_path {prefix};\n"
        f"  server {{ listen {HOST}:{port} ssl http2; ssl_certificate {certs.cert};\n"
        f"    ssl_certificate_key {certs.key}; location / {{ return 200 'hello h2'; }} }} }}\n"
    )
    return Process(
        [need("nginx"), "-e", "stderr", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        prefix / "log",
        [port],
    )
