"""The one trust rule for the TLS connections mitmrelay opens itself (https:// hops, PAC and WSDL
URLs, `mitmrelay check`): mitmproxy's for the server (mitmproxy/addons/tlsconfig.py and
net/tls.py `create_proxy_server_context`, the same in 11.0 and 12.x).

- `ssl_insecure`: nothing is verified.
- Otherwise the CAs of `ssl_verify_upstream_trusted_ca` (a PEM file) and of
  `ssl_verify_upstream_trusted_confdir` (a folder in OpenSSL's hashed layout: `openssl rehash`),
  both when both are set; certifi's bundle only when neither is. Never the system store.
- The host name is checked against the certificate's subjectAltName only, not its CN.

Usage:
    context = trust.client_context(ctx.options)     # mitmproxy's options, or any object with them
    await trust.start_tls(writer, context, "api.example")
    say(f"certificate verified against {trust.source(ctx.options)}")
"""

from __future__ import annotations

import asyncio
import ssl
from typing import NamedTuple, Protocol

import certifi

from .optionkit import CWD, BadValue, input_check

INSECURE = "ssl_insecure"
CA_FILE = "ssl_verify_upstream_trusted_ca"
CA_DIR = "ssl_verify_upstream_trusted_confdir"
# mitmproxy's options the rule reads: a change to any of them changes the context.
OPTIONS = (INSECURE, CA_FILE, CA_DIR)


class TrustOptions(Protocol):
    @property
    def ssl_insecure(self) -> bool: ...
    @property
    def ssl_verify_upstream_trusted_ca(self) -> str | None: ...
    @property
    def ssl_verify_upstream_trusted_confdir(self) -> str | None: ...


class _Defaults(NamedTuple):
    ssl_insecure: bool = False
    ssl_verify_upstream_trusted_ca: str | None = None
    ssl_verify_upstream_trusted_confdir: str | None = None


DEFAULTS: TrustOptions = _Defaults()  # mitmproxy's


def client_context(options: TrustOptions | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A TLS client context that accepts the certificates mitmproxy accepts from the server, with
    these options (None: mitmproxy's defaults, certifi's bundle). verify=False verifies nothing
    whatever the options (to show a certificate that was refused).

    Raises optionkit.BadValue naming the option when the CA file or folder cannot be used: a path
    that does not exist (relative to the directory mitmproxy started in), a file without PEM
    certificates."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if options is None:
        options = DEFAULTS
    if options.ssl_insecure or not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    # mitmproxy matches host names on the subjectAltName only, as browsers do.
    context.hostname_checks_common_name = False
    cafile, capath = _locations(options)
    if cafile is None and capath is None:
        context.load_verify_locations(cafile=certifi.where())
        return context
    for name, value, kind in ((CA_FILE, cafile, "file"), (CA_DIR, capath, "dir")):
        if value is not None:
            try:
                input_check(kind)(value, CWD)
            except ValueError as e:
                raise BadValue(name, value, str(e), cause=e) from None
    try:
        # Paths as given, as mitmproxy passes them to OpenSSL (no ~ expansion). OpenSSL reads
        # the folder only when it looks a certificate up: only the file can fail here.
        context.load_verify_locations(cafile=cafile, capath=capath)
    except (OSError, ssl.SSLError) as e:
        reason = getattr(e, "reason", None) or e.strerror or str(e)
        raise BadValue(
            CA_FILE, cafile, f"no PEM certificate could be read from it ({reason})"
        ) from None
    return context


async def start_tls(writer: asyncio.StreamWriter, context: ssl.SSLContext, host: str) -> None:
    """writer.start_tls(context, server_hostname=host), raising the handshake's own ssl.SSLError.

    Over a stream that is TLS already (an https:// hop), CPython 3.11 and 3.12 turn a refused
    handshake into `TypeError: SSLProtocol._abort() takes 1 positional argument but 2 were given`
    (their _SSLProtocolTransport._force_close passes an argument _abort does not take; 3.13
    fixed it); the refusal is that TypeError's context."""
    try:
        await writer.start_tls(context, server_hostname=host)
    except TypeError as e:
        if isinstance(e.__context__, ssl.SSLError):
            raise e.__context__ from None
        raise


def source(options: TrustOptions | None = None) -> str:
    """What client_context trusts, for messages: 'ssl_verify_upstream_trusted_ca ca.pem', ..."""
    if options is None:
        options = DEFAULTS
    if options.ssl_insecure:
        return "nothing: ssl_insecure is on (certificates are not verified)"
    cafile, capath = _locations(options)
    given = ((CA_FILE, cafile), (CA_DIR, capath))
    named = [f"{name} {value}" for name, value in given if value is not None]
    return " and ".join(named) or "the certifi CA bundle (mitmproxy's default)"


def _locations(options: TrustOptions) -> tuple[str | None, str | None]:
    """(CA file, CA folder). Only None is unset: mitmproxy hands an empty path to OpenSSL too."""
    return options.ssl_verify_upstream_trusted_ca, options.ssl_verify_upstream_trusted_confdir
