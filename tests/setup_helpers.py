"""The Setup page's API (/mitmrelay/api/...) as its script calls it, with the answer's status."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import mitmrelay
from mitmrelay.testing import HOST, Mitm
from web_helpers import MITMPROXY_MAJOR, Web

# mitmweb imports the package this test imported (the checkout's), not one pip installed.
PACKAGE_ROOT = {"PYTHONPATH": str(Path(mitmrelay.__file__).resolve().parents[1])}
__all__ = ["MITMPROXY_MAJOR", "PACKAGE_ROOT", "SetupApi", "raw"]


def raw(
    url: str, data: bytes | None = None, headers: dict | None = None, opener=None
) -> tuple[int, dict, str]:
    """One request: (status, headers, body), errors included."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=15) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


class SetupApi(Web):
    """Signed in to mitmweb (its token on 12), with an XSRF cookie of its own for our POSTs."""

    def __init__(self, web: Mitm) -> None:
        super().__init__(web.web_port, web.web_token)
        self.send("PUT", "/options", {})  # sets the XSRF cookies Web sends with its header

    @property
    def xsrf(self) -> str:
        name = (
            "_mitmproxy_xsrf" if MITMPROXY_MAJOR >= 12 else "_xsrf"
        )  # tornado's, as mitmweb names it
        return next(c.value for c in self.jar if c.name == name)

    def call(self, path: str, body: dict | None = None, headers: dict | None = None):
        """GET (body None) or POST JSON to /mitmrelay/api/PATH: (status, JSON answer)."""
        data = None if body is None else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", "X-XSRFToken": self.xsrf}
        status, _, text = raw(
            f"{self.base}/mitmrelay/api/{path}", data, {**sent, **(headers or {})}, self.opener
        )
        try:
            return status, json.loads(text)
        except ValueError:
            return status, {"text": text}


def seed_form(server: str, port: int, hops: list[dict], **fields) -> dict:
    """The form of the seed scenario: a reverse listener on HOST:port forwarding to server."""
    return {
        "listeners": [{"mode": "reverse", "server": server, "port": str(port)}],
        "listen_host": HOST,
        "hops": hops,
        "timeout": "10",
        **fields,
    }
