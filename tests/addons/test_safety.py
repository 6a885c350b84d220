"""Unsafe settings are said out loud at start."""

from __future__ import annotations

import logging

import pytest
from mitmproxy.test import taddons
from mitmrelay.safety import SafetyWarnings, is_loopback


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
        assert caplog.text == ""
        tctx.configure(addon, ssl_insecure=True)
        assert "ssl_insecure is on: the server's TLS certificate is NOT verified" in caplog.text
        tctx.configure(addon, listen_host="")
        assert (
            "listening on all interfaces" in caplog.text
            and "--listen-host 127.0.0.1" in caplog.text
        )
