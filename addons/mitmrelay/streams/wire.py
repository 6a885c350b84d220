"""The bytes of an HTTP/1 message as they travel on the wire, for dumps and recordings.

mitmproxy parses HTTP and keeps no copy of the bytes it read, so the message is re-assembled with
mitmproxy's own HTTP/1 assembler. That gives the wire bytes for the head (order and case of headers
are kept) and for a plain body (`data.content` is the raw, still content-encoded body). Limits: a
chunked body comes back as one chunk (same payload, other chunk sizes), and a streamed body
(`stream_large_bodies`) is not held, so only the head is returned.
"""

from __future__ import annotations

import re

from mitmproxy import http
from mitmproxy.net.http import http1

# Credentials for a proxy must never reach a dump. Same-length stars keep the offsets in the dump
# equal to the offsets on the wire.
_PROXY_AUTH = re.compile(rb"(?im)^(proxy-authorization:[ \t]*)([^\r\n]*)")


def mask_proxy_credentials(head: bytes) -> bytes:
    """Replace every Proxy-Authorization value in a message head by as many `*`."""
    return _PROXY_AUTH.sub(lambda m: m.group(1) + b"*" * len(m.group(2)), head)


def _body(message: http.Message) -> bytes:
    if message.raw_content is None:
        return b""
    chunks = http1.assemble_body(message.headers, [message.raw_content], message.trailers)
    return b"".join(chunks)


def request_bytes(request: http.Request) -> bytes:
    """The request line, headers and body, proxy credentials masked."""
    return mask_proxy_credentials(http1.assemble_request_head(request)) + _body(request)


def response_bytes(response: http.Response) -> bytes:
    """The status line, headers and body."""
    return http1.assemble_response_head(response) + _body(response)


def is_http1(flow: http.HTTPFlow) -> bool:
    """HTTP/2 and HTTP/3 have no byte form that a socat user would recognise."""
    return flow.request.http_version in ("HTTP/1.0", "HTTP/1.1")
