"""`mitmrelay web`: the recipe option offers the recipes by name in mitmweb's Options editor, and
`mitmrelay.check` runs from mitmweb's command bar (its POST /commands/NAME API)."""

from __future__ import annotations

import re

import pytest
from mitmrelay.testing import HOST, free_port, wait_for
from web_helpers import start_web


@pytest.fixture
def web(peer, tmp_path):
    """`mitmrelay web` with a recipe of the user's in their recipes folder; gives (Web, Process)."""
    config = tmp_path / "config"
    (config / "mitmrelay" / "recipes").mkdir(parents=True)
    (config / "mitmrelay" / "recipes" / "my-own.yaml").write_text(
        "description: mine\noptions:\n  listen_host: 127.0.0.1\n"
    )
    api, proc, _ = start_web(tmp_path, env={"XDG_CONFIG_HOME": str(config)})
    peer.keep(proc)
    return api, proc


def test_the_recipe_option_offers_the_shipped_and_the_users_recipes(web):
    api, _ = web
    recipe = api.get("/options")["recipe"]
    assert recipe["choices"][0] == ""
    assert {"soap-over-socks5", "per-host-routing", "my-own"} <= set(recipe["choices"])
    assert "or a recipe's name" in recipe["help"]


def test_a_recipe_set_by_path_is_shown_in_the_drop_down(web, tmp_path):
    api, _ = web
    mine = tmp_path / "elsewhere.yaml"
    mine.write_text("description: by path\noptions:\n  proxy_connect_timeout: 7\n")
    api.send("PUT", "/options", {"recipe": str(mine)})
    recipe = api.get("/options")["recipe"]
    assert recipe["value"] == str(mine) and str(mine) in recipe["choices"]
    assert api.get("/options")["proxy_connect_timeout"]["value"] == 7


def test_check_runs_from_mitmwebs_command_bar_on_the_running_options(web, peer):
    api, _ = web
    socks, origin = peer.microsocks(), peer.https_origin()
    api.send("PUT", "/options", {"proxy_chain": f"socks5h://{HOST}:{socks.port}"})
    target = f"localhost:{origin.port}"
    answer = api.send("POST", "/commands/mitmrelay.check", {"arguments": [target]})
    assert answer == {"value": f"checking {target}: each step follows in the event log"}
    wait_for(lambda: f"reached {target}" in api.log(), 15, "the check's last line")
    log = api.log()
    assert f"check {target} as the relay would: via socks5h://{HOST}:{socks.port}" in log
    assert "the name localhost went to the proxy (remote DNS)" in log
    dead = free_port()
    api.send("POST", "/commands/mitmrelay.check", {"arguments": [f"{HOST}:{dead}"]})
    wait_for(lambda: f"FAILED at destination {HOST}:{dead}" in api.log(), 15, "the failure")


def test_a_second_check_says_which_alternative_is_cooling_down(web, peer):
    api, _ = web
    origin, dead = peer.https_origin(), free_port()
    api.send("PUT", "/options", {"proxy_chain": f"http://{HOST}:{dead} | direct"})
    target = f"localhost:{origin.port}"
    down = f"proxy alternative http://{HOST}:{dead} is down"
    for _ in range(2):
        done = api.log().count(f"reached {target}")
        api.send("POST", "/commands/mitmrelay.check", {"arguments": [target]})
        wait_for(lambda n=done: api.log().count(f"reached {target}") > n, 15, "the check's end")
    log = api.log()
    assert log.count(f"note  {down}") == 1  # by the first check, where it failed
    assert re.search(
        rf"note  proxy alternative http://{re.escape(HOST)}:{dead} failed lately: tried last for "
        r"\d+ s more \(proxy_failover_cooldown\)",
        log,
    )


def test_a_bad_target_is_refused_with_the_fault(web):
    api, _ = web
    answer = api.send("POST", "/commands/mitmrelay.check", {"arguments": ["ftp://x:21"]})
    assert "unknown scheme 'ftp'" in answer["error"]
