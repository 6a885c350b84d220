"""Which options the user gave: the command line (flags, --set) and mitmproxy's config file."""

from __future__ import annotations

import pytest
from mitmrelay.given import given, in_args, in_config


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
