"""NTLM and Negotiate run in the authentication worker (chain/auth_worker.py), not in the relay's
process: against a real squid (ntlm_fake_auth, and negotiate_kerberos_auth with a real MIT KDC),
the worker is killed or stopped mid-handshake by its process id. That hop fails with an
auth_rejected HopError (a 502 through mitmdump) naming the hop and the dead worker; the relay's
process lives on and the next connection works through a new worker.

A forwarder between the relay and squid (Interposer) does the killing at the exact moment: when
squid's challenge passes, before the relay reads it."""

from __future__ import annotations

import asyncio
import html
import os
import signal
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import corp_peers
import peers
import pytest
from mitmrelay.chain import proxyauth
from mitmrelay.chain.connector import open_chain
from mitmrelay.chain.errors import Failure, HopError
from mitmrelay.chain.spec import parse_chain
from mitmrelay.testing import running, wait_for
from peers import HOST, curl

NTLM_PASSWORD = "ntlm-secret-R5"
NTLM_CHALLENGE = b"Proxy-Authenticate: NTLM TlRMTVNT"  # squid's type 2 message, base64
TIMEOUT = 10


class Interposer(peers.Threaded):
    """A TCP forwarder to squid on port that calls `act` once, on the first reply from squid
    holding `marker`, before passing that reply on."""

    def __init__(self, port: int, marker: bytes, act: Callable[[], None]) -> None:
        acted = threading.Event()

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(("localhost", port))
                threading.Thread(target=self.pump, args=(upstream,), daemon=True).start()
                with upstream:
                    while data := upstream.recv(65536):
                        if marker in data and not acted.is_set():
                            acted.set()
                            act()
                        self.request.sendall(data)

            def pump(self, upstream: socket.socket) -> None:
                try:
                    while data := self.request.recv(65536):
                        upstream.sendall(data)
                    upstream.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        self.acted = acted
        self.server = socketserver.ThreadingTCPServer((HOST, 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._serve()


@pytest.fixture(scope="module")
def squid_ntlm() -> Iterator[corp_peers.Squid]:
    started = corp_peers.start_squid(("ntlm",))
    yield started
    started.stop()


@pytest.fixture
def origin() -> Iterator[peers.HttpOrigin]:
    started = peers.HttpOrigin()
    yield started
    started.stop()


def ntlm_chain(port: int) -> str:
    return f"http://CORP%5Calice:{NTLM_PASSWORD}@localhost:{port}?auth=ntlm"


async def _tunnel(chain: str, origin: peers.HttpOrigin) -> None:
    _, writer = await open_chain(parse_chain(chain), "localhost", origin.port, timeout=TIMEOUT)
    writer.close()


def tunnel(chain: str, origin: peers.HttpOrigin) -> None:
    asyncio.run(_tunnel(chain, origin))


def tunnel_fails(chain: str, origin: peers.HttpOrigin) -> HopError:
    with pytest.raises(HopError) as info:
        tunnel(chain, origin)
    error = info.value
    assert error.kind is Failure.AUTH_REJECTED and error.index == 1
    assert str(error).startswith("proxy hop 1/1 http://")
    for secret in (NTLM_PASSWORD, "TlRMTVNT", "Negotiate YII"):
        assert secret not in str(error)
    return error


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def kill_worker(sig: signal.Signals, pids: list[int]) -> Callable[[], None]:
    def act() -> None:
        pid = proxyauth.auth_worker().worker_pid
        assert pid is not None and pid != os.getpid()
        pids.append(pid)
        os.kill(pid, sig)

    return act


def test_concurrent_handshakes_share_one_worker(squid_ntlm, origin):
    """Each leg reaches the worker holding its context, however the legs of several
    connections interleave; first in this module: the worker's first use is concurrent too."""

    async def many() -> None:
        chain = ntlm_chain(squid_ntlm.port)
        await asyncio.gather(*(_tunnel(chain, origin) for _ in range(6)))

    asyncio.run(many())
    assert proxyauth.auth_worker().generation >= 1


def test_ntlm_worker_killed_mid_handshake_fails_that_hop_and_the_next_connection_works(
    squid_ntlm, origin
):
    killed: list[int] = []
    front = Interposer(squid_ntlm.port, NTLM_CHALLENGE, kill_worker(signal.SIGKILL, killed))
    try:
        error = tunnel_fails(ntlm_chain(front.port), origin)
        assert error.reason == (
            "NTLM: the authentication worker process died (SIGKILL) during the handshake; "
            "the next connection starts a new one"
        )
        assert front.acted.is_set()
        tunnel(ntlm_chain(front.port), origin)  # the interposer acts once: this one goes through
    finally:
        front.stop()
    assert proxyauth.auth_worker().worker_pid not in (None, killed[0])
    assert corp_peers.tunnel_user(squid_ntlm, origin.port) == "C\\\\a"


def test_a_worker_that_does_not_answer_a_leg_in_time_is_killed(squid_ntlm, origin, monkeypatch):
    monkeypatch.setattr(proxyauth, "LEG_SECONDS", 1.0)
    stopped: list[int] = []
    front = Interposer(squid_ntlm.port, NTLM_CHALLENGE, kill_worker(signal.SIGSTOP, stopped))
    try:
        error = tunnel_fails(ntlm_chain(front.port), origin)
        assert error.reason.startswith(
            "NTLM: the authentication worker did not answer within its time bound and was killed"
        )
        assert gone(stopped[0])
        tunnel(ntlm_chain(front.port), origin)
    finally:
        front.stop()


def test_a_leg_stuck_in_one_worker_holds_up_no_other_handshake(squid_ntlm, origin, monkeypatch):
    """Workers run side by side: while one is stopped mid-handshake (its leg waits for the
    bound), another connection's handshake goes through another worker at once."""
    monkeypatch.setattr(proxyauth, "LEG_SECONDS", 4.0)
    stopped: list[int] = []
    front = Interposer(squid_ntlm.port, NTLM_CHALLENGE, kill_worker(signal.SIGSTOP, stopped))
    errors: list[BaseException] = []

    def stuck() -> None:
        try:
            tunnel(ntlm_chain(front.port), origin)
        except BaseException as e:  # asserted below
            errors.append(e)

    first = threading.Thread(target=stuck)
    try:
        first.start()
        wait_for(front.acted.is_set, what="the worker stopped mid-handshake")
        started = time.monotonic()
        tunnel(ntlm_chain(squid_ntlm.port), origin)
        assert time.monotonic() - started < 2.0  # not after the stuck leg's 4 s
        first.join(15)
        assert len(errors) == 1 and "did not answer within its time bound" in str(errors[0])
        assert gone(stopped[0])
    finally:
        front.stop()


@pytest.fixture
def kerberos_env(kdc, tmp_path: Path, monkeypatch) -> Path:
    ccache = tmp_path / "ccache"
    for name, value in kdc.env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{ccache}")
    kdc.kinit(ccache)
    return ccache


def test_negotiate_worker_killed_or_stopped(kdc, origin, kerberos_env, monkeypatch, caplog):
    """Kerberos needs one leg: a worker killed between connections is replaced unseen (but for
    a warning); one stopped when the leg comes is killed at the leg's bound and fails that hop."""
    squid = corp_peers.start_squid(("negotiate",), kdc=kdc)
    chain = f"http://localhost:{squid.port}?auth=negotiate"
    try:
        tunnel(chain, origin)
        first = proxyauth.auth_worker().worker_pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_for(lambda: not running(first))
        tunnel(chain, origin)
        assert "authentication worker process died (SIGKILL) between uses" in caplog.text
        second = proxyauth.auth_worker().worker_pid
        assert second not in (None, first)
        monkeypatch.setattr(proxyauth, "LEG_SECONDS", 1.0)
        os.kill(second, signal.SIGSTOP)
        error = tunnel_fails(chain, origin)
        assert error.reason.startswith("Negotiate: the authentication worker did not answer")
        assert gone(second)
        tunnel(chain, origin)
        assert corp_peers.tunnel_user(squid, origin.port) == f"{corp_peers.USER}@{corp_peers.REALM}"
    finally:
        squid.stop()


def auth_worker_of(pid: int) -> int | None:
    """The process id of the authentication worker mitmdump `pid` runs, if any (from /proc)."""
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            if b"auth_worker.py" in Path(f"/proc/{child}/cmdline").read_bytes():
                return int(child)
    return None


def test_the_relay_answers_502_naming_the_hop_and_the_dead_worker_then_serves(peer, squid_ntlm):
    origin = peer.http_origin()
    killed: list[int] = []

    def kill() -> None:
        pid = auth_worker_of(relay.proc.pid)
        assert pid is not None
        killed.append(pid)
        os.kill(pid, signal.SIGKILL)

    front = peer.keep(Interposer(squid_ntlm.port, NTLM_CHALLENGE, kill))
    relay = peer.mitmdump(
        "--set",
        f"proxy_chain=http://CORP%5Calice:${{NTLM_PASS}}@localhost:{front.port}?auth=ntlm",
        env={"NTLM_PASS": NTLM_PASSWORD},
    )
    url = f"http://localhost:{origin.port}/through"
    code, body = curl("-x", f"http://{HOST}:{relay.port}", url)
    body = html.unescape(body)  # mitmproxy's error page escapes it
    assert code == 502
    assert (
        f"proxy hop 1/1 http://CORP%5Calice:${{NTLM_PASS}}@localhost:{front.port}?auth=ntlm "
        f"failed the connection to localhost:{origin.port}: NTLM: the authentication worker "
        "process died (SIGKILL) during the handshake"
    ) in body
    assert relay.proc.poll() is None, "mitmdump lives on"
    code, body = curl("-x", f"http://{HOST}:{relay.port}", url)
    assert code == 200 and "hello from origin /through" in body
    worker = wait_for(lambda: auth_worker_of(relay.proc.pid))
    assert worker != killed[0]
    # the hop's ${NTLM_PASS} is mitmdump's; the worker gets the password over its pipe only
    for seen in (Path(f"/proc/{worker}/environ"), Path(f"/proc/{worker}/cmdline")):
        assert b"NTLM_PASS" not in seen.read_bytes()
        assert NTLM_PASSWORD.encode() not in seen.read_bytes()
    for secret in (NTLM_PASSWORD, "TlRMTVNT", "Proxy-Authorization"):
        assert secret not in relay.text()
