"""Every recipe end to end: the file as shipped (only hosts, ports and paths substituted) run with
`mitmdump -s addons/relay.py --set recipe=...` against real local peers."""

from __future__ import annotations

import socket
import ssl
import subprocess

import pytest
import yaml
from mitmrelay.testing import HOST, free_port, make_client_cert, wait_for
from peers import BIN, REPO, BannerServer, soap_call
from recipe_helpers import SERVER, curl_via, mtls_origin, recipe_copy, run_recipe, ssh_socks


def test_1_soap_over_socks5_verification_off(peer, tmp_path):
    origin, socks = peer.https_origin(), peer.microsocks("alice", "pw-1")
    port = free_port()
    recipe = recipe_copy(
        "soap-over-socks5.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "soapuser": "alice",
            "proxy.corp.example:4033": f"{HOST}:{socks.port}",
        },
    )
    relay = run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-1"})
    code, body = soap_call(port)
    assert code == 200 and "<Echo>hi</Echo>" in body
    socks.wait_log(rf"connected to localhost:{origin.port}")  # the proxy got the name: remote DNS
    relay.wait_log(r"server certificates are not verified")
    assert "pw-1" not in relay.text()


def test_1_command_line_wins_over_the_recipe(peer, tmp_path):
    origin = peer.https_origin()
    port = free_port()
    recipe = recipe_copy(
        "soap-over-socks5.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
        },
    )
    # No proxy runs and PROXY_PASS is unset: only an explicit empty proxy_chain makes this work.
    relay = run_recipe(peer, recipe, port, "--set", "proxy_chain=")
    assert soap_call(port)[0] == 200
    relay.wait_log(r"kept as given \(command line, config file\): .*proxy_chain")


def test_bad_recipe_stops_mitmdump_with_file_line_and_fix(peer, tmp_path):
    recipe = recipe_copy("soap-over-socks5.yaml", tmp_path, {"proxy_chain:": "proxy_chian:"})
    out = subprocess.run(
        [
            str(BIN / "mitmdump"),
            "-s",
            "addons/relay.py",
            "--set",
            f"recipe={recipe}",
            "--set",
            f"confdir={tmp_path / 'conf'}",
            "--listen-host",
            HOST,
            "--listen-port",
            str(free_port()),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=30,
        cwd=REPO,
    )
    assert out.returncode != 0
    assert (
        f"{recipe}:19: At key 'options' ==> "
        "'proxy_chian': unknown option (did you mean 'proxy_chain'?)" in out.stdout + out.stderr
    )


def test_2_verified_with_custom_ca_bundle(peer, tmp_path):
    origin, socks = peer.https_origin(), peer.microsocks("alice", "pw-2")
    port = free_port()
    recipe = recipe_copy(
        "soap-over-socks5-verified.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "soapuser": "alice",
            "proxy.corp.example:4033": f"{HOST}:{socks.port}",
            "~/partner-ca-bundle.pem": str(peer.certs.ca),
        },
    )
    run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-2"})
    assert soap_call(port)[0] == 200
    socks.wait_log(rf"connected to localhost:{origin.port}")


def test_3_http_connect_with_basic_auth(peer, tmp_path):
    origin, proxy = peer.https_origin(), peer.tinyproxy("carol", "pw-3")
    port = free_port()
    recipe = recipe_copy(
        "soap-via-http-connect.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "soapuser": "carol",
            "proxy.corp.example:3128": f"{HOST}:{proxy.port}",
        },
    )
    run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-3"}, trust_test_ca=True)
    assert soap_call(port)[0] == 200
    proxy.wait_log(r'Established connection to host "localhost"')


def test_4_chain_socks5_then_connect(peer, tmp_path):
    origin, socks, connect = (
        peer.https_origin(),
        peer.microsocks("jumpuser", "pw-4"),
        peer.tinyproxy(),
    )
    port = free_port()
    recipe = recipe_copy(
        "chain-socks5-then-connect.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "jump.example:1080": f"{HOST}:{socks.port}",
            "proxy.inside.example:3128": f"{HOST}:{connect.port}",
        },
    )
    run_recipe(peer, recipe, port, env={"SOCKS_PASS": "pw-4"}, trust_test_ca=True)
    assert soap_call(port)[0] == 200
    socks.wait_log(rf"connected to {HOST}:{connect.port}")
    connect.wait_log(r'Established connection to host "localhost"')


