"""`mitmrelay web`: the recipe option offers the recipes by name in mitmweb's Options editor, and
`mitmrelay.check` runs from mitmweb's command bar (its POST /commands/NAME API)."""

from __future__ import annotations

import http.cookiejar
import json
import secrets
import urllib.request

import pytest
from cli_helpers import COMMAND, ENV
from mitmproxy.version import VERSION
from peers import HOST, Proc, free_port, wait_for

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

    def post(self, path: str, body: dict):
        xsrf = next(c.value for c in self.jar if c.name == "_xsrf")
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json", "X-XSRFToken": xsrf},
            method="POST",
        )
        return json.loads(self.opener.open(request, timeout=10).read())


@pytest.fixture
def web(peer, tmp_path):
    """`mitmrelay web` with a recipe of the user's in their recipes folder; yields (Web, Proc)."""
    config = tmp_path / "config"
    (config / "mitmrelay" / "recipes").mkdir(parents=True)
    (config / "mitmrelay" / "recipes" / "my-own.yaml").write_text(
        "description: mine\noptions:\n  listen_host: 127.0.0.1\n"
    )
    port, web_port, token = free_port(), free_port(), secrets.token_hex(8)
    proc = Proc(
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
            f"confdir={tmp_path / 'conf'}",
            *(["--set", f"web_password={token}"] if MITMPROXY_MAJOR >= 12 else []),
        ],
        web_port,
        tmp_path / "mitmweb.log",
        env={**ENV, "XDG_CONFIG_HOME": str(config)},
        cwd=tmp_path,
    )
    peer._keep(proc)
    wait_for(lambda: f"listening at {HOST}:{port}" in proc.text(), 15, "mitmweb's proxy")
    return Web(web_port, token), proc


def test_the_recipe_option_offers_the_shipped_and_the_users_recipes(web):
    api, _ = web
    recipe = api.get("/options")["recipe"]
    assert recipe["choices"][0] == ""
    assert {"soap-over-socks5", "per-host-routing", "my-own"} <= set(recipe["choices"])
    assert "or a recipe's name" in recipe["help"]
