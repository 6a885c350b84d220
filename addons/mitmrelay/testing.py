"""What the demo, this project's tests and bench, and your own test suite share to run mitmproxy
with mitmrelay against real peers on 127.0.0.1: free ports, a throwaway CA, and one runner for
mitmdump and mitmweb that waits until they listen and stops exactly what it started.

Usage:
    from mitmrelay.testing import HOST, make_certs, start_mitmdump

    certs = make_certs(tmp_path)  # ca.pem, server.pem, server.key for localhost/127.0.0.1
    relay = start_mitmdump(
        tmp_path,
        "--mode", f"reverse:https://localhost:{origin_port}@{{port}}",
        "--set", f"ssl_verify_upstream_trusted_ca={certs.ca}",
        "--set", f"proxy_chain=socks5h://{HOST}:{socks_port}",
    )
    try:
        ...  # your client talks to http://127.0.0.1:{relay.port}
        relay.wait_log(r"server connect localhost:\\d+ via socks5h")
    finally:
        relay.stop()
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import itertools
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import NamedTuple, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = [
    "HOST",
    "RELAY_SCRIPT",
    "Certs",
    "Mitm",
    "Process",
    "free_port",
    "listening",
    "make_certs",
    "make_client_cert",
    "soap_envelope",
    "start_mitmdump",
    "wait_for",
    "wait_port",
]

HOST = "127.0.0.1"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
# Every addon of the project, as a script for -s; inside the package, so installed wheels have it.
RELAY_SCRIPT = Path(__file__).resolve().parent / "cli" / "all_addons.py"

T = TypeVar("T")


# --- ports and waiting ----------------------------------------------------------------------------


# $MITMRELAY_TEST_PORTS ("20000-25999"): the ports free_port hands out in this process, in turn
# from a random start. Processes given disjoint ranges (scripts/test's two pytest processes) never
# hand out the same port, although each port is bound only later, by the program a test starts.
_PORT_RANGE = os.environ.get("MITMRELAY_TEST_PORTS", "")
_port_turns = itertools.count(secrets.randbelow(1 << 16))


def free_port() -> int:
    """A TCP port on HOST that nothing listens on right now (one of $MITMRELAY_TEST_PORTS)."""
    if not _PORT_RANGE:
        with socket.socket() as s:
            s.bind((HOST, 0))
            return s.getsockname()[1]
    low, high = map(int, _PORT_RANGE.split("-"))
    for _ in range(high - low + 1):
        port = low + next(_port_turns) % (high - low + 1)
        with socket.socket() as s:
            try:
                s.bind((HOST, port))
            except OSError:  # listened on, or in TIME_WAIT
                continue
        return port
    raise OSError(f"no free port on {HOST} in MITMRELAY_TEST_PORTS={_PORT_RANGE}")


def listening(port: int) -> bool:
    """Whether a socket listens on `port`, read from /proc/net/tcp{,6} without connecting.

    A probing connect would count as a client: an eager reverse-mode mitmdump opens a server
    connection for it and a one-shot server serves it. Without /proc (not Linux) it connects.
    """
    tables = [Path("/proc/net/tcp"), Path("/proc/net/tcp6")]
    if not tables[0].exists():
        try:
            socket.create_connection((HOST, port), timeout=0.5).close()
            return True
        except OSError:
            return False
    wanted = f":{port:04X}"
    for table in tables:
        if table.exists():
            for line in table.read_text().splitlines()[1:]:
                fields = line.split()
                if fields[1].endswith(wanted) and fields[3] == "0A":  # 0A: TCP_LISTEN
                    return True
    return False


def wait_for(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll `predicate` until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.02)
    raise TimeoutError(f"{what} not met after {timeout} s")


def _program(proc: subprocess.Popen) -> str:
    """The program a Popen runs, for messages (its args are a list here, never a string)."""
    args = proc.args
    first = args if isinstance(args, str | bytes | os.PathLike) else args[0]
    return os.fsdecode(first)


def wait_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until something listens on HOST:port; fail at once if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while not listening(port):
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(
                f"{_program(proc)} exited with {proc.returncode} before listening on {port}"
            )
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listens on {HOST}:{port} after {timeout} s")
        time.sleep(0.02)


def soap_envelope(body: str, **namespaces: str) -> bytes:
    """A SOAP 1.1 request or answer with `body` in its Body; `namespaces` are prefix=URI pairs
    declared on the Envelope for the body to use."""
    declared = "".join(f' xmlns:{prefix}="{uri}"' for prefix, uri in namespaces.items())
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n<soap:Envelope xmlns:soap="{SOAP11}"{declared}>'
        f"<soap:Body>{body}</soap:Body></soap:Envelope>"
    ).encode()


# --- certificates ---------------------------------------------------------------------------------


class Certs(NamedTuple):
    """A throwaway CA and a server certificate for localhost/127.0.0.1 it signed, as PEM files."""

    ca: Path
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def _certificate(
    subject: str,
    issuer: str,
    key: ec.EllipticCurvePrivateKey,
    signer: ec.EllipticCurvePrivateKey,
    extensions: Sequence[tuple[x509.ExtensionType, bool]],
) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))  # clocks a little behind still agree
        .not_valid_after(now + datetime.timedelta(days=30))
    )
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(signer, hashes.SHA256())


def _ca(name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    return key, _certificate(
        name,
        name,
        key,
        key,
        [(x509.BasicConstraints(ca=True, path_length=None), True), (usage, True)],
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def make_certs(directory: Path, issuer: str = "mitmrelay throwaway CA") -> Certs:
    """Write ca.pem (a CA named `issuer`), server.pem and server.key (localhost and 127.0.0.1)
    into `directory` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca = _ca(issuer)
    key = ec.generate_private_key(ec.SECP256R1())
    names = x509.SubjectAlternativeName(
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]
    )
    usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH])
    cert = _certificate("localhost", issuer, key, ca_key, [(names, False), (usage, False)])
    certs = Certs(directory / "ca.pem", directory / "server.pem", directory / "server.key")
    certs.ca.write_bytes(_pem(ca))
    certs.cert.write_bytes(_pem(cert))
    certs.key.write_bytes(_key_pem(key))
    return certs


