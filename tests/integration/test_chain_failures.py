"""A failing hop never leaves the client hanging: HTTP clients get a 502 naming the hop and the
reason; raw TCP clients get a closed connection and a log line saying why."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import peers
import pytest
from mitmrelay.testing import HOST, free_port
from peers import curl

TIMEOUT = 2  # proxy_connect_timeout for these tests, seconds


def fetch_through(peer, chain: str, *extra: str) -> tuple[int, str, float]:
    """A plain-HTTP request through mitmdump in regular mode with the given chain."""
    origin = peer.http_origin()
    relay = peer.mitmdump(
        "--set", f"proxy_chain={chain}", "--set", f"proxy_connect_timeout={TIMEOUT}", *extra
    )
    start = time.monotonic()
    code, body = curl("-x", f"http://{HOST}:{relay.port}", f"http://localhost:{origin.port}/x")
    assert "Traceback" not in relay.text()
    return code, body, time.monotonic() - start


def test_proxy_not_listening(peer):
    port = free_port()
    code, body, _ = fetch_through(peer, f"socks5h://{HOST}:{port}")
    assert code == 502
    assert f"proxy hop 1/1 socks5h://{HOST}:{port} is not reachable: Connection refused" in body


def test_proxy_stalls_mid_handshake(peer):
    silent = peer.scripted([])
    code, body, elapsed = fetch_through(peer, f"socks5h://{HOST}:{silent.port}")
    assert code == 502
    assert f"proxy hop 1/1 socks5h://{HOST}:{silent.port} did not complete" in body
    assert f"within {TIMEOUT} s (proxy_connect_timeout)" in body
    assert elapsed < TIMEOUT + 3


def test_second_hop_stalls(peer):
    first = peer.microsocks()
    silent = peer.scripted([])
    code, body, _ = fetch_through(peer, f"socks5://{HOST}:{first.port},http://{HOST}:{silent.port}")
    assert code == 502
    assert f"proxy hop 2/2 http://{HOST}:{silent.port} did not complete" in body


def test_proxy_closes_mid_handshake(peer):
    closing = peer.scripted([b""], then="close")
    code, body, _ = fetch_through(peer, f"socks5h://{HOST}:{closing.port}")
    assert code == 502
    assert (
        f"proxy hop 1/1 socks5h://{HOST}:{closing.port} failed the connection to localhost:" in body
    )
    assert "closed the connection during the handshake" in body


def test_proxy_sends_garbage(peer):
    garbage = peer.scripted([b"\x17\x03\x03 not a proxy reply"])
    code, body, _ = fetch_through(peer, f"socks5h://{HOST}:{garbage.port}")
    assert code == 502
    assert f"proxy hop 1/1 socks5h://{HOST}:{garbage.port}" in body
    assert "Unexpected SOCKS version number" in body


def test_socks5_bad_credentials(peer):
    proxy = peer.microsocks("alice", "right")
    code, body, _ = fetch_through(peer, f"socks5h://alice:wrong@{HOST}:{proxy.port}")
    assert code == 502
    assert f"socks5h://alice:***@{HOST}:{proxy.port}" in body
    assert "Username and password authentication failure" in body
    assert "wrong" not in body


def test_connect_407(peer):
    proxy = peer.tinyproxy("carol", "pw123")
    code, body, _ = fetch_through(peer, f"http://{HOST}:{proxy.port}")
    assert code == 502
    assert f"proxy hop 1/1 http://{HOST}:{proxy.port} refused the connection to localhost:" in body
    assert "407 Proxy Authentication Required" in body


def test_destination_unreachable_reply_code_in_words(peer):
    proxy = peer.microsocks()
    closed = free_port()
    relay = peer.mitmdump("--set", f"proxy_chain=socks5h://{HOST}:{proxy.port}")
    code, body = curl("-x", f"http://{HOST}:{relay.port}", f"http://localhost:{closed}/x")
    assert code == 502
    assert (
        f"refused the connection to localhost:{closed}: Connection refused by destination host"
        in body
    )


def test_headline_gets_502_by_default_and_explicit_eager_a_closed_connection_and_log(peer):
    """mitmrelay switches reverse HTTP(S) with a chain to lazy (issue 13); eager, when the user
    sets it, closes the client's connection before any request is read."""
    port = free_port()
    default = peer.mitmdump(
        "--mode",
        "reverse:https://localhost:443@{port}",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{port}",
    )
    code, body = curl(f"http://{HOST}:{default.port}/svc", "--data", "<x/>")
    assert code == 502 and "is not reachable: Connection refused" in body

    eager = peer.mitmdump(
        "--mode",
        "reverse:https://localhost:443@{port}",
        "--set",
        "connection_strategy=eager",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{port}",
    )
    code, _ = curl(f"http://{HOST}:{eager.port}/svc", "--data", "<x/>")
    assert code == 0  # the connection was closed: curl got no response at all
    eager.wait_log(
        r"error establishing server connection: "
        rf"proxy hop 1/1 socks5h://{HOST}:{port} is not reachable"
    )


