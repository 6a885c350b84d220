"""The proxy chain addon, loaded by path as users load it, with mitmproxy's test context."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import socket
import ssl

import mitmproxy_rs
import peers
import pytest
from mitmproxy import exceptions
from mitmproxy.proxy import server
from mitmproxy.test import taddons
from mitmrelay.chain import Failure, HopError, hookpoint
from mitmrelay.chain.errors import UdpRefused
from trust_helpers import ca_folder


def load_script(name: str):
    spec = importlib.util.spec_from_file_location(
        f"script_{name}", peers.REPO / "addons" / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def chain():
    (addon,) = load_script("chain").addons
    with taddons.context(addon) as tctx:
        yield addon, tctx
    hookpoint.uninstall()


@pytest.mark.parametrize(
    "options,message",
    [
        (
            {"proxy_chain": "sock5://127.0.0.1:1080"},
            "Cannot use proxy_chain 'sock5://127.0.0.1:1080': "
            "unknown scheme 'sock5' (did you mean 'socks5'?)",
        ),
        (
            {"proxy_chain": "socks5h://u:hunter2@h"},
            "Cannot use proxy_chain 'socks5h://u:***@h': hop 'socks5h://u:***@h' has no port",
        ),
        ({"proxy_bypass": ["10.0.0.0/99"]}, "Cannot use proxy_bypass entry 1 '10.0.0.0/99'"),
        ({"proxy_routes": ["*.corp"]}, "Cannot use proxy_routes entry 1 '*.corp': missing '='"),
        (
            {"proxy_chain": "socks5h://u:${MITMRELAY_UNSET_VAR}@h:1"},
            "Cannot use proxy_chain 'socks5h://u:${MITMRELAY_UNSET_VAR}@h:1': "
            "${MITMRELAY_UNSET_VAR} is not set in the environment: export MITMRELAY_UNSET_VAR=...",
        ),
        (
            {"proxy_connect_timeout": 0},
            "proxy_connect_timeout 0: must be a positive number of seconds",
        ),
        (
            {"proxy_chain": "https://h:1", "ssl_verify_upstream_trusted_confdir": "/no/cas"},
            "Cannot use ssl_verify_upstream_trusted_confdir '/no/cas': dir '/no/cas' does not "
            "exist: fix the path",
        ),
        (
            {"proxy_chain": "https://h:1", "ssl_verify_upstream_trusted_ca": "/no/ca.pem"},
            "Cannot use ssl_verify_upstream_trusted_ca '/no/ca.pem': file '/no/ca.pem' does not "
            "exist: fix the path",
        ),
    ],
)
def test_bad_options_are_refused(chain, options, message):
    addon, tctx = chain
    with pytest.raises(exceptions.OptionsError) as e:
        tctx.configure(addon, **options)
    assert message in str(e.value)
    assert "hunter2" not in str(e.value)


def test_loading_installs_the_hook_and_done_removes_it(chain):
    addon, _ = chain
    assert server.asyncio.open_connection == addon._open_for_mitmproxy
    assert server.mitmproxy_rs.udp.open_udp_connection == addon.open_udp_connection
    addon.done()
    assert server.asyncio is asyncio
    assert server.mitmproxy_rs is mitmproxy_rs


def test_refuses_to_load_when_mitmproxy_lacks_the_hook_point(monkeypatch):
    async def open_connection_elsewhere(self, command):
        return None

    monkeypatch.setattr(server.ConnectionHandler, "open_connection", open_connection_elsewhere)
    (addon,) = load_script("chain").addons
    with (
        pytest.raises(RuntimeError, match="Refusing to start rather than connect directly"),
        taddons.context(addon),
    ):
        pass
    assert server.asyncio is asyncio


def test_a_rejected_password_is_an_auth_error_naming_the_hop(peer, chain):
    addon, tctx = chain
    proxy = peer.microsocks("alice", "right")
    tctx.configure(addon, proxy_chain=f"socks5h://alice:wrong@127.0.0.1:{proxy.port}")
    with pytest.raises(HopError) as e:
        asyncio.run(server.asyncio.open_connection("localhost", 1))
    assert (e.value.kind, e.value.index, e.value.count) == (Failure.AUTH_REJECTED, 1, 1)
    assert e.value.hop == f"socks5h://alice:***@127.0.0.1:{proxy.port}"
    assert e.value.destination == ("localhost", 1)
    assert "wrong" not in str(e.value)


async def echo_request(reader, writer) -> bytes:
    writer.write(b"GET /x HTTP/1.0\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


def test_the_https_hops_context_follows_the_trust_options(chain, certs, tmp_path):
    addon, tctx = chain
    tctx.configure(addon, proxy_chain="https://h:1")
    assert len(addon.proxy_tls.get_ca_certs()) > 1  # certifi's bundle
    tctx.configure(addon, ssl_verify_upstream_trusted_confdir=str(ca_folder(tmp_path, certs.ca)))
    assert addon.proxy_tls.get_ca_certs() == []  # only the folder, read when a hop is verified
    with pytest.raises(exceptions.OptionsError, match="ssl_verify_upstream_trusted_confdir"):
        tctx.configure(addon, ssl_verify_upstream_trusted_confdir=str(tmp_path / "gone"))
    tctx.configure(addon, ssl_insecure=True)
    assert addon.proxy_tls.verify_mode == ssl.CERT_NONE


def test_changing_the_chain_applies_to_new_connections(peer, chain, caplog):
    addon, tctx = chain
    origin = peer.http_origin()
    first, second = peer.microsocks(), peer.microsocks()

    async def connect_once():
        """As mitmproxy's handler does: open through the hook, then log its own lines."""
        handler = logging.getLogger(server.__name__)
        streams = await server.asyncio.open_connection("localhost", origin.port)
        handler.info(f"server connect localhost:{origin.port} (PEER)")
        answer = await echo_request(*streams)
        handler.info(f"server disconnect localhost:{origin.port} (PEER)")
        return answer

    caplog.set_level(logging.INFO)
    tctx.configure(addon, proxy_chain=f"socks5h://127.0.0.1:{first.port}")
    assert b"hello from origin /x" in asyncio.run(connect_once())
    first.wait_log(f"connected to localhost:{origin.port}")

    tctx.configure(
        addon, proxy_chain="", proxy_routes=[f"localhost=socks5h://127.0.0.1:{second.port}"]
    )
    assert b"hello from origin /x" in asyncio.run(connect_once())
    second.wait_log(f"connected to localhost:{origin.port}")
    assert first.text().count("connected to") == 1
    assert (
        f"server connect localhost:{origin.port} via socks5h://127.0.0.1:{second.port}"
        in caplog.text
    )

    tctx.configure(addon, proxy_bypass=["localhost"])
    assert b"hello from origin /x" in asyncio.run(connect_once())
    assert second.text().count("connected to") == 1
    assert f"server connect localhost:{origin.port} direct (proxy_bypass localhost)" in caplog.text
    # The handler's line told the route each time: one line per connection, no PEER in it.
    assert caplog.text.count("server connect") == 3 and "PEER" not in caplog.text
    assert caplog.text.count(f"server disconnect localhost:{origin.port}\n") == 3