def make_client_cert(directory: Path) -> tuple[Path, Path]:
    """Write client-ca.pem and client.pem (certificate and key, as mitmproxy's client_certs takes
    it) for a server that requires client certificates; returns their paths."""
    issuer = "mitmrelay throwaway client CA"
    ca_key, ca = _ca(issuer)
    key = ec.generate_private_key(ec.SECP256R1())
    usage = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = _certificate("soap-client", issuer, key, ca_key, [(usage, False)])
    ca_path, client_path = directory / "client-ca.pem", directory / "client.pem"
    ca_path.write_bytes(_pem(ca))
    client_path.write_bytes(_pem(cert) + _key_pem(key))
    return ca_path, client_path


# --- processes ------------------------------------------------------------------------------------


class Process:
    """A program started in its own process group, its output (stdout and stderr) in the file
    `log`, ready once every port in `ports` listens and every regular expression in `ready` is in
    its output; stop() ends that group and nothing else."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        ports: Iterable[int] = (),
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 30.0,
        ready: Iterable[str] = (),
    ) -> None:
        self.args = list(args)
        self.ports = list(ports)
        self.port = self.ports[0] if self.ports else 0
        self._stopped = False
        self.log = log
        # A file, not a pipe: nobody reads a pipe while the test runs, and a full one blocks it.
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                list(args),
                stdout=out,
                stderr=subprocess.STDOUT,
                env=None if env is None else dict(env),
                cwd=cwd,
                start_new_session=True,
            )
        try:
            for port in self.ports:
                wait_port(port, timeout, self.proc)
            for pattern in ready:
                self.wait_log(pattern, timeout)
        except Exception as e:
            self.stop()
            raise RuntimeError(f"{' '.join(args)} did not start ({e}):\n{self.text()}") from None

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_log(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until the output matches the regular expression `pattern`."""
        found: re.Match[str] | None = wait_for(
            lambda: re.search(pattern, self.text()), timeout, f"{pattern!r} in {self.log}"
        )
        assert found is not None  # wait_for returns only a true value
        return found

    def stop(self) -> None:
        """End the program and whatever it forked (its process group); return once all are gone,
        so that their ports are free. Once stopped, stopping again does nothing (the group's
        number may then belong to someone else)."""
        if self._stopped:
            return
        self._stopped = True
        if self.proc.poll() is None or _group_members(self.proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
                wait_for(lambda: not _group_members(self.proc.pid), 5, "the process group gone")
            except (subprocess.TimeoutExpired, TimeoutError):
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


def running(pid: int) -> bool:
    """The process is alive: neither gone nor a zombie (ended, its parent yet to wait for it;
    SIGKILL is delivered asynchronously, so right after kill() it may still run)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _group_members(group: int) -> list[int]:
    """The live (not zombie) processes of a process group, from /proc (empty where none is)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            state, _, pgrp = (entry / "stat").read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, ValueError):
            continue
        if int(pgrp) == group and state != "Z":
            members.append(int(entry.name))
    return members


