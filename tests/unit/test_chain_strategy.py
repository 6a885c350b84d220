"""Which listeners need lazy server connections so that a dead hop reaches the client as a 502."""

from __future__ import annotations

import pytest
from mitmrelay.chain.strategy import mixed, wants_lazy


@pytest.mark.parametrize(
    ("modes", "chained", "lazy"),
    [
        (["reverse:https://api.example:443@5000"], True, True),
        (["reverse:http://api.example:80"], True, True),
        (["reverse:https://api.example:443@5000"], False, False),  # no chain: nothing to name
        (["reverse:tcp://mail.example:25@2525"], True, False),  # server-first: eager
        (["reverse:tls://mail.example:465@2465"], True, False),
        (["regular"], True, False),  # regular mode reads the request first anyway
        (["reverse:https://a.example:443@5000", "reverse:http://b.example:80@5001"], True, True),
        # lazy would stall a server-first protocol on the other listener: stay eager
        (["socks5@1080", "reverse:https://a.example:443@5000"], True, False),
        (["reverse:tcp://mail.example:25@2525", "reverse:https://a.example:443"], True, False),
        (["reverse:ftp://x.example:21"], True, False),  # mitmproxy reports the bad mode itself
        ([], True, False),
    ],
)
def test_wants_lazy(modes, chained, lazy):
    assert wants_lazy(modes, chained) is lazy


def test_mixed_listeners_are_told_apart():
    assert mixed(["regular", "reverse:https://a.example:443"])
    assert not mixed(["reverse:https://a.example:443"])
    assert not mixed(["regular", "socks5"])
