"""The peers the bench shares (a TLS origin, a SOCKS5 proxy, an HTTP CONNECT proxy) and the
configurations it compares, each started on 127.0.0.1 and stopped by pid.

The origin is nginx so that it is never the bottleneck; the relay under test is the only thing a
configuration adds, and its pids are what the bench charges CPU and memory to.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import peers
from mitmrelay.testing import (
    HOST,
    Certs,
    Process,
    free_port,
    make_certs,
    soap_envelope,
    start_mitmdump,
)
from peers import ADDONS

# A ~1 KB SOAP exchange, as in DESIGN.md's performance facts: the demo's Add call, bigger.
CALC = "http://example.org/calculator"
SOAP_REQUEST = soap_envelope(
    "<calc:Add><calc:a>" + "1" * 400 + "</calc:a><calc:b>2</calc:b></calc:Add>", calc=CALC
)
SOAP_RESPONSE = soap_envelope(
    "<calc:AddResponse><calc:result>" + "3" * 800 + "</calc:result></calc:AddResponse>",
    calc=CALC,
)


@dataclass
class Shared:
    """Peers started once per bench run."""

    tmp: Path
    certs: Certs
    origin: Process
    socks5: Process
    http: Process
    files: dict[str, str]  # URL path -> sha256 hex of its content

    def stop(self) -> None:
        for proc in (self.origin, self.socks5, self.http):
            proc.stop()


def start_shared(tmp: Path, bulk_sizes: dict[str, int]) -> Shared:
    """bulk_sizes: file name -> size in bytes, served under /files/."""
    certs = make_certs(tmp)
    # nginx's worker runs as another user when started as root: it must be able to read the files.
    tmp.chmod(0o755)
    files = _write_files(tmp / "www" / "files", bulk_sizes)
    started: list[Process] = []
    try:
        started.append(_start_nginx(tmp, certs))
        started.append(peers.start_microsocks(tmp))
        # 500 idle connections through a 2-hop chain need more than tinyproxy's usual client limit.
        started.append(peers.start_tinyproxy(tmp, max_clients=2000))
    except BaseException:
        for proc in started:
            proc.stop()
        raise
    return Shared(tmp, certs, *started, files=files)


def _write_files(directory: Path, sizes: dict[str, int]) -> dict[str, str]:
    directory.mkdir(parents=True)
    digests = {}
    for name, size in sizes.items():
        digest = hashlib.sha256()
        with open(directory / name, "wb") as f:
            # Random content: a compressible body would flatter nobody here, but be honest anyway.
            for left in range(size, 0, -(1 << 20)):
                chunk = os.urandom(min(left, 1 << 20))
                digest.update(chunk)
                f.write(chunk)
        digests[f"/files/{name}"] = digest.hexdigest()
    return digests


def _start_nginx(tmp: Path, certs: Certs) -> Process:
    port = free_port()
    prefix = tmp / "nginx"
    prefix.mkdir()
    temp = " ".join(
        f"{kind}_temp_path {prefix};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    (prefix / "nginx.conf").write_text(
        f"worker_processes 1; pid {prefix}/nginx.pid; error_log stderr;\n"
        "events { worker_connections 8192; }\n"
        f"http {{ access_log off; {temp} keepalive_requests 1000000; keepalive_timeout 600s;\n"
        "  default_type text/xml; sendfile on;\n"
        f"  server {{ listen {HOST}:{port} ssl;\n"
        f"    ssl_certificate {certs.cert}; ssl_certificate_key {certs.key};\n"
        f"    root {tmp / 'www'};\n"
        f"    location = /soap {{ return 200 '{SOAP_RESPONSE.decode()}'; }}\n"
        "    location /files/ { default_type application/octet-stream; } } }\n"
    )
    args = [
        peers.need("nginx"),
        "-e",
        "stderr",
        "-p",
        str(prefix),
        "-c",
        str(prefix / "nginx.conf"),
        "-g",
        "daemon off;",
    ]
    return Process(args, prefix / "log", [port])


@dataclass
class Running:
    """A started configuration: where the client connects, and the relay processes to measure."""

    scheme: str
    port: int
    procs: list[Process] = field(default_factory=list)

    @property
    def relay_pids(self) -> list[int]:
        return [p.proc.pid for p in self.procs]

    def stop(self) -> None:
        for proc in reversed(self.procs):
            proc.stop()


@dataclass(frozen=True)
class Config:
    name: str
    what: str
    start: Callable[[Shared], Running]
    slow_bulk: bool = False  # use the small bulk file: this configuration moves ~1 MB/s


def _direct(shared: Shared) -> Running:
    return Running("https", shared.origin.port)


def _socat(verbose: bool) -> Callable[[Shared], Running]:
    """The seed's chain: plain in, TLS out through a second socat that does HTTP CONNECT."""

    def start(shared: Shared) -> Running:
        socat = peers.need("socat")
        inner, outer = free_port(), free_port()
        tag = "v" if verbose else "plain"
        second = Process(
            [
                socat,
                f"TCP4-LISTEN:{inner},bind={HOST},reuseaddr,fork",
                f"PROXY:{HOST}:{HOST}:{shared.origin.port},proxyport={shared.http.port}",
            ],
            shared.tmp / f"socat-inner-{tag}-{inner}.log",
            [inner],
        )
        try:
            # -v writes its dump to stderr: into a file, as a user would redirect it.
            first = Process(
                [
                    socat,
                    *(["-v"] if verbose else []),
                    f"TCP4-LISTEN:{outer},bind={HOST},reuseaddr,fork",
                    f"OPENSSL:localhost:{inner},verify=0",
                ],
                shared.tmp / f"socat-outer-{tag}-{outer}.log",
                [outer],
            )
        except BaseException:
            second.stop()
            raise
        return Running("http", outer, [second, first])

    return start


