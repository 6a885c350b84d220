"""Proxy-Authenticate parsing, scheme ranking and RFC 7616 Digest responses."""

from __future__ import annotations

import asyncio
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmrelay.chain import proxyauth
from mitmrelay.chain.proxyauth import Challenge, Credentials, parse_challenges


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["NTLM"], [Challenge("ntlm")]),
        (["Negotiate", "NTLM"], [Challenge("negotiate"), Challenge("ntlm")]),
        (["NTLM TlRMTVNTUAACAAAA=="], [Challenge("ntlm", token68="TlRMTVNTUAACAAAA==")]),
        (
            ['Basic realm="corp, inc"'],
            [Challenge("basic", params={"realm": "corp, inc"})],
        ),
        (
            [
                'Digest realm="r", nonce="n,1", qop="auth,auth-int", algorithm=SHA-256, '
                "Basic realm=x"
            ],
            [
                Challenge(
                    "digest",
                    params={
                        "realm": "r",
                        "nonce": "n,1",
                        "qop": "auth,auth-int",
                        "algorithm": "SHA-256",
                    },
                ),
                Challenge("basic", params={"realm": "x"}),
            ],
        ),
        (
            ['Basic realm="a \\"quoted\\" name"'],
            [Challenge("basic", params={"realm": 'a "quoted" name'})],
        ),
        (["", " , "], []),
    ],
)
def test_parse_challenges(headers, expected):
    assert parse_challenges(headers) == expected


@given(st.lists(st.text(max_size=80), max_size=4))
def test_parse_challenges_never_raises(headers):
    for challenge in parse_challenges(headers):
        assert challenge.scheme == challenge.scheme.lower()


def test_rank_strongest_first():
    offers = parse_challenges(
        [
            "Basic realm=x",
            'Digest realm=x, nonce="1"',
            'Digest realm=x, nonce="2", algorithm=SHA-256',
            "NTLM",
            "Negotiate",
            "Bearer",
        ]
    )
    ranked = [(c.scheme, c.params.get("algorithm")) for c in proxyauth.rank(offers)]
    assert ranked == [
        ("negotiate", None),
        ("ntlm", None),
        ("digest", "SHA-256"),
        ("digest", None),
        ("basic", None),
    ]


# RFC 7616 §3.9.1: the same request answered with MD5 and with SHA-256.
RFC7616 = dict(
    username="Mufasa",
    password="Circle of Life",
    realm="http-auth@example.org",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    uri="/dir/index.html",
    method="GET",
    qop="auth",
    nc=1,
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
)


@pytest.mark.parametrize(
    ("algorithm", "response"),
    [
        ("MD5", "8ca523f5e9506fed4657c9700eebdbec"),
        ("SHA-256", "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"),
    ],
)
def test_digest_rfc7616_example(algorithm, response):
    assert proxyauth.digest_response(**RFC7616, algorithm=algorithm) == response


def test_digest_answers_once_per_nonce_and_again_when_stale():
    digest = proxyauth.Digest(Credentials("bob", "pw", "proxy"), "example.org:443")
    challenge = Challenge("digest", params={"realm": "r", "nonce": "n1", "qop": "auth"})
    first = asyncio.run(digest.respond(challenge))
    assert first is not None and first.startswith("Digest ") and "pw" not in first
    assert 'uri="example.org:443"' in first and "nc=00000001" in first
    assert asyncio.run(digest.respond(challenge)) is None  # same nonce again: password rejected
    stale = Challenge(
        "digest", params={"realm": "r", "nonce": "n2", "qop": "auth", "stale": "true"}
    )
    again = asyncio.run(digest.respond(stale))
    assert again is not None and "nc=00000002" in again


@pytest.mark.parametrize("scheme", ["basic", "digest", "ntlm"])
def test_password_schemes_need_a_password(scheme):
    with pytest.raises(proxyauth.AuthUnavailable, match="user:password@"):
        proxyauth.make(scheme, Credentials(None, None, "proxy"), "h:443")


@pytest.fixture
def no_gssapi(monkeypatch):
    """pyspnego's Kerberos backend as a plain install lacks it: `import gssapi` fails."""
    monkeypatch.setitem(sys.modules, "gssapi", None)


def test_kerberos_is_there_with_the_extra_and_on_windows(monkeypatch):
    assert proxyauth.kerberos_missing() is None  # the test venvs install the extra
    monkeypatch.setitem(sys.modules, "gssapi", None)
    assert proxyauth.kerberos_missing("win32") is None  # SSPI


@pytest.mark.parametrize(
    ("platform", "needs"),
    [
        ("linux", "libkrb5-dev gcc python3-dev on Debian/Ubuntu, krb5-devel gcc python3-devel"),
        ("darwin", "macOS's own Kerberos: nothing else to install"),
    ],
)
def test_kerberos_missing_names_the_extra_and_what_the_build_needs(no_gssapi, platform, needs):
    text = proxyauth.kerberos_missing(platform)
    assert text is not None
    assert text.startswith("Kerberos support is not installed (pyspnego has no GSSAPI backend)")
    assert "pipx install --force '.[kerberos]'" in text and "pip install '.[kerberos]'" in text
    assert needs in text and "kinit" not in text


@pytest.mark.parametrize(
    ("username", "password", "start"),
    [
        (None, None, "Kerberos support is not installed"),
        ("alice@CORP.EXAMPLE", "pw", "NTLM could not use the hop's credentials here, and Kerberos"),
    ],
)
def test_negotiate_without_the_backend_never_says_kinit(no_gssapi, username, password, start):
    negotiate = proxyauth.Negotiate(Credentials(username, password, "proxy"))
    why = negotiate._why(Exception())
    assert why.startswith(start) and "'.[kerberos]'" in why and "kinit" not in why
    assert negotiate.rejected_note().startswith("; only NTLM could be offered: Kerberos support")


def test_negotiate_with_the_backend_and_no_ticket_says_kinit():
    negotiate = proxyauth.Negotiate(Credentials(None, None, "proxy"))
    assert negotiate._why(Exception()).startswith("we have no Kerberos ticket (run kinit")
    assert negotiate.rejected_note() == ""
