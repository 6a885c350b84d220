#!/usr/bin/env python3
"""What fresh WS-Security costs a replayed SOAP request: the SoapRefresh addon's `request` hook
on a replayed flow (a zeep request: UsernameToken digest, Timestamp, wsa:MessageID; 1.4 KB),
- off: soap_refresh_on_replay=false (the hook's guard only);
- refresh: Timestamp, Nonce, Created, PasswordDigest and MessageID made new;
- refresh+sign: the same request signed over Body and Timestamp, signed again (RSA 2048, xmlsec).
CPU time per request (this process's time), the median of the rounds; the budget is 5 ms
without signing. Signing runs in a worker process (soap/sign.py), whose CPU time this process's
does not count: the wall-clock time per request is printed beside it.

Usage:
    .venv/mitmproxy12/bin/python bench/soap_refresh_cost.py            # 7 rounds of 300, ~10 s
    .venv/mitmproxy12/bin/python bench/soap_refresh_cost.py --quick    # 1 round of 20
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "addons"), str(REPO / "tests")]

import wssec_helpers as h  # noqa: E402 (after sys.path)
from mitmproxy.test import taddons, tflow  # noqa: E402
from mitmrelay.soap.refresh_addon import SoapRefresh  # noqa: E402

ENV = "MITMRELAY_BENCH_WSSE"
BUDGET_MS = 5.0


def replayed(content: bytes):
    flow = tflow.tflow()
    flow.request.method = "POST"
    flow.request.headers["Content-Type"] = "text/xml; charset=utf-8"
    flow.request.content = content
    flow.is_replay = "request"
    return flow


def per_request_ms(addon: SoapRefresh, content: bytes, count: int) -> tuple[float, float]:
    """CPU and wall-clock milliseconds per request."""
    flows = [replayed(content) for _ in range(count)]
    started, wall = time.process_time(), time.perf_counter()
    for flow in flows:
        addon.request(flow)
    cpu = (time.process_time() - started) / count * 1000
    return cpu, (time.perf_counter() - wall) / count * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one short round (a smoke run)")
    args = parser.parse_args()
    rounds, count = (1, 20) if args.quick else (7, 300)
    os.environ[ENV] = h.PASSWORD
    folder = Path(tempfile.mkdtemp(prefix="soap-refresh-bench-"))
    key, cert = h.signing_pair(folder)
    plain, signed = h.zeep_request(), h.zeep_request(sign=(key, cert))
    addon = SoapRefresh()
    results: dict[str, list[tuple[float, float]]] = {"off": [], "refresh": [], "refresh+sign": []}
    with taddons.context(addon) as tctx:
        for _ in range(rounds):
            tctx.configure(addon, soap_refresh_on_replay=False)
            results["off"].append(per_request_ms(addon, plain, count))
            tctx.configure(addon, soap_refresh_on_replay=True)
            tctx.configure(addon, soap_wsse_password=f"${{{ENV}}}")
            results["refresh"].append(per_request_ms(addon, plain, count))
            tctx.configure(addon, soap_sign_key=str(key), soap_sign_cert=str(cert))
            results["refresh+sign"].append(per_request_ms(addon, signed, count))
            tctx.configure(addon, soap_sign_key="", soap_sign_cert="")
    print(f"SOAP refresh on replay: {len(plain)} B request, {rounds} x {count}, CPU ms per request")
    print(f"{'case':<14} {'median ms':>10} {'wall ms':>10}")
    for case, values in results.items():
        cpu, wall = (statistics.median(column) for column in zip(*values, strict=True))
        print(f"{case:<14} {cpu:>10.3f} {wall:>10.3f}")
    refresh = statistics.median(cpu for cpu, _ in results["refresh"])
    verdict = "within" if refresh <= BUDGET_MS else "OVER"
    print(f"refresh without signing: {refresh:.3f} ms, {verdict} the {BUDGET_MS:.0f} ms budget")


if __name__ == "__main__":
    main()
