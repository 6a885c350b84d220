"""Markdown tables: medians per configuration, and ratios computed pair by pair within each round.

A ratio is taken inside one round (both configurations measured minutes apart under the same
background load) and only then is the median taken over rounds: on a shared machine this is far
steadier than a ratio of two medians.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

Round = dict[str, dict[str, float | None]]  # config name -> metric -> value

COLUMNS = [
    ("ka_rps", "keep-alive req/s", 0),
    ("ka_p50_ms", "p50 ms", 2),
    ("ka_p99_ms", "p99 ms", 2),
    ("nc_rps", "new-conn req/s", 0),
    ("nc_p50_ms", "p50 ms", 2),
    ("nc_p99_ms", "p99 ms", 2),
    ("bulk_MBps", "bulk MB/s", 0),
    ("bulk_peak_MB", "peak RSS bulk MB", 0),
    ("idle_MB", "PSS idle MB", 0),
    ("idle_KB_conn", "KB/idle conn", 0),
    ("ka_cpu_ms", "CPU ms/req", 2),
    ("nc_cpu_ms", "CPU ms/conn", 2),
    ("bulk_cpu_ms_MB", "CPU ms/MB", 2),
    ("errors", "errors", 0),
]

# (numerator, denominator, metric, target): the comparisons issue 6 asks for, and feature costs.
PAIRS = [
    ("relay-socks5", "proxychains", "ka_rps", "≥ 0.95"),
    ("relay-socks5", "proxychains", "nc_rps", "≥ 0.95"),
    ("relay-socks5", "proxychains", "bulk_MBps", "≥ 0.95"),
    ("relay-socks5", "proxychains", "ka_cpu_ms", "≤ 1"),
    ("relay-socks5", "proxychains", "nc_cpu_ms", "≤ 1"),
    ("relay-socks5", "proxychains", "bulk_cpu_ms_MB", "≤ 1"),
    ("relay-socks5", "mitmdump", "ka_cpu_ms", "≤ 1"),
    ("relay-socks5", "mitmdump", "nc_cpu_ms", "≤ 1 + handshake"),
    ("relay-socks5", "mitmdump", "bulk_cpu_ms_MB", "≤ 1"),
    ("relay-socks5", "mitmdump", "nc_rps", ""),
    ("relay-2hop", "relay-socks5", "nc_rps", ""),
    ("relay-http", "socat", "ka_rps", ""),
    ("relay-http", "socat", "nc_rps", ""),
    ("relay-http", "socat", "bulk_MBps", ""),
    ("relay-http", "socat", "idle_KB_conn", ""),
    ("relay-dump", "relay-socks5", "ka_rps", "cost of dumps"),
    ("relay-dump", "relay-socks5", "bulk_MBps", "cost of dumps"),
    ("relay-dump", "relay-socks5", "ka_cpu_ms", "cost of dumps"),
    ("relay-socks5", "chain-socks5", "ka_rps", "cost of SOAP view"),
    ("relay-socks5", "chain-socks5", "ka_cpu_ms", "cost of SOAP view"),
    # The proxy-protocol core alone (the chain addon, no SOAP view): its handshakes from Python
    # against proxychains' from C, on the same mitmdump.
    ("chain-socks5", "proxychains", "nc_rps", "core ≥ 0.95"),
    ("chain-socks5", "proxychains", "nc_cpu_ms", "core ≤ 1"),
    ("relay-socks5", "chain-socks5", "nc_cpu_ms", "cost of SOAP view, addons"),
    # Like for like: proxychains + mitmdump with the lazy server connections the relay uses so that
    # a dead hop reaches an HTTP client as a 502 (chain/strategy.py).
    ("relay-socks5", "proxychains-lazy", "nc_rps", "≥ 0.95"),
    ("relay-socks5", "proxychains-lazy", "nc_cpu_ms", "≤ 1"),
    ("proxychains-lazy", "proxychains", "nc_cpu_ms", "cost of lazy"),
    ("socat-v", "socat", "ka_rps", ""),
    ("socat-v", "socat", "bulk_MBps", ""),
    ("mitmdump", "direct", "ka_rps", ""),
]


def _median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(present) if present else None


def _fmt(value: float | None, digits: int) -> str:
    if value is None:
        return "\N{EN DASH}"
    return f"{value:,.{digits}f}" if digits else f"{value:,.0f}"


def medians(
    rounds: Sequence[Round],
    names: Sequence[str],
    keys: Sequence[str] = tuple(key for key, _, _ in COLUMNS),
) -> dict[str, dict[str, float | None]]:
    return {
        name: {key: _median([r[name].get(key) for r in rounds if name in r]) for key in keys}
        for name in names
    }


def results_table(rounds: Sequence[Round], names: Sequence[str]) -> str:
    table = medians(rounds, names)
    lines = [
        "| configuration | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
        "|---|" + "---:|" * len(COLUMNS),
    ]
    for name in names:
        cells = [_fmt(table[name][key], digits) for key, _, digits in COLUMNS]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio_rows(
    rounds: Sequence[Round],
) -> list[tuple[str, str, str, float | None, list[float], str]]:
    rows = []
    for a, b, key, target in PAIRS:
        per_round = []
        for r in rounds:
            x, y = r.get(a, {}).get(key), r.get(b, {}).get(key)
            if x is not None and y:
                per_round.append(x / y)
        if per_round:
            rows.append((a, b, key, _median(per_round), per_round, target))
    return rows


def ratios_table(rounds: Sequence[Round]) -> str:
    titles = {key: title for key, title, _ in COLUMNS}
    lines = ["| ratio | metric | median | per round | target |", "|---|---|---:|---|---|"]
    for a, b, key, median, per_round, target in ratio_rows(rounds):
        each = " ".join(f"{v:.2f}" for v in per_round)
        lines.append(f"| {a} / {b} | {titles[key]} | {median:.2f} | {each} | {target} |")
    return "\n".join(lines)


def setup_table(rounds: Sequence[Round], handshakes: Sequence[dict[str, float]]) -> str:
    """Connection setup, one connection at a time: what each configuration adds over plain mitmdump,
    against what the proxy handshakes alone take."""
    names = [
        n
        for n in (
            "mitmdump",
            "proxychains",
            "proxychains-lazy",
            "chain-socks5",
            "relay-socks5",
            "relay-http",
            "relay-2hop",
        )
        if any(n in r for r in rounds)
    ]
    table = medians(rounds, names, ["nc1_p50_ms"])
    shake = {k: _median([h[k] for h in handshakes]) for k in (handshakes[0] if handshakes else {})}
    # The proxy handshakes each configuration performs (beyond the TCP connect every one makes).
    cost = {
        "proxychains": "socks5",
        "proxychains-lazy": "socks5",
        "chain-socks5": "socks5",
        "relay-socks5": "socks5",
        "relay-http": "http",
        "relay-2hop": "2hop",
    }
    lines = [
        "| configuration | new connection p50 ms | added over mitmdump ms "
        "| proxy handshakes alone ms |",
        "|---|---:|---:|---:|",
    ]
    base = table.get("mitmdump", {}).get("nc1_p50_ms")
    for name in names:
        p50 = table[name]["nc1_p50_ms"]
        added = p50 - base if p50 is not None and base is not None and name != "mitmdump" else None
        alone = shake.get(cost.get(name, ""))
        alone = alone - shake["tcp"] if alone is not None and "tcp" in shake else None
        lines.append(f"| {name} | {_fmt(p50, 2)} | {_fmt(added, 2)} | {_fmt(alone, 2)} |")
    return "\n".join(lines)
