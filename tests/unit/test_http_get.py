"""http_get: one bounded GET against a real HTTP server (http.server on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import http.server
import threading
from collections.abc import Iterator

import pytest
from mitmrelay.http_get import FetchError, get


@pytest.fixture
def server() -> Iterator[str]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hops = {"/a": "/b", "/b": "/proxy.pac", "/loop": "/loop", "/ftp": "ftp://x/"}
            if self.path in hops:
                self.send_response(302)
                self.send_header("Location", hops[self.path])
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b"x" * 2000 if self.path == "/big" else b"function FindProxyForURL(){}"
            self.send_response(200 if self.path in ("/proxy.pac", "/big") else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def fetch(url: str, **kw) -> bytes:
    return asyncio.run(get(url, limit=1000, **kw))


def test_redirects_are_followed_only_when_allowed(server):
    assert fetch(f"{server}/a", redirects=3) == b"function FindProxyForURL(){}"
    with pytest.raises(FetchError, match=r"/a: the server answered 302 to /b \(not followed\)"):
        fetch(f"{server}/a")
    with pytest.raises(FetchError, match=r"/loop: the server answered 302 to /loop \(more than 3"):
        fetch(f"{server}/loop", redirects=3)
    with pytest.raises(FetchError, match=r"ftp://x/: only http:// and https:// URLs"):
        fetch(f"{server}/ftp", redirects=3)


def test_bounded_and_named(server):
    with pytest.raises(FetchError, match=r"/big: over 1000 bytes"):
        fetch(f"{server}/big")
    with pytest.raises(FetchError, match=r"/missing: the server answered 404"):
        fetch(f"{server}/missing")
