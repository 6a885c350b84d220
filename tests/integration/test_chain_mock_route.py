"""A proxy_routes target file:RECORDING answers from a recording instead of the network."""

from __future__ import annotations

import json
import socket

import pytest
from mitmproxy.test import taddons
from mitmrelay.chain.addon import ProxyChain
from peers import HOST

RECORDING = [
    {"mitmrelay": "recording"},
    {"dir": "<", "text": "220 mock.example ready\r\n"},
    {"dir": ">", "text": "QUIT\r\n"},
    {"dir": "<", "text": "221 bye\r\n"},
]


def write_recording(path) -> str:
    path.write_text("".join(json.dumps(line) + "\n" for line in RECORDING))
    return str(path)


def exchange(port: int, say: bytes) -> bytes:
    with socket.create_connection((HOST, port)) as sock:
        sock.settimeout(10)
        received = sock.recv(100)
        sock.sendall(say)
        while data := sock.recv(100):
            received += data
    return received


def test_a_destination_is_answered_from_a_recording(peer):
    recording = write_recording(peer.tmp / "smtp.recording")
    relay = peer.mitmdump(
        "--mode",
        "reverse:tcp://mail.example:25@{port}",
        "--set",
        f"proxy_routes=mail.example:25=file:{recording}",
        "--set",
        "proxy_chain=socks5h://127.0.0.1:9",  # everything else would need a proxy
    )
    assert exchange(relay.port, b"QUIT\r\n") == b"220 mock.example ready\r\n221 bye\r\n"
    relay.wait_log(
        rf"server connect mail\.example:25 answered from {recording} "
        r"\(proxy_routes\[1\] mail\.example:25\)"
    )
    relay.wait_log(r"followed the recording to its end")

    assert exchange(relay.port, b"HELO me\r\n") == b"220 mock.example ready\r\n"
    relay.wait_log(
        r"deviated at byte 0 of its stream: the recording expects b.QUIT.*the client sent b.HELO"
    )


@pytest.mark.parametrize(
    "content,message", [(None, "does not exist"), ('{"not": "a recording"}\n', ":1:")]
)
def test_a_bad_recording_is_refused_at_start(tmp_path, content, message):
    path = tmp_path / "x.recording"
    if content is not None:
        path.write_text(content)
    addon = ProxyChain()
    with taddons.context(addon) as tctx, pytest.raises(Exception) as e:
        tctx.configure(addon, proxy_routes=[f"api.example=file:{path}"])
    assert f"Cannot use proxy_routes entry 1 'api.example=file:{path}'" in str(e.value)
    assert message in str(e.value)
