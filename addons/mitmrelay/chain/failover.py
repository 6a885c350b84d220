"""Alternatives: `A | B | direct`, each a chain, tried in order until one carries the connection.

    http://proxy1.corp:3128 | socks5h://127.0.0.1:1080,http://proxy2.corp:3128 | direct

All alternatives share one deadline (proxy_connect_timeout): each try gets an equal share of the
time left, so a proxy that swallows packets cannot use up the time of the ones after it. An
alternative that failed is skipped for a cool-down, logged once when it goes down and once when it
carries a connection again; when every alternative is cooling down they are all tried anyway, in
order, since refusing outright would help nobody.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from .spec import Chain, format_chain, mask, parse_chain

logger = logging.getLogger(__name__)

T = TypeVar("T")
Alternatives = tuple[Chain, ...]

COOL_DOWN = 30.0  # seconds an alternative that failed is skipped


def parse_alternatives(text: str) -> Alternatives:
    """Parse `A | B | direct`; a value without `|` is one alternative (empty: direct)."""
    parts = text.split("|")
    if len(parts) == 1 and text.strip().lower() != "direct":
        return (parse_chain(text),)
    alternatives: list[Chain] = []
    for n, part in enumerate(parts, start=1):
        if not part.strip():
            raise ValueError(f"alternative {n} is empty: write a chain or 'direct' between the '|'")
        if part.strip().lower() == "direct":
            alternatives.append(())
            continue
        try:
            alternatives.append(parse_chain(part))
        except ValueError as e:
            raise ValueError(f"alternative {n} {mask(part.strip())!r}: {e}") from None
    return tuple(alternatives)


def format_alternatives(alternatives: Alternatives) -> str:
    return " | ".join(format_chain(chain) for chain in alternatives)


class AllFailed(OSError):
    """Every alternative failed; `errors` holds each one's exception, in order."""

    def __init__(self, alternatives: Alternatives, errors: list[BaseException]) -> None:
        self.errors = errors
        tried = "; ".join(
            f"{format_chain(chain)}: {error}"
            for chain, error in zip(alternatives, errors, strict=False)
        )
        super().__init__(f"every proxy alternative failed: {tried}")


class Failover:
    """Tries alternatives in order, skipping those that failed lately; the clock is passed in."""

    def __init__(
        self, cool_down: float = COOL_DOWN, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.cool_down = cool_down
        self.clock = clock
        self._down_until: dict[str, float] = {}

    def order(self, alternatives: Alternatives) -> list[int]:
        """Indices to try: alternatives not cooling down first, the others after them."""
        now = self.clock()
        up = [i for i, c in enumerate(alternatives) if self._down_until.get(_key(c), 0) <= now]
        return up + [i for i in range(len(alternatives)) if i not in up]

    def cooling(self, chain: Chain) -> float:
        """Seconds the alternative is still tried last after a failure (0: it is not)."""
        return max(0.0, self._down_until.get(_key(chain), 0) - self.clock())

    def failed(self, chain: Chain, error: BaseException) -> None:
        key = _key(chain)
        if key not in self._down_until:
            logger.warning(
                f"proxy alternative {key} is down ({error}); "
                f"trying the next ones first for {self.cool_down:g} s"
            )
        self._down_until[key] = self.clock() + self.cool_down

    def succeeded(self, chain: Chain) -> None:
        if self._down_until.pop(_key(chain), None) is not None:
            logger.warning(f"proxy alternative {_key(chain)} is back")

    async def connect(
        self,
        alternatives: Alternatives,
        attempt: Callable[[Chain, float], Awaitable[T]],
        timeout: float,
    ) -> tuple[T, int]:
        """attempt(chain, seconds) for each alternative in turn; the first result and its index.

        Raises AllFailed (an OSError) with each alternative's error when none worked.
        """
        deadline = self.clock() + timeout
        order = self.order(alternatives)
        errors: dict[int, BaseException] = {}
        for position, index in enumerate(order):
            left = deadline - self.clock()
            if left <= 0:
                errors[index] = TimeoutError("no time left (proxy_connect_timeout)")
                continue
            # The first share from the timeout itself: one alternative gets exactly all of it.
            share = timeout / len(order) if position == 0 else left / (len(order) - position)
            try:
                result = await attempt(alternatives[index], share)
            except OSError as e:
                errors[index] = e
                if len(alternatives) > 1:
                    self.failed(alternatives[index], e)
                continue
            self.succeeded(alternatives[index])
            return result, index
        if len(alternatives) == 1:
            raise errors[0]
        raise AllFailed(alternatives, [errors[i] for i in range(len(alternatives))])


def _key(chain: Chain) -> str:
    return format_chain(chain)
