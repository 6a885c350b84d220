"""A self-contained run of the headline scenario, on 127.0.0.1 only.

Starts a TLS SOAP server and a SOCKS5 proxy with a username and password, runs mitmdump with
addons/relay.py in reverse mode through that proxy, makes a real SOAP call to the plain-HTTP side,
prints the exchange as mitmdump shows it and the proxy's own log as evidence, then stops everything.

Usage (scripts/demo sets up a virtualenv and runs this):
    python -m mitmrelay.demo
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOST = "127.0.0.1"
ADDONS = Path(__file__).resolve().parent.parent
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
CALC = "http://example.org/calculator"


def make_certs(directory: Path) -> tuple[Path, Path, Path]:
    """A throwaway CA and a certificate for localhost/127.0.0.1 it signed: (ca, cert, key) PEM files."""
    now = datetime.datetime.now(datetime.UTC)
    validity = (now - datetime.timedelta(days=1), now + datetime.timedelta(days=30))

    def build(
        subject: x509.Name, issuer: x509.Name, public_key, signer, extensions
    ) -> x509.Certificate:
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(issuer)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(validity[0])
            .not_valid_after(validity[1])
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mitmrelay throwaway CA")])
    ca = build(
        ca_name,
        ca_name,
        ca_key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(False, False, False, False, False, True, True, False, False), True),
        ],
    )
    cert = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]),
        ca_name,
        key.public_key(),
        ca_key,
        [
            (
                x509.SubjectAlternativeName(
                    [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
                ),
                False,
            ),
            (x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


def soap_envelope(body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="{SOAP11}" xmlns:calc="{CALC}">'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


class CalculatorServer:
    """A TLS SOAP 1.1 service with one operation, Add; anything else gets a soap:Client fault."""

    def __init__(self, cert: Path, key: Path) -> None:
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                request = self.rfile.read(int(self.headers.get("content-length", 0))).decode(
                    "utf-8", "replace"
                )
                numbers = [int(n) for n in re.findall(r"<calc:[ab]>(-?\d+)</calc:[ab]>", request)]
                if "<calc:Add>" in request and len(numbers) == 2:
                    status, body = (
                        200,
                        f"<calc:AddResponse><calc:result>{sum(numbers)}</calc:result></calc:AddResponse>",
                    )
                else:
                    status, body = (
                        500,
                        "<soap:Fault><faultcode>soap:Client</faultcode><faultstring>Only Add(a, b) is offered</faultstring></soap:Fault>",
                    )
                reply = soap_envelope(body)
                self.send_response(status)
                self.send_header("content-type", "text/xml; charset=utf-8")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer((HOST, 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def start(
    args: list[str], log: Path, ready: str, env: dict[str, str] | None = None, timeout: float = 30
) -> subprocess.Popen:
    """Start a program and wait until its log says `ready` (probing the port would open connections)."""
    proc = subprocess.Popen(
        args, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    deadline = time.monotonic() + timeout
    while ready not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            raise SystemExit(f"{' '.join(args)} did not start:\n{log.read_text()}")
        time.sleep(0.05)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)


def socks_proxy(user: str, password: str, port: int) -> list[str]:
    """microsocks (Debian) when installed, otherwise pproxy (PyPI), both SOCKS5 with username/password."""
    if shutil.which("microsocks"):
        unbuffered = [shutil.which("stdbuf"), "-oL"] if shutil.which("stdbuf") else []
        return [*unbuffered, "microsocks", "-i", HOST, "-p", str(port), "-u", user, "-P", password]
    return [
        str(Path(sys.executable).parent / "pproxy"),
        "-l",
        f"socks5://{HOST}:{port}#{user}:{password}",
        "-v",
    ]


def section(title: str, text: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))
    print(text.rstrip())


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mitmrelay-demo-"))
    password = secrets.token_urlsafe(12)
    ca, cert, key = make_certs(work)
    server = CalculatorServer(cert, key)
    procs: list[subprocess.Popen] = []
    try:
        proxy_port, relay_port = free_port(), free_port()
        proxy_log, relay_log = work / "socks.log", work / "mitmdump.log"
        procs.append(start(socks_proxy("demo", password, proxy_port), proxy_log, ready=""))
        _wait_for_port(proxy_port)
        relay_cmd = [
            str(Path(sys.executable).parent / "mitmdump"),
            "-s",
            str(ADDONS / "relay.py"),
            "--mode",
            f"reverse:https://localhost:{server.port}@{relay_port}",
            "--listen-host",
            HOST,
            "--set",
            f"confdir={work / 'mitmproxy'}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={ca}",
            "--set",
            f"proxy_chain=socks5h://demo:${{DEMO_PROXY_PASS}}@{HOST}:{proxy_port}",
            "--flow-detail",
            "3",
        ]
        procs.append(
            start(
                relay_cmd,
                relay_log,
                "listening at",
                env={**os.environ, "DEMO_PROXY_PASS": password},
            )
        )
        section(
            "What runs",
            "\n".join(
                [
                    f"TLS SOAP server     https://localhost:{server.port}/calculator (certificate from a throwaway CA)",
                    f"SOCKS5 proxy        {HOST}:{proxy_port}, user 'demo', password in $DEMO_PROXY_PASS",
                    "mitmdump + relay    "
                    + " ".join(a if "proxy_chain" not in a else f"'{a}'" for a in relay_cmd[1:]),
                ]
            ),
        )

        call = soap_envelope("<calc:Add><calc:a>19</calc:a><calc:b>23</calc:b></calc:Add>")
        request = urllib.request.Request(
            f"http://{HOST}:{relay_port}/calculator",
            data=call,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{CALC}/Add"'},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read().decode()
        section(
            f"The client called http://{HOST}:{relay_port}/calculator (plain HTTP) and got", answer
        )
        if "<calc:result>42</calc:result>" not in answer:
            raise SystemExit("demo failed: the SOAP answer is not 42")

        _wait_for_text(relay_log, "<< 200")
        section(
            "What mitmdump shows (decrypted; it left as TLS through the SOCKS proxy)",
            relay_log.read_text(),
        )
        _wait_for_text(proxy_log, f"localhost:{server.port}")
        evidence = [
            line for line in proxy_log.read_text().splitlines() if f":{server.port}" in line
        ]
        section(
            "Evidence from the SOCKS proxy's own log (it was asked for the hostname: remote DNS)",
            "\n".join(evidence),
        )
        if password in relay_log.read_text():
            raise SystemExit("demo failed: the proxy password appeared in mitmdump's output")
        print(
            "\nDemo passed: the SOAP call crossed the SOCKS5 proxy as TLS and was shown in plaintext."
        )
        return 0
    finally:
        for proc in reversed(procs):
            stop(proc)
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the SOCKS proxy is not listening on {HOST}:{port}") from None
            time.sleep(0.05)


def _wait_for_text(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace") and time.monotonic() < deadline:
        time.sleep(0.05)


if __name__ == "__main__":
    sys.exit(main())
