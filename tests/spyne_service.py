"""A spyne SOAP service (document/literal wrapped, as spyne writes its WSDLs) over TLS, run as a
subprocess under Python 3.11 — spyne does not import on 3.12 — by the tests of both mitmproxy
lines. It prints `listening <port>` once ready and serves until terminated.

Usage:
    python3.11 tests/spyne_service.py CERT KEY
"""

from __future__ import annotations

import ssl
import sys
from wsgiref.simple_server import WSGIRequestHandler, make_server

from spyne import Application, Fault, Integer, Iterable, ServiceBase, Unicode, rpc
from spyne.protocol.soap import Soap11
from spyne.server.wsgi import WsgiApplication

NS = "urn:example:greeter"


class Greeter(ServiceBase):
    @rpc(Unicode, Integer, _returns=Iterable(Unicode))
    def say_hello(ctx, name, times):
        # A list, not a generator: a fault raised while spyne streams a generator's items comes
        # too late for a fault response.
        if name == "FAIL":
            raise Fault("Client.UnknownName", f"Unknown name {name}")
        return [f"Hello, {name}"] * times


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def main(cert: str, key: str) -> None:
    application = Application(
        [Greeter], NS, in_protocol=Soap11(validator="lxml"), out_protocol=Soap11()
    )
    server = make_server("127.0.0.1", 0, WsgiApplication(application), handler_class=QuietHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main(*sys.argv[1:])