class Mitm(Process):
    """A started mitmdump or mitmweb: its listen `port`, its `confdir` (mitmproxy's CA is
    `confdir / "mitmproxy-ca-cert.pem"`) and, for mitmweb, `web_port` and `web_token`."""

    def __init__(
        self,
        args: Sequence[str],
        log: Path,
        ports: Iterable[int],
        env: Mapping[str, str],
        port: int,
        confdir: Path,
        web: tuple[int, str] = (0, ""),
    ) -> None:
        self.confdir = confdir
        self.web_port, self.web_token = web
        ports = list(ports)
        # mitmproxy 12 binds its listen port before it has loaded the scripts; its own line for
        # each listener comes once the addons are in place and it accepts connections.
        ready = [rf"listening at \S*:{p}\b" for p in ports]
        super().__init__(args, log, ports, env, ready=ready)
        self.port = port

    @property
    def web_url(self) -> str:
        """mitmweb's page, with the token mitmweb 12 asks for."""
        return f"http://{HOST}:{self.web_port}/?token={self.web_token}"


def _mitmproxy_major() -> int:
    from mitmproxy.version import VERSION

    return int(VERSION.split(".")[0])


def start_mitmdump(
    tmp: Path,
    *args: str,
    scripts: Sequence[Path | str] = (RELAY_SCRIPT,),
    env: Mapping[str, str] | None = None,
    tool: str = "mitmdump",
    listens: Iterable[int] | None = None,
    wrapper: Sequence[str] = (),
) -> Mitm:
    """mitmdump (or tool="mitmweb") from this Python's environment, on HOST and a free port, with
    `-s` for each of `scripts`, its confdir and output file in `tmp`, ready once it listens.

    `{port}` in the args becomes the listen port (for modes that carry it: `reverse:...@{port}`);
    without it, `--listen-port` is given. `listens`: the ports to wait for when a script opens its
    own listeners (a recipe), instead of the listen port. `env` is added to this environment.
    `wrapper` goes before the command (e.g. proxychains4 and its arguments). Readiness reads
    mitmproxy's "listening at" lines: keep its event log on (no -q; --flow-detail 0 is fine).
    """
    port = free_port()
    binary = Path(sys.executable).with_name(tool)
    confdir = tmp / "mitmproxy-conf"
    argv = [*wrapper, str(binary) if binary.exists() else shutil.which(tool) or tool]
    for script in scripts:
        if not Path(script).exists():
            raise FileNotFoundError(f"addon script {script} does not exist: pass scripts=[...]")
        argv += ["-s", str(script)]
    argv += ["--listen-host", HOST, "--set", f"confdir={confdir}"]
    argv += [a.replace("{port}", str(port)) for a in args]
    if not any("{port}" in a for a in args):
        argv += ["--listen-port", str(port)]
    ports = [port] if listens is None else list(listens)
    web = (0, "")
    if tool == "mitmweb":
        web = free_port(), secrets.token_hex(8)
        argv += ["--web-host", HOST, "--web-port", str(web[0]), "--no-web-open-browser"]
        if _mitmproxy_major() >= 12:  # mitmweb 12 asks for a token; 11 has none
            argv += ["--set", f"web_password={web[1]}"]
        ports.append(web[0])
    log = tmp / f"{tool}-{port}.log"
    return Mitm(argv, log, ports, {**os.environ, **(env or {})}, port, confdir, web)
