"""`mitmrelay recipes check` as a new user meets it: run as the installed command from another
directory, in a clean environment without the recipes' secrets, with a recipes folder of theirs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from cli_helpers import COMMAND
from peers import REPO, FileServer
from wsdl_samples import STOCK_QUOTE

SHIPPED = sorted((REPO / "recipes").glob("*.yaml"))
PAC = "function FindProxyForURL(url, host) { return 'DIRECT'; }\n"


class User:
    """A home, a config folder with mitmrelay/recipes in it, and a working directory."""

    def __init__(self, tmp: Path) -> None:
        self.home = tmp / "home"
        self.recipes = self.home / ".config" / "mitmrelay" / "recipes"
        self.recipes.mkdir(parents=True)
        self.cwd = tmp / "work"
        self.cwd.mkdir()

    def recipe(self, name: str, options: str) -> Path:
        path = self.recipes / f"{name}.yaml"
        path.write_text(f"description: mine\noptions:\n  listen_host: 127.0.0.1\n{options}")
        return path

    def check(self, *args: str, **environ: str) -> tuple[int, str]:
        """`mitmrelay recipes check ARGS` with only PATH, HOME, the worktree's package and
        environ set; (exit status, stdout and stderr)."""
        env = {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "PYTHONPATH": str(REPO / "addons"),
            **environ,
        }
        out = subprocess.run(
            [*COMMAND, "recipes", "check", *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
            cwd=self.cwd,
        )
        return out.returncode, out.stdout + out.stderr


@pytest.fixture
def user(tmp_path: Path) -> User:
    return User(tmp_path)


def needs(out: str, name: str) -> list[str]:
    return re.findall(rf"^{re.escape(name)}:\d+: needs: (.*)$", out, re.MULTILINE)


def test_every_shipped_recipe_is_ok_and_says_what_the_user_supplies(user):
    status, out = user.check()
    assert status == 0, out
    assert f"Shipped recipes, in {REPO / 'recipes'}:" in out
    assert "Your recipes, in ~/.config/mitmrelay/recipes: none" in out
    for recipe in SHIPPED:
        assert re.search(rf"^{recipe.name}: ok", out, re.MULTILINE), recipe.name
    assert needs(out, "soap-over-socks5.yaml") == ["PROXY_PASS (export PROXY_PASS=...)"]
    assert needs(out, "per-host-routing.yaml") == ["CORP_PASS (export CORP_PASS=...)"]  # once
    assert needs(out, "soap-over-socks5-verified.yaml") == [
        "PROXY_PASS (export PROXY_PASS=...)",
        f"the file {user.home}/partner-ca-bundle.pem (ssl_verify_upstream_trusted_ca)",
    ]
    assert needs(out, "mutual-tls.yaml") == [
        f"the file {user.home}/partner-client.pem (client_certs)"
    ]
    # Relative paths of a shipped recipe start where it is run, not in the installed package.
    assert needs(out, "replay-mock-server.yaml") == [
        f"the file {user.cwd}/recordings/20260101-120000-1a2b3c4d.recording (proxy_routes)"
    ]
    assert needs(out, "soap-via-pac.yaml") == []  # its PAC URL is not fetched
    assert "soap-over-socks5.yaml: ok; supply what it needs before running it" in out
    assert "browser-via-ssh-socks.yaml: ok\n" in out
    total = rf"^{len(SHIPPED)} recipes checked: all ok; \d+ need what you supply before running"
    assert re.search(total, out, re.MULTILINE), out
    assert "error(s)" not in out and "wpad" not in out


def test_a_broken_recipe_of_the_users_fails_the_check(user):
    user.recipe("mine", "  proxy_chain: sock5://me:${MY_PASS}@127.0.0.1:1080\n")
    user.recipe("needy", "  proxy_chain: socks5h://me:${MY_PASS}@127.0.0.1:1080\n")
    status, out = user.check()
    assert status == 1, out
    assert "Your recipes, in ~/.config/mitmrelay/recipes:\n" in out
    assert (
        "mine.yaml:4: At key 'options' ==> At key 'proxy_chain' ==> "
        "'sock5://me:${MY_PASS}@127.0.0.1:1080': unknown scheme 'sock5' (did you mean 'socks5'?)"
    ) in out
    assert "mine.yaml: 1 error(s)" in out
    assert needs(out, "needy.yaml") == ["MY_PASS (export MY_PASS=...)"]
    assert re.search(rf"^{len(SHIPPED) + 2} recipes checked: 1 with errors, ", out, re.M)


def test_names_as_mitmrelay_run_takes_them_and_strict_for_a_deploy(user):
    status, out = user.check("soap-over-socks5")
    assert status == 0, out
    shipped = str(REPO / "recipes" / "soap-over-socks5.yaml")  # the file that name stands for
    assert needs(out, shipped) == ["PROXY_PASS (export PROXY_PASS=...)"], out
    status, out = user.check("soap-over-socks5", "--strict")
    assert status == 1, out
    assert (
        "At key 'options' ==> At key 'proxy_chain' ==> ${PROXY_PASS} is not set in the "
        "environment: export PROXY_PASS=... before starting mitmproxy"
    ) in out
    status, out = user.check("soap-over-socks5", "--strict", PROXY_PASS="pw")
    assert status == 0 and out.endswith("soap-over-socks5.yaml: ok\n"), out
    # The user's copy under a shipped name is the one `mitmrelay run NAME` takes.
    user.recipe("mutual-tls", "  proxy_connect_timeout: 0\n")
    status, out = user.check("mutual-tls")
    assert status == 1 and "~/.config/mitmrelay/recipes/mutual-tls.yaml: 1 error(s)" in out, out
    status, out = user.check("no-such-recipe")
    assert status == 1 and "no-such-recipe: no recipe file 'no-such-recipe'" in out, out


def test_urls_are_fetched_only_with_fetch_and_then_as_the_relay_does(user, peer, tmp_path):
    served = tmp_path / "served"
    served.mkdir()
    (served / "wpad.dat").write_text(PAC)
    (served / "quotes.wsdl").write_text(STOCK_QUOTE)
    files = peer.keep(FileServer(served))
    user.recipe("pac", f"  proxy_pac: {files.url('wpad.dat')}\n")
    user.recipe("wsdl", f"  soap_wsdl: [{files.url('quotes.wsdl')}]\n")
    user.recipe("gone", f"  proxy_pac: {files.url('gone.dat')}\n")
    status, out = user.check()
    assert "pac.yaml: ok\n" in out and "wsdl.yaml: ok\n" in out and "gone.yaml: ok\n" in out
    assert status == 0 and files.paths == [], out
    status, out = user.check("pac", "wsdl", "--fetch")
    assert status == 0 and "pac.yaml: ok\n" in out and "wsdl.yaml: ok\n" in out, out
    # Each once: the PAC file by the relay's chain addon as at start, the WSDL over the chain.
    assert files.paths == ["/wpad.dat", "/quotes.wsdl"]
    status, out = user.check("gone", "--fetch")
    assert status == 1, out
    assert f"gone.yaml: --fetch: Recipe {user.recipes / 'gone.yaml'}: Cannot use proxy_pac" in out
    assert "the server answered 404" in out
