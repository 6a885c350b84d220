"""mitmweb's HTTP API as its front end uses it, and `mitmrelay web` started as a peer."""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.request
from pathlib import Path

from cli_helpers import COMMAND, ENV
from mitmproxy.version import VERSION
from mitmrelay.testing import HOST, Process, free_port, wait_for

MITMPROXY_MAJOR = int(VERSION.split(".")[0])  # mitmweb 12 asks for a token; 11 has none


class Web:
    """mitmweb's HTTP API as its front end uses it: token (mitmweb 12), then the XSRF cookie."""

    def __init__(self, port: int, token: str) -> None:
        self.base = f"http://{HOST}:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{self.base}/?token={token}", timeout=10).read()

    def get(self, path: str):
        return json.loads(self.opener.open(self.base + path, timeout=10).read())

    def send(self, method: str, path: str, body: dict):
        xsrf = secrets.token_hex(8)
        # tornado accepts a POST whose X-XSRFToken equals its XSRF cookie (mitmweb 12 names it
        # _mitmproxy_xsrf, 11 _xsrf); the front end gets one from the websocket, this client
        # sets its own.
        for name in ("_xsrf", "_mitmproxy_xsrf"):
            self.jar.set_cookie(
                http.cookiejar.Cookie(
                    0, name, xsrf, None, False, HOST, False, False, "/", True, False, None,
                    False, None, None, {},
                )
            )  # fmt: skip
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRFToken": xsrf},
            method=method,
        )
        reply = self.opener.open(request, timeout=10).read()
        return json.loads(reply) if reply else None

    def log(self) -> str:
        return "\n".join(event["message"] for event in self.get("/events"))


def start_web(tmp: Path, *args: str, env: dict | None = None) -> tuple[Web, Process, int]:
    """`mitmrelay web ARGS` listening on a free port; gives (Web, its Process, the proxy port).
    The caller stops the process."""
    port, web_port, token = free_port(), free_port(), secrets.token_hex(8)
    proc = Process(
        [
            *COMMAND,
            "web",
            "--listen-host",
            HOST,
            "--listen-port",
            str(port),
            "--web-host",
            HOST,
            "--web-port",
            str(web_port),
            "--no-web-open-browser",
            "--set",
            f"confdir={tmp / 'conf'}",
            *(["--set", f"web_password={token}"] if MITMPROXY_MAJOR >= 12 else []),
            *args,
        ],
        tmp / "mitmweb.log",
        ports=[web_port],
        env={**ENV, **(env or {})},
        cwd=tmp,
    )
    try:
        wait_for(lambda: f"listening at {HOST}:{port}" in proc.text(), 15, "mitmweb's proxy")
        return Web(web_port, token), proc, port
    except BaseException:
        proc.stop()
        raise
