"""Unsafe settings are said out loud at start."""

from __future__ import annotations

import logging

import pytest
from mitmproxy.test import taddons
from mitmrelay.safety import SafetyWarnings, exposed, is_loopback


@pytest.mark.parametrize(
    "host,local",
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("127.1.2.3", True),
        ("", False),
        ("0.0.0.0", False),
        ("192.168.1.2", False),
        ("example.org", False),
    ],
)
def test_is_loopback(host, local):
    assert is_loopback(host) is local


def test_warnings(caplog):
    caplog.set_level(logging.WARNING)
    addon = SafetyWarnings()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, listen_host="127.0.0.1", ssl_insecure=False)
        addon.running()
        assert caplog.text == ""
        tctx.configure(addon, ssl_insecure=True)
        assert "ssl_insecure is on: the server's TLS certificate is NOT verified" in caplog.text
        tctx.configure(addon, listen_host="")
        assert (
            "listening on all interfaces" in caplog.text
            and "--listen-host 127.0.0.1" in caplog.text
        )


@pytest.mark.parametrize(
    ("modes", "listen_host", "warned"),
    [
        (["regular"], "", ["all interfaces (regular)"]),
        (["regular"], "127.0.0.1", []),
        # the mode's own address is the one listened on, whatever listen_host says
        (["reverse:https://api.example:443@127.0.0.1:5000"], "", []),
        (
            ["reverse:https://api.example:443@0.0.0.0:5000"],
            "127.0.0.1",
            ["'0.0.0.0' (reverse:https://api.example:443@0.0.0.0:5000)"],
        ),
        (
            ["reverse:https://api.example:443@5000"],
            "",
            ["all interfaces (reverse:https://api.example:443@5000)"],
        ),
        (["socks5@127.0.0.1:1080", "regular@8080"], "", ["all interfaces (regular@8080)"]),
        (["local"], "", []),  # no listener at all
    ],
)
def test_exposed_judges_the_address_listened_on(modes, listen_host, warned):
    assert exposed(modes, listen_host) == warned


def test_listen_warning_waits_for_the_final_options(caplog):
    """Options a recipe applies after the start decide; the warning comes once they are final."""
    caplog.set_level(logging.WARNING)
    addon = SafetyWarnings()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, listen_host="")  # before the recipe applied its listen_host
        tctx.configure(addon, listen_host="127.0.0.1")
        addon.running()
        assert "listening on" not in caplog.text
        tctx.configure(addon, mode=["reverse:https://api.example:443@0.0.0.0:5000"])
        assert (
            "listening on '0.0.0.0' (reverse:https://api.example:443@0.0.0.0:5000)" in caplog.text
        )
