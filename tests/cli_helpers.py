"""Run the `mitmrelay` command of this worktree (`python -m mitmrelay`) as users do."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mitmrelay.testing import Process
from peers import REPO

# The worktree's package first: the test venvs may have another checkout installed in editable mode.
ENV = {**os.environ, "PYTHONPATH": str(REPO / "addons")}
COMMAND = [sys.executable, "-m", "mitmrelay"]


def mitmrelay(*args: str, env: dict | None = None, cwd: Path | None = None, timeout: float = 60):
    """Run `mitmrelay ARGS` to its end; returns the CompletedProcess (text)."""
    return subprocess.run(
        [*COMMAND, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**ENV, **(env or {})},
        cwd=cwd,
    )


def start_mitmrelay(
    tmp: Path, *args: str, port: int, env: dict | None = None, cwd: Path | None = None
) -> Process:
    """`mitmrelay ARGS` (dump/run...) as a peer, ready once mitmproxy says it listens on port."""
    argv = [*COMMAND, *args, "--set", f"confdir={tmp / 'mitmproxy-conf'}"]
    # Ready at mitmproxy's line, not by connecting: a connection would open an eager server one.
    return Process(
        argv,
        tmp / f"mitmrelay-{port}.log",
        env={**ENV, **(env or {})},
        cwd=cwd or tmp,
        ready=[rf"listening at \S+:{port}"],
    )
