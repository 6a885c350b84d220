"""One configuration, measured: request rates, latency, bulk, memory and the relay's CPU.

Every number is for the relay processes alone (procstat), while the load runs; the proxies, the
origin and the load client are on the same 2 cores but are not charged to the configuration.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import loadgen
import procstat
import rigs
from mitmrelay.testing import HOST

MB = 1_000_000


@dataclass(frozen=True)
class Plan:
    seconds: int  # per wrk phase
    connections: int  # wrk connections
    idle: int  # connections held idle
    bulk: str  # URL path of the bulk file
    bulk_slow: str  # the small one, for configurations that move ~1 MB/s


def measure(config: rigs.Config, shared: rigs.Shared, plan: Plan) -> dict[str, float | None]:
    running = config.start(shared)
    try:
        return _phases(running, shared, plan, config.slow_bulk)
    finally:
        running.stop()


def _phases(
    running: rigs.Running, shared: rigs.Shared, plan: Plan, slow_bulk: bool
) -> dict[str, float | None]:
    pids = running.relay_pids
    url = f"{running.scheme}://{HOST}:{running.port}/soap"
    out: dict[str, float | None] = {}
    errors = 0

    def cpu() -> float:
        return procstat.cpu_seconds(pids) if pids else 0.0

    for phase, new_connection in (("ka", False), ("nc", True)):
        script = loadgen.wrk_script(
            shared.tmp / f"wrk-{phase}.lua", rigs.SOAP_REQUEST, new_connection
        )
        before = cpu()
        result = loadgen.run_wrk(url, script, plan.seconds, plan.connections)
        used = cpu() - before
        out[f"{phase}_rps"] = result.rps
        out[f"{phase}_p50_ms"] = result.p50_ms
        out[f"{phase}_p99_ms"] = result.p99_ms
        out[f"{phase}_cpu_ms"] = used * 1000 / result.requests if pids and result.requests else None
        errors += result.errors
    # One connection at a time: the setup latency itself, without queueing behind other requests.
    serial = loadgen.run_wrk(url, script, max(1, plan.seconds // 2), 1)
    out["nc1_p50_ms"] = serial.p50_ms
    errors += serial.errors

    path = plan.bulk_slow if slow_bulk else plan.bulk
    before = cpu()
    with procstat.PeakRss(pids) as peak:
        size, digest, seconds = loadgen.download(
            running.scheme, running.port, path, shared.certs.ca
        )
    used = cpu() - before
    if digest != shared.files[path]:
        raise RuntimeError(f"bulk download of {path}: sha256 mismatch ({size} bytes received)")
    out["bulk_MBps"] = size / MB / seconds
    out["bulk_cpu_ms_MB"] = used * 1000 / (size / MB) if pids else None
    out["bulk_peak_MB"] = peak.peak / MB if pids else None

    if plan.idle:
        base = procstat.pss_bytes(pids) if pids else 0
        held, failed = asyncio.run(
            loadgen.hold_idle(
                running.scheme,
                running.port,
                Path(shared.certs.ca),
                plan.idle,
                lambda: procstat.pss_bytes(pids) if pids else 0,
            )
        )
        errors += failed
        out["idle_MB"] = held / MB if pids else None
        out["idle_KB_conn"] = (
            (held - base) / 1000 / (plan.idle - failed) if pids and failed < plan.idle else None
        )
    out["errors"] = errors
    return out
