"""bench/soap_contract_cost.py --quick must keep working: its table and its 30 MB line.

Structure only, never speed: the machine is shared and a smoke run is a few hundred exchanges.
"""

from __future__ import annotations

import subprocess
import sys

from peers import REPO


def test_quick_run_prints_the_table_and_the_big_body_line() -> None:
    run = subprocess.run(
        [sys.executable, str(REPO / "bench" / "soap_contract_cost.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    rows = [line for line in run.stdout.splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| SOAP view, no WSDL",
        "| WSDL known",
        "| WSDL known + validation",
    ]
    assert "30 MB request, WSDL known + validation: hooks " in run.stdout
    assert "(parsed up to soap_max_bytes: True)" in run.stdout
