"""PAC: answers as alternatives, helper functions, DNS via Python, one error log; the worker
process: its bounds, its deaths, and starts and calls from many threads and event loops."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import signal
import threading
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
        ("function (", "PAC bad.pac: the script does not run: SyntaxError"),
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


def test_the_script_runs_in_a_worker_process(script):
    assert script.worker_pid not in (None, os.getpid())
    os.kill(script.worker_pid, 0)  # alive
    pid = script.worker_pid
    script.close()
    with pytest.raises(ProcessLookupError):  # closing ends it
        for _ in range(100):
            os.kill(pid, 0)
            time.sleep(0.02)


# Busy for a while on slow.test, so that the worker can be killed while a lookup is under way.
SLOW = """
function FindProxyForURL(url, host) {
  if (host == "slow.test") { var end = Date.now() + 5000; while (Date.now() < end) {} }
  return "PROXY " + host + ":3128";
}
"""


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGSEGV], ids=["SIGKILL", "SIGSEGV"])
def test_a_worker_killed_during_a_lookup(how, caplog):
    caplog.set_level(logging.WARNING)
    loaded = pac.Pac(SLOW, "slow.pac", call_timeout_ms=10_000)
    try:

        async def run():
            first = loaded.worker_pid
            lookup = asyncio.ensure_future(loaded.find("slow.test", 443))
            await asyncio.sleep(0.5)
            os.kill(first, how)
            assert await asyncio.wait_for(lookup, 5) is None  # the next rule for this one
            assert format_alternatives(await loaded.find("a.test", 443)) == "http://a.test:3128"
            assert loaded.worker_pid not in (None, first)  # a new worker answered
            assert format_alternatives(await loaded.find("b.test", 443)) == "http://b.test:3128"

        asyncio.run(run())
    finally:
        loaded.close()
    assert [r.getMessage() for r in caplog.records] == [
        f"PAC slow.pac: the PAC worker process died ({how.name}) (for slow.test:443); this "
        "connection uses the next rule, proxy_chain (direct when empty), and a new worker "
        "answers the next lookup. Logged once until the PAC answers again."
    ]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("while (true) {}", "the script ran past its time bound and was stopped"),
        ("var a = []; while (true) { a.push('x' + a.length); }", "the script used more than"),
        ("function r(n) { return r(n + 1) + 1; } return r(0);", "the script recursed too deep"),
        (
            "return 'DIRECT;' + ' '.repeat(1 << 20);",
            "the script gave an answer longer than 256 KiB",
        ),
    ],
    ids=["loop", "allocation", "recursion", "huge answer"],
)
def test_hostile_scripts_are_stopped_and_the_next_call_works(body, reason, caplog, monkeypatch):
    # The engine's bound counts the worker's CPU time; on a busy machine its wall time runs ahead
    # and the watchdog (tested below) would stop the loop first: here only the engine's bound.
    monkeypatch.setattr(pac, "LATE_SECONDS", 30.0)
    caplog.set_level(logging.WARNING)
    loaded = pac.Pac(
        "function FindProxyForURL(url, host) {\n"
        f'  if (host == "bad.test") {{ {body} }}\n'
        '  return "DIRECT";\n'
        "}",
        "hostile.pac",
        call_timeout_ms=1000,
    )
    try:
        assert asyncio.run(loaded.find("bad.test", 443)) is None
        assert asyncio.run(loaded.find("good.test", 443)) == ((),)
    finally:
        loaded.close()
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith(f"PAC hostile.pac: FindProxyForURL failed: {reason}")


def test_a_worker_stuck_outside_the_engine_is_killed_from_outside(caplog):
    """The engine's own time bound aside: a worker that does not answer in time is killed, and
    that is the worker's failure, not the script's answer: the destination is asked again."""
    caplog.set_level(logging.WARNING)
    loaded = pac.Pac('function FindProxyForURL(u, h) { return "DIRECT"; }', "stuck.pac")
    try:
        first = loaded.worker_pid
        os.kill(first, signal.SIGSTOP)  # neither answers nor dies
        start = time.monotonic()
        assert asyncio.run(loaded.find("a.test", 443)) is None
        assert time.monotonic() - start < 2 * pac.CALL_TIMEOUT_MS / 1000 + pac.LATE_SECONDS + 2
        with pytest.raises(ProcessLookupError):
            for _ in range(100):
                os.kill(first, 0)
                time.sleep(0.02)
        assert asyncio.run(loaded.find("a.test", 443)) == ((),)  # not cached: asked again
    finally:
        loaded.close()
    [message] = [r.getMessage() for r in caplog.records]
    assert message.startswith(
        "PAC stuck.pac: the PAC worker did not answer within its time bound and was killed"
    )


def test_close_does_not_wait_for_a_lookup_under_way(caplog):
    """close() runs on mitmproxy's event loop when proxy_pac changes: it must not wait."""
    caplog.set_level(logging.WARNING)
    loaded = pac.Pac(SLOW, "slow.pac", call_timeout_ms=10_000)

    async def run():
        lookup = asyncio.ensure_future(loaded.find("slow.test", 443))
        await asyncio.sleep(0.3)
        start = time.monotonic()
        loaded.close()
        assert time.monotonic() - start < 0.5
        assert await asyncio.wait_for(lookup, 5) is None

    asyncio.run(run())
    assert caplog.records == []  # a closed PAC has nothing to report


def test_starts_and_calls_from_many_threads_and_event_loops():
    """What crashed an embedded V8 on CPUs with memory protection keys: engines made and called
    on new threads, each with an event loop of its own, again and again."""

    def one(n: int) -> list[str]:
        loaded = pac.Pac(
            f'function FindProxyForURL(u, h) {{ return "PROXY " + h + ":{n}"; }}', f"{n}.pac"
        )
        try:
            return [
                format_alternatives(asyncio.run(loaded.find(f"h{i}.test", 443))) for i in range(3)
            ]
        finally:
            loaded.close()

    for round_ in range(3):
        ports = range(1000 + round_ * 4, 1004 + round_ * 4)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(one, ports))
        assert answers == [[f"http://h{i}.test:{n}" for i in range(3)] for n in ports]
    assert threading.active_count() < 10  # no thread left behind by the closed scripts