def _mitmdump(
    scripts: tuple[str, ...] = (),
    chain: str = "",
    extra: tuple[str, ...] = (),
    proxychains: bool = False,
) -> Callable[[Shared], Running]:
    """mitmdump in reverse mode to the origin, with the same options in every configuration."""

    def start(shared: Shared) -> Running:
        args = [
            "--mode",
            f"reverse:https://{HOST}:{shared.origin.port}@{{port}}",
            "--set",
            f"ssl_verify_upstream_trusted_ca={shared.certs.ca}",
            # Bulk bodies stream, as in the recipes; buffering them is a different benchmark.
            "--set",
            "stream_large_bodies=1m",
        ]
        if chain:
            args += [
                "--set",
                "proxy_chain=" + chain.format(socks=shared.socks5.port, http=shared.http.port),
            ]
        args += [a.format(tmp=shared.tmp, port="{port}") for a in extra]  # start_mitmdump's {port}
        wrapper: list[str] = []
        if proxychains:
            conf = shared.tmp / "proxychains.conf"
            conf.write_text(
                f"strict_chain\nquiet_mode\n[ProxyList]\nsocks5 {HOST} {shared.socks5.port}\n"
            )
            wrapper = [peers.need("proxychains4"), "-q", "-f", str(conf)]
        relay = start_mitmdump(
            shared.tmp, *args, scripts=[ADDONS / s for s in scripts], wrapper=wrapper
        )
        return Running("http", relay.port, [relay])

    return start


SOCKS = "socks5h://127.0.0.1:{socks}"
CONNECT = "http://127.0.0.1:{http}"
# relay.py loads every addon (chain, SOAP view, dumps off, recipes), as users run it.
RELAY = ("relay.py",)

CONFIGS = [
    Config("direct", "HTTPS straight to the origin (the limit here)", _direct),
    Config("socat", "the seed's two-socat chain through the HTTP CONNECT proxy", _socat(False)),
    Config("socat-v", "the same with socat -v (dump to a file)", _socat(True), slow_bulk=True),
    Config("mitmdump", "mitmdump reverse mode, no proxy", _mitmdump()),
    Config(
        "proxychains",
        "proxychains4 + mitmdump through the SOCKS5 proxy",
        _mitmdump(proxychains=True),
    ),
    Config(
        "proxychains-lazy",
        "the same with connection_strategy=lazy, as the relay sets it for reverse HTTP(S) (502s)",
        _mitmdump(extra=("--set", "connection_strategy=lazy"), proxychains=True),
    ),
    Config("relay-socks5", "mitmrelay through the SOCKS5 proxy", _mitmdump(RELAY, SOCKS)),
    Config("relay-http", "mitmrelay through the HTTP CONNECT proxy", _mitmdump(RELAY, CONNECT)),
    Config(
        "relay-2hop",
        "mitmrelay through SOCKS5 then HTTP CONNECT",
        _mitmdump(RELAY, f"{SOCKS},{CONNECT}"),
    ),
    Config(
        "relay-dump",
        "relay-socks5 + socat_dump (-v format) to a file",
        _mitmdump(RELAY, SOCKS, ("--set", "socat_dump={tmp}/dump-{port}.txt")),
    ),
    Config(
        "chain-socks5",
        "the chain addon alone (addons/chain.py, no SOAP view) through SOCKS5",
        _mitmdump(("chain.py",), SOCKS),
    ),
]
BY_NAME = {config.name: config for config in CONFIGS}
