"""Helpers for the recipe tests: a recipe copied with only hosts, ports and paths substituted, and
peers the shared fixtures lack (sshd with `ssh -D`, an origin that requires a client certificate).
Everything started is handed to the `peer` fixture, which stops it after the test."""

from __future__ import annotations

import datetime
import getpass
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from peers import HOST, REPO, Certs, HttpOrigin, Proc, curl, free_port, need, wait_port

RECIPES = REPO / "recipes"
SERVER = "api.partner.example:443"  # the server the SOAP recipes name
SOAP = '<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body><Echo>hi</Echo></soap:Body></soap:Envelope>'


def soap_call(port: int) -> tuple[int, str]:
    return curl(
        f"http://{HOST}:{port}/service",
        "-H",
        "content-type: text/xml",
        "-H",
        'SOAPAction: "urn:Echo"',
        "--data",
        SOAP,
    )


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
    peer, recipe: Path, port: int, *args: str, env: dict | None = None, trust_test_ca: bool = False
) -> Proc:
    """mitmdump -s addons/relay.py --set recipe=RECIPE, ready once the recipe's port listens.

    trust_test_ca: verify servers against the test's throwaway CA (the origins' certificates)."""
    if trust_test_ca:
        args = ("--set", f"ssl_verify_upstream_trusted_ca={peer.certs.ca}", *args)
    relay = peer.mitmdump("--set", f"recipe={recipe}", *args, env=env)
    wait_port(port, proc=relay.proc)
    return relay


def mitm_ca(relay: Proc) -> Path:
    """The CA mitmproxy signs intercepted certificates with (start_mitmdump's confdir)."""
    return relay.log.parent / "mitmproxy-conf" / "mitmproxy-ca-cert.pem"


def curl_via(relay: Proc, proxy: str, url: str) -> tuple[int, str]:
    """curl URL through the relay as its proxy (http://... or socks5h://...), trusting its CA."""
    return curl("--proxy", proxy, "--cacert", str(mitm_ca(relay)), url)


# --- mutual TLS -----------------------------------------------------------------------------------


def make_client_cert(directory: Path) -> tuple[Path, Path]:
    """A client CA and a client certificate it signed: (ca.pem, client.pem with cert and key)."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "recipe test client CA")])

    def build(subject, public_key, ca: bool) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256())
        )

    ca = build(ca_name, ca_key.public_key(), True)
    client = build(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "soap-client")]), key.public_key(), False
    )
    ca_path, client_path = directory / "client-ca.pem", directory / "client.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    client_path.write_bytes(
        client.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_path, client_path


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
    return peer._keep(HttpOrigin(ClientCertRequired(peer.certs, client_ca)))


# --- ssh -D ---------------------------------------------------------------------------------------


def ssh_socks(peer, tmp: Path) -> tuple[Proc, Proc]:
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
    sshd = peer._keep(
        Proc([need("/usr/sbin/sshd"), "-D", "-e", "-f", str(config)], ssh_port, tmp / "sshd.log")
    )
    ssh = peer._keep(
        Proc(
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
            socks_port,
            tmp / "ssh.log",
        )
    )
    return sshd, ssh
