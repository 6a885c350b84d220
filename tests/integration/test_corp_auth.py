"""The CONNECT exchange with authentication against a real squid: Basic, Digest, NTLM and Negotiate
(a real MIT KDC on 127.0.0.1), driven over a real TCP connection to the proxy."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import corp_peers
import peers
import pytest
from corp_peers import REALM, USER, USER_PASSWORD
from mitmrelay.chain.connector import http_connect
from mitmrelay.chain.protocols import AuthRejected, AuthUnsupported, ProxyFailure
from mitmrelay.chain.proxyauth import Credentials

BOB, BOB_PASSWORD = "bob", "basic-secret-9x"
TIMEOUT = 5


@pytest.fixture(scope="module")
def squid_all(kdc) -> Iterator[corp_peers.Squid]:
    """squid offering every scheme, strongest first (as corporate proxies list them)."""
    started = corp_peers.start_squid(("negotiate", "ntlm", "digest", "basic"), kdc=kdc)
    yield started
    started.stop()


@pytest.fixture
def kerberos_env(kdc, tmp_path, monkeypatch) -> Path:
    """This process reads the test realm's krb5.conf and a credential cache of the test's own."""
    ccache = tmp_path / "ccache"
    for name, value in kdc.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    return ccache


@pytest.fixture
def origin() -> Iterator[peers.HttpOrigin]:
    started = peers.HttpOrigin()
    yield started
    started.stop()


async def _get_through(port: int, target: tuple[str, int], credentials: Credentials, **kw) -> bytes:
    async with asyncio.timeout(TIMEOUT):
        reader, writer = await asyncio.open_connection("localhost", port)

        async def reopen():
            return await asyncio.open_connection("localhost", port)

        try:
            reader, writer = await http_connect(
                (reader, writer), *target, credentials, reopen=reopen, **kw
            )
            writer.write(f"GET /through HTTP/1.1\r\nHost: localhost:{target[1]}\r\n\r\n".encode())
            await writer.drain()
            return await reader.readuntil(b"hello from origin /through")
        finally:
            writer.close()


def get_through(squid, origin, username=None, password=None, **kw) -> bytes:
    credentials = Credentials(username, password, "localhost")
    return asyncio.run(_get_through(squid.port, ("localhost", origin.port), credentials, **kw))


def fail_through(squid, origin, username=None, password=None, **kw) -> ProxyFailure:
    with pytest.raises(ProxyFailure) as info:
        get_through(squid, origin, username, password, **kw)
    text = str(info.value)
    for secret in (password, USER_PASSWORD, "TlRMTVNT"):  # "NTLMSSP" in base64
        assert not secret or secret not in text
    return info.value


@pytest.mark.parametrize("pinned", ["basic", "digest", "ntlm"])
def test_pinned_password_schemes(squid_all, origin, pinned):
    user = "CORP\\carol" if pinned == "ntlm" else BOB
    assert get_through(squid_all, origin, user, BOB_PASSWORD, pinned=pinned).startswith(
        b"HTTP/1.1 200"
    )
    user = corp_peers.tunnel_user(squid_all, origin.port)
    assert user == ("C\\\\c" if pinned == "ntlm" else BOB)


def test_negotiate_with_a_ticket_from_the_cache_and_no_password(
    squid_all, origin, kdc, kerberos_env
):
    kdc.kinit(kerberos_env)
    assert get_through(squid_all, origin).startswith(b"HTTP/1.1 200")
    assert corp_peers.tunnel_user(squid_all, origin.port) == f"{USER}@{REALM}"


def test_without_ticket_the_strongest_usable_offer_is_taken(squid_all, origin, kerberos_env):
    # No ticket: SPNEGO falls back to NTLM inside it, which squid's Kerberos helper refuses; then
    # the next offer, NTLM itself, carries the tunnel.
    assert get_through(squid_all, origin, "DOM\\dave", "pw").startswith(b"HTTP/1.1 200")
    assert corp_peers.tunnel_user(squid_all, origin.port) == "D\\\\d"  # NTLM (see tunnel_user)


def test_kerberos_with_user_at_realm_and_a_password_and_no_ticket(kdc, origin, kerberos_env):
    """user@REALM:password@ in the hop: the ticket is got from the KDC with that password."""
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    try:
        reply = get_through(squid, origin, f"{USER}@{REALM}", USER_PASSWORD, pinned="negotiate")
        assert reply.startswith(b"HTTP/1.1 200")
        assert corp_peers.tunnel_user(squid, origin.port) == f"{USER}@{REALM}"
    finally:
        squid.stop()
    assert not kerberos_env.exists(), "the user's ticket cache was not written"


def test_kerberos_only_proxy_without_a_ticket(kdc, origin, kerberos_env):
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    try:
        error = fail_through(squid, origin)
    finally:
        squid.stop()
    assert type(error) is AuthUnsupported
    assert str(error).startswith(
        "407 Proxy Authentication Required: no supported authentication scheme: offered Negotiate"
    )
    assert "we have no Kerberos ticket" in str(error)


@pytest.fixture(scope="module")
def squid_passwords() -> Iterator[corp_peers.Squid]:
    """squid offering Digest and Basic only."""
    started = corp_peers.start_squid(("digest", "basic"))
    yield started
    started.stop()


@pytest.mark.parametrize(
    ("pinned", "scheme"), [("basic", "Basic"), ("digest", "Digest"), (None, "Digest")]
)
def test_wrong_password_is_rejected(squid_passwords, origin, pinned, scheme):
    error = fail_through(squid_passwords, origin, BOB, "wrong-password-77", pinned=pinned)
    assert type(error) is AuthRejected and error.code == 407
    assert str(error) == (
        f"407 after {scheme}: credentials rejected (407 Proxy Authentication Required)"
    )


def test_unpinned_takes_digest_over_basic(squid_passwords, origin):
    assert get_through(squid_passwords, origin, BOB, BOB_PASSWORD).startswith(b"HTTP/1.1 200")
    assert "digest" in squid_passwords.log_text().lower()


def test_no_credentials_for_a_password_proxy(squid_passwords, origin):
    error = fail_through(squid_passwords, origin)
    assert type(error) is AuthUnsupported
    assert str(error) == (
        "407 Proxy Authentication Required: no supported authentication scheme: "
        "offered Digest, Basic; "
        "Digest: the hop has no user:password@; Basic: the hop has no user:password@"
    )


def test_pinned_scheme_the_proxy_does_not_offer(squid_passwords, origin):
    error = fail_through(squid_passwords, origin, "CORP\\x", "pw", pinned="ntlm")
    assert type(error) is AuthUnsupported
    assert str(error) == "the hop pins auth=ntlm but the proxy offers Digest, Basic"


def test_server_first_banner_behind_the_200_belongs_to_the_tunnel(squid_all, kerberos_env):
    banner = peers.BannerServer()

    async def run() -> bytes:
        async with asyncio.timeout(TIMEOUT):
            reader, writer = await asyncio.open_connection("localhost", squid_all.port)
            reader, writer = await http_connect(
                (reader, writer),
                "localhost",
                banner.port,
                Credentials("CORP\\erin", "pw", "localhost"),
                pinned="ntlm",
            )
            line = await reader.readline()
            writer.close()
            return line

    try:
        assert asyncio.run(run()) == peers.BannerServer.BANNER
    finally:
        banner.stop()
