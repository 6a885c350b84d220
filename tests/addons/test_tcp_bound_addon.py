"""The TcpMessageBound addon keeps the newest N messages of a TCP flow, or all with 0."""

from __future__ import annotations

import pytest
from mitmproxy import exceptions, tcp
from mitmproxy.test import taddons, tflow
from mitmrelay.streams.tcp_bound import TcpMessageBound


@pytest.mark.parametrize(("keep", "left"), [(0, 10), (1, 1), (3, 3), (20, 10)])
def test_keeps_the_newest_messages(keep: int, left: int) -> None:
    addon = TcpMessageBound()
    with taddons.context(addon) as tctx:
        tctx.configure(addon, tcp_messages_max=keep)
        flow = tflow.ttcpflow(messages=[])
        for i in range(10):
            flow.messages.append(tcp.TCPMessage(True, b"%d" % i))
            addon.tcp_message(flow)
        assert [m.content for m in flow.messages] == [b"%d" % i for i in range(10 - left, 10)]


def test_negative_value_names_option_value_and_fix() -> None:
    addon = TcpMessageBound()
    message = r"^Cannot use tcp_messages_max -1: give"
    with taddons.context(addon) as tctx, pytest.raises(exceptions.OptionsError, match=message):
        tctx.configure(addon, tcp_messages_max=-1)