def test_a_route_line_the_handler_does_not_log_is_logged_when_its_task_ends(peer, chain, caplog):
    """mitmproxy's handler fails, or stops logging its line: the route is still said once."""
    addon, tctx = chain
    origin, proxy = peer.http_origin(), peer.microsocks()
    tctx.configure(addon, proxy_chain=f"socks5h://127.0.0.1:{proxy.port}")
    caplog.set_level(logging.INFO)

    async def open_only():
        _, writer = await server.asyncio.open_connection("localhost", origin.port)
        writer.close()

    async def main():
        await asyncio.create_task(open_only())
        await asyncio.sleep(0)  # the task's done callbacks run after its awaiter resumes

    asyncio.run(main())
    line = f"server connect localhost:{origin.port} via socks5h://127.0.0.1:{proxy.port}"
    assert caplog.text.count(line) == 1


def test_a_pac_url_is_fetched_directly_then_the_way_the_loaded_pac_routes_it(
    peer, chain, tmp_path, monkeypatch, caplog
):
    addon, tctx = chain
    proxy = peer.tinyproxy()
    files = peer.keep(peers.FileServer(tmp_path))
    (tmp_path / "first.pac").write_text(
        f'function FindProxyForURL(url, host) {{ return "PROXY 127.0.0.1:{proxy.port}"; }}'
    )
    (tmp_path / "second.pac").write_text('function FindProxyForURL(u, h) { return "DIRECT"; }')
    dead = f"http://127.0.0.1:{peers.free_port()}"
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)  # never used for the PAC URL: proxy_from_env is off
    caplog.set_level(logging.INFO)
    tctx.configure(addon, proxy_pac=files.url("first.pac"))
    assert files.paths == ["/first.pac"] and "CONNECT" not in proxy.text()
    # On change: first.pac routes the PAC server's host through tinyproxy, so the fetch goes so.
    tctx.configure(addon, proxy_pac=files.url("second.pac"))
    assert files.paths == ["/first.pac", "/second.pac"]
    proxy.wait_log(rf"CONNECT 127\.0\.0\.1:{files.port}")
    assert f"server connect 127.0.0.1:{files.port} via http://127.0.0.1:{proxy.port}" in caplog.text


def test_udp_refused_when_the_route_says_proxy_and_sent_directly_when_bypassed(chain):
    addon, tctx = chain
    tctx.configure(addon, proxy_chain="socks5h://127.0.0.1:1080", proxy_bypass=["127.0.0.2"])
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.2", 0))
    port = receiver.getsockname()[1]

    async def send(host: str) -> None:
        stream = await server.mitmproxy_rs.udp.open_udp_connection(host, port)
        stream.write(b"datagram")
        await stream.drain()
        stream.close()

    with pytest.raises(UdpRefused) as refused:
        asyncio.run(send("127.0.0.1"))
    assert refused.value.destination == ("127.0.0.1", port)
    assert refused.value.route == "via socks5h://127.0.0.1:1080"
    assert str(refused.value) == (
        f"UDP to 127.0.0.1:{port} cannot go via socks5h://127.0.0.1:1080: routes carry TCP only. "
        "Add 127.0.0.1 to proxy_bypass to send it directly."
    )
    asyncio.run(send("127.0.0.2"))
    receiver.settimeout(5)
    assert receiver.recv(100) == b"datagram"
    receiver.close()
