"""A small SOAP 1.1/1.2 service on http.server and its WSDL, for the SOAP integration tests
(importable as `soap_service`), and the relay they put in front of it."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import soap_helpers as h
from mitmrelay.testing import HOST, Mitm, start_mitmdump
from peers import ADDONS

NS = "urn:example:quotes"
LOGO = h.PNG_BYTES

WSDL = f"""<?xml version="1.0"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" name="Quotes" targetNamespace="{NS}"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    xmlns:soap12="http://schemas.xmlsoap.org/wsdl/soap12/"
    xmlns:tns="{NS}" xmlns:xsd="http://www.w3.org/2001/XMLSchema">
  <types>
    <xsd:schema targetNamespace="{NS}" elementFormDefault="qualified">
      <xsd:element name="GetQuote"><xsd:complexType><xsd:sequence>
        <xsd:element name="symbol" type="xsd:string"/>
        </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="GetQuoteResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="price" type="xsd:decimal"/>
        </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="GetLogo"><xsd:complexType><xsd:sequence>
        <xsd:element name="symbol" type="xsd:string"/>
        </xsd:sequence></xsd:complexType></xsd:element>
      <xsd:element name="GetLogoResponse"><xsd:complexType><xsd:sequence>
        <xsd:element name="image" type="xsd:base64Binary"/>
        </xsd:sequence></xsd:complexType></xsd:element>
    </xsd:schema>
  </types>
  <message name="GetQuoteIn"><part name="parameters" element="tns:GetQuote"/></message>
  <message name="GetQuoteOut"><part name="parameters" element="tns:GetQuoteResponse"/></message>
  <message name="GetLogoIn"><part name="parameters" element="tns:GetLogo"/></message>
  <message name="GetLogoOut"><part name="parameters" element="tns:GetLogoResponse"/></message>
  <portType name="QuotesPort">
    <operation name="GetQuote"><input message="tns:GetQuoteIn"/>
      <output message="tns:GetQuoteOut"/></operation>
    <operation name="GetLogo"><input message="tns:GetLogoIn"/>
      <output message="tns:GetLogoOut"/></operation>
  </portType>
  <binding name="Quotes11" type="tns:QuotesPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetQuote"><soap:operation soapAction="{NS}/GetQuote"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output></operation>
    <operation name="GetLogo"><soap:operation soapAction="{NS}/GetLogo"/>
      <input><soap:body use="literal"/></input>
      <output><soap:body use="literal"/></output></operation>
  </binding>
  <binding name="Quotes12" type="tns:QuotesPort">
    <soap12:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetQuote"><soap12:operation soapAction="{NS}/GetQuote"/>
      <input><soap12:body use="literal"/></input>
      <output><soap12:body use="literal"/></output></operation>
    <operation name="GetLogo"><soap12:operation soapAction="{NS}/GetLogo"/>
      <input><soap12:body use="literal"/></input>
      <output><soap12:body use="literal"/></output></operation>
  </binding>
  <service name="Quotes">
    <port name="Quotes11" binding="tns:Quotes11"><soap:address location="http://127.0.0.1:9/"/></port>
    <port name="Quotes12" binding="tns:Quotes12"><soap12:address location="http://127.0.0.1:9/"/></port>
  </service>
</definitions>
"""

_ENV = {
    "1.1": "http://schemas.xmlsoap.org/soap/envelope/",
    "1.2": "http://www.w3.org/2003/05/soap-envelope",
}
_CONTENT_TYPE = {"1.1": "text/xml; charset=utf-8", "1.2": "application/soap+xml; charset=utf-8"}


def _envelope(version: str, body: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><e:Envelope xmlns:e="{_ENV[version]}">'
        f"<e:Body>{body}</e:Body></e:Envelope>"
    ).encode()


def _fault(version: str, symbol: str) -> tuple[int, bytes]:
    """Unknown symbols are the client's fault: SOAP 1.1 answers 500, SOAP 1.2 a Sender 400."""
    if version == "1.1":
        return 500, _envelope(
            "1.1",
            "<e:Fault><faultcode>e:Client</faultcode>"
            f"<faultstring>Unknown symbol {symbol}</faultstring>"
            f"<detail><q:bad xmlns:q='{NS}'>{symbol}</q:bad></detail></e:Fault>",
        )
    return 400, _envelope(
        "1.2",
        "<e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode>"
        f"<e:Value xmlns:q='{NS}'>q:UnknownSymbol</e:Value></e:Subcode></e:Code>"
        f"<e:Reason><e:Text xml:lang='en'>Unknown symbol {symbol}</e:Text></e:Reason>"
        "</e:Fault>",
    )


def _mtom(version: str) -> tuple[str, bytes]:
    """A GetLogo answer with the image as an MTOM part (XOP §3)."""
    boundary = "uuid:logo-boundary"
    start_type = "text/xml" if version == "1.1" else "application/soap+xml"
    envelope = _envelope(
        version,
        f"<q:GetLogoResponse xmlns:q='{NS}'><q:image>"
        "<xop:Include xmlns:xop='http://www.w3.org/2004/08/xop/include' "
        "href='cid:logo@quotes.example'/></q:image></q:GetLogoResponse>",
    )
    body = (
        f"--{boundary}\r\nContent-Type: application/xop+xml; charset=utf-8; "
        f'type="{start_type}"\r\nContent-ID: <root@quotes.example>\r\n\r\n'
    ).encode()
    body += envelope + f"\r\n--{boundary}\r\nContent-Type: image/png\r\n".encode()
    body += b"Content-Transfer-Encoding: binary\r\nContent-ID: <logo@quotes.example>\r\n\r\n"
    body += LOGO + f"\r\n--{boundary}--\r\n".encode()
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        f'start="<root@quotes.example>"; start-info="{start_type}"'
    )
    return content_type, body


@dataclass
class SoapService:
    """Answers GetQuote (a price, or a fault for symbol FAIL) and GetLogo (MTOM), in the SOAP
    version of the request; keeps every request body it received, to check the wire."""

    received: list[bytes] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.server_address[1]

    def answer(self, body: bytes) -> tuple[int, str, bytes]:
        version = "1.2" if _ENV["1.2"].encode() in body else "1.1"
        symbol = m.group(1).decode() if (m := re.search(rb"symbol>([^<]*)<", body)) else "?"
        if b"GetLogo" in body:
            return (200, *_mtom(version))
        if symbol == "FAIL":
            status, fault = _fault(version, symbol)
            return status, _CONTENT_TYPE[version], fault
        price = f"<q:GetQuoteResponse xmlns:q='{NS}'><q:price>42.5</q:price></q:GetQuoteResponse>"
        return 200, _CONTENT_TYPE[version], _envelope(version, price)

    def start(self) -> None:
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                service.received.append(body)
                status, content_type, answer = service.answer(body)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output for the proxy's

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def soap_relay(tmp: Path, *args: str, tool: str = "mitmdump") -> tuple[SoapService, Mitm]:
    """A started SoapService and, listening in front of it, `mitmdump` (or mitmweb) -s
    addons/soap.py as its reverse proxy; the caller stops both."""
    service = SoapService()
    service.start()
    mode = f"reverse:http://{HOST}:{service.port}@{{port}}"
    try:
        relay = start_mitmdump(tmp, "--mode", mode, *args, scripts=[ADDONS / "soap.py"], tool=tool)
    except BaseException:
        service.stop()
        raise
    return service, relay
