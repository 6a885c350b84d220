"""`mitmrelay run`: which listen options go on mitmproxy's command line."""

from __future__ import annotations

import pytest
from mitmrelay.cli.run import config_options, given_options, listen_args, recipe_listen_options


@pytest.mark.parametrize(
    ("args", "given"),
    [
        ([], set()),
        (["--mode", "regular@9090"], {"mode"}),
        (["-m", "socks5"], {"mode"}),
        (["--mode=socks5"], {"mode"}),
        (["--listen-host", "::1", "-p", "9"], {"listen_host", "listen_port"}),
        (["--set", "listen_port=9", "--set=mode=socks5"], {"listen_port", "mode"}),
        (["--set", "proxy_chain=", "-s", "x.py"], set()),
    ],
)
def test_given_options(args, given):
    assert given_options(args) == given


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
    assert config_options(args) == {"mode"}
    options = recipe_listen_options(RECIPE)
    assert listen_args(options, args, config_options(args)) == ["--listen-host", "127.0.0.1"]
    assert config_options(["--set", f"confdir={tmp_path / 'none'}"]) == set()
    (tmp_path / "config.yaml").write_text("mode: [unclosed\n")
    assert config_options(args) == set()  # mitmproxy reports a broken config file itself


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
