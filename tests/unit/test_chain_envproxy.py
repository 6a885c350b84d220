"""proxy_from_env: which variable applies to which destination, and NO_PROXY as curl matches it."""

from __future__ import annotations

import pytest
from mitmrelay.chain.envproxy import from_environ, normalize, parse_no_proxy
from mitmrelay.chain.spec import format_chain


@pytest.mark.parametrize(
    ("url", "hop"),
    [
        ("proxy.corp:3128", "http://proxy.corp:3128"),
        ("http://proxy.corp", "http://proxy.corp:1080"),
        ("https://proxy.corp/", "https://proxy.corp:443"),
        ("socks5h://127.0.0.1", "socks5h://127.0.0.1:1080"),
        ("http://u:p%40ss@proxy.corp:8080", "http://u:p%40ss@proxy.corp:8080"),
    ],
)
def test_normalize(url, hop):
    assert normalize(url) == hop


def decide(environ, host, port):
    found = from_environ(environ).decide(host, port)
    return None if found is None else (format_chain(found[0]), found[1])


def test_variables_per_destination():
    env = {
        "HTTPS_PROXY": "http://secure.corp:3128",
        "http_proxy": "plain.corp:8080",
        "ALL_PROXY": "socks5h://127.0.0.1:1080",
    }
    assert decide(env, "api.example", 443) == ("http://secure.corp:3128", "HTTPS_PROXY")
    assert decide(env, "api.example", 8443) == ("http://secure.corp:3128", "HTTPS_PROXY")
    assert decide(env, "api.example", 80) == ("http://plain.corp:8080", "http_proxy")
    assert decide({"ALL_PROXY": "socks5h://127.0.0.1:1080"}, "api.example", 80) == (
        "socks5h://127.0.0.1:1080",
        "ALL_PROXY",
    )
    assert decide({}, "api.example", 443) is None


def test_lower_case_wins_and_upper_case_http_proxy_is_ignored():
    env = {"https_proxy": "http://lower:1", "HTTPS_PROXY": "http://upper:2", "HTTP_PROXY": "x:3"}
    assert decide(env, "h", 443) == ("http://lower:1", "https_proxy")
    assert decide(env, "h", 80) is None


@pytest.mark.parametrize(
    ("no_proxy", "host", "bypassed"),
    [
        ("corp.example", "corp.example", True),
        ("corp.example", "api.corp.example", True),
        (".corp.example", "corp.example", True),
        ("corp.example", "notcorp.example", False),
        ("corp.example", "corp.example.", True),
        ("CORP.example", "Api.Corp.Example", True),
        ("*", "anything", True),
        ("a.test, b.test", "x.b.test", True),
        ("a.test b.test", "b.test", True),
        ("10.0.0.0/8", "10.1.2.3", True),
        ("10.0.0.0/8", "11.1.2.3", False),
        ("10.1.2.3", "10.1.2.3", True),
        ("::1", "[::1]", True),
        ("10.0.0.0/8", "ten.example", False),  # names are never resolved to match an address
        ("*.corp.example", "api.corp.example", False),  # curl has no globs
    ],
)
def test_no_proxy_like_curl(no_proxy, host, bypassed):
    assert parse_no_proxy(no_proxy).matches(host) is bypassed


def test_no_proxy_sends_direct():
    env = {"HTTPS_PROXY": "http://p:3128", "no_proxy": "internal.example"}
    assert decide(env, "svc.internal.example", 443) == ("direct", "NO_PROXY")


def test_bad_variable_is_named_and_masked():
    with pytest.raises(ValueError) as info:
        from_environ({"HTTPS_PROXY": "ftp://u:secret@p:21"})
    assert "secret" not in str(info.value)
    assert str(info.value).startswith(
        "proxy_from_env: HTTPS_PROXY='ftp://u:***@p:21': unknown scheme"
    )


@pytest.mark.parametrize("password", ["xq#zz", "xq/zz", "xq?zz"])
def test_a_password_read_as_a_port_is_not_quoted(password):
    with pytest.raises(ValueError) as info:
        from_environ({"https_proxy": f"http://alice:{password}@envproxy.corp:3128"})
    shown = str(info.value)
    assert "xq" not in shown and "zz" not in shown
    assert shown.endswith(
        "the port is not a number (percent-encode '#', '/' and '?' in a password)"
    )
