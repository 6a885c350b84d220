"""`mitmrelay run`: which listen options go on mitmproxy's command line."""

from __future__ import annotations

import pytest
from mitmrelay import given
from mitmrelay.cli.run import listen_args, recipe_listen_options


@pytest.fixture(autouse=True)
def no_user_config(tmp_path, monkeypatch):
    """mitmproxy's default confdir is the user's: here an empty folder."""
    monkeypatch.setattr(given, "CONF_DIR", str(tmp_path / "no-confdir"))


RECIPE = """
description: x
options:
  mode: [reverse:https://a.example:443@5000, socks5@1085]
  listen_host: 127.0.0.1
  proxy_chain: socks5h://127.0.0.1:1080
"""


def test_the_recipe_listen_options_become_flags():
    options = recipe_listen_options(RECIPE)
    assert listen_args(options, []) == [
        "--mode",
        "reverse:https://a.example:443@5000",
        "--mode",
        "socks5@1085",
        "--listen-host",
        "127.0.0.1",
    ]


def test_the_command_line_wins():
    options = recipe_listen_options(RECIPE)
    assert listen_args(options, ["--mode", "regular@9"]) == ["--listen-host", "127.0.0.1"]


def test_the_mitmproxy_config_file_wins_too(tmp_path):
    (tmp_path / "config.yaml").write_text("mode: [socks5@1086]\nssl_insecure: true\n")
    args = ["--set", f"confdir={tmp_path}"]
    options = recipe_listen_options(RECIPE)
    assert listen_args(options, args) == ["--listen-host", "127.0.0.1"]
    (tmp_path / "config.yaml").write_text("mode: [unclosed\n")  # mitmproxy reports it itself
    assert listen_args(options, args)[:2] == ["--mode", "reverse:https://a.example:443@5000"]


@pytest.mark.parametrize("text", ["", "- a list", "options: 3", ": not yaml: ["])
def test_a_recipe_that_is_not_a_mapping_gives_no_flags(text):
    """The recipe addon reports the fault with its line when mitmproxy starts."""
    assert recipe_listen_options(text) == {}


def test_the_docs_show_every_subcommand_with_an_example():
    from mitmrelay.cli.main import COMMANDS
    from peers import REPO

    page = (REPO / "docs" / "command.md").read_text()
    for name in COMMANDS:
        assert f"    mitmrelay {name} " in page or f"$ mitmrelay {name} " in page, name
