"""`mitmrelay check`: reading a TARGET, and naming the step a HopError stopped at."""

from __future__ import annotations

import pytest
from mitmrelay.chain.check import Target, failed_step, parse_target
from mitmrelay.chain.errors import Failure, HopError


@pytest.mark.parametrize(
    ("text", "target"),
    [
        ("api.example:25", Target("api.example", 25, False)),
        ("tls://api.example:465", Target("api.example", 465, True)),
        ("https://api.example:8443", Target("api.example", 8443, True)),
        ("https://api.example", Target("api.example", 443, True)),
        ("HTTPS://api.example:443/", Target("api.example", 443, True)),
        ("[::1]:8080", Target("::1", 8080, False)),
        ("tls://[2001:db8::1]:443", Target("2001:db8::1", 443, True)),
    ],
)
def test_parse_target(text, target):
    assert parse_target(text) == target


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("api.example", "target 'api.example' has no port: write host:port, e.g. api.example:443"),
        ("ftp://api.example:21", "unknown scheme 'ftp'; use host:port, tls:// or https://"),
        ("https://api.example/x", "has a path: give only host:port"),
        ("api.example:0", "port '0' is not a number from 1 to 65535"),
        ("api.example:http", "port 'http' is not a number from 1 to 65535"),
        (":443", "target ':443' has no host"),
    ],
)
def test_bad_targets_say_what_is_wrong(text, fault):
    with pytest.raises(ValueError, match=None) as e:
        parse_target(text)
    assert fault in str(e.value)


def error(kind: Failure, index: int = 1, target=None, code=None) -> HopError:
    return HopError(
        kind,
        index=index,
        count=2,
        hop="socks5h://127.0.0.1:1080",
        destination=("api.example", 443),
        reason="x",
        target=target,
        code=code,
    )


@pytest.mark.parametrize(
    ("e", "step"),
    [
        (error(Failure.UNREACHABLE), "hop 1/2 socks5h://127.0.0.1:1080: address"),
        (error(Failure.AUTH_REJECTED), "hop 1/2 socks5h://127.0.0.1:1080: authentication"),
        (error(Failure.ENV_MISSING), "hop 1/2 socks5h://127.0.0.1:1080: credentials"),
        (error(Failure.TIMED_OUT), "hop 1/2 socks5h://127.0.0.1:1080: timeout"),
        (error(Failure.PROTOCOL), "hop 1/2 socks5h://127.0.0.1:1080: handshake"),
        # hop 1 could not reach hop 2; hop 2 could not reach the destination
        (
            error(Failure.REFUSED, target=("proxy.inside", 3128), code=5),
            "hop 2/2: address (through hop 1/2 socks5h://127.0.0.1:1080)",
        ),
        (error(Failure.REFUSED, index=2, code=5), "destination api.example:443"),
    ],
)
def test_failed_step(e, step):
    assert failed_step(e) == step
