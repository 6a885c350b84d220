"""Fixtures that start real peers on 127.0.0.1 and stop every one of them after the test."""

from __future__ import annotations

import fcntl
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import corp_peers
import peers
import pytest
from mitmproxy.version import VERSION
from mitmrelay.testing import RELAY_SCRIPT, Certs, Mitm, Process, make_certs, start_mitmdump

P = TypeVar("P")
NEWEST_LINE = int(VERSION.split(".")[0]) >= 12


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "newest_line_only(why): run on mitmproxy 12 only, to keep the suite's time; `why` says "
        "why the other line adds nothing",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if NEWEST_LINE:
        return
    for item in items:
        marker = item.get_closest_marker("newest_line_only")
        if marker is not None:
            item.add_marker(pytest.mark.skip(reason=f"on mitmproxy 12 only: {marker.args[0]}"))


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


class Peers:
    """Starts peers for one test; everything started is stopped when the test ends."""

    def __init__(self, tmp: Path, certs: Certs) -> None:
        self.tmp = tmp
        self.certs = certs
        self._started: list = []

    def keep(self, peer: P) -> P:
        """Stop `peer` (anything with a stop()) when the test ends."""
        self._started.append(peer)
        return peer

    def https_origin(self) -> peers.HttpOrigin:
        return self.keep(peers.HttpOrigin(self.certs))

    def http_origin(self) -> peers.HttpOrigin:
        return self.keep(peers.HttpOrigin())

    def banner(self, tls: bool = False) -> peers.BannerServer:
        return self.keep(peers.BannerServer(self.certs if tls else None))

    def websocket_echo(self) -> peers.WebSocketEcho:
        return self.keep(peers.WebSocketEcho())

    def nginx_h2(self) -> Process:
        return self.keep(peers.start_nginx_h2(self.tmp, self.certs))

    def scripted(self, replies: list[bytes], then: str = "stall") -> peers.ScriptedProxy:
        return self.keep(peers.ScriptedProxy(replies, then))

    def microsocks(self, user: str | None = None, password: str | None = None) -> Process:
        return self.keep(peers.start_microsocks(self.tmp, user, password))

    def microsocks_on(self, port: int) -> Process:
        return self.keep(peers.start_microsocks(self.tmp, port=port))

    def dante(self) -> Process:
        return self.keep(peers.start_dante(self.tmp))

    def tinyproxy(
        self, user: str | None = None, password: str | None = None, max_clients: int = 100
    ) -> Process:
        return self.keep(peers.start_tinyproxy(self.tmp, user, password, max_clients))

    def pproxy(self, scheme: str, auth: str | None = None, tls: bool = False) -> Process:
        return self.keep(peers.start_pproxy(self.tmp, scheme, auth, self.certs if tls else None))

    def mitmdump(
        self,
        *args: str,
        env: Mapping[str, str] | None = None,
        scripts: Sequence[Path | str] = (RELAY_SCRIPT,),
        tool: str = "mitmdump",
        listens: Iterable[int] | None = None,
    ) -> Mitm:
        """mitmrelay.testing.start_mitmdump in this test's folder."""
        return self.keep(
            start_mitmdump(self.tmp, *args, env=env, scripts=scripts, tool=tool, listens=listens)
        )

    def reverse_https(
        self,
        origin: peers.HttpOrigin,
        chain: str,
        *args: str,
        host: str = "localhost",
        verify: bool = True,
        env: Mapping[str, str] | None = None,
    ) -> Mitm:
        """The headline: mitmdump in reverse mode in front of the HTTPS origin (as `host`), its
        server connections through `chain`; the origin verified against the test CA, unless
        verify=False (--ssl-insecure)."""
        trust = ["--set", f"ssl_verify_upstream_trusted_ca={self.certs.ca}"] if verify else []
        return self.mitmdump(
            "--mode",
            f"reverse:https://{host}:{origin.port}@{{port}}",
            *(trust or ["--ssl-insecure"]),
            "--set",
            f"proxy_chain={chain}",
            *args,
            env=env,
        )

    def stop(self) -> None:
        for peer in reversed(self._started):
            peer.stop()


@pytest.fixture
def peer(tmp_path: Path, certs: Certs) -> Iterator[Peers]:
    started = Peers(tmp_path, certs)
    yield started
    started.stop()


@pytest.fixture(scope="module")
def kdc() -> Iterator[corp_peers.Kdc]:
    """A real MIT Kerberos KDC on 127.0.0.1 (corp_peers.start_kdc), one per test module."""
    started = corp_peers.start_kdc()
    yield started
    started.stop()


@pytest.fixture
def fixed_ports() -> Iterator[None]:
    """For a test that needs fixed ports (a shipped recipe's 5000, mitmproxy's default 8080): one
    such test at a time on this machine, across pytest processes (scripts/test runs the mitmproxy
    lines at once), so that none finds the other line's listener there. Name it before `peer`:
    the lock is then let go after the peers are stopped."""
    with (Path(tempfile.gettempdir()) / "mitmrelay-tests-fixed-ports.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield
