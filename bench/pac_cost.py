#!/usr/bin/env python3
"""What a PAC file costs the relay, now that PAC code runs in a worker process (QuickJS):
- start: loading a PAC (`proxy_pac` set or changed): the worker process started, the script run;
- first answer: a destination not asked about before: one round trip to the worker;
- cached answer: a destination already asked about (what every later connection to it pays);
- restart: the lookup after the worker died: a new worker, the script loaded again, the answer;
- the proxy's RSS (this process) before any PAC and after all of it, for the worker's bounds.
Each measured in every round; ratios to the cached answer within each round, medians reported.

Usage:
    .venv/mitmproxy12/bin/python bench/pac_cost.py              # 5 rounds, ~20 s
    .venv/mitmproxy12/bin/python bench/pac_cost.py --quick      # 1 round: a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import signal
import statistics
import sys
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / "addons")]

from mitmrelay.chain.pac import Pac  # noqa: E402 (after sys.path)

SCRIPT = """
function FindProxyForURL(url, host) {
  if (isPlainHostName(host) || dnsDomainIs(host, ".intranet.example")) return "DIRECT";
  if (shExpMatch(host, "*.api.example")) return "PROXY proxy.corp:3128; DIRECT";
  return "SOCKS5 socks.corp:1080";
}
"""


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_round(lookups: int) -> dict[str, float]:
    started = time.perf_counter()
    pac = Pac(SCRIPT, "bench.pac")
    start_ms = (time.perf_counter() - started) * 1000
    try:

        async def run() -> dict[str, float]:
            firsts = []
            for n in range(20):
                t = time.perf_counter()
                await pac.find(f"h{n}.api.example", 443)
                firsts.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            for _ in range(lookups):
                await pac.find("h0.api.example", 443)
            cached_us = (time.perf_counter() - t) / lookups * 1e6
            assert pac.worker_pid is not None
            os.kill(pac.worker_pid, signal.SIGKILL)
            await pac.find("dead.api.example", 443)  # the death: the next rule for this one
            t = time.perf_counter()
            await pac.find("new.api.example", 443)
            restart_ms = (time.perf_counter() - t) * 1000
            return {
                "first_ms": statistics.median(firsts),
                "cached_us": cached_us,
                "restart_ms": restart_ms,
            }

        return {"start_ms": start_ms, **asyncio.run(run())}
    finally:
        pac.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 5; 1 with --quick)")
    parser.add_argument("--quick", action="store_true", help="1 round, 1,000 cached lookups")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 5)
    lookups = 1000 if args.quick else 100_000
    before = rss_mib()
    results = [one_round(lookups) for _ in range(rounds)]
    after = rss_mib()

    def med(key: str) -> float:
        return statistics.median(r[key] for r in results)

    def ratio(key: str, scale: float) -> float:
        return statistics.median(r[key] * scale / r["cached_us"] for r in results)

    print(f"{rounds} round(s); medians over rounds; ratios to the cached answer within a round.\n")
    print("| measure | time | ratio to the cached answer |")
    print("|---|---:|---:|")
    print(f"| cached answer | {med('cached_us'):.1f} µs | 1 |")
    print(f"| first answer | {med('first_ms'):.2f} ms | {ratio('first_ms', 1000):.0f} |")
    print(f"| worker start + load | {med('start_ms'):.1f} ms | {ratio('start_ms', 1000):.0f} |")
    print(
        f"| restart after a death | {med('restart_ms'):.1f} ms | {ratio('restart_ms', 1000):.0f} |"
    )
    print(
        f"\nPAC answer once cached: {med('cached_us'):.1f} µs per connection (target ≤ 100 µs). "
        f"The proxy's peak RSS: {before:.0f} MiB before, {after:.0f} MiB after."
    )


if __name__ == "__main__":
    main()
