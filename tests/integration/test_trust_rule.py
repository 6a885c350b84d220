"""One trust rule: `mitmrelay check` and the relay (mitmdump with the addons) agree on a private CA
given by `ssl_verify_upstream_trusted_confdir` (a folder hashed by the real `openssl rehash`), for
an `https://` hop (socat terminating TLS in front of tinyproxy) and for the server: both accept
what it signed, both refuse a certificate from another CA."""

from __future__ import annotations

import concurrent.futures

from cli_helpers import mitmrelay
from corp_peers import tls_front
from mitmrelay.testing import HOST, free_port, make_certs
from peers import HttpOrigin, curl
from trust_helpers import ca_folder


def test_check_and_the_relay_trust_the_same_private_ca_folder(peer, tmp_path):
    private = make_certs(tmp_path / "private", "Private CA")
    other = make_certs(tmp_path / "other", "Other CA")
    folder = ca_folder(tmp_path / "trusted", private.ca)
    proxy = peer.tinyproxy()
    good_hop = peer.keep(tls_front(proxy, private, tmp_path / "good-hop.log"))
    bad_hop = peer.keep(tls_front(proxy, other, tmp_path / "bad-hop.log"))
    good, bad, behind_bad_hop = (
        peer.keep(HttpOrigin(certs)) for certs in (private, other, private)
    )
    # One route per case, so check and one relay see exactly the same options.
    cases = {
        "accepted": (good, good_hop),
        "server refused": (bad, good_hop),
        "hop refused": (behind_bad_hop, bad_hop),
    }
    options = ["--set", f"ssl_verify_upstream_trusted_confdir={folder}"]
    for origin, hop in cases.values():
        options += ["--set", f"proxy_routes=localhost:{origin.port}=https://localhost:{hop.port}"]

    listen = {case: free_port() for case in cases}
    modes = []
    for case, (origin, _) in cases.items():
        modes += ["--mode", f"reverse:https://localhost:{origin.port}@{listen[case]}"]
    with concurrent.futures.ThreadPoolExecutor(len(cases)) as pool:
        checks = {
            case: pool.submit(mitmrelay, "check", *options, f"https://localhost:{origin.port}")
            for case, (origin, _) in cases.items()
        }
        relay = peer.mitmdump(
            *modes,
            "--set",
            "connection_strategy=lazy",  # a failed server connection is a 502 the client reads
            *options,
            listens=listen.values(),
        )
        answers = {case: curl(f"http://{HOST}:{port}/x") for case, port in listen.items()}
        checked = {case: future.result() for case, future in checks.items()}

    trusted = f"ssl_verify_upstream_trusted_confdir {folder}"
    issuer = "unable to get local issuer certificate"

    out = checked["accepted"].stdout
    assert checked["accepted"].returncode == 0, out + checked["accepted"].stderr
    assert f"ok    hop 1/1 https://localhost:{good_hop.port}: HTTP CONNECT handshake done" in out
    assert "issuer CN=Private CA" in out and f"ok    certificate verified against {trusted}" in out
    assert answers["accepted"] == (200, "hello from origin /x")

    out = checked["server refused"].stdout
    assert checked["server refused"].returncode == 1, out
    assert f"FAILED at certificate of localhost:{bad.port}: not trusted by {trusted}: " in out
    assert out.rstrip().endswith(issuer)
    code, body = answers["server refused"]
    assert code == 502 and f"Certificate verify failed: {issuer}" in body, body
    relay.wait_log(
        rf"server localhost:{bad.port} presented a certificate for localhost issued by Other CA"
    )

    hop = f"hop 1/1 https://localhost:{bad_hop.port}"
    out = checked["hop refused"].stdout
    assert checked["hop refused"].returncode == 1, out
    assert f"FAILED at {hop}: handshake: proxy {hop}" in out
    assert f"TLS certificate verification failed: {issuer}" in out.splitlines()[-1]
    code, body = answers["hop refused"]
    assert code == 502 and f"proxy {hop}" in body, body
    assert f"TLS certificate verification failed: {issuer}" in body
    assert not behind_bad_hop.requests and "Traceback" not in relay.text()
