"""mitmrelay.testing, the helpers users' own test suites get: certificates that verify, readiness
that opens no connection, a runner that stops everything it started and says why a start failed."""

from __future__ import annotations

import socket
import ssl
import sys
import threading
from pathlib import Path

import pytest
from mitmrelay.testing import (
    HOST,
    Process,
    free_port,
    listening,
    make_certs,
    running,
    start_mitmdump,
    wait_for,
)


@pytest.mark.parametrize("name", ["localhost", "127.0.0.1"])
def test_the_server_certificate_verifies_against_the_ca(tmp_path: Path, name: str) -> None:
    certs = make_certs(tmp_path)
    with socket.create_server((HOST, 0)) as server:
        context = certs.server_context()

        def serve() -> None:
            conn, _ = server.accept()
            with context.wrap_socket(conn, server_side=True) as tls:
                tls.sendall(b"ok")

        thread = threading.Thread(target=serve)
        thread.start()
        client = ssl.create_default_context(cafile=str(certs.ca))
        with (
            socket.create_connection(server.getsockname()) as raw,
            client.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.recv(2) == b"ok"
        thread.join(5)


def test_listening_sees_a_listener_without_connecting_to_it() -> None:
    with socket.socket() as bound:
        bound.bind((HOST, 0))
        port = bound.getsockname()[1]
        assert not listening(port)
        bound.listen()
        assert listening(port)
        bound.settimeout(0.2)
        with pytest.raises(TimeoutError):
            bound.accept()  # nobody connected: a one-shot server would still have its client


def test_free_port_hands_out_only_ports_of_its_range_that_are_free(monkeypatch) -> None:
    with socket.socket() as held, socket.socket() as released:
        held.bind((HOST, 0))
        released.bind((HOST, 0))
        taken, free = held.getsockname()[1], released.getsockname()[1]
        released.close()
        monkeypatch.setattr("mitmrelay.testing._PORT_RANGE", f"{free}-{free}")
        assert free_port() == free
        monkeypatch.setattr("mitmrelay.testing._PORT_RANGE", f"{taken}-{taken}")
        with pytest.raises(OSError, match=f"no free port on {HOST} in MITMRELAY_TEST_PORTS="):
            free_port()


def test_stop_ends_the_program_and_what_it_forked(tmp_path: Path) -> None:
    port = free_port()
    server = f"import socket, time; s = socket.create_server(('{HOST}', {port})); time.sleep(60)"
    script = f'{sys.executable} -c "{server}" & echo $!; wait'
    proc = Process(["sh", "-c", script], tmp_path / "out.txt", [port])
    child = int(proc.text().split()[0])
    proc.stop()
    assert not listening(port)
    wait_for(lambda: not running(child), 5, f"the forked server (pid {child}) gone")


def test_a_mitmdump_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(
        RuntimeError,
        match=r"(?s)did not start .*exited with 1.*Invalid proxy mode specification: nonsense",
    ):
        start_mitmdump(tmp_path, "--mode", "nonsense")
