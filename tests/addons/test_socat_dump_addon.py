"""The SocatDump addon: options, per-connection offsets, connection lines, HTTP/1, credentials."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy import exceptions, tcp
from mitmproxy.test import taddons, tflow
from mitmrelay.streams.socat_dump import SocatDump
from socat_helpers import marks, normalise


def tcp_messages(addon: SocatDump, flow: tcp.TCPFlow, blocks: list[tuple[bool, bytes]]) -> None:
    for from_client, data in blocks:
        flow.messages.append(tcp.TCPMessage(from_client, data, 1.0))
        addon.tcp_message(flow)


def dumping(fmt: str = "v") -> tuple[SocatDump, io.StringIO, taddons.context]:
    out = io.StringIO()
    addon = SocatDump(stderr=out)
    tctx = taddons.context(addon)
    tctx.configure(addon, socat_dump="-", socat_dump_format=fmt)
    return addon, out, tctx


def test_offsets_run_per_direction_and_per_connection() -> None:
    addon, out, _ = dumping()
    first, second = tflow.ttcpflow(messages=[]), tflow.ttcpflow(messages=[])
    tcp_messages(addon, first, [(True, b"ab\n"), (False, b"xyz\n")])
    tcp_messages(addon, second, [(True, b"1\n")])
    tcp_messages(addon, first, [(True, b"cd\n")])
    addon.tcp_end(first)
    addon.client_disconnected(first.client_conn)

    assert normalise(out.getvalue()) == (
        "> T  length=3 from=0 to=2\nab\n"
        "< T  length=4 from=0 to=3\nxyz\n"
        "> T  length=2 from=0 to=1\n1\n"
        "> T  length=3 from=3 to=5\ncd\n"
    )
    assert marks(out.getvalue()) == [
        "conn 1: 127.0.0.1:22 -> address:22",
        "conn 2: 127.0.0.1:22 -> address:22",
        "conn 1: 127.0.0.1:22 -> address:22",
        "conn 1: closed",
    ]


def test_http1_messages_are_dumped_as_wire_bytes_without_proxy_credentials() -> None:
    addon, out, _ = dumping()
    flow = tflow.tflow(resp=True)
    flow.request.headers["Proxy-Authorization"] = "Basic dXNlcjpwYXNz"
    addon.request(flow)
    addon.response(flow)

    dump = normalise(out.getvalue())
    assert "dXNlcjpwYXNz" not in dump
    assert "Proxy-Authorization: ******************\\r\n" in dump
    assert flow.request.headers["Proxy-Authorization"] == "Basic dXNlcjpwYXNz", "wire bytes changed"
    request_length = len(b"GET /path HTTP/1.1\r\nheader: qvalue\r\ncontent-length: 7\r\n")
    request_length += len(b"Proxy-Authorization: Basic dXNlcjpwYXNz\r\n\r\ncontent")
    assert f"> T  length={request_length} from=0 to={request_length - 1}\n" in dump
    assert "< T  length=" in dump and dump.endswith("message")


def test_http_connection_line_names_the_request_host_before_mitmproxy_connects() -> None:
    addon, out, _ = dumping()
    flow = tflow.tflow()
    flow.server_conn.address = None
    flow.request.host, flow.request.port = "example.com", 8080
    addon.request(flow)
    assert marks(out.getvalue()) == ["conn 1: 127.0.0.1:22 -> example.com:8080"]


def test_http2_flows_are_not_dumped() -> None:
    addon, out, _ = dumping()
    flow = tflow.tflow(resp=True)
    flow.request.http_version = "HTTP/2.0"
    addon.request(flow)
    assert out.getvalue() == ""


def test_dump_to_file(tmp_path: Path) -> None:
    addon = SocatDump()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, socat_dump=str(tmp_path / "d.txt"), socat_dump_format="x")
        tcp_messages(addon, tflow.ttcpflow(messages=[]), [(False, b"hi")])
        assert normalise((tmp_path / "d.txt").read_text()) == "< T  length=2 from=0 to=1\n 68 69\n"
        tctx.configure(addon, socat_dump="")
        tcp_messages(addon, tflow.ttcpflow(messages=[]), [(False, b"off")])
    assert "off" not in (tmp_path / "d.txt").read_text()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("socat_dump_format", "xv", "Cannot use socat_dump_format 'xv': choose 'v' (socat -v)"),
        (
            "socat_dump",
            "/nonexistent/dir/d.txt",
            "Cannot use socat_dump '/nonexistent/dir/d.txt': "
            "folder '/nonexistent/dir' does not exist",
        ),
    ],
)
def test_bad_options_name_option_value_and_fix(option: str, value: str, message: str) -> None:
    addon = SocatDump()
    match = "^" + re.escape(message)
    with taddons.context(addon) as tctx, pytest.raises(exceptions.OptionsError, match=match):
        tctx.configure(addon, **{option: value})


@settings(max_examples=50, deadline=None)
@given(st.lists(st.tuples(st.booleans(), st.integers(0, 2), st.binary(max_size=100))))
def test_any_blocks_on_any_connections_never_raise(blocks) -> None:
    addon, out, _ = dumping("vx")
    flows = [tflow.ttcpflow(messages=[]) for _ in range(3)]
    for from_client, which, data in blocks:
        tcp_messages(addon, flows[which], [(from_client, data)])
    assert out.getvalue().split("\n").count("--") == sum(1 for _, _, data in blocks if data)
