"""The benchmarks must keep working: each run with --quick, its tables' shape checked.

Structure only, never speed: the machine is shared and a smoke run lasts a second per phase.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from peers import REPO

# The scripts' output shape is the same whichever mitmproxy runs; a smoke run costs ~80 s a line.
pytestmark = pytest.mark.newest_line_only("the bench scripts' tables do not depend on the line")

# One of each kind of launcher: the origin alone, the socat chain, proxychains+mitmdump, mitmrelay.
CONFIGS = ["direct", "socat", "proxychains", "relay-socks5", "chain-socks5"]


def quick(script: str, *args: str) -> subprocess.CompletedProcess:
    """bench/SCRIPT --quick ARGS, which must succeed."""
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / script), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return run


def test_bench_run_prints_the_tables(tmp_path) -> None:
    out = tmp_path / "bench.md"
    run = quick("run", "--only", ",".join(CONFIGS), "--out", str(out))
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
    # The proxy-protocol core's own ratios, and its row in the one-at-a-time table.
    assert (" chain-socks5 / proxychains ", " CPU ms/conn ") in pairs
    assert any("relay-socks5" in line for line in setup[2:])
    assert any(line.startswith("| chain-socks5 |") for line in setup[2:])


def test_soap_contract_cost_prints_the_table_and_the_big_body_line() -> None:
    run = quick("soap_contract_cost.py")
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| SOAP view, no WSDL",
        "| WSDL known",
        "| WSDL known + validation",
    ]
    assert "30 MB request, WSDL known + validation: hooks " in run.stdout
    assert "(parsed up to soap_max_bytes: True)" in run.stdout


def test_proxy_auth_cost_reports_every_scheme_against_basic() -> None:
    run = quick("proxy_auth_cost.py")
    rows = [line.split(" | ") for line in run.stdout.splitlines() if line.startswith("| ")]
    assert [row[0] for row in rows[1:]] == [
        "| none",
        "| basic",
        "| digest",
        "| ntlm",
        "| negotiate",
    ]
    for row in rows[1:]:
        assert row[4] == "0", f"connections failed through squid asking for {row[0][2:]}"
        assert float(row[3]) > 0
    assert rows[2][5:] == ["1.00", "1.00 |"], "Basic is the unit of the ratios"
    for secret in ("basic-secret-9x", "ntlm-secret-R5"):
        assert secret not in run.stdout + run.stderr


def test_pac_cost_reports_start_first_cached_and_restart() -> None:
    run = quick("pac_cost.py")
    rows = [line.split(" | ") for line in run.stdout.splitlines() if line.startswith("| ")]
    assert [row[0] for row in rows[1:]] == [
        "| cached answer",
        "| first answer",
        "| worker start + load",
        "| restart after a death",
    ]
    assert rows[1][2] == "1 |", "the cached answer is the unit of the ratios"
    assert "PAC answer once cached: " in run.stdout


def test_soap_refresh_cost_reports_each_case_and_the_budget() -> None:
    run = quick("soap_refresh_cost.py")
    cases = [line.split()[0] for line in run.stdout.splitlines()[2:5]]
    assert cases == ["off", "refresh", "refresh+sign"]
    assert re.search(
        r"refresh without signing: [\d.]+ ms, (within|OVER) the 5 ms budget", run.stdout
    )
