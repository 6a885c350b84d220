"""A plain install (no `kerberos` extra: pyspnego without its GSSAPI backend) facing a squid that
asks for Negotiate only, through the `mitmrelay` command as a user runs it: the relay's 502 and
`mitmrelay check` say that Kerberos support is not installed and name the extra, never `kinit`.

The backend is taken away as a plain install lacks it: a `gssapi` module first on PYTHONPATH
that fails to import, as a missing package does."""

from __future__ import annotations

import html
import os
from collections.abc import Iterator
from pathlib import Path

import corp_peers
import pytest
from cli_helpers import mitmrelay, start_mitmrelay
from corp_peers import REALM, USER, USER_PASSWORD
from peers import ADDONS, HOST, curl, free_port

INSTALL = (
    "install mitmrelay with its kerberos extra, in its checkout pipx install --force '.[kerberos]'"
)


@pytest.fixture(scope="module")
def squid(kdc) -> Iterator[corp_peers.Squid]:
    started = corp_peers.start_squid(("negotiate",), kdc=kdc)
    yield started
    started.stop()


@pytest.fixture
def plain_install(kdc, tmp_path: Path) -> dict[str, str]:
    """The environment of a user without the extra who ran kinit: a valid ticket in the cache."""
    hidden = tmp_path / "no-gssapi"
    hidden.mkdir()
    (hidden / "gssapi.py").write_text("raise ImportError(\"No module named 'gssapi'\")\n")
    ccache = tmp_path / "ccache"
    kdc.kinit(ccache)
    return {
        **kdc.env,
        "KRB5CCNAME": f"FILE:{ccache}",
        "PYTHONPATH": os.pathsep.join([str(hidden), str(ADDONS)]),
    }


def test_the_relay_names_the_missing_extra_in_its_502(peer, squid, plain_install, tmp_path):
    origin = peer.http_origin()
    port = free_port()
    relay = peer.keep(
        start_mitmrelay(
            tmp_path,
            "dump",
            *("--listen-host", HOST, "--listen-port", str(port)),
            *("--set", f"proxy_chain=http://localhost:{squid.port}"),
            port=port,
            env=plain_install,
        )
    )
    code, body = curl("-x", f"http://{HOST}:{port}", f"http://localhost:{origin.port}/x")
    body = html.unescape(body)  # mitmproxy's error page escapes the quotes
    assert code == 502
    assert (
        f"proxy hop 1/1 http://localhost:{squid.port} refused the connection to "
        f"localhost:{origin.port}: 407 Proxy Authentication Required: no supported "
        "authentication scheme: offered Negotiate; Negotiate: Kerberos support is not installed "
        "(pyspnego has no GSSAPI backend)"
    ) in body
    assert INSTALL in body and "libkrb5-dev" in body
    assert "kinit" not in body and "kinit" not in relay.text()


@pytest.mark.parametrize(
    ("user", "says"),
    [
        ("", "auth=negotiate: Kerberos support is not installed"),
        # user@REALM and a password: SPNEGO without Kerberos offers NTLM, which squid refuses
        (
            f"{USER}%40{REALM}:${{KRB_PASS}}@",
            "407 after Negotiate: credentials rejected (407 Proxy Authentication Required); "
            "only NTLM could be offered: Kerberos support is not installed",
        ),
    ],
)
def test_check_names_the_missing_extra(squid, plain_install, user, says):
    hop = f"http://{user}localhost:{squid.port}?auth=negotiate"
    out = mitmrelay(
        "check",
        *("--set", f"proxy_chain={hop}"),
        f"localhost:{free_port()}",
        env={**plain_install, "KRB_PASS": USER_PASSWORD},
    )
    text = out.stdout + out.stderr
    assert out.returncode == 1, text
    assert f"FAIL  hop 1/1 http://{user}localhost:{squid.port}?auth=negotiate: " in text
    assert says in text and INSTALL in text
    assert "kinit" not in text and USER_PASSWORD not in text