def test_5_mutual_tls(peer, tmp_path):
    client_ca, client_pem = make_client_cert(tmp_path)
    origin, socks = mtls_origin(peer, client_ca), peer.microsocks()
    port = free_port()
    recipe = recipe_copy(
        "mutual-tls.yaml",
        tmp_path,
        {
            SERVER: f"localhost:{origin.port}",
            "@5000": f"@{port}",
            "~/partner-client.pem": str(client_pem),
            "proxy.corp.example:1080": f"{HOST}:{socks.port}",
        },
    )
    run_recipe(peer, recipe, port, trust_test_ca=True)
    code, body = soap_call(port)
    assert code == 200 and "<Echo>hi</Echo>" in body
    # Without the client certificate the same server refuses the handshake.
    bare = ssl.create_default_context(cafile=peer.certs.ca)
    with socket.create_connection((HOST, origin.port)) as raw:
        try:
            with bare.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"GET / HTTP/1.0\r\n\r\n")
                assert tls.recv(100) == b""  # TLS 1.3: the refusal arrives after the handshake
        except (ssl.SSLError, ConnectionResetError):
            pass


def test_6_browser_through_real_ssh_dynamic_forwarding(peer, tmp_path):
    origin = peer.https_origin()
    sshd, ssh = ssh_socks(peer, tmp_path)
    port = free_port()
    recipe = recipe_copy(
        "browser-via-ssh-socks.yaml",
        tmp_path,
        {
            "regular@8080": f"regular@{port}",
            "127.0.0.1:1080": f"{HOST}:{ssh.port}",
        },
    )
    relay = run_recipe(peer, recipe, port, trust_test_ca=True)
    code, body = curl_via(relay, f"http://{HOST}:{port}", f"https://localhost:{origin.port}/page")
    assert (code, body) == (200, "hello from origin /page")
    # sshd was asked for the name, not an address: DNS happened on the far side.
    sshd.wait_log(rf"target localhost port {origin.port}")


def test_7_socks5_server_with_upstream_socks_chain(peer, tmp_path):
    origin, jump, inner = peer.https_origin(), peer.microsocks("jumpuser", "pw-7"), peer.dante()
    port = free_port()
    recipe = recipe_copy(
        "socks5-server-upstream-chain.yaml",
        tmp_path,
        {
            "socks5@1085": f"socks5@{port}",
            "jump.example:1080": f"{HOST}:{jump.port}",
            "socks.inside.example:1080": f"{HOST}:{inner.port}",
        },
    )
    relay = run_recipe(peer, recipe, port, env={"JUMP_PASS": "pw-7"}, trust_test_ca=True)
    code, body = curl_via(relay, f"socks5h://{HOST}:{port}", f"https://localhost:{origin.port}/s")
    assert (code, body) == (200, "hello from origin /s")
    jump.wait_log(rf"connected to {HOST}:{inner.port}")
    inner.wait_log(rf"pass\(\d+\): tcp/connect .* -> .*{origin.port}")


def test_8_raw_tcp_over_tls_with_socat_dump(peer, tmp_path):
    banner, socks = peer.banner(tls=True), peer.microsocks("soapuser", "pw-8")
    port = free_port()
    recipe = recipe_copy(
        "raw-tcp-socat-dump.yaml",
        tmp_path,
        {
            "legacy.partner.example:7001": f"localhost:{banner.port}",
            "@5001": f"@{port}",
            "127.0.0.1:5001": f"{HOST}:{port}",
            "proxy.corp.example:1080": f"{HOST}:{socks.port}",
        },
    )
    relay = run_recipe(peer, recipe, port, env={"PROXY_PASS": "pw-8"}, trust_test_ca=True)
    # The recipe's try: line, as a user runs it.
    tried = subprocess.run(
        ["sh", "-c", yaml.safe_load(recipe.read_text())["try"]],
        capture_output=True,
        timeout=30,
        check=True,
    )
    assert tried.stdout == b"220 banner.test ready\r\nHELLO\r\n", relay.text()
    with socket.create_connection((HOST, port), timeout=10) as client:
        # mitmproxy reads the client's first bytes (to tell TLS from plain TCP) before the server's.
        client.sendall(b"hello\n")
        reader = client.makefile("rb")
        assert reader.readline() == b"220 banner.test ready\r\n"
        assert reader.readline() == b"HELLO\n"
    # socat -v: a header per block, then the bytes with \r shown as the two characters.
    relay.wait_log(
        r"< \d{4}/\d\d/\d\d [\d:.]+  length=\d+ from=0 to=\d+\n220 banner\.test ready\\r\n"
    )
    relay.wait_log(r"> \d{4}/\d\d/\d\d [\d:.]+  length=6 from=0 to=5\nhello\n")
    socks.wait_log(rf"connected to localhost:{banner.port}")


