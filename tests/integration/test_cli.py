"""The `mitmrelay` command: dump and web load every addon; run starts a recipe on its address."""

from __future__ import annotations

import socket
import tomllib
from pathlib import Path
from platform import python_version

import pytest
from cli_helpers import mitmrelay, start_mitmrelay
from mitmproxy.version import VERSION
from peers import HOST, REPO, curl, free_port


@pytest.mark.parametrize(
    "command", ["dump", "web", "run", "check", "recipes", "script", "soap-view", "mock-server"]
)
def test_every_command_has_help_with_an_example(command):
    out = mitmrelay(command, "--help")
    assert out.returncode == 0, out.stderr
    assert f"mitmrelay {command}" in out.stdout and "example" in out.stdout


def test_main_help_lists_the_commands():
    out = mitmrelay("--help")
    assert out.returncode == 0
    for command in ("dump ARGS", "web ARGS", "run RECIPE", "recipes"):
        assert command in out.stdout


def test_version_names_mitmrelay_mitmproxy_and_python():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    out = mitmrelay("--version")
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"mitmrelay {declared} (mitmproxy {VERSION}, Python {python_version()})\n"


def test_unknown_command_names_the_choices():
    out = mitmrelay("dumb")
    assert out.returncode == 2
    assert "unknown command 'dumb'; use one of dump, web, run" in out.stderr


def test_recipes_lists_the_shipped_recipes_by_name():
    out = mitmrelay("recipes")
    assert out.returncode == 0
    assert "soap-over-socks5 " in out.stdout and "per-host-routing " in out.stdout


def headline(peer, tmp_path, proxy_port: int, *extra: str, env: dict | None = None):
    """The README's headline command (`mitmrelay dump` form) against local peers."""
    origin = peer.https_origin()
    port = free_port()
    relay = start_mitmrelay(
        tmp_path,
        "dump",
        "--mode",
        f"reverse:https://localhost:{origin.port}@{port}",
        "--listen-host",
        HOST,
        "--set",
        f"proxy_chain=socks5h://alice:${{PROXY_PASS}}@{HOST}:{proxy_port}",
        "--flow-detail",
        "3",
        "--set",
        f"ssl_verify_upstream_trusted_ca={peer.certs.ca}",  # the origin's private CA
        *extra,
        port=port,
        env={"PROXY_PASS": "pw-cli", **(env or {})},
    )
    peer.keep(relay)
    return origin, relay, port


def test_dump_runs_the_headline_through_microsocks_with_remote_dns(peer, tmp_path):
    socks = peer.microsocks("alice", "pw-cli")
    origin, relay, port = headline(peer, tmp_path, socks.port)
    code, body = curl(f"http://{HOST}:{port}/service", "--data", "<Echo>hi</Echo>")
    assert code == 200 and "<Echo>hi</Echo>" in body
    socks.wait_log(rf"connected to localhost:{origin.port}")  # the name went to the proxy
    # the exchange in plaintext, both ways, as socat -v showed it
    relay.wait_log(r"POST https://localhost:\d+/service[\s\S]*<Echo>hi</Echo>[\s\S]*<< 200")
    relay.wait_log(
        rf"server connect localhost:{origin.port} via socks5h://alice:\$\{{PROXY_PASS\}}"
    )
    assert "pw-cli" not in relay.text()


def hold_8080():
    """A socket bound on 127.0.0.1:8080 for the test, or None if something else holds it already
    (which is the same situation for the test)."""
    sock = socket.socket()
    try:
        sock.bind((HOST, 8080))
        sock.listen()
    except OSError:
        sock.close()
        return None
    return sock


def test_run_a_shipped_recipe_by_name_while_8080_is_taken(fixed_ports, peer, tmp_path):
    with socket.socket() as probe:
        if probe.connect_ex((HOST, 5000)) == 0:
            pytest.skip("127.0.0.1:5000, the headline recipe's port, is in use on this machine")
    busy = hold_8080()
    try:
        relay = start_mitmrelay(
            tmp_path, "run", "soap-over-socks5", port=5000, env={"PROXY_PASS": "pw-run"}
        )
        peer.keep(relay)
        # The recipe's proxy (proxy.corp.example) does not exist: the 502 names it, and the
        # listener is the recipe's, on loopback, with no false "all interfaces" warning.
        code, body = curl(f"http://{HOST}:5000/service", "--data", "<Echo>hi</Echo>")
        assert code == 502
        assert "proxy hop 1/1 socks5h://soapuser:${PROXY_PASS}@proxy.corp.example:4033" in body
        text = relay.text()
        assert "address already in use" not in text.lower()
        assert "other machines can use this proxy" not in text
    finally:
        if busy:
            busy.close()


