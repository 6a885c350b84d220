"""Server connections go through real SOCKS and HTTP CONNECT proxies in every mitmproxy mode."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess

import pytest
from mitmrelay.testing import HOST
from peers import BannerServer, curl, soap_call


def test_headline_reverse_https_through_socks5h_with_credentials_from_environment(peer):
    origin = peer.https_origin()
    proxy = peer.microsocks("alice", "s3cret-pw")
    relay = peer.reverse_https(
        origin,
        f"socks5h://alice:${{PROXY_PASS}}@{HOST}:{proxy.port}",
        env={"PROXY_PASS": "s3cret-pw"},
    )
    code, body = soap_call(relay.port)
    assert code == 200 and "<Echo>hi</Echo>" in body
    # microsocks received the hostname: remote DNS, nothing resolved here.
    proxy.wait_log(rf"connected to localhost:{origin.port}")
    relay.wait_log(
        rf"server connect localhost:{origin.port} "
        rf"via socks5h://alice:\$\{{PROXY_PASS\}}@{HOST}:{proxy.port} \(\d+ ms\)"
    )
    relay.wait_log(r"POST https://localhost:\d+/service")
    assert "s3cret-pw" not in relay.text()
    # One line per server connection: mitmproxy's own, with its client, tells the route; it no
    # longer names the first hop's address as if it were the server's.
    connects = [line for line in relay.text().splitlines() if "server connect " in line]
    assert len(connects) == 1, connects
    assert re.search(rf"\[{HOST}:\d+\] server connect localhost:{origin.port} via ", connects[0])
    relay.wait_log(rf"(?m)\] server disconnect localhost:{origin.port}$")


def test_socks5_without_h_resolves_locally(peer):
    origin = peer.https_origin()
    proxy = peer.microsocks()
    relay = peer.reverse_https(origin, f"socks5://{HOST}:{proxy.port}", verify=False)
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(rf"connected to 127\.0\.0\.1:{origin.port}")
    assert "localhost" not in proxy.text()


@pytest.mark.parametrize("scheme", ["socks4", "socks5"])
def test_dante(peer, scheme):
    origin = peer.https_origin()
    proxy = peer.dante()
    relay = peer.reverse_https(origin, f"{scheme}://{HOST}:{proxy.port}", host=HOST, verify=False)
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(rf"pass\(\d+\): tcp/connect .* -> .*127\.0\.0\.1\.{origin.port}")


@pytest.mark.parametrize(
    "listen,chain_scheme,auth,seen_as",
    [
        # SOCKS4 carries an IPv4 address only: the name is resolved here (pproxy has no SOCKS4a).
        ("socks4", "socks4", None, "127.0.0.1"),
        ("socks5", "socks5h", "bob:pw", "localhost"),
        ("http", "http", "bob:pw", "localhost"),
    ],
)
def test_pproxy(peer, listen, chain_scheme, auth, seen_as):
    origin = peer.https_origin()
    proxy = peer.pproxy(listen, auth)
    creds = f"{auth}@" if auth else ""
    relay = peer.reverse_https(origin, f"{chain_scheme}://{creds}{HOST}:{proxy.port}", verify=False)
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(rf"{listen}\S* 127\.0\.0\.1:\d+ -> {seen_as}:{origin.port}")


def test_tinyproxy_with_basic_auth(peer):
    origin = peer.https_origin()
    proxy = peer.tinyproxy("carol", "pw123")
    relay = peer.reverse_https(origin, f"http://carol:pw123@{HOST}:{proxy.port}", verify=False)
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(r"Established connection to host \"localhost\" using file descriptor")


def test_https_hop_tls_to_the_proxy_itself(peer):
    origin = peer.https_origin()
    proxy = peer.pproxy("http+ssl", tls=True)
    relay = peer.reverse_https(origin, f"https://localhost:{proxy.port}")
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(rf"-> localhost:{origin.port}")


def test_two_hops_socks5_then_connect(peer):
    origin = peer.https_origin()
    socks = peer.microsocks("alice", "p@ss w")
    connect = peer.tinyproxy()
    relay = peer.reverse_https(
        origin,
        f"socks5h://alice:p%40ss%20w@{HOST}:{socks.port},http://{HOST}:{connect.port}",
        verify=False,
    )
    assert soap_call(relay.port)[0] == 200
    socks.wait_log(rf"connected to {HOST}:{connect.port}")
    connect.wait_log(r'Established connection to host "localhost"')


def test_three_hops_mixed(peer):
    origin = peer.https_origin()
    first = peer.pproxy("socks5")
    second = peer.tinyproxy("u", "p")
    third = peer.microsocks()
    chain = f"socks5://{HOST}:{first.port},http://u:p@{HOST}:{second.port},socks5h://{HOST}:{third.port}"
    relay = peer.reverse_https(origin, chain, verify=False)
    assert soap_call(relay.port)[0] == 200
    first.wait_log(rf"-> {HOST}:{second.port}")
    second.wait_log(rf'Established connection to host "{HOST}"')
    third.wait_log(rf"connected to localhost:{origin.port}")


@pytest.mark.parametrize("strategy", ["eager", "lazy"])
def test_regular_proxy_mode_https_interception(peer, strategy):
    origin = peer.https_origin()
    proxy = peer.microsocks()
    relay = peer.mitmdump(
        "--ssl-insecure",
        "--set",
        f"connection_strategy={strategy}",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{proxy.port}",
    )
    ca = relay_ca(peer)
    code, body = curl(
        "-x",
        f"http://{HOST}:{relay.port}",
        "--cacert",
        str(ca),
        f"https://localhost:{origin.port}/page",
    )
    assert (code, body) == (200, "hello from origin /page")
    proxy.wait_log(rf"connected to localhost:{origin.port}")


def relay_ca(peer) -> str:
    return str(peer.tmp / "mitmproxy-conf" / "mitmproxy-ca-cert.pem")


def test_http2_end_to_end(peer):
    pytest.importorskip("h2")
    origin = peer.nginx_h2()
    proxy = peer.microsocks()
    relay = peer.mitmdump("--ssl-insecure", "--set", f"proxy_chain=socks5h://{HOST}:{proxy.port}")
    out = subprocess.run(
        [
            "curl",
            "-sS",
            "--http2",
            "-x",
            f"http://{HOST}:{relay.port}",
            "--cacert",
            relay_ca(peer),
            "-o",
            "/dev/null",
            "-w",
            "%{http_version} %{http_code}",
            f"https://localhost:{origin.port}/",
        ],
        capture_output=True,
        text=True,
        timeout=20,
        check=False,
    )
    assert out.stdout == "2 200", out.stderr
    proxy.wait_log(rf"connected to localhost:{origin.port}")
    relay.wait_log(r"HTTP/2\.0")


def test_reverse_http_mode(peer):
    origin = peer.http_origin()
    proxy = peer.tinyproxy()
    relay = peer.mitmdump(
        "--mode",
        f"reverse:http://localhost:{origin.port}@{{port}}",
        "--set",
        f"proxy_chain=http://{HOST}:{proxy.port}",
    )
    assert soap_call(relay.port)[0] == 200
    proxy.wait_log(r'Established connection to host "localhost"')


def read_banner_exchange(sock: socket.socket, client_first: bool = False) -> bytes:
    """The banner, then the server's answer to one line; lazy connections need the client first."""
    sock.settimeout(10)
    if client_first:
        sock.sendall(b"hello\r\n")
    received = b""
    while len(received) < len(BannerServer.BANNER) and (data := sock.recv(100)):
        received += data
    if not client_first:
        sock.sendall(b"hello\r\n")
    while len(received) < len(BannerServer.BANNER) + 7 and (data := sock.recv(100)):
        received += data
    return received


