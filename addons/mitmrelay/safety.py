"""Say so when a setup is less safe than our defaults: server certificates not verified, or a
listener reachable from other machines.

The listen warning judges the addresses actually listened on: each mode's own `@host:port`, else
listen_host, once every option is final (at `running`, after a recipe applied its own), and again
when mode or listen_host change later.
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Sequence

from mitmproxy import connection, ctx, tls
from mitmproxy.proxy.mode_specs import ProxyMode

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposed(modes: Sequence[str], listen_host: str) -> list[str]:
    """The listeners other machines can reach: "where (mode)" for each mode not on loopback."""
    found = []
    for text in modes:
        try:
            mode = ProxyMode.parse(text)
        except ValueError:
            continue  # mitmproxy reports a bad mode itself
        if mode.listen_port(None) is None:
            continue  # local redirect mode: no listener
        host = mode.listen_host(listen_host)
        if not is_loopback(host):
            found.append(f"{repr(host) if host else 'all interfaces'} ({text})")
    return found


class SafetyWarnings:
    """Warns at start (and on change) about ssl_insecure and non-loopback listeners."""

    def __init__(self) -> None:
        self._running = False
        self._warned: list[str] = []

    def running(self) -> None:
        self._running = True
        self._warn_listeners()

    def _warn_listeners(self) -> None:
        where = exposed(ctx.options.mode, ctx.options.listen_host)
        if where and where != self._warned:
            logger.warning(
                f"listening on {'; '.join(where)}: other machines can use this proxy and see the "
                "decrypted traffic. Add --listen-host 127.0.0.1 to keep it local."
            )
        self._warned = where

    def configure(self, updated: set[str]) -> None:
        if "ssl_insecure" in updated and ctx.options.ssl_insecure:
            logger.warning(
                "ssl_insecure is on: the server's TLS certificate is NOT verified, so anyone on "
                "the path can impersonate it. Trust a private CA with "
                "--set ssl_verify_upstream_trusted_ca=ca.pem instead."
            )
        if self._running and updated & {"mode", "listen_host"}:
            self._warn_listeners()

    def tls_failed_server(self, data: tls.TlsData) -> None:
        """mitmproxy says why a server's certificate was rejected; add whose certificate it was."""
        chain = data.ssl_conn.get_peer_cert_chain() if data.ssl_conn else None
        if not chain or not isinstance(data.conn, connection.Server) or not data.conn.address:
            return
        subject, issuer = chain[0].get_subject(), chain[0].get_issuer()
        host, port = data.conn.address[:2]
        logger.warning(
            f"server {host}:{port} presented a certificate for "
            f"{subject.CN or subject!s} issued by {issuer.CN or issuer!s}: {data.conn.error}"
        )
