"""Say so when a setup is less safe than our defaults: server certificates not verified, or a
listener reachable from other machines."""

from __future__ import annotations

import ipaddress
import logging

from mitmproxy import ctx, tls

logger = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class SafetyWarnings:
    """Warns at start (and on change) about ssl_insecure and non-loopback listeners."""

    def configure(self, updated: set[str]) -> None:
        if "ssl_insecure" in updated and ctx.options.ssl_insecure:
            logger.warning(
                "ssl_insecure is on: the server's TLS certificate is NOT verified, so anyone on "
                "the path can impersonate it. Trust a private CA with "
                "--set ssl_verify_upstream_trusted_ca=ca.pem instead."
            )
        if "listen_host" in updated and not is_loopback(ctx.options.listen_host):
            where = repr(ctx.options.listen_host) if ctx.options.listen_host else "all interfaces"
            logger.warning(
                f"listening on {where}: other machines can use this proxy and see the decrypted "
                "traffic. Add --listen-host 127.0.0.1 to keep it local."
            )

    def tls_failed_server(self, data: tls.TlsData) -> None:
        """mitmproxy says why a server's certificate was rejected; add whose certificate it was."""
        chain = data.ssl_conn.get_peer_cert_chain() if data.ssl_conn else None
        if not chain:
            return
        subject, issuer = chain[0].get_subject(), chain[0].get_issuer()
        logger.warning(
            f"server {data.conn.address[0]}:{data.conn.address[1]} presented a certificate for "
            f"{subject.CN or subject!s} issued by {issuer.CN or issuer!s}: {data.conn.error}"
        )
