"""The Recorder addon: each connection's two byte streams to files in `record_dir`, replayable.

Usage:
    mitmdump -s addons/recorder.py --mode reverse:tcp://127.0.0.1:5001@5000 --set record_dir=rec/
    scripts/mock-server rec/20261125-061704-3f2a9c1b.recording --listen 127.0.0.1:5001

Per client connection: `NAME.recording` (metadata and read blocks), `NAME.c2s` and `NAME.s2c`
(the raw bytes, as socat's -r/-R write them); the format is in mitmrelay.streams.recording. HTTP/1
flows are recorded as their re-assembled messages (see mitmrelay.streams.wire), HTTP/2 and HTTP/3
are not.
"""

from __future__ import annotations

import time
from pathlib import Path

from mitmproxy import connection, ctx, exceptions
from mitmproxy.addonmanager import Loader

from mitmrelay.streams.block import Block
from mitmrelay.streams.recording import SUFFIX, Writer
from mitmrelay.streams.taps import BlockTap, Flow, address, destination

from . import options


def recording_name(client: connection.Client) -> str:
    """Sortable by start time, unique by the connection's id."""
    started = time.strftime("%Y%m%d-%H%M%S", time.localtime(client.timestamp_start))
    return f"{started}-{client.id[:8]}{SUFFIX}"


def metadata(flow: Flow) -> dict[str, object]:
    """Who talked to whom, and how. Never any proxy chain credentials: only the end points."""
    client, server = flow.client_conn, flow.server_conn
    return {
        "client": address(client.peername),
        "proxy": address(client.sockname),
        "server": destination(flow),
        "sni": server.sni,
        "tls": server.tls,
        "started": client.timestamp_start,
    }


class Recorder(BlockTap):
    def __init__(self) -> None:
        self._dir: Path | None = None
        self._writers: dict[str, Writer] = {}

    def load(self, loader: Loader) -> None:
        options.declare(loader, "record_dir")

    def configure(self, updated: set[str]) -> None:
        if "record_dir" not in updated:
            return
        value = ctx.options.record_dir
        try:
            options.use("record_dir", value)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        self.done()
        if not value:
            self._dir = None
            return
        path = Path(value).expanduser()
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as e:  # judged creatable a moment ago; the file system may disagree
            refused = options.BadValue("record_dir", value, f"{e.strerror}: {options.RECORD_FIX}")
            raise exceptions.OptionsError(str(refused)) from e
        self._dir = path

    def done(self) -> None:
        for writer in self._writers.values():
            writer.close(None)
        self._writers.clear()

    def active(self) -> bool:
        return self._dir is not None

    def on_block(self, flow: Flow, block: Block) -> None:
        assert self._dir is not None
        client = flow.client_conn
        writer = self._writers.get(client.id)
        if writer is None:
            path = self._dir / recording_name(client)
            writer = self._writers[client.id] = Writer(path, metadata(flow))
        writer.block(block)
        # Flushed per block so a recording in progress can be read, and a crash loses nothing.
        writer.flush()

    def on_close(self, client: connection.Client) -> None:
        writer = self._writers.pop(client.id, None)
        if writer is not None:
            writer.close(client.timestamp_end or time.time())