def reverse_recipe(tmp_path, origin) -> tuple[Path, int]:
    """A recipe listening in reverse mode to origin on a free port: (its path, that port)."""
    recipe, recipe_port = tmp_path / "mine.yaml", free_port()
    recipe.write_text(
        "description: test\noptions:\n"
        f"  mode: reverse:https://localhost:{origin.port}@{recipe_port}\n"
        "  listen_host: 127.0.0.1\n  ssl_insecure: true\n"
    )
    return recipe, recipe_port


def test_run_gives_the_recipe_mode_to_mitmproxy_and_the_command_line_wins(peer, tmp_path):
    origin = peer.https_origin()
    (recipe, recipe_port), port = reverse_recipe(tmp_path, origin), free_port()
    # --mode on the command line replaces the recipe's listener.
    relay = start_mitmrelay(
        tmp_path,
        "run",
        str(recipe),
        "--mode",
        f"reverse:https://localhost:{origin.port}@{port}",
        port=port,
    )
    peer.keep(relay)
    assert curl(f"http://{HOST}:{port}/x", "--data", "a")[0] == 200
    with socket.socket() as probe:
        assert probe.connect_ex((HOST, recipe_port)) != 0


def test_run_leaves_the_mode_to_the_users_mitmproxy_config_file(peer, tmp_path):
    origin = peer.https_origin()
    (recipe, recipe_port), port = reverse_recipe(tmp_path, origin), free_port()
    confdir = tmp_path / "mitmproxy-conf"  # the confdir start_mitmrelay gives mitmproxy
    confdir.mkdir()
    (confdir / "config.yaml").write_text(
        f"mode: ['reverse:https://localhost:{origin.port}@{port}']\n"
    )
    relay = peer.keep(start_mitmrelay(tmp_path, "run", str(recipe), port=port))
    assert curl(f"http://{HOST}:{port}/x", "--data", "a")[0] == 200
    with socket.socket() as probe:
        assert probe.connect_ex((HOST, recipe_port)) != 0
    relay.wait_log(r"kept as given \(command line, config file\): .*\bmode\b")


def test_run_names_an_unknown_recipe_and_lists_the_names():
    out = mitmrelay("run", "soap-over-sock5")
    assert out.returncode == 2
    assert "no recipe file 'soap-over-sock5' and no recipe of that name" in out.stderr
    assert "soap-over-socks5" in out.stderr


def test_dump_headline_with_a_dead_proxy_answers_502_naming_the_hop(peer, tmp_path):
    dead = free_port()  # nothing listens there
    _, relay, port = headline(peer, tmp_path, dead)
    code, body = curl(f"http://{HOST}:{port}/service", "--data", "<Echo>hi</Echo>")
    assert code == 502
    assert f"proxy hop 1/1 socks5h://alice:${{PROXY_PASS}}@{HOST}:{dead} is not reachable" in body
    relay.wait_log(r"connection_strategy=lazy")


def test_dump_headline_keeps_an_explicit_eager_strategy(peer, tmp_path):
    """A user who sets connection_strategy keeps it: eager closes the client connection."""
    dead = free_port()
    _, relay, port = headline(peer, tmp_path, dead, "--set", "connection_strategy=eager")
    code, _ = curl(f"http://{HOST}:{port}/service", "--data", "<Echo>hi</Echo>")
    assert code == 0  # no HTTP answer at all: mitmproxy closed the connection
    assert "connection_strategy=lazy" not in relay.text()


def banner_line(port: int) -> bytes:
    with socket.create_connection((HOST, port), timeout=10) as conn:
        return conn.makefile("rb").readline()


def test_server_first_protocols_keep_working_beside_a_reverse_http_listener(peer, tmp_path):
    socks, banner = peer.microsocks(), peer.banner()
    http_port, tcp_port = free_port(), free_port()
    relay = start_mitmrelay(
        tmp_path,
        "dump",
        "--mode",
        f"reverse:https://localhost:{peer.https_origin().port}@{http_port}",
        "--mode",
        f"reverse:tcp://{HOST}:{banner.port}@{tcp_port}",
        "--listen-host",
        HOST,
        "--ssl-insecure",
        "--set",
        f"proxy_chain=socks5h://{HOST}:{socks.port}",
        port=tcp_port,
    )
    peer.keep(relay)
    relay.wait_log(r"connection_strategy stays eager: beside the reverse HTTP\(S\) listener")
    assert banner_line(tcp_port) == b"220 banner.test ready\r\n"  # the server speaks first
    assert curl(f"http://{HOST}:{http_port}/x", "--data", "a")[0] == 200


