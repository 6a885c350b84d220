"""What dumping and recording cost: raw TCP throughput through mitmdump with and without
socat_dump (each format) and record_dir, next to socat and `socat -v`.

A server sends SIZE bytes in 64 KiB writes to one client through the relay; the client checks the
sha256. Dumps go to a file in a temporary directory, as users would write them.

Usage:
    .venv/mitmproxy12/bin/python bench/socat_dump_cost.py            # 128 MiB per mitmdump run
    .venv/mitmproxy12/bin/python bench/socat_dump_cost.py --mib 512
"""

from __future__ import annotations

import argparse
import hashlib
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("tests", "addons")]

from mitmrelay.testing import HOST, Process, free_port, start_mitmdump  # noqa: E402 (after sys.path)
from peers import ADDONS  # noqa: E402
from socat_helpers import SOCAT, connect_when_ready, listener  # noqa: E402

CHUNK = 2**16
SCRIPTS = ["socat_dump.py", "recorder.py", "tcp_bound.py"]


def stream(port: int, server: socket.socket, size: int) -> float:
    """Seconds to move `size` bytes from the server through the relay on `port` to a client."""
    block = bytes(range(256)) * (CHUNK // 256)
    sent = hashlib.sha256(block * (size // CHUNK)).hexdigest()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            for _ in range(size // CHUNK):
                conn.sendall(block)

    thread = threading.Thread(target=serve)
    start = time.perf_counter()
    thread.start()
    received = hashlib.sha256()
    buffer = bytearray(2**20)
    with connect_when_ready(port) as client:
        while n := client.recv_into(buffer):
            received.update(memoryview(buffer)[:n])
    seconds = time.perf_counter() - start
    thread.join()
    assert received.hexdigest() == sent, "the bytes changed on the way"
    return seconds


def through_mitmdump(tmp: Path, size: int, *settings: str) -> float:
    with listener() as server:
        args = ["--mode", f"reverse:tcp://{HOST}:{server.getsockname()[1]}@{{port}}"]
        for setting in ("flow_detail=0", "tcp_messages_max=1", *settings):
            args += ["--set", setting]
        proc = start_mitmdump(tmp, *args, scripts=[ADDONS / script for script in SCRIPTS])
        try:
            return stream(proc.port, server, size)
        finally:
            proc.stop()


def through_socat(tmp: Path, size: int, *flags: str) -> float:
    with listener() as server:
        port = free_port()
        dest = f"{HOST}:{server.getsockname()[1]}"
        listen = f"TCP4-LISTEN:{port},bind={HOST},reuseaddr"
        # socat writes its dump to stderr, which Process puts in the file, as a user would.
        proc = Process([SOCAT, *flags, listen, f"TCP4:{dest}"], tmp / "socat.txt", [port])
        try:
            return stream(port, server, size)
        finally:
            proc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=128, help="MiB per mitmdump and socat run")
    args = parser.parse_args()
    size = args.mib * 2**20
    slow = min(size, 8 * 2**20)  # socat -v writes about a byte per system call
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        dump = f"socat_dump={tmp / 'dump.txt'}"
        runs = [
            ("socat", size, lambda: through_socat(tmp, size)),
            ("socat -v", slow, lambda: through_socat(tmp, slow, "-v")),
            ("socat -x", slow, lambda: through_socat(tmp, slow, "-x")),
            ("mitmdump", size, lambda: through_mitmdump(tmp, size)),
            *(
                (
                    f"mitmdump socat_dump_format={fmt}",
                    size,
                    lambda fmt=fmt: through_mitmdump(tmp, size, dump, f"socat_dump_format={fmt}"),
                )
                for fmt in ("v", "x", "vx")
            ),
            (
                "mitmdump record_dir",
                size,
                lambda: through_mitmdump(tmp, size, f"record_dir={tmp / 'rec'}"),
            ),
        ]
        for label, nbytes, run in runs:
            seconds = run()
            print(f"{label:34} {nbytes / seconds / 2**20:8.1f} MiB/s  ({nbytes >> 20} MiB)")


if __name__ == "__main__":
    main()
