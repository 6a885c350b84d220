"""How proxy_bypass, proxy_routes and proxy_chain pick a chain for a destination."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmrelay.chain.routes import build_router, parse_pattern
from mitmrelay.chain.spec import format_chain


@pytest.mark.parametrize(
    "pattern,host,port,expected",
    [
        ("*", "anything.example", 1, True),
        ("*:443", "a.example", 443, True),
        ("*:443", "a.example", 80, False),
        ("api.example", "API.example.", 443, True),
        ("api.example", "x.api.example", 443, False),
        ("*.corp.example", "a.b.corp.example", 443, True),
        ("*.corp.example", "corp.example", 443, False),
        (".corp.example", "corp.example", 443, True),
        (".corp.example", "x.corp.example", 443, True),
        (".corp.example", "xcorp.example", 443, False),
        ("10.0.0.0/8", "10.1.2.3", 80, True),
        ("10.0.0.0/8", "11.1.2.3", 80, False),
        ("10.0.0.0/8", "ten.example", 80, False),  # names are never resolved to match a CIDR
        ("192.168.1.5:8443", "192.168.1.5", 8443, True),
        ("192.168.1.5:8443", "192.168.1.5", 443, False),
        ("::1", "::1", 80, True),
        ("[::1]:443", "::1", 443, True),
        ("[::1]:443", "::1", 80, False),
        ("fe80::/10", "fe80::1", 80, True),
    ],
)
def test_pattern_matches(pattern, host, port, expected):
    assert parse_pattern(pattern).matches(host, port) is expected


@pytest.mark.parametrize(
    "pattern,message",
    [
        ("", "empty destination pattern"),
        ("host:99999", "port '99999' is not a number"),
        ("10.0.0.0/33", "is not a valid CIDR"),
        ("[::1", "write an IPv6 address with a port as [::1]:443"),
        ("ho st", "is not a host name, glob, IP or CIDR"),
    ],
)
def test_pattern_errors(pattern, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_pattern(pattern)


def test_one_rule_bypass_then_routes_then_chain():
    router = build_router(
        "socks5h://default:1080",
        ["*.internal.example", "10.0.0.0/8"],
        [
            "*.corp.example=http://corpproxy:3128",
            "partner.example:443=socks5h://a:1,http://b:2",
            "*.internal.example=http://never:1",
            "*.local=direct",
        ],
    )

    def decide(host, port=443):
        return router.decide(host, port)

    assert str(decide("db.internal.example")) == "direct (proxy_bypass *.internal.example)"
    assert str(decide("10.2.3.4")) == "direct (proxy_bypass 10.0.0.0/8)"
    assert str(decide("www.corp.example")) == "via http://corpproxy:3128"
    assert decide("www.corp.example").rule == "proxy_routes[1] *.corp.example"
    assert [format_chain(c) for c in decide("partner.example").chain] == [
        "socks5h://a:1,http://b:2"
    ]
    assert str(decide("partner.example", 80)) == "via socks5h://default:1080"
    assert str(decide("printer.local")) == "direct (proxy_routes[4] *.local)"
    assert decide("anything.else").rule == "proxy_chain"


def test_alternatives_in_proxy_chain_and_routes():
    router = build_router("http://a:1 | direct", [], ["*.x=socks5h://b:2 | http://c:3"])
    assert str(router.decide("h.x", 443)) == "via socks5h://b:2 | http://c:3"
    assert str(router.decide("other", 443)) == "via http://a:1 | direct"
    assert len(router.decide("other", 443).chain) == 2


def test_nothing_configured_is_direct_and_disabled():
    router = build_router("", [], [])
    assert not router.enabled
    assert router.decide("a", 1).direct
    assert build_router("", [], ["*.x=socks5://h:1"]).enabled


@pytest.mark.parametrize(
    "chain,bypass,routes,message",
    [
        (
            "sock5://h:1",
            [],
            [],
            "proxy_chain 'sock5://h:1': unknown scheme 'sock5' (did you mean 'socks5'?)",
        ),
        ("", ["10.0.0.0/40"], [], "proxy_bypass entry 1 '10.0.0.0/40'"),
        ("", [], ["*.corp"], "proxy_routes entry 1 '*.corp': missing '=': write PATTERN=CHAIN"),
        (
            "",
            [],
            ["a=direct", "*.corp="],
            "proxy_routes entry 2 '*.corp=': nothing after '=': write a proxy URL or 'direct'",
        ),
        ("", [], ["*.corp=htp://u:secret@h:1"], "unknown scheme 'htp' (did you mean 'http'?)"),
    ],
)
def test_build_errors_name_the_option_and_entry(chain, bypass, routes, message):
    with pytest.raises(ValueError) as e:
        build_router(chain, bypass, routes)
    assert message in str(e.value)
    assert "secret" not in str(e.value)


@given(st.text(), st.text(), st.integers(0, 70000))
def test_patterns_never_raise_anything_but_value_error(pattern, host, port):
    try:
        parsed = parse_pattern(pattern)
    except ValueError:
        return
    assert parsed.matches(host, port) in (True, False)
