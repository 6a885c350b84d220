"""Helpers for the recipe tests: a recipe copied with only hosts, ports and paths substituted, and
peers the shared fixtures lack (sshd with `ssh -D`, an origin that requires a client certificate).
Everything started is handed to the `peer` fixture, which stops it after the test. The SOAP call
they make is peers.soap_call, the client certificate mitmrelay.testing.make_client_cert."""

from __future__ import annotations

import getpass
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from mitmrelay.testing import HOST, Certs, Mitm, Process, free_port
from peers import REPO, HttpOrigin, curl, need

RECIPES = REPO / "recipes"
SERVER = "api.partner.example:443"  # the server the SOAP recipes name


def recipe_copy(name: str, tmp: Path, substitutions: dict[str, str]) -> Path:
    """recipes/NAME as shipped, with each key replaced by its value (every key must occur)."""
    text = (RECIPES / name).read_text()
    for old, new in substitutions.items():
        assert old in text, f"{old!r} is not in recipes/{name}: update the test with the recipe"
        text = text.replace(old, new)
    copy = tmp / name
    copy.write_text(text)
    return copy


def run_recipe(
    peer,
    recipe: Path,
    port: int,
    *args: str,
    env: dict | None = None,
    trust_test_ca: bool = False,
    tool: str = "mitmdump",
) -> Mitm:
    """mitmdump (or mitmweb) -s addons/relay.py --set recipe=RECIPE, ready once the recipe's
    port listens.

    trust_test_ca: verify servers against the test's throwaway CA (the origins' certificates)."""
    if trust_test_ca:
        args = ("--set", f"ssl_verify_upstream_trusted_ca={peer.certs.ca}", *args)
    return peer.mitmdump("--set", f"recipe={recipe}", *args, env=env, tool=tool, listens=[port])


def curl_via(relay: Mitm, proxy: str, url: str) -> tuple[int, str]:
    """curl URL through the relay as its proxy (http://... or socks5h://...), trusting its CA."""
    return curl("--proxy", proxy, "--cacert", str(relay.confdir / "mitmproxy-ca-cert.pem"), url)


# --- mutual TLS -----------------------------------------------------------------------------------


@dataclass
class ClientCertRequired:
    """Certs whose server context refuses clients without a certificate from client_ca."""

    certs: Certs
    client_ca: Path

    def server_context(self) -> ssl.SSLContext:
        context = self.certs.server_context()
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(self.client_ca)
        return context


def mtls_origin(peer, client_ca: Path) -> HttpOrigin:
    return peer.keep(HttpOrigin(ClientCertRequired(peer.certs, client_ca)))


# --- ssh -D ---------------------------------------------------------------------------------------


def ssh_socks(peer, tmp: Path) -> tuple[Process, Process]:
    """sshd on a free loopback port with its own config and keys, and `ssh -N -D` through it.

    Returns (sshd, ssh); the SOCKS port of ssh -D is ssh.port. sshd logs each forwarded connection
    with its target as the client named it (DEBUG1), which shows whether DNS was remote."""
    keygen = need("ssh-keygen")
    for key in ("host_key", "user_key"):
        subprocess.run([keygen, "-q", "-t", "ed25519", "-N", "", "-f", str(tmp / key)], check=True)
    (tmp / "authorized_keys").write_text((tmp / "user_key.pub").read_text())
    ssh_port, socks_port = free_port(), free_port()
    config = tmp / "sshd_config"
    config.write_text(
        f"Port {ssh_port}\nListenAddress {HOST}\nHostKey {tmp / 'host_key'}\n"
        f"AuthorizedKeysFile {tmp / 'authorized_keys'}\nPidFile {tmp / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nStrictModes no\n"
        "PermitRootLogin prohibit-password\nAllowTcpForwarding yes\nLogLevel DEBUG1\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    sshd = peer.keep(
        Process(
            [need("/usr/sbin/sshd"), "-D", "-e", "-f", str(config)], tmp / "sshd.log", [ssh_port]
        )
    )
    ssh = peer.keep(
        Process(
            [
                need("ssh"),
                "-N",
                "-D",
                f"{HOST}:{socks_port}",
                "-p",
                str(ssh_port),
                "-i",
                str(tmp / "user_key"),
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "BatchMode=yes",
                "-o",
                "ExitOnForwardFailure=yes",
                f"{getpass.getuser()}@{HOST}",
            ],
            tmp / "ssh.log",
            [socks_port],
        )
    )
    return sshd, ssh