@pytest.mark.parametrize("strategy", ["eager", "lazy"])
def test_reverse_tcp_server_speaks_first(peer, strategy):
    server = peer.banner()
    proxy = peer.microsocks()
    relay = peer.mitmdump(
        "--mode",
        f"reverse:tcp://localhost:{server.port}@{{port}}",
        "--set",
        f"connection_strategy={strategy}",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{proxy.port}",
    )
    with socket.create_connection((HOST, relay.port)) as sock:
        # Lazy: mitmproxy connects when the client first sends, so a banner can't come first.
        exchange = read_banner_exchange(sock, client_first=strategy == "lazy")
    assert exchange == BannerServer.BANNER + b"HELLO\r\n"
    proxy.wait_log(rf"connected to localhost:{server.port}")


def test_reverse_tls_mode_plain_in_tls_out(peer):
    server = peer.banner(tls=True)
    proxy = peer.dante()
    relay = peer.mitmdump(
        "--mode",
        f"reverse:tls://localhost:{server.port}@{{port}}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={peer.certs.ca}",
        "--set",
        f"proxy_chain=socks5://{HOST}:{proxy.port}",
    )
    # reverse:tls expects TLS from the client too; the client trusts mitmproxy's CA.
    context = ssl.create_default_context(cafile=relay_ca(peer))
    with (
        socket.create_connection((HOST, relay.port)) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as sock,
    ):
        assert read_banner_exchange(sock) == BannerServer.BANNER + b"HELLO\r\n"
    proxy.wait_log(rf"127\.0\.0\.1\.{server.port}")


