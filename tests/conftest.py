"""Fixtures that start real peers on 127.0.0.1 and stop every one of them after the test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peers
import pytest


@pytest.fixture(scope="session")
def certs(tmp_path_factory: pytest.TempPathFactory) -> peers.Certs:
    return peers.Certs(tmp_path_factory.mktemp("certs"))


class Peers:
    """Starts peers for one test; everything started is stopped when the test ends."""

    def __init__(self, tmp: Path, certs: peers.Certs) -> None:
        self.tmp = tmp
        self.certs = certs
        self._started: list = []

    def _keep(self, peer):
        self._started.append(peer)
        return peer

    def https_origin(self) -> peers.HttpOrigin:
        return self._keep(peers.HttpOrigin(self.certs))

    def http_origin(self) -> peers.HttpOrigin:
        return self._keep(peers.HttpOrigin())

    def banner(self, tls: bool = False) -> peers.BannerServer:
        return self._keep(peers.BannerServer(self.certs if tls else None))

    def websocket_echo(self) -> peers.WebSocketEcho:
        return self._keep(peers.WebSocketEcho())

    def nginx_h2(self) -> peers.Proc:
        return self._keep(peers.start_nginx_h2(self.tmp, self.certs))

    def scripted(self, replies: list[bytes], then: str = "stall") -> peers.ScriptedProxy:
        return self._keep(peers.ScriptedProxy(replies, then))

    def microsocks(self, user: str | None = None, password: str | None = None) -> peers.Proc:
        return self._keep(peers.start_microsocks(self.tmp, user, password))

    def microsocks_on(self, port: int) -> peers.Proc:
        return self._keep(peers.start_microsocks(self.tmp, port=port))

    def dante(self) -> peers.Proc:
        return self._keep(peers.start_dante(self.tmp))

    def tinyproxy(
        self, user: str | None = None, password: str | None = None, max_clients: int = 100
    ) -> peers.Proc:
        return self._keep(peers.start_tinyproxy(self.tmp, user, password, max_clients))

    def pproxy(self, scheme: str, auth: str | None = None, tls: bool = False) -> peers.Proc:
        return self._keep(peers.start_pproxy(self.tmp, scheme, auth, self.certs if tls else None))

    def mitmdump(
        self, *args: str, env: dict | None = None, script: str = "addons/relay.py"
    ) -> peers.Proc:
        return self._keep(peers.start_mitmdump(self.tmp, *args, env=env, script=script))

    def stop(self) -> None:
        for peer in reversed(self._started):
            peer.stop()


@pytest.fixture
def peer(tmp_path: Path, certs: peers.Certs) -> Iterator[Peers]:
    started = Peers(tmp_path, certs)
    yield started
    started.stop()
