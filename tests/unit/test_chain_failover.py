"""Alternatives: parsing, order under cool-down, one shared deadline, logged once down and back."""

from __future__ import annotations

import asyncio
import logging

import pytest
from mitmrelay.chain.failover import AllFailed, Failover, parse_alternatives
from mitmrelay.chain.spec import parse_chain

A, B = "http://a.test:3128", "socks5h://b.test:1080,http://c.test:3128"


def test_parse_alternatives():
    assert parse_alternatives(f"{A} | {B} | direct") == (parse_chain(A), parse_chain(B), ())
    assert parse_alternatives(A) == (parse_chain(A),)
    assert parse_alternatives("") == ((),)
    assert parse_alternatives("DIRECT") == ((),)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{A} | | direct", "alternative 2 is empty: write a chain or 'direct' between the '|'"),
        (
            f"{A} | http://u:secret@b.test",
            "alternative 2 'http://u:***@b.test': hop 'http://u:***@b.test' has no port: "
            "add one, e.g. http://b.test:3128",
        ),
    ],
)
def test_parse_alternatives_errors(text, message):
    with pytest.raises(ValueError) as info:
        parse_alternatives(text)
    assert str(info.value) == message


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(failover, alternatives, dead, timeout=9.0):
    shares = []

    async def attempt(chain, seconds):
        shares.append((chain, seconds))
        if chain in dead:
            raise ConnectionRefusedError(f"{chain[0].host if chain else 'direct'} refused")
        return "streams"

    result = asyncio.run(failover.connect(alternatives, attempt, timeout))
    return result, shares


def test_dead_first_alternative_then_cool_down_then_back(caplog):
    caplog.set_level(logging.WARNING)
    clock = Clock()
    failover = Failover(cool_down=30, clock=clock)
    alternatives = parse_alternatives(f"{A} | {B} | direct")
    dead = {alternatives[0]}
    (result, index), shares = run(failover, alternatives, dead)
    assert (result, index) == ("streams", 1)
    assert [chain for chain, _ in shares] == [alternatives[0], alternatives[1]]
    assert shares[0][1] == pytest.approx(3.0)  # a third of the deadline for the first of three
    # Cooling down: the dead one is not tried, nor logged again.
    (_, index), shares = run(failover, alternatives, dead)
    assert index == 1 and [chain for chain, _ in shares] == [alternatives[1]]
    clock.now += 31  # cool-down over: tried again, still dead, still not logged again
    (_, index), _ = run(failover, alternatives, dead)
    assert index == 1
    clock.now += 31
    (_, index), _ = run(failover, alternatives, set())
    assert index == 0
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        "proxy alternative http://a.test:3128 is down (a.test refused); "
        "trying the next ones first for 30 s",
        "proxy alternative http://a.test:3128 is back",
    ]


def test_every_alternative_down():
    alternatives = parse_alternatives(f"{A} | direct")
    with pytest.raises(AllFailed) as info:
        run(Failover(clock=Clock()), alternatives, set(alternatives))
    assert str(info.value) == (
        "every proxy alternative failed: http://a.test:3128: a.test refused; direct: direct refused"
    )


def test_one_alternative_raises_its_own_error_and_is_not_cooled():
    failover = Failover(clock=Clock())
    alternatives = parse_alternatives(A)
    with pytest.raises(ConnectionRefusedError):
        run(failover, alternatives, set(alternatives))
    assert failover.order(alternatives) == [0]
