"""`mitmrelay mock-server`: serve a recording (from `--set record_dir=...`, or hand-written) as a
mock TCP server.

Every client is answered from the recording, as the recorded server answered: banners first,
responses after the client's requests, and a line on stderr for a client that deviates.
Prints `listening on HOST:PORT` once ready (so `--listen 127.0.0.1:0` works from tests).

Usage:
    mitmrelay mock-server rec/20261125-061704-3f2a9c1b.recording --listen 127.0.0.1:5001
    mitmrelay mock-server greeting.recording --listen 127.0.0.1:0 --once
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from ..streams.mock import IDLE_TIMEOUT, answer
from ..streams.recording import Recording, RecordingError, read


def host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not HOST:PORT, e.g. 127.0.0.1:5001")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve(
    recording: Recording, name: str, listen: tuple[str, int], once: bool, idle: float
) -> int:
    results: asyncio.Queue[bool] = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await results.put(await answer(reader, writer, recording, name, idle))

    server = await asyncio.start_server(handle, *listen)
    host, port = server.sockets[0].getsockname()[:2]
    print(f"listening on {host}:{port}", flush=True)
    async with server:
        while True:
            followed = await results.get()
            if once:
                return 0 if followed else 1


def main(argv: Sequence[str] | None = None, prog: str = "mitmrelay mock-server") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[1].replace("\n", " "),
        epilog=f"examples:\n  {prog} rec/20261125-061704-3f2a9c1b.recording --listen 127.0.0.1:5001"
        f"\n  {prog} greeting.recording --listen 127.0.0.1:0 --once",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("recording", type=Path, help="a .recording file")
    parser.add_argument("--listen", type=host_port, default=("127.0.0.1", 0), help="HOST:PORT")
    parser.add_argument(
        "--once",
        action="store_true",
        help="exit after one client: status 0 if it followed the recording, 1 if not",
    )
    parser.add_argument(
        "--idle", type=float, default=IDLE_TIMEOUT, help="seconds to wait for the client each time"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        loaded = read(args.recording)
    except RecordingError as e:
        print(f"mock-server: {e}", file=sys.stderr)
        return 1
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(serve(loaded, str(args.recording), args.listen, args.once, args.idle))
    return 130
