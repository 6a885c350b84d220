"""trust.py, the one trust rule: real TLS handshakes in memory (ssl.MemoryBIO) between its client
context and servers whose certificates come from a private CA, or from another one."""

from __future__ import annotations

import contextlib
import ssl
from pathlib import Path
from typing import NamedTuple

import certifi
import pytest
from mitmrelay import trust
from mitmrelay.options import BadValue
from mitmrelay.testing import Certs, make_certs
from trust_helpers import ca_folder


class Opts(NamedTuple):
    ssl_insecure: bool = False
    ssl_verify_upstream_trusted_ca: str | None = None
    ssl_verify_upstream_trusted_confdir: str | None = None


@pytest.fixture(scope="module")
def cas(tmp_path_factory: pytest.TempPathFactory) -> tuple[Certs, Certs]:
    """(private, other): two CAs with their localhost certificates."""
    private, other = tmp_path_factory.mktemp("private"), tmp_path_factory.mktemp("other")
    return make_certs(private, "Private CA"), make_certs(other, "Other CA")


def handshake(client: ssl.SSLContext, server: Certs, hostname: str = "localhost") -> str | None:
    """None when the client accepts server's certificate, else OpenSSL's reason."""
    to_server, to_client = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_out, client_out = ssl.MemoryBIO(), ssl.MemoryBIO()
    server_side = server.server_context().wrap_bio(to_server, server_out, server_side=True)
    client_side = client.wrap_bio(to_client, client_out, server_hostname=hostname)
    for _ in range(10):
        try:
            client_side.do_handshake()
            return None
        except ssl.SSLCertVerificationError as e:
            return e.verify_message
        except ssl.SSLWantReadError:
            to_server.write(client_out.read())
        with contextlib.suppress(ssl.SSLWantReadError):
            server_side.do_handshake()
        to_client.write(server_out.read())
    raise AssertionError("the handshake did not end")


def test_a_ca_file_is_trusted_and_nothing_else(cas):
    private, other = cas
    context = trust.client_context(Opts(ssl_verify_upstream_trusted_ca=str(private.ca)))
    assert handshake(context, private) is None
    assert handshake(context, other) == "unable to get local issuer certificate"
    assert (
        handshake(context, private, "example.org")
        == "Hostname mismatch, certificate is not valid for 'example.org'."
    )


def test_a_hashed_folder_is_trusted_and_nothing_else(cas, tmp_path):
    private, other = cas
    folder = ca_folder(tmp_path / "trusted", private.ca)
    context = trust.client_context(Opts(ssl_verify_upstream_trusted_confdir=str(folder)))
    assert handshake(context, private) is None
    assert handshake(context, other) == "unable to get local issuer certificate"


def test_a_folder_not_hashed_trusts_nothing_as_openssl_reads_it(cas, tmp_path):
    private, _ = cas
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "ca.pem").write_bytes(private.ca.read_bytes())
    context = trust.client_context(Opts(ssl_verify_upstream_trusted_confdir=str(folder)))
    assert handshake(context, private) == "unable to get local issuer certificate"


def test_file_and_folder_together_trust_both_and_not_certifi(cas, tmp_path):
    private, other = cas
    folder = ca_folder(tmp_path / "trusted", other.ca)
    context = trust.client_context(
        Opts(
            ssl_verify_upstream_trusted_ca=str(private.ca),
            ssl_verify_upstream_trusted_confdir=str(folder),
        )
    )
    assert len(context.get_ca_certs()) == 1  # the file's, not certifi's (the folder: on lookup)
    assert handshake(context, private) is None and handshake(context, other) is None


def test_by_default_certifi_and_never_the_system_store(cas):
    context = trust.client_context()
    bundle = certifi.contents().count("-----BEGIN CERTIFICATE-----")
    assert len(context.get_ca_certs()) == bundle
    assert handshake(context, cas[0]) == "unable to get local issuer certificate"


def test_insecure_verifies_nothing(cas):
    context = trust.client_context(Opts(ssl_insecure=True, ssl_verify_upstream_trusted_ca="/nope"))
    assert handshake(context, cas[1], "example.org") is None
    refused_once = trust.client_context(
        Opts(ssl_verify_upstream_trusted_ca=str(cas[0].ca)), verify=False
    )
    assert handshake(refused_once, cas[1]) is None


def test_names_and_ip_addresses_are_matched_on_the_subject_alt_name_only(cas):
    private, _ = cas
    context = trust.client_context(Opts(ssl_verify_upstream_trusted_ca=str(private.ca)))
    assert handshake(context, private, "127.0.0.1") is None
    assert handshake(context, private, "127.0.0.2") == (
        "IP address mismatch, certificate is not valid for '127.0.0.2'."
    )
    assert context.check_hostname and not context.hostname_checks_common_name


@pytest.mark.parametrize(
    "opts,message",
    [
        (
            Opts(ssl_verify_upstream_trusted_confdir="/nonexistent/cas"),
            "Cannot use ssl_verify_upstream_trusted_confdir '/nonexistent/cas': dir "
            "'/nonexistent/cas' does not exist: fix the path",
        ),
        (
            Opts(ssl_verify_upstream_trusted_ca="/nonexistent/ca.pem"),
            "Cannot use ssl_verify_upstream_trusted_ca '/nonexistent/ca.pem': file "
            "'/nonexistent/ca.pem' does not exist: fix the path",
        ),
        (  # mitmproxy too hands an empty path to OpenSSL, which fails to load it
            Opts(ssl_verify_upstream_trusted_ca=""),
            "Cannot use ssl_verify_upstream_trusted_ca '': file '.' does not exist",
        ),
    ],
)
def test_a_path_that_does_not_exist_names_the_option(opts, message):
    with pytest.raises(BadValue) as e:
        trust.client_context(opts)
    assert message in str(e.value)


def test_a_ca_file_without_certificates_names_the_option(tmp_path: Path):
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(BadValue) as e:
        trust.client_context(Opts(ssl_verify_upstream_trusted_ca=str(bad)))
    assert str(e.value).startswith(
        f"Cannot use ssl_verify_upstream_trusted_ca '{bad}': no PEM certificate could be read"
    )


@pytest.mark.parametrize(
    "opts,named",
    [
        (Opts(), "the certifi CA bundle (mitmproxy's default)"),
        (Opts(ssl_verify_upstream_trusted_ca="ca.pem"), "ssl_verify_upstream_trusted_ca ca.pem"),
        (
            Opts(ssl_verify_upstream_trusted_confdir="cas"),
            "ssl_verify_upstream_trusted_confdir cas",
        ),
        (
            Opts(
                ssl_verify_upstream_trusted_ca="ca.pem", ssl_verify_upstream_trusted_confdir="cas"
            ),
            "ssl_verify_upstream_trusted_ca ca.pem and ssl_verify_upstream_trusted_confdir cas",
        ),
        (
            Opts(ssl_insecure=True, ssl_verify_upstream_trusted_ca="ca.pem"),
            "nothing: ssl_insecure is on (certificates are not verified)",
        ),
    ],
)
def test_source_names_what_is_trusted(opts, named):
    assert trust.source(opts) == named
