"""Which options the user gave: the command line (flags, --set) and mitmproxy's config file."""

from __future__ import annotations

import pytest
from mitmrelay.given import by_user, command_line, given, in_args, in_config


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ([], set()),
        (["--set", "connection_strategy=eager"], {"connection_strategy"}),
        (["--set=connection_strategy=eager"], {"connection_strategy"}),
        (["--mode", "regular@9090"], {"mode"}),
        (["-m", "socks5", "-p9"], {"mode", "listen_port"}),
        (["--mode=socks5", "--listen-host", "::1"], {"mode", "listen_host"}),
        (["-k", "--flow-detail", "3"], {"ssl_insecure", "flow_detail"}),
        # a value that merely contains a name is not that option
        (["-s", "connection_strategy.py", "--set", "proxy_chain=x"], {"proxy_chain"}),
    ],
)
def test_in_args(args, named):
    assert in_args(args) == named


def test_in_config_reads_config_yaml_and_yml(tmp_path):
    assert in_config(tmp_path) == set()
    (tmp_path / "config.yaml").write_text("# connection_strategy is eager by default\nmode: [x]\n")
    (tmp_path / "config.yml").write_text("connection_strategy: eager\n")
    assert in_config(tmp_path) == {"mode", "connection_strategy"}
    (tmp_path / "config.yaml").write_text("mode: [unclosed\n")
    assert in_config(tmp_path) == {"connection_strategy"}  # mitmproxy reports the broken one


def test_given_uses_the_confdir_the_arguments_name(tmp_path):
    (tmp_path / "config.yaml").write_text("ssl_insecure: true\n")
    assert given(["--set", f"confdir={tmp_path}", "-p", "1"]) == {
        "confdir",
        "listen_port",
        "ssl_insecure",
    }


def test_by_user_while_mitmproxy_runs(tmp_path):
    from mitmproxy.options import Options

    (tmp_path / "config.yaml").write_text("listen_host: ''\n")  # the default, written out
    manager = Options()
    manager.update(confdir=str(tmp_path), mode=["socks5"])  # changed from the default
    manager.update_defer(proxy_chain="")  # an addon's option, given before its addon loads
    args = ["--set", "connection_strategy=eager", "-p", "8080"]  # both their defaults
    named = {"confdir", "mode", "proxy_chain", "connection_strategy", "listen_port", "listen_host"}
    assert by_user(manager, args) == named
    assert by_user(Options(), []) == set()


def test_by_user_reads_no_command_line_of_another_program(monkeypatch):
    from mitmproxy.options import Options

    monkeypatch.setattr("sys.argv", ["pytest", "-p", "no:cacheprovider"])
    assert command_line() == [] and by_user(Options()) == set()
    monkeypatch.setattr("sys.argv", ["/venv/bin/mitmdump", "-p", "8080"])
    assert "listen_port" in by_user(Options())
    monkeypatch.setattr("sys.argv", ["/src/mitmrelay/__main__.py", "run", "x", "-p", "1"])
    assert command_line() == ["run", "x", "-p", "1"]
