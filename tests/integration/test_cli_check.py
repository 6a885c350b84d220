"""`mitmrelay check`: hop by hop through real proxies (microsocks with a password, tinyproxy) to
real origins, each step printed, the failing one named, the exit status saying if it reached."""

from __future__ import annotations

import re

from cli_helpers import mitmrelay
from mitmrelay.testing import make_client_cert
from peers import HOST, free_port
from recipe_helpers import SERVER, mtls_origin, recipe_copy

PASS = {"PROXY_PASS": "pw-check"}


def socks_chain(port: int) -> str:
    return f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@{HOST}:{port}"


def check(*args: str, env: dict | None = None):
    out = mitmrelay("check", *args, env={**PASS, **(env or {})}, timeout=60)
    return out.returncode, out.stdout + out.stderr


def test_a_live_chain_to_a_tls_server_shows_every_step(peer):
    socks, origin = peer.microsocks("alice", "pw-check"), peer.nginx_h2()
    hop = f"hop 1/1 socks5h://alice:${{PROXY_PASS}}@{HOST}:{socks.port}"
    status, out = check(
        "--set",
        socks_chain(socks.port),
        "--set",
        f"ssl_verify_upstream_trusted_ca={peer.certs.ca}",
        f"tls://localhost:{origin.port}",
    )
    assert status == 0, out
    assert re.search(
        rf"ok    {re.escape(hop)}: address {HOST}:{socks.port} reached \(\d+\.\d ms\)", out
    )
    assert re.search(rf"{re.escape(hop)}: SOCKS5 handshake done, user/password accepted \(", out)
    assert f"{hop}: the name localhost went to the proxy (remote DNS)" in out
    assert f"ok    destination localhost:{origin.port} reached" in out
    assert "certificate: subject CN=localhost, issuer CN=mitmrelay throwaway CA, valid " in out
    assert (
        f"ok    certificate verified against ssl_verify_upstream_trusted_ca {peer.certs.ca}" in out
    )
    assert "ALPN: h2" in out
    assert out.rstrip().endswith(f"reached tls://localhost:{origin.port}")
    assert "pw-check" not in out
    socks.wait_log(rf"connected to localhost:{origin.port}")


def test_two_hops_socks5_then_http_connect(peer):
    socks, connect, origin = peer.microsocks(), peer.tinyproxy(), peer.https_origin()
    chain = f"proxy_chain=socks5h://{HOST}:{socks.port},http://{HOST}:{connect.port}"
    status, out = check("--set", chain, f"localhost:{origin.port}")
    assert status == 0, out
    assert f"hop 1/2 socks5h://{HOST}:{socks.port}: SOCKS5 handshake done, no authentication" in out
    hop2 = f"hop 2/2 http://{HOST}:{connect.port}"
    assert f"ok    {hop2}: address {HOST}:{connect.port} reached through hop 1" in out
    assert f"hop 2/2 http://{HOST}:{connect.port}: HTTP CONNECT handshake done" in out
    assert out.rstrip().endswith(f"reached localhost:{origin.port}")
    connect.wait_log(r'Established connection to host "localhost"')


def test_a_hop_nobody_listens_on(peer):
    dead = free_port()
    status, out = check("--set", socks_chain(dead), f"tls://localhost:{free_port()}")
    assert status == 1
    hop = f"hop 1/1 socks5h://alice:${{PROXY_PASS}}@{HOST}:{dead}"
    assert f"FAIL  {hop}: address: proxy {hop} is not reachable: Connection refused" in out
    assert out.rstrip().endswith(
        f"FAILED at {hop}: address: proxy {hop} is not reachable: Connection refused"
    )


def test_a_rejected_password(peer):
    socks = peer.microsocks("alice", "pw-check")
    status, out = check(
        "--set", socks_chain(socks.port), "localhost:443", env={"PROXY_PASS": "wrong"}
    )
    assert status == 1
    assert f"ok    hop 1/1 socks5h://alice:${{PROXY_PASS}}@{HOST}:{socks.port}: address" in out
    assert (
        f"FAILED at hop 1/1 socks5h://alice:${{PROXY_PASS}}@{HOST}:{socks.port}: authentication"
        in out
    )
    assert "wrong" not in out


def test_a_name_only_the_proxy_could_resolve_goes_to_the_proxy(peer):
    socks = peer.microsocks("alice", "pw-check")
    status, out = check("--set", socks_chain(socks.port), "tls://partner.invalid:443")
    assert status == 1
    assert "the name partner.invalid went to the proxy (remote DNS)" in out
    assert "FAILED at destination partner.invalid:443: " in out


def test_a_name_that_does_not_resolve_here_fails_at_the_destination_not_the_hop(peer):
    socks = peer.microsocks("alice", "pw-check")
    local_dns = socks_chain(socks.port).replace("socks5h://", "socks5://")
    status, out = check("--set", local_dns, "tls://partner.invalid:443")
    assert status == 1
    assert "partner.invalid was resolved on this machine (socks5: no remote DNS)" not in out
    assert "FAILED at destination partner.invalid:443: " in out
    assert "partner.invalid does not resolve on this machine (" in out
    assert "a socks5 hop has no remote DNS" in out