def test_socks5_listen_mode_with_pysocks_client(peer):
    socks = pytest.importorskip("socks")
    server = peer.banner()
    proxy = peer.tinyproxy()
    relay = peer.mitmdump("--mode", "socks5", "--set", f"proxy_chain=http://{HOST}:{proxy.port}")
    sock = socks.socksocket()
    sock.set_proxy(socks.SOCKS5, HOST, relay.port, rdns=True)
    sock.connect(("localhost", server.port))
    with sock:
        assert read_banner_exchange(sock) == BannerServer.BANNER + b"HELLO\r\n"
    proxy.wait_log(r'Established connection to host "localhost"')


def test_upstream_mode_reaches_the_upstream_proxy_through_the_chain(peer):
    origin = peer.https_origin()
    upstream = peer.tinyproxy()
    socks = peer.microsocks()
    relay = peer.mitmdump(
        "--mode",
        f"upstream:http://{HOST}:{upstream.port}",
        "--ssl-insecure",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{socks.port}",
    )
    code, body = curl(
        "-x",
        f"http://{HOST}:{relay.port}",
        "--cacert",
        relay_ca(peer),
        f"https://localhost:{origin.port}/up",
    )
    assert (code, body) == (200, "hello from origin /up")
    socks.wait_log(rf"connected to {HOST}:{upstream.port}")
    upstream.wait_log(r'Established connection to host "localhost"')


def test_websocket_through_the_chain(peer):
    websockets = pytest.importorskip("websockets.sync.client")
    server = peer.websocket_echo()
    proxy = peer.microsocks()
    relay = peer.mitmdump(
        "--mode",
        f"reverse:http://localhost:{server.port}@{{port}}",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{proxy.port}",
    )
    with websockets.connect(f"ws://{HOST}:{relay.port}/echo") as ws:
        ws.send("ping over the chain")
        assert ws.recv(timeout=10) == "echo: ping over the chain"
    proxy.wait_log(rf"connected to localhost:{server.port}")
    relay.wait_log(r"WebSocket")


@pytest.mark.parametrize("scheme,seen_as", [("socks4a", "localhost"), ("socks4", "127.0.0.1")])
def test_socks4a_remote_dns_through_ssh_dynamic_forwarding(peer, scheme, seen_as):
    # OpenSSH's `ssh -D` speaks SOCKS4a (pproxy does not; dante refuses it).
    from recipe_helpers import ssh_socks

    origin = peer.https_origin()
    sshd, ssh = ssh_socks(peer, peer.tmp)
    relay = peer.reverse_https(origin, f"{scheme}://{HOST}:{ssh.port}", verify=False)
    assert soap_call(relay.port)[0] == 200
    sshd.wait_log(rf"target {re.escape(seen_as)} port {origin.port}")
