"""The check engine: connect the way the relay would, hop by hop, and say which step fails; what
`mitmrelay check TARGET` (cli/check.py) and the `mitmrelay.check` command (CheckCommand) run.

The connection is opened by the chain addon's own `open_connection` (the one mitmproxy's server
connections go through: same routing, same chain, same timeout), with a progress callback that
marks each hop reached and each handshake done. For a TLS target the handshake then follows the
relay's one trust rule (trust.py: mitmproxy's for the server).

Usage:
    mitmrelay check --set proxy_chain='socks5h://me:${PROXY_PASS}@127.0.0.1:1080' tls://api.example:443
    mitmrelay check --recipe soap-over-socks5 https://api.partner.example:443
"""

from __future__ import annotations

import asyncio
import contextvars
import ipaddress
import logging
import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mitmproxy import command, ctx, exceptions

from .. import trust
from ..optionkit import BadValue
from . import failover
from .addon import ProxyChain
from .connector import HopError
from .errors import Failure
from .schemes import Credentials
from .spec import format_chain

logger = logging.getLogger(__name__)

Say = Callable[[str], None]


@dataclass(frozen=True)
class Target:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'tls://' if self.tls else ''}{host}:{self.port}"


def parse_target(text: str) -> Target:
    """`host:port` (TCP), `tls://host:port` or `https://host:port` (TLS; port 443 by default)."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        scheme, rest = "tcp", text
    scheme = scheme.lower()
    if scheme not in ("tcp", "tls", "https"):
        raise ValueError(
            f"target {text!r}: unknown scheme {scheme!r}; use host:port, tls:// or https://"
        )
    rest = rest.rstrip("/")
    if "/" in rest:
        raise ValueError(
            f"target {text!r} has a path: give only host:port, e.g. tls://api.example:443"
        )
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail.removeprefix(":") if tail.startswith(":") else None
    else:
        host, sep, port_text = rest.rpartition(":")
        if not sep:
            host, port_text = rest, None
    tls = scheme != "tcp"
    if not port_text:
        if not tls:
            raise ValueError(f"target {text!r} has no port: write host:port, e.g. {rest}:443")
        port_text = "443"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"target {text!r}: port {port_text!r} is not a number from 1 to 65535")
    if not host:
        raise ValueError(f"target {text!r} has no host")
    return Target(host, int(port_text), tls)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ms(start: float) -> str:
    return f"{(time.monotonic() - start) * 1000:.1f} ms"


class Failed(Exception):
    """A step failed; its text names the step and the reason."""


class _Said(logging.Handler):
    """Says what is logged while this check connects (in its own task: not the relay's traffic
    that a check from mitmweb's command bar runs beside)."""

    def __init__(self, say: Say) -> None:
        super().__init__(logging.INFO)
        self.say = say

    def emit(self, record: logging.LogRecord) -> None:
        if _CHECKING.get() is self:
            self.say(f"  note  {record.getMessage()}")


_CHECKING: contextvars.ContextVar[_Said | None] = contextvars.ContextVar(
    "mitmrelay_check", default=None
)


class _Progress:
    """Turns the connector's progress events into report lines, and remembers the last step."""

    def __init__(self, target: Target, say: Say) -> None:
        self.chain: Any = ()  # the chain being tried: one of the route's failover alternatives
        self.target = target
        self.say = say
        self.start = time.monotonic()

    def label(self, index: int) -> str:
        return f"hop {index + 1}/{len(self.chain)} {self.chain[index]}"

    def ok(self, text: str) -> None:
        self.say(f"  ok    {text} ({_ms(self.start)})")

    def __call__(self, chain: Any, event: str, index: int) -> None:
        self.chain = chain
        if event == "direct":  # the `direct` alternative of `A | direct` carried it
            self.ok(f"destination {self.target.host}:{self.target.port} reached directly")
            return
        hop = chain[index]
        if event == "reached":
            self.ok(f"{self.label(index)}: address {hop.host}:{hop.port} reached")
            return
        if not hop.username:
            auth = "no authentication asked"
        elif hop.kind.credentials is Credentials.USER_ID:
            auth = "user ID sent"
        else:
            auth = "user/password accepted"
        self.ok(f"{self.label(index)}: {hop.kind.handshake.value} handshake done, {auth}")
        if index + 1 == len(self.chain):
            self.name_line(index)
            self.ok(f"destination {self.target.host}:{self.target.port} reached")
        else:
            nxt = self.chain[index + 1]
            self.ok(
                f"{self.label(index + 1)}: address {nxt.host}:{nxt.port} reached "
                f"through hop {index + 1}"
            )

    def name_line(self, index: int) -> None:
        """Who resolved the destination's name: the last hop asked for it, by name or address."""
        hop, name = self.chain[index], self.target.host
        if _is_ip(name):
            self.say(
                f"  ok    {self.label(index)}: asked for the address {name} (no name to resolve)"
            )
        elif hop.remote_dns:
            self.say(f"  ok    {self.label(index)}: the name {name} went to the proxy (remote DNS)")
        else:
            self.say(
                f"  note  {self.label(index)}: {name} was resolved on this machine "
                f"({hop.scheme}: no remote DNS)"
            )


def failed_step(e: HopError) -> str:
    """The step a HopError stopped at, in the report's words."""
    hop = f"hop {e.index}/{e.count} {e.hop}"
    if e.kind is Failure.UNREACHABLE:
        return f"{hop}: address"
    if e.kind is Failure.AUTH_REJECTED:
        return f"{hop}: authentication"
    if e.kind is Failure.ENV_MISSING:
        return f"{hop}: credentials"
    if e.kind in (Failure.REFUSED, Failure.UNRESOLVED):  # what the hop was to connect to
        if e.target == e.destination:
            return f"destination {e.destination[0]}:{e.destination[1]}"
        return f"hop {e.index + 1}/{e.count}: address (through {hop})"
    if e.kind is Failure.TIMED_OUT:
        return f"{hop}: timeout"
    return f"{hop}: handshake"


def client_cert(options: Any, host: str) -> str | None:
    """The client certificate mitmproxy would present to host: client_certs itself when it is a
    file, else HOST.pem in that folder, if there is one."""
    if not options.client_certs:
        return None
    path = os.path.expanduser(options.client_certs)
    if os.path.isfile(path):
        return path
    candidate = os.path.join(path, f"{host}.pem")
    return candidate if os.path.isfile(candidate) else None


def tls_context(options: Any, cert: str | None = None, *, verify: bool = True) -> ssl.SSLContext:
    """A client context that trusts what the relay trusts (trust.py, mitmproxy's rule), presenting
    cert (certificate and key in one PEM file, as client_certs takes them); verify=False only to
    show a certificate that was refused."""
    context = trust.client_context(options, verify=verify)
    if cert:
        context.load_cert_chain(cert)
    context.set_alpn_protocols(["h2", "http/1.1"] if options.http2 else ["http/1.1"])
    return context


def describe_certificate(der: bytes) -> str:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
    after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
    return (
        f"subject {cert.subject.rfc4514_string()}, issuer {cert.issuer.rfc4514_string()}, "
        f"valid {before:%Y-%m-%d %H:%M} to {after:%Y-%m-%d %H:%M} UTC"
    )


async def _connect(addon: ProxyChain, target: Target, progress: Any) -> tuple[Any, Any]:
    # The chain keeps its own deadline; a direct connection gets the same one here.
    async with asyncio.timeout(addon.timeout + 1):
        return await addon.open_connection(target.host, target.port, progress=progress)


async def _tls(
    addon: ProxyChain, options: Any, target: Target, say: Say, reader: Any, writer: Any
) -> None:
    cert = client_cert(options, target.host)
    start = time.monotonic()
    try:
        async with asyncio.timeout(addon.timeout):
            await trust.start_tls(writer, tls_context(options, cert), target.host)
    except BadValue as e:  # the CA file or folder, before any handshake
        raise Failed(f"TLS handshake with {target.host}:{target.port}: {e}") from None
    except ssl.SSLCertVerificationError as e:
        say(
            f"  FAIL  TLS handshake with {target.host}: certificate not trusted: {e.verify_message}"
        )
        # Connect again without verifying, only to show which certificate the server presents.
        _, again = await _connect(addon, target, None)
        try:
            async with asyncio.timeout(addon.timeout):
                await trust.start_tls(again, tls_context(options, verify=False), target.host)
            say(f"        certificate: {describe_certificate(_peer_der(again))}")
        except (OSError, TimeoutError):
            pass
        finally:
            again.close()
        raise Failed(
            f"certificate of {target.host}:{target.port}: not trusted by {trust.source(options)}: "
            f"{e.verify_message}"
        ) from None
    except (ssl.SSLError, OSError, TimeoutError) as e:
        reason = getattr(e, "reason", None) or str(e) or type(e).__name__
        raise Failed(f"TLS handshake with {target.host}:{target.port}: {reason}") from None
    tls = writer.get_extra_info("ssl_object")
    say(f"  ok    TLS handshake with {target.host} done: {tls.version()} ({_ms(start)})")
    if cert:
        say(f"        client certificate presented: {cert}")
    await _refused_after_handshake(reader, target, cert)
    say(f"        certificate: {describe_certificate(_peer_der(writer))}")
    if not options.ssl_insecure:
        say(f"  ok    certificate verified against {trust.source(options)}")
    else:
        say("  note  certificate not verified: ssl_insecure is on")
    say(f"        ALPN: {tls.selected_alpn_protocol() or 'none (the server chose no protocol)'}")


async def _refused_after_handshake(reader: Any, target: Target, cert: str | None) -> None:
    """With TLS 1.3 a server refuses a client certificate (or its absence) only after the
    handshake, in its first record: wait a moment for one. Silence is fine (HTTPS servers wait
    for the request), and so is data (a server that speaks first); an alert or a close is not."""
    try:
        async with asyncio.timeout(REFUSAL_WAIT):
            if await reader.read(1):
                return
        reason = "it closed the connection"
    except TimeoutError:
        return
    except (ssl.SSLError, OSError) as e:
        reason = getattr(e, "reason", None) or str(e) or type(e).__name__
    fix = f"client_certs gave {cert}" if cert else "set client_certs to the certificate"
    raise Failed(
        f"TLS with {target.host}:{target.port}: the server refused the connection after the "
        f"handshake ({reason}): does it require a client certificate? {fix}"
    )


REFUSAL_WAIT = 0.5  # seconds


def _peer_der(writer: Any) -> bytes:
    return writer.get_extra_info("ssl_object").getpeercert(binary_form=True)


async def check(addon: ProxyChain, options: Any, target: Target, say: Say) -> bool:
    """Connect to target as the relay would, reporting each step; True when it was reached."""
    decision = await addon.decide(target.host, target.port)  # the one routing rule, PAC too
    say(f"check {target} as the relay would: {decision}, timeout {addon.timeout:g} s")
    if decision.recording is not None:
        say(f"  ok    answered from the recording {decision.recording}: no connection is made")
        return True
    if len(decision.chain) > 1:
        for alternative in decision.chain:
            if left := addon.failover.cooling(alternative):
                say(
                    f"  note  proxy alternative {format_chain(alternative)} "
                    f"failed lately: tried last for {left:.0f} s more (proxy_failover_cooldown)"
                )
    progress = None if decision.direct else _Progress(target, say)
    start = time.monotonic()
    writer = None
    # An alternative of `A | B | direct` that fails is logged by failover.py: said here too.
    failover_log = _Said(say)
    checking = _CHECKING.set(failover_log)
    logging.getLogger(failover.__name__).addHandler(failover_log)
    try:
        try:
            reader, writer = await _connect(addon, target, progress)
        except HopError as e:
            if progress and e.kind is Failure.REFUSED and e.target == e.destination:
                progress.name_line(e.index - 1)  # the last hop was asked, and said no
            say(f"  FAIL  {failed_step(e)}: {e}")
            raise Failed(f"{failed_step(e)}: {e}") from None
        except (OSError, TimeoutError) as e:
            if isinstance(e, OSError) and e.errno and e.errno > 0:
                reason = os.strerror(e.errno)  # asyncio's own text names the address again
            else:
                reason = str(e) or f"no connection within {addon.timeout + 1:g} s"
            say(f"  FAIL  destination {target.host}:{target.port}: {reason}")
            raise Failed(f"destination {target.host}:{target.port}: {reason}") from None
        if progress is None:
            say(f"  ok    destination {target.host}:{target.port} reached directly ({_ms(start)})")
        if target.tls:
            await _tls(addon, options, target, say, reader, writer)
    except Failed as e:
        say(f"FAILED at {e}")
        return False
    finally:
        logging.getLogger(failover.__name__).removeHandler(failover_log)
        _CHECKING.reset(checking)
        if writer is not None:
            writer.close()
    say(f"reached {target}")
    return True


class CheckCommand:
    """`mitmrelay.check TARGET` in mitmproxy's console and mitmweb's command bar (whose command
    names may hold only [a-z.]): the same check, on the running relay's options, logged."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    @command.command("mitmrelay.check")
    def check_target(self, target: str) -> str:
        """Connect to TARGET (host:port, tls://host:port) as the relay would; steps in the log."""
        try:
            parsed = parse_target(target)
        except ValueError as e:
            raise exceptions.CommandError(str(e)) from None
        addon = ctx.master.addons.get("proxychain")
        if addon is None:
            raise exceptions.CommandError("mitmrelay.check needs the chain addon: load relay.py")

        def say(line: str) -> None:
            (logger.warning if line.lstrip().startswith(("FAIL", "FAILED")) else logger.info)(line)

        task = asyncio.get_running_loop().create_task(check(addon, ctx.options, parsed, say))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return f"checking {parsed}: each step follows in the event log"
