"""Real peers for integration tests, all on 127.0.0.1: proxies, origins, and mitmdump itself.

Every start_* function returns something whose `stop()` ends exactly what it started; the fixtures in
conftest.py call it. Readiness is awaited by polling the port, never by sleeping a fixed time.
"""

from __future__ import annotations

import http.server
import os
import re
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from mitmrelay.demo import HOST, free_port, make_certs

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{proc.args[0]} exited with {proc.returncode} before listening on {port}"
            )
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout} s")


def wait_for(predicate, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise TimeoutError(f"{what} not met after {timeout} s")


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


# --- certificates ---------------------------------------------------------------------------------


@dataclass
class Certs:
    """A throwaway CA and a server certificate for localhost/127.0.0.1 signed by it, as PEM files."""

    dir: Path
    ca: Path = field(init=False)
    cert: Path = field(init=False)
    key: Path = field(init=False)

    def __post_init__(self) -> None:
        self.ca, self.cert, self.key = make_certs(self.dir)

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


# --- in-process origins ---------------------------------------------------------------------------


class _Threaded:
    server: socketserver.BaseServer
    port: int

    def _serve(self) -> None:
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class HttpOrigin(_Threaded):
    """An HTTP(S) server answering POSTs with a SOAP-ish echo; it records each request's Host header."""

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


class BannerServer(_Threaded):
    """A raw TCP server that speaks first (like SMTP), then echoes each line upper-cased."""

    BANNER = b"220 banner.test ready\r\n"

    def __init__(self, certs: Certs | None = None) -> None:
        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                self.wfile.write(BannerServer.BANNER)
                for line in self.rfile:
                    self.wfile.write(line.upper())

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


class ScriptedProxy(_Threaded):
    """A hostile or broken "proxy": per connection, for each reply it reads once and sends the reply;
    then it closes (then="close"), resets (then="reset") or holds the connection open, silent
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


class Proc:
    """A started program with its log file; stop() ends it (by pid) and everything it forked."""

    def __init__(
        self,
        args: list[str],
        port: int,
        log: Path,
        env: dict | None = None,
        cwd: Path | None = None,
        ready: str | None = None,
    ) -> None:
        self.port = port
        self.log = log
        self._logf = open(log, "wb")
        self.proc = subprocess.Popen(
            args,
            stdout=self._logf,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        try:
            if ready:
                # Connecting to test readiness would open an eager server connection.
                wait_for(
                    lambda: self.proc.poll() is not None or re.search(ready, self.text()), 30, ready
                )
                if self.proc.poll() is not None:
                    raise RuntimeError("exited")
            else:
                wait_port(port, proc=self.proc)
        except Exception:
            self.stop()
            raise RuntimeError(f"{args} did not start:\n{self.text()}")

    def text(self) -> str:
        if not self._logf.closed:
            self._logf.flush()
        return self.log.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10.0) -> re.Match:
        return wait_for(
            lambda: re.search(pattern, self.text()), timeout, f"{pattern!r} in {self.log.name}"
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._logf.close()


def need(program: str) -> str:
    path = shutil.which(program) or (str(BIN / program) if (BIN / program).exists() else None)
    if path is None:
        raise RuntimeError(
            f"{program} is not installed: run scripts/test, which installs the test peers"
        )
    return path


def start_microsocks(
    tmp: Path, user: str | None = None, password: str | None = None, port: int = 0
) -> Proc:
    port = port or free_port()
    args = [need("stdbuf"), "-oL", need("microsocks"), "-i", HOST, "-p", str(port)]
    if user:
        args += ["-u", user, "-P", password]
    return Proc(args, port, tmp / f"microsocks-{port}-{time.monotonic_ns()}.log")


def start_dante(tmp: Path) -> Proc:
    """dante-server, SOCKS4 and SOCKS5 without authentication; logs each connection it carries."""
    port = free_port()
    conf = tmp / f"danted-{port}.conf"
    conf.write_text(
        f"logoutput: stderr\ninternal: {HOST} port = {port}\nexternal: {HOST}\n"
        "clientmethod: none\nsocksmethod: none\nuser.privileged: root\nuser.unprivileged: nobody\n"
        "client pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }\n"
        "socks pass { from: 127.0.0.0/8 to: 0.0.0.0/0 log: connect disconnect error }\n"
    )
    return Proc(
        [need("danted"), "-f", str(conf), "-p", str(tmp / f"danted-{port}.pid")],
        port,
        tmp / f"danted-{port}.log",
    )


def start_tinyproxy(
    tmp: Path, user: str | None = None, password: str | None = None, max_clients: int = 200
) -> Proc:
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
    return Proc([need("tinyproxy"), "-d", "-c", str(conf)], port, tmp / f"tinyproxy-{port}.log")


def start_pproxy(
    tmp: Path, scheme: str, auth: str | None = None, certs: Certs | None = None
) -> Proc:
    """pproxy listening for `scheme` (e.g. socks4, socks5, http, http+ssl), verbose connection log."""
    port = free_port()
    url = f"{scheme}://{HOST}:{port}" + (f"#{auth}" if auth else "")
    args = [need("pproxy"), "-l", url, "-v"]
    if certs:
        args += ["--ssl", f"{certs.cert},{certs.key}"]
    return Proc(args, port, tmp / f"pproxy-{port}.log", env={**os.environ, "PYTHONUNBUFFERED": "1"})


def start_nginx_h2(tmp: Path, certs: Certs) -> Proc:
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
    return Proc(
        [need("nginx"), "-e", "stderr", "-p", str(prefix), "-c", str(conf), "-g", "daemon off;"],
        port,
        prefix / "log",
    )


def start_mitmdump(
    tmp: Path, *args: str, env: dict | None = None, script: str = "addons/relay.py"
) -> Proc:
    """mitmdump from this venv with a project script, listening on a free port on 127.0.0.1.

    The args may use {port}, replaced by the listen port (for modes that carry it: reverse:...@{port}).
    """
    port = free_port()
    confdir = tmp / "mitmproxy-conf"
    argv = [
        str(BIN / "mitmdump"),
        "-s",
        str(REPO / script),
        "--listen-host",
        HOST,
        "--set",
        f"confdir={confdir}",
    ]
    argv += [a.replace("{port}", str(port)) for a in args]
    if not any("{port}" in a for a in args):
        argv += ["--listen-port", str(port)]
    log = tmp / f"mitmdump-{port}.log"
    return Proc(
        argv, port, log, env={**os.environ, **(env or {})}, cwd=REPO, ready=r"listening at \S+:\d+"
    )
