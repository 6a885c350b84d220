"""HopError: fields first, and the text users see in a 502 body or a log line made from them."""

from __future__ import annotations

import pytest
from mitmrelay.chain.errors import Failure, HopError

HOP = "socks5h://alice:***@127.0.0.1:1080"


@pytest.mark.parametrize(
    "kind,reason,target,code,text",
    [
        (
            Failure.UNREACHABLE,
            "Connection refused",
            None,
            None,
            f"proxy hop 2/3 {HOP} is not reachable: Connection refused",
        ),
        (
            Failure.TIMED_OUT,
            "within 10 s (proxy_connect_timeout)",
            ("next.proxy", 3128),
            None,
            f"proxy hop 2/3 {HOP} did not complete its part of the connection to "
            "api.example:443 within 10 s (proxy_connect_timeout)",
        ),
        (
            Failure.REFUSED,
            "Connection refused by destination host",
            ("next.proxy", 3128),
            5,
            f"proxy hop 2/3 {HOP} refused the connection to next.proxy:3128: "
            "Connection refused by destination host",
        ),
        (
            Failure.AUTH_REJECTED,
            "Username and password authentication failure",
            ("next.proxy", 3128),
            None,
            f"proxy hop 2/3 {HOP} failed the connection to next.proxy:3128: "
            "Username and password authentication failure",
        ),
        (
            Failure.AUTH_REJECTED,
            "407 Proxy Authentication Required",
            None,
            407,
            f"proxy hop 2/3 {HOP} refused the connection to api.example:443: "
            "407 Proxy Authentication Required",
        ),
        (
            Failure.ENV_MISSING,
            "environment variable PW is not set; export it before starting mitmproxy",
            None,
            None,
            f"proxy hop 2/3 {HOP}: environment variable PW is not set; export it before "
            "starting mitmproxy",
        ),
    ],
)
def test_text_is_made_from_the_fields(kind, reason, target, code, text):
    error = HopError(
        kind,
        index=2,
        count=3,
        hop=HOP,
        destination=("api.example", 443),
        reason=reason,
        target=target,
        code=code,
    )
    assert isinstance(error, OSError)  # mitmproxy catches only OSError around the connect
    assert str(error) == text
    assert (error.kind, error.index, error.count, error.hop, error.code) == (kind, 2, 3, HOP, code)
    assert error.target == (target or ("api.example", 443))
