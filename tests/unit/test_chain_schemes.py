"""The scheme table: what each proxy scheme means; the README's "Hop URLs" table is made from it."""

from __future__ import annotations

import peers
import pytest
from mitmrelay.chain.schemes import NAMES, SCHEMES, Credentials, Handshake, readme_rows
from mitmrelay.chain.spec import parse_chain


def test_the_readme_hop_url_table_is_the_scheme_table():
    readme = (peers.REPO / "docs" / "chains.md").read_text()
    table = readme.split("**Hop URLs.**", 1)[1].split("\n\n", 2)[1].splitlines()
    assert table[:2] == [
        "| scheme | proxy | who resolves the destination's name |",
        "|---|---|---|",
    ]
    assert sorted(table[2:]) == sorted(readme_rows())


@pytest.mark.parametrize("name", ["http", "https"])
def test_the_http_rows_name_every_proxy_auth_scheme_the_hops_speak(name):
    from mitmrelay.chain.proxyauth import SCHEMES as AUTH
    from mitmrelay.chain.proxyauth import display

    words = SCHEMES[name].proxy
    assert [scheme for scheme in AUTH if display(scheme).lower() not in words.lower()] == []


def test_unknown_scheme_message_lists_the_table_in_order():
    with pytest.raises(ValueError) as e:
        parse_chain("ftp://h:1")
    assert str(e.value) == f"unknown scheme 'ftp'; use one of {', '.join(NAMES)}"
    assert NAMES == ("socks4", "socks4a", "socks5", "socks5h", "http", "https")


@pytest.mark.parametrize(
    "scheme,handshake,remote_dns,tls,credentials",
    [
        ("socks4", Handshake.SOCKS4, False, False, Credentials.USER_ID),
        ("socks4a", Handshake.SOCKS4, True, False, Credentials.USER_ID),
        ("socks5", Handshake.SOCKS5, False, False, Credentials.USER_AND_PASSWORD),
        ("socks5h", Handshake.SOCKS5, True, False, Credentials.USER_AND_PASSWORD),
        ("http", Handshake.HTTP_CONNECT, True, False, Credentials.USER_AND_PASSWORD),
        ("https", Handshake.HTTP_CONNECT, True, True, Credentials.USER_AND_PASSWORD),
    ],
)
def test_scheme_facts_and_parsed_hops_read_them(scheme, handshake, remote_dns, tls, credentials):
    kind = SCHEMES[scheme]
    assert (kind.handshake, kind.remote_dns, kind.tls, kind.credentials) == (
        handshake,
        remote_dns,
        tls,
        credentials,
    )
    (hop,) = parse_chain(f"{scheme}://h:1")
    assert hop.kind is kind and (hop.remote_dns, hop.tls) == (remote_dns, tls)


@pytest.mark.parametrize("scheme", NAMES)
def test_credentials_each_scheme_accepts(scheme):
    if SCHEMES[scheme].credentials is Credentials.USER_ID:
        accepted, refused, message = "u@h:1", "u:p@h:1", "has a user ID but no password"
    else:
        accepted, refused, message = "u:p@h:1", "u@h:1", "a user name needs a password"
    assert parse_chain(f"{scheme}://{accepted}")[0].username == "u"
    with pytest.raises(ValueError) as e:
        parse_chain(f"{scheme}://{refused}")
    assert message in str(e.value)
