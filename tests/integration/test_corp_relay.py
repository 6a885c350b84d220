"""The headline scenario through corporate proxies, end to end: a plain-HTTP SOAP client, mitmdump
in reverse mode to an HTTPS server, out through squid asking for NTLM or Negotiate (Kerberos,
with a ticket from a real KDC); and a failing hop named with the scheme tried and squid's answer."""

from __future__ import annotations

import time

import corp_peers
import peers
import pytest
from corp_peers import REALM, USER, USER_PASSWORD
from peers import HOST, curl, free_port

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


def relay_through(peer, origin, chain: str, env: dict | None = None, extra: tuple = ()):
    return peer.reverse_https(origin, chain, "--set", "proxy_connect_timeout=5", *extra, env=env)


# What an NTLM or Negotiate exchange with the proxy would leave if it leaked: its header, and the
# base64 of NTLM's signature ("NTLMSSP") or of a GSS token's start.
EXCHANGE_TRACES = ("Proxy-Authorization", "TlRMTVNT", "NTLMSSP", "Negotiate YII")


def test_headline_through_ntlm_squid(peer, tmp_path):
    origin = peer.https_origin()
    squid = corp_peers.start_squid(("ntlm",))
    outputs = tmp_path / "outputs"
    try:
        relay = relay_through(
            peer,
            origin,
            f"http://CORP%5Calice:${{NTLM_PASS}}@localhost:{squid.port}",
            env={"NTLM_PASS": NTLM_PASSWORD},
            extra=(
                *("--flow-detail", "4", "-w", str(outputs / "flows.mitm")),
                *("--set", f"socat_dump={outputs / 'dump.txt'}"),
                *("--set", f"record_dir={outputs / 'recordings'}"),
            ),
        )
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
        assert corp_peers.tunnel_user(squid, origin.port) == "C\\\\a"  # NTLM (see tunnel_user)
        relay.wait_log(rf"server connect localhost:{origin.port} via http://CORP%5Calice:")
    finally:
        squid.stop()
    relay.stop()  # flushes the flow file
    written = {path: path.read_bytes() for path in outputs.rglob("*") if path.is_file()}
    assert {path.name for path in written} >= {"flows.mitm", "dump.txt"}, written.keys()
    assert any("recordings" in str(path) for path in written), written.keys()
    for text in [relay.text().encode(), *written.values()]:
        for secret in (NTLM_PASSWORD, *EXCHANGE_TRACES):
            assert secret.encode() not in text


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


@pytest.mark.parametrize("scheme", ["ntlm", "negotiate"])
def test_headline_through_an_https_hop_asking_for(scheme, peer, kdc, tmp_path):
    """TLS to the proxy itself (`https://`), then the multi-leg exchange inside that TLS."""
    origin = peer.https_origin()
    squid = corp_peers.start_squid((scheme,), kdc=kdc)
    try:
        front = peer.keep(corp_peers.tls_front(squid, peer.certs, tmp_path / "front.log"))
        env = {"NTLM_PASS": NTLM_PASSWORD}
        user = "CORP%5Calice:${NTLM_PASS}@"
        if scheme == "negotiate":
            ccache = tmp_path / "ccache"
            kdc.kinit(ccache)
            env, user = {**kdc.env, "KRB5CCNAME": f"FILE:{ccache}"}, ""
        hop = f"https://{user}localhost:{front.port}?auth={scheme}"
        relay = relay_through(peer, origin, hop, env=env)
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
        expected = "C\\\\a" if scheme == "ntlm" else f"{USER}@{REALM}"
        assert corp_peers.tunnel_user(squid, origin.port) == expected
        relay.wait_log(rf"server connect localhost:{origin.port} via https://")
    finally:
        squid.stop()
    assert NTLM_PASSWORD not in relay.text() and USER_PASSWORD not in relay.text()


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


def test_pac_file_with_a_dead_first_proxy(peer):
    origin = peer.https_origin()
    live = peer.tinyproxy()
    dead = free_port()
    script = peer.tmp / "proxy.pac"
    script.write_text(
        "function FindProxyForURL(url, host) {\n"
        '  if (dnsDomainIs(host, "intranet.test")) return "DIRECT";\n'
        f'  return "PROXY {HOST}:{dead}; PROXY {HOST}:{live.port}; DIRECT";\n'
        "}\n"
    )
    relay = relay_through(peer, origin, "", extra=("--set", f"proxy_pac={script}"))
    for _ in range(2):
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
    live.wait_log(rf"CONNECT localhost:{origin.port}")
    relay.wait_log(
        rf"server connect localhost:{origin.port} via http://{HOST}:{dead} \| "
        rf"http://{HOST}:{live.port} \| direct \(\d+ ms, carried by alternative 2/3\)"
    )
    down = f"proxy alternative http://{HOST}:{dead} is down"
    assert relay.text().count(down) == 1  # the second connection skipped it, silently


