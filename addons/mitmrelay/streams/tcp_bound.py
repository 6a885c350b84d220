"""The TcpMessageBound addon: keep only the newest TCP messages of each flow, so memory stays flat.

mitmproxy appends every read of a raw TCP/TLS connection to `flow.messages` and keeps it for the
flow's life: a 1 GiB stream holds 1 GiB. With `--set tcp_messages_max=N` only the newest N
messages stay; the bytes relayed are unchanged, dumps and recordings have already seen each
message, but mitmweb and flow files then show only those N.

Usage:
    mitmdump -s addons/tcp_bound.py --mode reverse:tcp://127.0.0.1:5001@5000 \\
        --set tcp_messages_max=16
"""

from __future__ import annotations

from mitmproxy import ctx, exceptions, tcp
from mitmproxy.addonmanager import Loader

from . import options


class TcpMessageBound:
    def load(self, loader: Loader) -> None:
        options.declare(loader, "tcp_messages_max")

    def configure(self, updated: set[str]) -> None:
        if "tcp_messages_max" not in updated:
            return
        try:
            options.use("tcp_messages_max", ctx.options.tcp_messages_max)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        keep = ctx.options.tcp_messages_max
        # 0 means "no limit", never "keep none": addons whose tcp_message hook runs after this
        # one read flow.messages[-1].
        if keep and len(flow.messages) > keep:
            del flow.messages[:-keep]
