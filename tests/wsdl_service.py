"""A TLS StockQuote service (the WSDL 1.1 specification's document/literal *bare* example) that
publishes its contract as JAX-WS and WCF do: `GET /stock?wsdl` answers the WSDL, whose types
import `GET /stock?xsd=1`; `POST /stock` answers GetLastTradePrice (importable as
`wsdl_service`)."""

from __future__ import annotations

import re
import ssl
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import wsdl_samples as w
from mitmrelay.testing import Certs, Mitm, start_mitmdump
from peers import Threaded

HOST = "127.0.0.1"
# Symbols the service answers in their own way: a fault, and a price the schema does not allow.
FAIL = "FAIL"
CHEAP = "CHEAP"


def split_wsdl(address: str) -> tuple[str, str]:
    """(WSDL, schema): the StockQuote WSDL with its types moved to `?xsd=1`."""
    start = w.STOCK_QUOTE.index("    <xsd:schema")
    end = w.STOCK_QUOTE.index("</xsd:schema>") + len("</xsd:schema>")
    schema = w.STOCK_QUOTE[start:end].replace(
        "<xsd:schema ", '<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema" ', 1
    )
    wsdl = (
        w.STOCK_QUOTE[:start]
        + f'<xsd:schema><xsd:import namespace="{w.STOCK_NS}" schemaLocation="stock?xsd=1"/>'
        + "</xsd:schema>"
        + w.STOCK_QUOTE[end:]
    ).replace('http://example.com/stockquote"', f'{address}"')
    return wsdl, schema


def _fault(reason: str) -> bytes:
    return (
        f'<s:Envelope xmlns:s="{w.S11}"><s:Body><s:Fault><faultcode>s:Client</faultcode>'
        f"<faultstring>{reason}</faultstring><detail><m:unknown xmlns:m='{w.STOCK_NS}'>"
        f"{reason}</m:unknown></detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def relay_to(tmp: Path, port: int, certs: Certs, *args: str, env: dict | None = None) -> Mitm:
    """mitmdump with every addon in reverse mode to the TLS service on port, trusting certs' CA,
    with args added."""
    return start_mitmdump(
        tmp,
        "--mode",
        f"reverse:https://localhost:{port}@{{port}}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={certs.ca}",
        *args,
        env=env,
    )


class StockService(Threaded):
    def __init__(self, context: ssl.SSLContext) -> None:
        self.received: list[bytes] = []
        service = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                wsdl, schema = split_wsdl(f"https://localhost:{service.port}/stock")
                found = {"/stock?wsdl": wsdl, "/stock?xsd=1": schema}.get(self.path)
                self._send(200 if found else 404, (found or "").encode())

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                service.received.append(body)
                found = re.search(rb"tickerSymbol>([^<]*)<", body)
                symbol = found.group(1).decode() if found else "?"
                if symbol == FAIL:
                    self._send(500, _fault(f"Unknown symbol {symbol}"))
                else:
                    self._send(200, w.stock_response("cheap" if symbol == CHEAP else "42.5"))

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._serve()


class StyleService(Threaded):
    """One TLS server for the other WSDL styles of wsdl_samples: rpc/literal (`/calc`), rpc/encoded
    (`/calcenc`) and the orders contract split over three files (`/orders/service.wsdl`, SOAP 1.1
    at `/orders`, SOAP 1.2 at `/orders12`). Answers are built from the request by pattern: enough
    for the clients under test, and wrong on purpose for quantity 99 (an orderId the schema
    refuses: missing)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        service = self
        documents = {
            "/calc?wsdl": w.calculator("literal"),
            "/calcenc?wsdl": w.calculator("encoded"),
            **{"/orders/" + url.rsplit("/", 1)[1]: text for url, text in w.ORDERS_FILES.items()},
        }

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self) -> None:
                found = documents.get(self.path)
                self._send(200 if found else 404, (found or "").encode(), "text/xml")

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                self._send(200, *service.answer(self.path, body))

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self._serve()

    def answer(self, path: str, body: bytes) -> tuple[bytes, str]:
        if path.startswith("/calc"):
            numbers = [int(n) for n in re.findall(rb"<(?:\w+:)?[ab]\b[^>]*>(-?\d+)<", body)]
            typed = ' xsi:type="xsd:int"' if path == "/calcenc" else ""
            response = (
                f'<s:Envelope xmlns:s="{w.S11}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-'
                'instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema"><s:Body>'
                f'<c:AddResponse xmlns:c="{w.CALC_NS}"><result{typed}>{sum(numbers)}</result>'
                "</c:AddResponse></s:Body></s:Envelope>"
            )
            return response.encode(), "text/xml; charset=utf-8"
        version = w.S12 if path == "/orders12" else w.S11
        content_type = "application/soap+xml" if path == "/orders12" else "text/xml"
        order = "" if b">99<" in body else "<o:orderId>A-42</o:orderId>"
        response = (
            f'<s:Envelope xmlns:s="{version}"><s:Body><o:PlaceOrderResponse '
            f'xmlns:o="{w.ORDERS_NS}">{order}</o:PlaceOrderResponse></s:Body></s:Envelope>'
        )
        return response.encode(), f"{content_type}; charset=utf-8"