def test_reverse_tcp_alone_stays_eager(peer, tmp_path):
    socks, banner = peer.microsocks(), peer.banner()
    port = free_port()
    relay = start_mitmrelay(
        tmp_path,
        "dump",
        "--mode",
        f"reverse:tcp://{HOST}:{banner.port}@{port}",
        "--listen-host",
        HOST,
        "--set",
        f"proxy_chain=socks5h://{HOST}:{socks.port}",
        port=port,
    )
    peer.keep(relay)
    assert banner_line(port) == b"220 banner.test ready\r\n"
    assert "connection_strategy=lazy" not in relay.text()


def test_no_false_listen_warning_for_a_mode_with_its_own_loopback_address(peer, tmp_path):
    origin, port = peer.https_origin(), free_port()
    relay = start_mitmrelay(
        tmp_path,
        "dump",
        "--mode",
        f"reverse:https://localhost:{origin.port}@{HOST}:{port}",
        "--ssl-insecure",
        port=port,
    )
    peer.keep(relay)
    assert curl(f"http://{HOST}:{port}/x", "--data", "a")[0] == 200
    assert "other machines can use this proxy" not in relay.text()


def dump_with_recipe(peer, tmp_path, recipe: str, *extra: str, applied: str):
    """`mitmrelay dump` in reverse mode to an HTTPS origin with `--set recipe=RECIPE`, once the
    recipe's log line (the regex `applied`) is out and the listener it moved to 127.0.0.1 answers:
    where mitmproxy 12 listened before the recipe applied, a request in between finds none."""
    origin, port = peer.https_origin(), free_port()
    relay = start_mitmrelay(
        tmp_path,
        "dump",
        "--mode",
        f"reverse:https://localhost:{origin.port}@{port}",
        "--set",
        f"recipe={recipe}",
        *extra,
        port=port,
    )
    peer.keep(relay)
    relay.wait_log(applied)
    relay.wait_log(rf"listening at 127\.0\.0\.1:{port}\b")
    assert curl(f"http://{HOST}:{port}/x", "--data", "a")[0] == 200, relay.text()
    return relay


def test_no_false_listen_warning_when_the_recipe_sets_listen_host(peer, tmp_path):
    recipe = tmp_path / "local.yaml"
    recipe.write_text(
        "description: test\noptions:\n  listen_host: 127.0.0.1\n  ssl_insecure: true\n"
    )
    relay = dump_with_recipe(
        peer, tmp_path, str(recipe), applied=r"recipe .*local.yaml: set listen_host"
    )
    assert "other machines can use this proxy" not in relay.text()


def test_the_recipe_option_takes_a_shipped_recipes_name(peer, tmp_path):
    dump_with_recipe(
        peer,
        tmp_path,
        "soap-over-socks5",
        "--set",
        "proxy_chain=",
        applied=r"recipe soap-over-socks5: set .*ssl_insecure",
    )


SOAP_REQUEST = (
    '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Header>'
    '<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">'
    "<wsse:UsernameToken><wsse:Username>alice</wsse:Username><wsse:Password>s3cret-pw</wsse:Password>"
    "</wsse:UsernameToken></wsse:Security></soap:Header><soap:Body>"
    '<q:GetQuote xmlns:q="urn:example:quotes"><q:symbol>ACME</q:symbol></q:GetQuote>'
    "</soap:Body></soap:Envelope>"
)


def test_soap_view_shows_a_message_file_with_its_secrets_masked(tmp_path):
    message = tmp_path / "request.xml"
    message.write_text(SOAP_REQUEST)
    out = mitmrelay("soap-view", str(message), cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "SOAP 1.1 message" in out.stdout and "GetQuote {urn:example:quotes}" in out.stdout
    assert "s3cret-pw" not in out.stdout
    assert "s3cret-pw" in mitmrelay("soap-view", "--no-mask", str(message)).stdout
    missing = mitmrelay("soap-view", str(tmp_path / "nope.xml"))
    assert missing.returncode == 1 and "cannot read" in missing.stderr


def test_recipes_check_validates_the_shipped_recipes_and_names_a_bad_line(tmp_path):
    out = mitmrelay("recipes", "check", "--static", cwd=tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "soap-over-socks5.yaml: ok" in out.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("description: x\noptions:\n  proxy_chian: socks5h://127.0.0.1:1080\n")
    out = mitmrelay("recipes", "check", "--static", str(bad), cwd=tmp_path)
    assert out.returncode == 1
    assert "bad.yaml:3: At key 'options' ==> 'proxy_chian': unknown option" in out.stdout


def test_mock_server_names_a_recording_it_cannot_read(tmp_path):
    out = mitmrelay("mock-server", str(tmp_path / "gone.recording"), cwd=tmp_path)
    assert out.returncode == 1 and out.stderr.startswith("mock-server: ")
