"""The proxy chain addon, loaded by path as users load it, with mitmproxy's test context."""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import socket

import mitmproxy_rs
import peers
import pytest
from mitmproxy import exceptions
from mitmproxy.proxy import server
from mitmproxy.test import taddons
from mitmrelay.chain import HopError, hookpoint


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
    assert server.asyncio.open_connection == addon.open_connection
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


async def echo_request(reader, writer) -> bytes:
    writer.write(b"GET /x HTTP/1.0\r\nHost: localhost\r\n\r\n")
    await writer.drain()
    data = await reader.read()
    writer.close()
    return data


def test_changing_the_chain_applies_to_new_connections(peer, chain, caplog):
    addon, tctx = chain
    origin = peer.http_origin()
    first, second = peer.microsocks(), peer.microsocks()

    async def connect_once():
        return await echo_request(*await server.asyncio.open_connection("localhost", origin.port))

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

    with pytest.raises(
        HopError,
        match=r"UDP to 127\.0\.0\.1:\d+ cannot go via socks5h://127\.0\.0\.1:1080: "
        r"routes carry TCP only",
    ):
        asyncio.run(send("127.0.0.1"))
    asyncio.run(send("127.0.0.2"))
    receiver.settimeout(5)
    assert receiver.recv(100) == b"datagram"
    receiver.close()
