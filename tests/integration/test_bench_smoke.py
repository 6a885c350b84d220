"""bench/run --quick must keep working: run it on a few configurations and check the tables' shape.

Structure only, never speed: the machine is shared and a smoke run lasts a second per phase.
"""

from __future__ import annotations

import re
import subprocess
import sys

from peers import REPO

# One of each kind of launcher: the origin alone, the socat chain, proxychains+mitmdump, mitmrelay.
CONFIGS = ["direct", "socat", "proxychains", "relay-socks5"]


def test_quick_run_prints_the_tables(tmp_path) -> None:
    out = tmp_path / "bench.md"
    run = subprocess.run(
        [
            sys.executable,
            str(REPO / "bench" / "run"),
            "--quick",
            "--only",
            ",".join(CONFIGS),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    text = out.read_text()
    assert text in run.stdout
    tables = [block for block in text.split("\n\n") if block.startswith("|")]
    assert len(tables) == 3, text
    results, ratios, setup = (t.splitlines() for t in tables)

    columns = results[0].count("|")
    assert all(line.count("|") == columns for line in results)
    assert [line.split("|")[1].strip() for line in results[2:]] == CONFIGS
    numbers = {line.split("|")[1].strip(): line.split("|")[2:-1] for line in results[2:]}
    for name in CONFIGS:
        assert re.fullmatch(r"\s*[\d,]+\s*", numbers[name][0]), (
            f"{name}: no keep-alive rate in {numbers[name]}"
        )
        assert numbers[name][-1].strip() == "0", f"{name} had errors: {results}"
    # The origin alone has no relay process to charge; every relay has its CPU measured.
    assert numbers["direct"][-2].strip() == "\N{EN DASH}"
    assert re.fullmatch(r"\s*[\d.,]+\s*", numbers["relay-socks5"][-4])

    pairs = {tuple(line.split("|")[1:3]) for line in ratios[2:]}
    assert (" relay-socks5 / proxychains ", " new-conn req/s ") in pairs
    assert any("relay-socks5" in line for line in setup[2:])
