"""The SocatDump addon: socat-style dumps (`-v`, `-x`, `-v -x`) of every connection's plaintext.

Usage:
    mitmdump -s addons/socat_dump.py --mode reverse:tcp://127.0.0.1:5001@5000 --set socat_dump=-
    mitmdump -s addons/socat_dump.py --mode reverse:tls://example.com:443@5000 \\
        --set socat_dump=/tmp/dump.txt --set socat_dump_format=vx

Each block is formatted exactly as socat formats it. Before the first block of a connection, and
whenever the next block belongs to another connection than the previous one, a line in the form of
socat's own `-d` log lines names the connection:

    2026/11/25 06:17:04 mitmrelay[3731] N conn 2: 127.0.0.1:57646 -> 127.0.0.1:5001

and `... N conn 2: closed` follows its last block. Tools that read `socat -d -d -v` output
already skip such lines; a single connection's dump with them removed is byte for byte what socat
prints, apart from the timestamps.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from mitmproxy import connection, ctx, exceptions
from mitmproxy.addonmanager import Loader

from mitmrelay.streams import socat_format
from mitmrelay.streams.block import Block
from mitmrelay.streams.taps import BlockTap, Flow, address, destination

from . import options


def log_line(timestamp: float, pid: int, message: str) -> str:
    """A line shaped like socat's `-d` log lines, so socat-dump readers skip it."""
    when = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(timestamp))
    return f"{when} mitmrelay[{pid}] N {message}\n"


@dataclass
class _Conn:
    number: int
    offsets: dict[bool, int] = field(default_factory=lambda: {True: 0, False: 0})


class SocatDump(BlockTap):
    def __init__(self, stderr: TextIO | None = None) -> None:
        # I/O is passed in so tests can hand in a StringIO.
        self._stderr = stderr
        self._out: TextIO | None = None
        self._owns_out = False
        self._format: socat_format.Format = "v"
        self._conns: dict[str, _Conn] = {}
        self._current: str | None = None
        self._count = 0

    def load(self, loader: Loader) -> None:
        options.declare(loader, "socat_dump", "socat_dump_format")

    def configure(self, updated: set[str]) -> None:
        try:
            if "socat_dump_format" in updated:
                self._format = options.use("socat_dump_format", ctx.options.socat_dump_format)
            if "socat_dump" in updated:
                options.use("socat_dump", ctx.options.socat_dump)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        if "socat_dump" in updated:
            self._reopen(ctx.options.socat_dump)

    def _reopen(self, target: str) -> None:
        self.done()
        if target == "-":
            self._out = self._stderr or sys.stderr
        elif target:
            try:
                # A large buffer and one flush per block: one write call per block, where
                # socat -v makes about one per byte. Blocks are ASCII; a host name in a
                # connection line may not be. Open until done(): no `with` can span the hooks.
                self._out = (
                    Path(target)
                    .expanduser()
                    .open("w", encoding="utf-8", errors="backslashreplace", buffering=1 << 16)
                )
                self._owns_out = True
            except OSError as e:  # judged writable a moment ago; the file system may disagree
                refused = options.BadValue(
                    "socat_dump", target, f"{e.strerror}: {options.DUMP_FIX}"
                )
                raise exceptions.OptionsError(str(refused)) from e

    def done(self) -> None:
        if self._out is not None and self._owns_out:
            self._out.close()
        self._out, self._owns_out = None, False
        self._conns.clear()
        self._current = None

    def active(self) -> bool:
        return self._out is not None

    def on_block(self, flow: Flow, block: Block) -> None:
        assert self._out is not None
        client = flow.client_conn
        from_client, data, timestamp = block
        if not data:
            return
        if timestamp is None:
            timestamp = time.time()
        conn = self._conns.get(client.id)
        if conn is None:
            self._count += 1
            conn = self._conns[client.id] = _Conn(self._count)
        text = ""
        if self._current != client.id:
            peers = f"{address(client.peername)} -> {destination(flow)}"
            text = log_line(timestamp, os.getpid(), f"conn {conn.number}: {peers}")
            self._current = client.id
        offset = conn.offsets[from_client]
        conn.offsets[from_client] = offset + len(data)
        text += socat_format.format_block(self._format, from_client, data, offset, timestamp)
        self._out.write(text)
        self._out.flush()

    def on_close(self, client: connection.Client) -> None:
        conn = self._conns.pop(client.id, None)
        if conn is None or self._out is None:
            return
        self._out.write(log_line(time.time(), os.getpid(), f"conn {conn.number}: closed"))
        self._out.flush()
        self._current = None
