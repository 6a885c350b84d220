"""A self-contained run of the headline scenario, on 127.0.0.1 only.

Starts a TLS SOAP server and a SOCKS5 proxy with a username and password, runs mitmdump with
addons/relay.py in reverse mode through that proxy, makes a real SOAP call to the plain-HTTP side,
prints the exchange as mitmdump shows it and the proxy's own log as evidence, then stops everything.

Usage (scripts/demo sets up a virtualenv and runs this):
    python -m mitmrelay.demo
"""

from __future__ import annotations

import http.server
import re
import secrets
import shutil
import ssl
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path

from mitmrelay.testing import HOST, Process, free_port, make_certs, soap_envelope, start_mitmdump

CALC = "http://example.org/calculator"


def calc_envelope(body: str) -> bytes:
    return soap_envelope(body, calc=CALC)


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
                        "<soap:Fault><faultcode>soap:Client</faultcode>"
                        "<faultstring>Only Add(a, b) is offered</faultstring></soap:Fault>",
                    )
                reply = calc_envelope(body)
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


def socks_proxy(user: str, password: str, port: int) -> list[str]:
    """microsocks (Debian) if installed, else pproxy (PyPI): SOCKS5 with user and password."""
    if shutil.which("microsocks"):
        stdbuf = shutil.which("stdbuf")
        unbuffered = [stdbuf, "-oL"] if stdbuf else []
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
    procs: list[Process] = []
    try:
        proxy_port = free_port()
        proxy = Process(socks_proxy("demo", password, proxy_port), work / "socks.log", [proxy_port])
        procs.append(proxy)
        relay = start_mitmdump(
            work,
            "--mode",
            f"reverse:https://localhost:{server.port}@{{port}}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={ca}",
            "--set",
            f"proxy_chain=socks5h://demo:${{DEMO_PROXY_PASS}}@{HOST}:{proxy_port}",
            "--flow-detail",
            "3",
            env={"DEMO_PROXY_PASS": password},
        )
        procs.append(relay)
        command = [Path(relay.args[0]).name, *relay.args[1:]]
        section(
            "What runs",
            "\n".join(
                [
                    f"TLS SOAP server     https://localhost:{server.port}/calculator"
                    " (certificate from a throwaway CA)",
                    f"SOCKS5 proxy        {HOST}:{proxy_port}, user 'demo',"
                    " password in $DEMO_PROXY_PASS",
                    "mitmdump + relay    "
                    + " ".join(a if "proxy_chain" not in a else f"'{a}'" for a in command[1:]),
                ]
            ),
        )

        call = calc_envelope("<calc:Add><calc:a>19</calc:a><calc:b>23</calc:b></calc:Add>")
        request = urllib.request.Request(
            f"http://{HOST}:{relay.port}/calculator",
            data=call,
            headers={"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{CALC}/Add"'},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = response.read().decode()
        section(
            f"The client called http://{HOST}:{relay.port}/calculator (plain HTTP) and got", answer
        )
        if "<calc:result>42</calc:result>" not in answer:
            raise SystemExit("demo failed: the SOAP answer is not 42")

        relay.wait_log("<< 200")
        section(
            "What mitmdump shows (decrypted; it left as TLS through the SOCKS proxy)", relay.text()
        )
        proxy.wait_log(f"localhost:{server.port}")
        evidence = [line for line in proxy.text().splitlines() if f":{server.port}" in line]
        section(
            "Evidence from the SOCKS proxy's own log (it was asked for the hostname: remote DNS)",
            "\n".join(evidence),
        )
        if password in relay.text():
            raise SystemExit("demo failed: the proxy password appeared in mitmdump's output")
        print(
            "\nDemo passed: the SOAP call crossed the SOCKS5 proxy as TLS"
            " and was shown in plaintext."
        )
        return 0
    finally:
        for proc in reversed(procs):
            proc.stop()
        server.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
