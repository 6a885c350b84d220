"""node-soap peers (npm `soap`, installed into tests/node by scripts/setup_env.py), importable as
`node_peers`: a TLS SOAP server of a WSDL and a client run once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from mitmrelay.testing import Certs, Process

NODE_DIR = Path(__file__).resolve().parent / "node"
PEER = NODE_DIR / "soap_peer.js"


def node() -> str:
    path = shutil.which("node")
    if path is None or not (NODE_DIR / "node_modules" / "soap").is_dir():
        raise RuntimeError(
            "node-soap is not installed: run scripts/test (setup_env.py runs npm install in "
            "tests/node), or `npm install --prefix tests/node`"
        )
    return path


def start_server(tmp: Path, wsdl: Path, certs: Certs) -> Process:
    """node-soap serving `wsdl` at https://localhost:<port>/stock (and its ?wsdl)."""
    args = [node(), str(PEER), "server", str(wsdl), str(certs.cert), str(certs.key)]
    proc = Process(args, tmp / "node-soap-server.log", ready=[r"listening \d+"])
    proc.port = int(proc.wait_log(r"listening (\d+)").group(1))
    return proc


def run_client(wsdl_url: str, endpoint: str, symbols: list[str], ca: Path) -> list[dict]:
    """node-soap reading the WSDL at `wsdl_url` and calling GetLastTradePrice per symbol."""
    env = {**os.environ, "NODE_EXTRA_CA_CERTS": str(ca)}
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        env.pop(name, None)
    done = subprocess.run(
        [node(), str(PEER), "client", wsdl_url, endpoint, *symbols],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"node-soap client failed ({done.returncode}): {done.stderr}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