def test_failover_in_proxy_chain_dead_then_back_after_the_cool_down(peer):
    origin = peer.https_origin()
    live = peer.tinyproxy()
    first = free_port()  # nothing listens here yet
    relay = relay_through(
        peer,
        origin,
        f"socks5h://{HOST}:{first} | http://{HOST}:{live.port}",
        extra=("--set", "proxy_failover_cooldown=1"),
    )
    assert soap_call(relay.port)[0] == 200
    relay.wait_log(rf"server connect localhost:{origin.port} via .* carried by alternative 2/2\)")
    relay.wait_log(rf"proxy alternative socks5h://{HOST}:{first} is down .* for 1 s")
    socks = peer.microsocks_on(first)
    time.sleep(1.2)  # the cool-down passes: the first alternative is tried first again
    assert soap_call(relay.port)[0] == 200
    relay.wait_log(rf"proxy alternative socks5h://{HOST}:{first} is back")
    relay.wait_log(rf"server connect localhost:{origin.port} via .* carried by alternative 1/2\)")
    socks.wait_log(rf"connected to localhost:{origin.port}")
    assert live.text().count("CONNECT localhost") == 1


def test_pac_from_a_url(peer):
    origin = peer.https_origin()
    live = peer.tinyproxy()
    (peer.tmp / "wpad.dat").write_text(
        f'function FindProxyForURL(url, host) {{ return "PROXY {HOST}:{live.port}"; }}\n'
    )
    server = peer.keep(peers.FileServer(peer.tmp))
    # Fetched directly: not through the proxy environment (dead here), which curl would use.
    dead = f"http://{HOST}:{free_port()}"
    relay = relay_through(
        peer,
        origin,
        "",
        env={"HTTP_PROXY": dead, "http_proxy": dead, "ALL_PROXY": dead},
        extra=("--set", f"proxy_pac={server.url('wpad.dat')}"),
    )
    assert soap_call(relay.port)[0] == 200
    assert server.paths == ["/wpad.dat"]
    live.wait_log(rf"CONNECT localhost:{origin.port}")
    relay.wait_log(rf"server connect localhost:{origin.port} via http://{HOST}:{live.port}")


def test_https_proxy_from_the_environment_and_no_proxy(peer):
    origin = peer.https_origin()
    live = peer.tinyproxy()
    env = {"HTTPS_PROXY": f"http://{HOST}:{live.port}", "NO_PROXY": "intranet.test"}
    relay = relay_through(peer, origin, "", env=env, extra=("--set", "proxy_from_env=true"))
    assert soap_call(relay.port)[0] == 200
    live.wait_log(rf"CONNECT localhost:{origin.port}")
    relay.wait_log(
        rf"server connect localhost:{origin.port} via http://{HOST}:{live.port} \(\d+ ms\)"
    )
    # NO_PROXY: the same relay with localhost listed goes direct.
    bypassing = relay_through(
        peer,
        origin,
        "",
        env={**env, "NO_PROXY": "localhost"},
        extra=("--set", "proxy_from_env=true"),
    )
    assert soap_call(bypassing.port)[0] == 200
    bypassing.wait_log(rf"server connect localhost:{origin.port} direct \(NO_PROXY\)")


def test_ntlm_squid_as_the_second_hop_behind_socks5(peer):
    origin = peer.https_origin()
    socks = peer.microsocks()
    squid = corp_peers.start_squid(("ntlm",))
    try:
        relay = relay_through(
            peer,
            origin,
            f"socks5h://{HOST}:{socks.port},"
            f"http://CORP%5Cbob:${{NTLM_PASS}}@localhost:{squid.port}?auth=ntlm",
            env={"NTLM_PASS": NTLM_PASSWORD},
        )
        code, body = soap_call(relay.port)
        assert code == 200 and "<Echo>hi</Echo>" in body
        assert corp_peers.tunnel_user(squid, origin.port) == "C\\\\b"
        socks.wait_log(rf"connected to localhost:{squid.port}")
    finally:
        squid.stop()
    text = relay.text()
    # Neither the password nor an NTLM message (base64 "NTLMSSP") nor the header is ever logged.
    for secret in (NTLM_PASSWORD, "TlRMTVNT", "Proxy-Authorization", "NTLM "):
        assert secret not in text
