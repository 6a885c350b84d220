#!/usr/bin/env python3
"""What a corporate proxy's authentication costs per new tunnel: setup time and new-connection
rate through squid asking for no authentication, Basic, Digest, NTLM (ntlm_fake_auth: a real
three-leg exchange) and Negotiate (Kerberos, tickets from a real MIT KDC on 127.0.0.1). What a
PAC file costs: bench/pac_cost.py.

NTLM and Negotiate authenticate each new tunnel (squid binds them to the TCP connection), so
they cost on every connection, not once. Two measures per scheme, in every round:
- setup: tunnels one at a time through the relay's connector (`open_chain`, as the relay opens
  each server connection): milliseconds until squid's `200` to CONNECT, median and p90;
- rate: new connections per second through a running mitmdump (reverse:tcp to a banner server,
  `proxy_chain` = that squid), CLIENTS clients each connecting, reading the banner, closing.
Schemes run interleaved, round after round; ratios to Basic are taken within each round and the
median over rounds reported, so a busy neighbour slows them alike.

Usage:
    .venv/mitmproxy12/bin/python bench/proxy_auth_cost.py              # 3 rounds, ~1 min
    .venv/mitmproxy12/bin/python bench/proxy_auth_cost.py --rounds 5 --seconds 10
    .venv/mitmproxy12/bin/python bench/proxy_auth_cost.py --quick      # seconds: a smoke run
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("tests", "addons")]

import corp_peers  # noqa: E402 (after sys.path)
from mitmrelay.chain.connector import open_chain  # noqa: E402
from mitmrelay.chain.spec import parse_chain  # noqa: E402
from mitmrelay.testing import HOST, start_mitmdump  # noqa: E402
from peers import BannerServer  # noqa: E402

SCHEMES = ("none", "basic", "digest", "ntlm", "negotiate")
USERS = {"bob": "basic-secret-9x"}
NTLM_PASSWORD = "ntlm-secret-R5"  # ntlm_fake_auth accepts any password: it checks the exchange
TIMEOUT = 10.0


def chain_for(scheme: str, port: int) -> str:
    """The proxy_chain a user would write for squid on port asking for scheme (pinned, so that
    each row measures its scheme and nothing else)."""
    if scheme == "none":
        return f"http://localhost:{port}"
    if scheme == "negotiate":
        return f"http://localhost:{port}?auth=negotiate"  # the user's ticket: no password
    if scheme == "ntlm":
        return f"http://CORP%5Cbob:{NTLM_PASSWORD}@localhost:{port}?auth=ntlm"
    user, password = next(iter(USERS.items()))
    return f"http://{user}:{password}@localhost:{port}?auth={scheme}"


async def setup_times(chain: str, origin: int, tunnels: int) -> list[float]:
    """Milliseconds per tunnel, opened one at a time and closed at once."""
    hops = parse_chain(chain)
    times = []
    for _ in range(tunnels):
        start = time.perf_counter()
        _, writer = await open_chain(hops, "localhost", origin, timeout=TIMEOUT)
        times.append((time.perf_counter() - start) * 1000)
        writer.close()
    return times


async def connection_rate(port: int, clients: int, seconds: float) -> tuple[float, int]:
    """New connections per second to the relay on port (each reads the banner and closes), and
    how many failed."""
    done = failed = 0
    deadline = time.monotonic() + seconds

    async def client() -> None:
        nonlocal done, failed
        while time.monotonic() < deadline:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
                line = await asyncio.wait_for(reader.readline(), TIMEOUT)
                writer.close()
                if line == BannerServer.BANNER:
                    done += 1
                    continue
            except (OSError, TimeoutError):
                pass
            failed += 1

    start = time.monotonic()
    await asyncio.gather(*(client() for _ in range(clients)))
    return done / (time.monotonic() - start), failed


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ratio(value: float, unit: float) -> float:
    """value in units of unit; NaN (printed as such) when the unit is 0."""
    return value / unit if unit else float("nan")


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, help="rounds (default 3; 1 with --quick)")
    parser.add_argument("--tunnels", type=int, help="tunnels per setup measure (default 100)")
    parser.add_argument("--seconds", type=float, help="seconds per rate measure (default 5)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--quick", action="store_true", help="1 round, 10 tunnels, 1 s")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    tunnels = args.tunnels or (10 if args.quick else 100)
    seconds = args.seconds or (1.0 if args.quick else 5.0)
    started = time.monotonic()
    stops = []
    with tempfile.TemporaryDirectory(prefix="mitmrelay-authbench-") as name:
        tmp = Path(name)
        try:
            kdc = corp_peers.start_kdc()
            stops.append(kdc.stop)
            ccache = tmp / "ccache"
            kdc.kinit(ccache)
            kerberos = {**kdc.env, "KRB5CCNAME": f"FILE:{ccache}"}
            os.environ.update(kerberos)  # this process opens tunnels too
            origin = BannerServer()
            stops.append(origin.stop)
            relays = {}
            for scheme in SCHEMES:
                squid = corp_peers.start_squid((scheme,) if scheme != "none" else (), USERS, kdc)
                stops.append(squid.stop)
                relay = start_mitmdump(
                    tmp,
                    "--mode",
                    f"reverse:tcp://localhost:{origin.port}@{{port}}",
                    "--set",
                    f"proxy_chain={chain_for(scheme, squid.port)}",
                    "--set",
                    "flow_detail=0",
                    env=kerberos,
                )
                stops.append(relay.stop)
                relays[scheme] = (chain_for(scheme, squid.port), relay)
            results: list[dict[str, dict[str, float]]] = []
            for number in range(1, rounds + 1):
                result = {}
                for scheme, (chain, relay) in relays.items():
                    print(f"[bench] round {number}/{rounds}: {scheme}", file=sys.stderr, flush=True)
                    times = asyncio.run(setup_times(chain, origin.port, tunnels))
                    rate, failed = asyncio.run(connection_rate(relay.port, args.clients, seconds))
                    result[scheme] = {
                        "setup_ms": median(times),
                        "setup_p90_ms": p90(times),
                        "rate": rate,
                        "failed": failed,
                    }
                results.append(result)
        finally:
            for stop in reversed(stops):
                stop()
    print(
        f"{rounds} round(s) of {tunnels} tunnels one at a time and {seconds:g} s of new "
        f"connections with {args.clients} clients through mitmdump, per scheme, all on {HOST}; "
        f"{time.monotonic() - started:.0f} s in all. Medians over rounds.\n"
    )
    print(
        "| squid asks for | setup ms | p90 ms | new conn/s via relay | failed | setup / Basic "
        "| conn/s / Basic |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for scheme in SCHEMES:
        rows = [r[scheme] for r in results]
        setup = [ratio(r[scheme]["setup_ms"], r["basic"]["setup_ms"]) for r in results]
        setup_ratio = median(setup)
        rate_ratio = median([ratio(r[scheme]["rate"], r["basic"]["rate"]) for r in results])
        print(
            f"| {scheme} | {median([r['setup_ms'] for r in rows]):.2f} "
            f"| {median([r['setup_p90_ms'] for r in rows]):.2f} "
            f"| {median([r['rate'] for r in rows]):.0f} "
            f"| {sum(int(r['failed']) for r in rows)} "
            f"| {setup_ratio:.2f} | {rate_ratio:.2f} |"
        )


if __name__ == "__main__":
    main()