def test_a_destination_port_nobody_listens_on(peer):
    socks, dead = peer.microsocks("alice", "pw-check"), free_port()
    status, out = check("--set", socks_chain(socks.port), f"{HOST}:{dead}")
    assert status == 1
    assert f"FAILED at destination {HOST}:{dead}: " in out
    assert "refused" in out.splitlines()[-1].lower()


def test_a_certificate_not_trusted(peer):
    socks, origin = peer.microsocks("alice", "pw-check"), peer.https_origin()
    status, out = check("--set", socks_chain(socks.port), f"https://localhost:{origin.port}")
    assert status == 1
    assert f"ok    destination localhost:{origin.port} reached" in out
    assert "FAIL  TLS handshake with localhost: certificate not trusted: " in out
    assert "certificate: subject CN=localhost, issuer CN=mitmrelay throwaway CA" in out
    assert (
        f"FAILED at certificate of localhost:{origin.port}: not trusted by the certifi CA bundle"
        in out
    )


def test_direct_without_a_chain():
    status, out = check(f"{HOST}:{free_port()}")
    assert status == 1
    assert "direct" in out.splitlines()[0]
    assert "FAILED at destination" in out


def test_a_recipes_chain_and_the_command_line_wins(peer, tmp_path):
    socks, origin = peer.microsocks("soapuser", "pw-check"), peer.https_origin()
    recipe = recipe_copy(
        "soap-over-socks5.yaml",
        tmp_path,
        {SERVER: f"localhost:{origin.port}", "proxy.corp.example:4033": f"{HOST}:{socks.port}"},
    )
    status, out = check("--recipe", str(recipe), f"tls://localhost:{origin.port}")
    assert status == 0, out
    assert f"via socks5h://soapuser:${{PROXY_PASS}}@{HOST}:{socks.port}" in out
    assert "certificate not verified: ssl_insecure is on" in out  # the recipe's verify=0
    status, out = check(
        "--recipe", str(recipe), "--set", "proxy_chain=", f"tls://localhost:{origin.port}"
    )
    assert status == 0 and "reached directly" in out


def test_a_dead_proxy_then_the_direct_alternative(peer):
    origin, dead = peer.https_origin(), free_port()
    status, out = check(
        "--set", f"proxy_chain=http://{HOST}:{dead} | direct", f"localhost:{origin.port}"
    )
    assert status == 0, out
    assert f"proxy alternative http://{HOST}:{dead} is down" in out
    assert re.search(rf"ok    destination localhost:{origin.port} reached directly \(", out)


def test_the_pac_file_routes_the_check_as_it_routes_the_relay(peer, tmp_path):
    connect, origin = peer.tinyproxy(), peer.https_origin()
    script = tmp_path / "proxy.pac"
    script.write_text(f'function FindProxyForURL(u, h) {{ return "PROXY {HOST}:{connect.port}"; }}')
    status, out = check("--set", f"proxy_pac={script}", f"localhost:{origin.port}")
    assert status == 0, out
    assert f"via http://{HOST}:{connect.port}" in out.splitlines()[0]
    assert f"hop 1/1 http://{HOST}:{connect.port}: HTTP CONNECT handshake done" in out
    connect.wait_log(rf"CONNECT localhost:{origin.port}")


def test_a_server_requiring_a_client_certificate(peer, tmp_path):
    client_ca, client_pem = make_client_cert(tmp_path)
    origin = mtls_origin(peer, client_ca)
    trust = f"ssl_verify_upstream_trusted_ca={peer.certs.ca}"
    status, out = check("--set", trust, f"tls://localhost:{origin.port}")
    assert status == 1, out
    assert "the server refused the connection after the handshake" in out
    assert "set client_certs to the certificate" in out
    status, out = check(
        "--set", trust, "--set", f"client_certs={client_pem}", f"tls://localhost:{origin.port}"
    )
    assert status == 0, out
    assert f"client certificate presented: {client_pem}" in out
    # A folder of HOST.pem files, as mitmproxy takes it.
    folder = tmp_path / "certs"
    folder.mkdir()
    (folder / "localhost.pem").write_bytes(client_pem.read_bytes())
    status, out = check(
        "--set", trust, "--set", f"client_certs={folder}", f"tls://localhost:{origin.port}"
    )
    assert status == 0 and f"client certificate presented: {folder / 'localhost.pem'}" in out


def test_bad_usage_exits_2_with_the_fault():
    status, out = check("ftp://x:21")
    assert status == 2 and "unknown scheme 'ftp'" in out
    status, out = check("--set", "proxy_chain=sock5://127.0.0.1:1", "x:1")
    assert status == 2 and "unknown scheme 'sock5'" in out
    status, out = check("--set", "proxy_chian=socks5h://127.0.0.1:1", "x:1")
    assert status == 2 and "unknown option proxy_chian (did you mean 'proxy_chain'?)" in out