def test_raw_tcp_client_gets_closed_connection_and_log(peer):
    proxy = peer.microsocks("alice", "right")
    relay = peer.mitmdump(
        "--mode",
        "reverse:tcp://localhost:25@{port}",
        "--set",
        f"proxy_chain=socks5h://alice:wrong@{HOST}:{proxy.port}",
    )
    with socket.create_connection((HOST, relay.port)) as sock:
        sock.settimeout(10)
        assert sock.recv(100) == b""
    relay.wait_log(
        r"error establishing server connection: "
        r"proxy hop 1/1 socks5h://alice:\*\*\*@.*authentication failure"
    )


def test_proxy_restarted_next_connection_succeeds(peer):
    proxy = peer.microsocks()
    port = proxy.port
    origin = peer.http_origin()
    relay = peer.mitmdump("--set", f"proxy_chain=socks5h://{HOST}:{port}")
    url = f"http://localhost:{origin.port}/x"
    assert curl("-x", f"http://{HOST}:{relay.port}", url)[0] == 200
    proxy.stop()
    assert curl("-x", f"http://{HOST}:{relay.port}", url)[0] == 502
    again = peer.microsocks_on(port)
    assert curl("-x", f"http://{HOST}:{relay.port}", url)[0] == 200
    again.wait_log(rf"connected to localhost:{origin.port}")


@pytest.mark.parametrize(
    "setting,message",
    [
        (
            "proxy_chain=sock5://127.0.0.1:1080",
            "Cannot use proxy_chain 'sock5://127.0.0.1:1080': unknown scheme 'sock5' "
            "(did you mean 'socks5'?); use one of socks4, socks4a, socks5, socks5h, http, https",
        ),
        ("proxy_chain=socks5h://alice:hunter2@127.0.0.1", "has no port"),
        (
            "proxy_chian=socks5h://127.0.0.1:1",
            "unknown option proxy_chian (did you mean 'proxy_chain'?)",
        ),
    ],
)
def test_bad_option_refused_at_start_in_one_line(setting, message):
    out = subprocess.run(
        [
            str(Path(sys.executable).parent / "mitmdump"),
            "-s",
            str(peers.REPO / "addons/relay.py"),
            "--listen-host",
            HOST,
            "-p",
            str(free_port()),
            "--set",
            setting,
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    output = out.stdout + out.stderr
    assert out.returncode != 0
    assert len([line for line in output.splitlines() if message in line]) == 1
    assert "Traceback" not in output and "error in script" not in output
    # That line is the output: mitmproxy's own two (its listener, "Error logged during startup,
    # exiting...") do not follow.
    assert [line for line in output.splitlines() if "Loading script" not in line] == [
        next(line for line in output.splitlines() if message in line)
    ], output
    assert "hunter2" not in output


def test_options_of_other_mitmproxy_tools_in_config_yaml_do_not_stop_mitmdump(peer):
    """config.yaml is shared by mitmdump, mitmweb and the console: mitmdump leaves mitmweb's
    options undeclared, and that is no error (a misspelt --set is, above)."""
    (peer.tmp / "mitmproxy-conf").mkdir()
    (peer.tmp / "mitmproxy-conf" / "config.yaml").write_text(
        "web_port: 8082\nconsole_mouse: false\n"
    )
    relay = peer.mitmdump("--set", "proxy_connect_timeout=5")
    time.sleep(0.5)  # errorcheck exits right after start when an error was logged
    assert relay.proc.poll() is None, relay.text()
    assert "unknown option" not in relay.text()


def test_bytes_right_behind_the_connect_reply_stay_in_the_tunnel(peer):
    # A CONNECT proxy whose server speaks first: "200" and the banner arrive in one segment.
    proxy = peer.scripted([b"HTTP/1.1 200 Connection established\r\n\r\n220 banner first\r\n"])
    relay = peer.mitmdump(
        "--mode",
        "reverse:tcp://mail.example:25@{port}",
        "--set",
        f"proxy_chain=http://{HOST}:{proxy.port}",
    )
    with socket.create_connection((HOST, relay.port)) as sock:
        sock.settimeout(10)
        assert sock.recv(100) == b"220 banner first\r\n"


def test_server_resets_mid_response(peer):
    server = peer.scripted(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nonly part of it"], then="reset"
    )
    proxy = peer.microsocks()
    relay = peer.mitmdump("--set", f"proxy_chain=socks5h://{HOST}:{proxy.port}")
    start = time.monotonic()
    code, body = curl("-x", f"http://{HOST}:{relay.port}", f"http://localhost:{server.port}/x")
    assert time.monotonic() - start < 10
    assert code == 502
    assert "peer closed connection" in body.lower() or "reset" in body.lower(), body
    proxy.wait_log(rf"connected to localhost:{server.port}")


def test_server_certificate_rejected_names_subject_issuer_and_reason(peer):
    origin = peer.https_origin()  # its certificate comes from a CA the relay does not trust
    proxy = peer.microsocks()
    relay = peer.mitmdump(
        "--mode",
        f"reverse:https://localhost:{origin.port}@{{port}}",
        "--set",
        "connection_strategy=lazy",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{proxy.port}",
    )
    code, body = curl(f"http://{HOST}:{relay.port}/x")
    assert (
        code == 502 and "Certificate verify failed: unable to get local issuer certificate" in body
    )
    relay.wait_log(
        rf"server localhost:{origin.port} presented a certificate for localhost issued by "
        r"mitmrelay throwaway CA: Certificate verify failed"
    )
