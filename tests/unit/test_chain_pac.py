"""PAC: answers as alternatives, helper functions, time bounds, DNS via Python, one error log."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest
from mitmrelay.chain import pac
from mitmrelay.chain.failover import format_alternatives


@pytest.mark.parametrize(
    ("answer", "alternatives"),
    [
        ("DIRECT", "direct"),
        ("PROXY a.corp:3128; DIRECT", "http://a.corp:3128 | direct"),
        (
            "HTTPS s.corp:443;SOCKS5 127.0.0.1:1080 ; SOCKS b:1080; SOCKS4 c:1081",
            "https://s.corp:443 | socks5h://127.0.0.1:1080 | socks4a://b:1080 | socks4a://c:1081",
        ),
        ("PROXY a.corp:3128; QUIC x:1; PROXY nopart; DIRECT", "http://a.corp:3128 | direct"),
    ],
)
def test_parse_answer(answer, alternatives):
    assert format_alternatives(pac.parse_answer(answer)) == alternatives


@pytest.mark.parametrize("answer", ["", "QUIC x:1", "PROXY", "undefined"])
def test_parse_answer_without_usable_entry(answer):
    with pytest.raises(ValueError, match="no usable entry"):
        pac.parse_answer(answer)


SCRIPT = """
function FindProxyForURL(url, host) {
  if (isInNet(host, "127.0.0.0", "255.0.0.0")) {
    return "PROXY loop.test:" + (url.indexOf(":8443") > 0 ? "8443" : "3");
  }
  if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.test")) return "DIRECT";
  if (shExpMatch(url, "https://*.api.test/*")) return "PROXY api-proxy.test:3128; DIRECT";
  if (isInNet(host, "10.0.0.0", "255.0.0.0")) return "SOCKS5 127.0.0.1:1080";
  if (dnsDomainLevels(host) > 3) return "PROXY deep.test:1";
  if (localHostOrDomainIs(host, "www.test")) return "PROXY www-proxy.test:2";
  return "PROXY default.test:3128";
}
"""


@pytest.fixture
def script():
    loaded = pac.Pac(SCRIPT, "test.pac")
    yield loaded
    loaded.close()


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("printer", 443, "direct"),
        ("wiki.intranet.test", 443, "direct"),
        ("svc.api.test", 443, "http://api-proxy.test:3128 | direct"),
        ("10.1.2.3", 443, "socks5h://127.0.0.1:1080"),
        ("a.b.c.d.test", 443, "http://deep.test:1"),
        ("localhost", 443, "http://loop.test:3"),  # a name: dnsResolve is answered from here
        ("localhost", 8443, "http://loop.test:8443"),
        ("no-such-name.invalid", 443, "http://default.test:3128"),
    ],
)
def test_find(script, host, port, expected):
    assert format_alternatives(asyncio.run(script.find(host, port))) == expected


def test_cached_answer_is_fast(script):
    async def run():
        await script.find("svc.api.test", 443)
        start = time.perf_counter()
        for _ in range(1000):
            await script.find("svc.api.test", 443)
        return (time.perf_counter() - start) / 1000

    assert asyncio.run(run()) < 0.0001


def test_date_and_time_helpers_run():
    loaded = pac.Pac(
        """function FindProxyForURL(url, host) {
             var a = weekdayRange("MON", "SUN") && timeRange(0, 24) && dateRange(1, 31);
             var b = weekdayRange("SAT", "FRI", "GMT") && dateRange("JAN", "DEC");
             return (a && b) ? "DIRECT" : "PROXY wrong:1";
           }""",
        "dates.pac",
    )
    try:
        assert asyncio.run(loaded.find("x.test", 443)) == ((),)
    finally:
        loaded.close()


def test_a_looping_script_is_stopped_and_logged_once(caplog):
    caplog.set_level(logging.WARNING)
    loaded = pac.Pac(
        "function FindProxyForURL(url, host) { while (true) {} }", "loop.pac", call_timeout_ms=50
    )
    try:
        start = time.monotonic()
        assert asyncio.run(loaded.find("a.test", 443)) is None
        assert asyncio.run(loaded.find("b.test", 443)) is None
        assert time.monotonic() - start < 2
    finally:
        loaded.close()
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "PAC loop.pac: FindProxyForURL failed: the script ran past its time bound and was stopped "
        "(for a.test:443); destinations it cannot answer use the next rule, proxy_chain "
        "(direct when empty). Logged once."
    ]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("function (", "PAC bad.pac: the script does not run: <anonymous>:1: SyntaxError"),
        ("var x = 1;", "PAC bad.pac: the script defines no function FindProxyForURL"),
        ("while (true) {}", "PAC bad.pac: the script does not run: the script ran past its time"),
    ],
)
def test_bad_scripts(source, message):
    with pytest.raises(ValueError) as info:
        pac.Pac(source, "bad.pac", call_timeout_ms=50)
    assert str(info.value).startswith(message)


def test_load_source_errors(tmp_path):
    with pytest.raises(ValueError, match=r"cannot read .*missing\.pac: No such file"):
        pac.load_source(str(tmp_path / "missing.pac"))
