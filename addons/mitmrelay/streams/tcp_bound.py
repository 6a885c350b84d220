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


class TcpMessageBound:
    def load(self, loader) -> None:
        loader.add_option(
            "tcp_messages_max",
            int,
            0,
            "Keep at most this many of the newest messages in each TCP flow, dropping older ones "
            "to bound memory on long streams, e.g. --set tcp_messages_max=16. 0: keep all.",
        )

    def configure(self, updated: set[str]) -> None:
        if "tcp_messages_max" in updated and ctx.options.tcp_messages_max < 0:
            raise exceptions.OptionsError(
                f"Cannot use tcp_messages_max {ctx.options.tcp_messages_max}: give the number "
                "of newest messages to keep per TCP flow (at least 1), or 0 to keep all."
            )

    def tcp_message(self, flow: tcp.TCPFlow) -> None:
        keep = ctx.options.tcp_messages_max
        # 0 means "no limit", never "keep none": addons whose tcp_message hook runs after this
        # one read flow.messages[-1].
        if keep and len(flow.messages) > keep:
            del flow.messages[:-keep]