def banner_session(port: int, line: bytes) -> bytes:
    """A client of a banner-first protocol: the banner, one line sent, one line back."""
    with (
        socket.create_connection((HOST, port), timeout=10) as client,
        client.makefile("rb") as reader,
    ):
        received = reader.readline()
        client.sendall(line)
        return received + reader.readline()


def test_9_record_then_10_replay_as_a_mock_server(peer, tmp_path):
    banner, socks = peer.banner(), peer.microsocks("soapuser", "pw-9")
    server, rec_dir = f"localhost:{banner.port}", tmp_path / "recordings"
    port = free_port()
    recording = recipe_copy(
        "record-session.yaml",
        tmp_path,
        {
            "legacy.partner.example:7001": server,
            "@5002": f"@{port}",
            "proxy.corp.example:1080": f"{HOST}:{socks.port}",
            "record_dir: recordings": f"record_dir: {rec_dir}",
        },
    )
    relay = run_recipe(peer, recording, port, env={"PROXY_PASS": "pw-9"})
    real = banner_session(port, b"hello\n")
    assert real == BannerServer.BANNER + b"HELLO\n"
    socks.wait_log(rf"connected to {server}")
    relay.wait_log(
        r"> \d{4}/\d\d/\d\d [\d:.]+  length=6 from=0 to=5\nhello\n"
    )  # watched while recorded
    # The session's recording is the one with the client's bytes (">"): run_recipe's readiness probe
    # may be recorded too, when the server's banner reaches mitmproxy before the probe hangs up.
    recorded = wait_for(
        lambda: next(
            (
                p
                for p in rec_dir.glob("*.recording")
                if '"dir": ">"' in (text := p.read_text()) and '{"end": ' in text
            ),
            None,
        ),
        what="the recording's end",
    )
    relay.stop()
    banner.stop()
    socks.stop()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((HOST, banner.port), timeout=5)

    # Beside recordings/, where a copy's relative path starts: as shipped, bar the file name.
    port = free_port()
    replay = recipe_copy(
        "replay-mock-server.yaml",
        tmp_path,
        {
            "legacy.partner.example:7001": server,
            "@5002": f"@{port}",
            "20260101-120000-1a2b3c4d.recording": recorded.name,
        },
    )
    mock = run_recipe(peer, replay, port)  # the server, its proxy and recipe 9's mitmdump are gone
    assert banner_session(port, b"hello\n") == real
    mock.wait_log(rf"server connect {server} answered from \S+/recordings/{recorded.name} ")
    mock.wait_log(r"followed the recording to its end")
    # A client that leaves the recording is told where, and closed after the server's first words.
    assert banner_session(port, b"QUIT\r\n") == BannerServer.BANNER
    mock.wait_log(
        r"deviated at byte 0 of its stream: "
        r"the recording expects b.hello\\n.*the client sent b.QUIT"
    )


def test_11_per_host_routing(peer, tmp_path):
    corp, public, proxy = (
        peer.https_origin(),
        peer.https_origin(),
        peer.tinyproxy("corpuser", "pw-11"),
    )
    port = free_port()
    recipe = recipe_copy(
        "per-host-routing.yaml",
        tmp_path,
        {
            "regular@8080": f"regular@{port}",
            ".corp.example=": "localhost=",
            "proxy.corp.example:3128": f"{HOST}:{proxy.port}",
        },
    )
    relay = run_recipe(peer, recipe, port, env={"CORP_PASS": "pw-11"}, trust_test_ca=True)
    assert curl_via(relay, f"http://{HOST}:{port}", f"https://localhost:{corp.port}/c") == (
        200,
        "hello from origin /c",
    )
    proxy.wait_log(r'Established connection to host "localhost"')
    assert curl_via(relay, f"http://{HOST}:{port}", f"https://{HOST}:{public.port}/p") == (
        200,
        "hello from origin /p",
    )
    relay.wait_log(rf"server connect {HOST}:{public.port} direct")
    assert f'"{HOST}"' not in proxy.text()
