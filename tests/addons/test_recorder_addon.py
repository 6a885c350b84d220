"""The Recorder addon: one recording per client connection, readable back, options checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mitmproxy import exceptions, tcp
from mitmproxy.test import taddons, tflow
from mitmrelay.streams.block import Block
from mitmrelay.streams.recorder import Recorder
from mitmrelay.streams.recording import read


def test_tcp_and_http1_flows_are_recorded_per_connection(tmp_path: Path) -> None:
    addon = Recorder()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, record_dir=str(tmp_path / "rec"))
        flow = tflow.ttcpflow(messages=[])
        for block in (Block(False, b"220 hi\r\n", 1.0), Block(True, b"QUIT\r\n", 2.0)):
            flow.messages.append(tcp.TCPMessage(block.from_client, block.data, block.timestamp))
            addon.tcp_message(flow)
        addon.tcp_end(flow)
        addon.client_disconnected(flow.client_conn)
        http_flow = tflow.tflow(resp=True)
        addon.request(http_flow)
        addon.response(http_flow)

    paths = list((tmp_path / "rec").glob("*.recording"))
    assert all(re.fullmatch(r"\d{8}-\d{6}-[0-9a-f-]{8}\.recording", p.name) for p in paths)
    recording, http = sorted((read(p) for p in paths), key=lambda r: r.blocks[0].from_client)
    assert recording.blocks == [Block(False, b"220 hi\r\n", 1.0), Block(True, b"QUIT\r\n", 2.0)]
    assert recording.ended is not None
    assert recording.meta["client"] == "127.0.0.1:22"
    assert recording.meta["server"] == "address:22"
    assert [b.data[:18] for b in http.blocks] == [b"GET /path HTTP/1.1", b"HTTP/1.1 200 OK\r\nh"]
    # Closed at shutdown (done), without an end time of its own.
    assert http.ended is None


def test_bad_record_dir_names_option_value_and_fix(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    addon = Recorder()
    message = r"^Cannot use record_dir '.*file/rec'"
    with taddons.context(addon) as tctx, pytest.raises(exceptions.OptionsError, match=message):
        tctx.configure(addon, record_dir=str(tmp_path / "file" / "rec"))
