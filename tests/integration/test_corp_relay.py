"""The headline scenario through corporate proxies, end to end: a plain-HTTP SOAP client, mitmdump
in reverse mode to an HTTPS server, out through squid asking for NTLM or Negotiate (Kerberos,
with a ticket from a real KDC); and a failing hop named with the scheme tried and squid's answer."""

from __future__ import annotations

from collections.abc import Iterator

import corp_peers
import pytest
from corp_peers import REALM, USER, USER_PASSWORD
from peers import HOST, curl

NTLM_PASSWORD = "ntlm-secret-R5"


def soap_call(port: int) -> tuple[int, str]:
    """A SOAP POST in plain HTTP to the relay, as a legacy client sends it."""
    return curl(
        "-H",
        "Content-Type: text/xml",
        "--data",
        "<Echo>hi</Echo>",
        f"http://{HOST}:{port}/service",
    )


@pytest.fixture(scope="module")
def kdc() -> Iterator[corp_peers.Kdc]:
    started = corp_peers.start_kdc()
    yield started
    started.stop()


def relay_through(peer, origin, chain: str, env: dict | None = None):
    return peer.mitmdump(
        "--mode",
        f"reverse:https://localhost:{origin.port}@{{port}}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={peer.certs.ca}",
        "--set",
        f"proxy_chain={chain}",
        "--set",
        "proxy_connect_timeout=5",
        env=env,
    )


def test_headline_through_ntlm_squid(peer):
    origin = peer.https_origin()
    squid = corp_peers.start_squid(("ntlm",))
    try:
        relay = relay_through(
            peer,
            origin,
            f"http://CORP%5Calice:${{NTLM_PASS}}@localhost:{squid.port}",
            env={"NTLM_PASS": NTLM_PASSWORD},
        )
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
        assert corp_peers.tunnel_user(squid, origin.port) == "C\\\\a"  # NTLM (see tunnel_user)
        relay.wait_log(rf"server connect localhost:{origin.port} via http://CORP%5Calice:")
    finally:
        squid.stop()
    assert NTLM_PASSWORD not in relay.text()


def test_headline_through_kerberos_squid_with_a_ticket_and_no_password(peer, kdc, tmp_path):
    origin = peer.https_origin()
    ccache = tmp_path / "ccache"
    kdc.kinit(ccache)
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    try:
        relay = relay_through(
            peer,
            origin,
            f"http://localhost:{squid.port}?auth=negotiate",
            env={**kdc.env, "KRB5CCNAME": f"FILE:{ccache}"},
        )
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
        assert corp_peers.tunnel_user(squid, origin.port) == f"{USER}@{REALM}"
    finally:
        squid.stop()
    assert USER_PASSWORD not in relay.text()


def test_kerberos_squid_without_a_ticket_is_named_in_the_502(peer, kdc, tmp_path):
    origin = peer.http_origin()
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    try:
        relay = peer.mitmdump(
            "--set",
            f"proxy_chain=http://localhost:{squid.port}",
            env={**kdc.env, "KRB5CCNAME": f"FILE:{tmp_path / 'empty-ccache'}"},
        )

        code, body = curl("-x", f"http://{HOST}:{relay.port}", f"http://localhost:{origin.port}/x")
    finally:
        squid.stop()
    assert code == 502
    assert f"proxy hop 1/1 http://localhost:{squid.port} refused the connection to" in body
    assert (
        "407 Proxy Authentication Required: no supported authentication scheme: offered Negotiate"
        in body
    )
    assert "we have no Kerberos ticket" in body
