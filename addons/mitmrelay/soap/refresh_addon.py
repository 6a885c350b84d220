"""The SoapRefresh addon: a SOAP request replayed from mitmweb (Replay), the console or
`replay.client` leaves with fresh WS-Security (see `wssec.py`): what a server checks to refuse a
replay is made new, the signature made again when a key is given.

Usage:
    export WSSE_PASS=...
    mitmweb -s addons/soap.py --set soap_wsse_password='${WSSE_PASS}' \
        --set soap_sign_key=client.key --set soap_sign_cert=client.pem
    mitmdump -s addons/soap.py -nr recorded.flows --set client_replay=recorded.flows \
        --set soap_wsse_password='${WSSE_PASS}'

mitmproxy replays a flow in place (`flow.backup()`, then the `request` hook sees the flow with
`is_replay == "request"`): the refreshed request is what the flow shows after the replay, the
recorded one stays in its backup (Revert in mitmweb and the console). The log names each part
refreshed or left stale, never a value. Signing runs in a worker process (sign.py), started when
the key is configured; when it cannot sign (it died, or was late and killed), the replay goes as
recorded and the log says why.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path
from typing import Any

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from mitmrelay.chain.spec import expand, names_in

from . import options, wssec
from .sign import SignError, WorkerSigner, load_signer

logger = logging.getLogger(__name__)

OPTIONS = ("soap_refresh_on_replay", "soap_wsse_password", "soap_sign_key", "soap_sign_cert")


def makes_password_digest(options: Any) -> bool:
    """Whether a replay computes a UsernameToken's PasswordDigest: soap_wsse_password set and
    soap_refresh_on_replay on (False where this addon is not loaded)."""
    return (
        "soap_wsse_password" in options
        and bool(options.soap_wsse_password)
        and bool(options.soap_refresh_on_replay)
    )


class SoapRefresh:
    def __init__(self) -> None:
        self.enabled = True
        self.password_ref = ""
        self.signer: WorkerSigner | None = None  # its signing worker runs while it is set

    def load(self, loader: Loader) -> None:
        options.declare(loader, *OPTIONS)

    def configure(self, updated: set[str]) -> None:
        if not set(OPTIONS) & updated:
            return
        try:
            for name in OPTIONS:
                options.use(name, getattr(ctx.options, name))
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        key, cert = ctx.options.soap_sign_key, ctx.options.soap_sign_cert
        if bool(key) != bool(cert):
            given, other = (
                ("soap_sign_key", "soap_sign_cert") if key else ("soap_sign_cert", "soap_sign_key")
            )
            raise exceptions.OptionsError(
                f"{given} is set but {other} is not: signing again needs the key and its "
                "certificate (PEM files)"
            )
        signer = None
        if key:
            try:
                signer = load_signer(Path(key), Path(cert))
            except SignError as e:
                raise exceptions.OptionsError(f"Cannot sign replayed SOAP requests: {e}") from None
        password = ctx.options.soap_wsse_password
        if "soap_wsse_password" in updated and password and not names_in(password):
            # Options show in mitmweb's editor and in saved configurations; never the value here.
            logger.warning(
                "soap_wsse_password holds the password itself: give it as an environment "
                "variable, --set soap_wsse_password='${WSSE_PASS}', so that it is shown nowhere"
            )
        self.enabled = ctx.options.soap_refresh_on_replay
        self.password_ref = password
        self.done()
        self.signer = signer

    def done(self) -> None:
        if self.signer is not None:
            self.signer.close()
            self.signer = None

    async def request(self, flow: http.HTTPFlow) -> None:
        # Async: signing waits on the signing worker (up to its deadline) in a thread, while
        # every other connection goes on.
        if flow.is_replay != "request" or not self.enabled:
            return
        try:
            content = flow.request.content
        except ValueError:  # an unknown Content-Encoding
            return
        if not content:
            return
        try:
            password = expand(self.password_ref, os.environ) if self.password_ref else None
        except KeyError as e:
            logger.warning(f"soap_wsse_password: ${{{e.args[0]}}} is not set in the environment")
            password = None
        where = f"{flow.request.method} {flow.request.path}"
        try:
            material = wssec.Material(password, self.signer)
            if self.signer is None:  # no worker to wait for: a fraction of a millisecond here
                result = wssec.refresh(content, material)
            else:
                result = await asyncio.to_thread(wssec.refresh, content, material)
        except SignError as e:
            logger.warning(f"SOAP replay of {where} sent as recorded: {e}")
            return
        if result.content is not None:
            flow.request.content = result.content
        if result.refreshed:
            logger.info(f"SOAP replay of {where}: refreshed {', '.join(result.refreshed)}")
        for part in result.stale:
            logger.warning(f"SOAP replay of {where}: left as recorded: {part}")
