"""The SoapView addon: registers the `SOAP` contentview, labels SOAP flows, and learns the
service contract (WSDL) from traffic and from `soap_wsdl` files.

Usage:
    mitmdump -s addons/soap.py --flow-detail 3 --mode reverse:https://partner.example:443@5000
    mitmdump -s addons/soap.py --set soap_wsdl=service.wsdl '~comment invalid'
    mitmweb -s addons/soap.py --set view_filter='~comment Fault'

Commands (mitmweb's command bar, mitmproxy's console): `soap.wsdls`; `soap.new OPERATION [PORT]`
adds a request for an operation of a known WSDL to the flow list, to edit and replay;
`soap.diff FLOW_A FLOW_B` compares two flows by meaning; `soap.reference FLOW` marks the flow the
`SOAP diff` contentview compares others to.

Labels go into the flow comment (`SOAP GetQuote`, `SOAP GetQuote Fault soap:Server: ...`,
`SOAP GetQuote invalid (...)`) and faults are marked; both are display-side flow attributes: the
forwarded bytes are never changed, and validation never holds a message back.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
from collections.abc import Sequence
from pathlib import Path

from mitmproxy import command, ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from mitmrelay.http_get import direct

from . import fetch, options, template
from .catalog import add_file
from .contentview import (
    SoapContentview,
    SoapDiffContentview,
    message_info,
    register,
    unregister,
)
from .diff import report, side_of
from .flows import FlowList, diff_flows, find_flow, new_flow
from .refresh_addon import makes_password_digest
from .render import Inspection, RenderOptions
from .replay import IgnoreRule
from .summary import Resolution, flow_label, with_label
from .wsdl import ContractError, kind_of, normalize_url

logger = logging.getLogger(__name__)

FAULT_MARKER = ":warning:"
OPTIONS = ("soap_log_calls", "soap_mask_secrets", "soap_max_bytes", "soap_validate", "soap_wsdl")


def _content(message: http.Message) -> bytes | None:
    try:
        content = message.content
    except ValueError:  # unknown Content-Encoding: nothing we could show either
        return None
    return content or None  # also None when the body was streamed past mitmproxy


class SoapView:
    def __init__(self) -> None:
        self.view = SoapContentview()
        self.diff_view = SoapDiffContentview(self._diff_text)
        self.inspector = self.view.inspector
        self.reference: http.HTTPFlow | None = None  # what `SOAP diff` compares to
        self._configured: dict[str, str] = {}  # WSDL file or URL -> its log line
        self._urls: list[str] = []
        self._running = False
        self._tasks: set[asyncio.Task] = set()
        self.log_calls = False  # soap_log_calls

    def load(self, loader: Loader) -> None:
        options.declare(loader, *OPTIONS)
        register(self.view)
        register(self.diff_view)

    def configure(self, updated: set[str]) -> None:
        if not set(OPTIONS) & updated:
            return
        try:
            values = {name: options.use(name, getattr(ctx.options, name)) for name in OPTIONS}
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        self.log_calls = values["soap_log_calls"]
        self.inspector.options = RenderOptions(
            mask=values["soap_mask_secrets"],
            max_bytes=values["soap_max_bytes"],
            validate=values["soap_validate"],
        )
        if "soap_wsdl" in updated:
            self._load_wsdl_files(ctx.options.soap_wsdl, values["soap_wsdl"])

    def _load_wsdl_files(self, value: Sequence[str], sources: Sequence[Path | str]) -> None:
        try:
            paths = [p for p in sources if isinstance(p, Path)]
            loaded = {str(p): add_file(self.inspector.catalog, p) for p in paths}
        except ContractError as e:
            raise exceptions.OptionsError(f"Cannot use soap_wsdl {list(value)!r}: {e}") from e
        for path, found in loaded.items():
            if self._configured.get(path) != found.describe():
                logger.info(f"SOAP: learned {found.describe()}")
                self._configured[path] = found.describe()
        self._urls = [u for u in sources if isinstance(u, str)]
        if self._running:
            self._fetch_urls()

    def _fetch_urls(self) -> None:
        for url in self._urls:
            if url not in self._configured:
                self._configured[url] = "fetching"
                task = asyncio.get_running_loop().create_task(self._fetch(url))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    async def _fetch(self, url: str) -> None:
        """Fetch a soap_wsdl URL over the connection the proxy chain would open for its host
        (the WSDL server is usually behind the same proxy as the service)."""
        chain = ctx.master.addons.get("proxychain")
        opener = chain.open_connection if chain is not None else direct
        try:
            found = await fetch.add_as_relay(self.inspector.catalog, url, opener, ctx.options)
        except ValueError as e:
            logger.warning(f"SOAP: {e}")
            self._configured.pop(url, None)  # tried again when the option is set again
            return
        self._configured[url] = found.describe()
        logger.info(f"SOAP: learned {found.describe()}")

    def running(self) -> None:
        self._running = True
        self._fetch_urls()
        # mitmweb shows flow comments, hence the SOAP labels, only in its optional comment
        # column: add it unless the user chose the columns.
        if "web_columns" in ctx.options and not ctx.options.has_changed("web_columns"):
            ctx.options.update(web_columns=[*ctx.options.web_columns, "comment"])

    def done(self) -> None:
        unregister(self.view)
        unregister(self.diff_view)

    @command.command("soap.wsdls")
    def wsdls(self) -> Sequence[str]:
        """The WSDLs known: one line each (service, ports, operation count, missing imports);
        in mitmweb's command bar or mitmproxy's console: soap.wsdls"""
        return [found.describe() for found in self.inspector.catalog.contracts.values()]

    @command.command("soap.new")
    def new(self, operation: str, port: str = "") -> str:
        """Add a request for an operation of a known WSDL to the flow list (POST to its port's
        address, placeholders to edit, optional parts as comments; with soap_wsse_password set,
        a UsernameToken made on replay), then edit and replay it:
        soap.new GetQuote   or, when several ports have it:   soap.new GetQuote Quotes11"""
        view = self._flow_list("soap.new")
        # A UsernameToken for the replay to complete, when it will (soap_wsse_password).
        wsse_at = (
            datetime.datetime.now(datetime.UTC) if makes_password_digest(ctx.options) else None
        )
        try:
            contract, op = template.pick(self.inspector.catalog, operation, port or None)
            made = template.request_for(contract, op, wsse_at)
        except template.TemplateError as e:
            raise exceptions.CommandError(f"soap.new: {e}") from None
        flow = new_flow(made)
        op = made.operation
        # A label like the others, replaced by the request's own once it is replayed.
        flow.comment = with_label("", f"SOAP {op.name} (new: edit it, then replay it)")
        view.add([flow])
        token = (
            " with a WS-Security UsernameToken (give its Username; its digest, nonce and times "
            "are made on replay)"
            if wsse_at
            else ""
        )
        text = (
            f"soap.new: flow {flow.id}: POST {made.url} {op.name} "
            f"(port {op.port}, SOAP {op.soap_version}){token}; edit it, then replay it"
        )
        logger.info(text)
        return text

    @command.command("soap.diff")
    def diff(self, flow_a: str, flow_b: str) -> Sequence[str]:
        """Compare two flows' SOAP requests and responses by meaning (prefixes, nonces, IDs,
        timestamps and WS-Security do not count, as in soap_replay): soap.diff ID_A ID_B"""
        view = self._flow_list("soap.diff")
        try:
            a, b = find_flow(view, flow_a), find_flow(view, flow_b)
        except ValueError as e:
            raise exceptions.CommandError(f"soap.diff: {e}") from None
        return diff_flows(a, b, self.inspector.options.mask, self._ignore_rules())

    @command.command("soap.reference")
    def set_reference(self, flow: str) -> str:
        """Mark the flow the `SOAP diff` contentview compares every other flow to:
        soap.reference ID  (or @focus in the console)"""
        view = self._flow_list("soap.reference")
        try:
            self.reference = find_flow(view, flow)
        except ValueError as e:
            raise exceptions.CommandError(f"soap.reference: {e}") from None
        return f"soap.reference: flow {self.reference.id} {self._describe(self.reference)}"

    @staticmethod
    def _describe(flow: http.HTTPFlow) -> str:
        return f"{flow.request.method} {flow.request.pretty_url}"

    @staticmethod
    def _flow_list(name: str) -> FlowList:
        view = ctx.master.addons.get("view")
        if view is None:
            raise exceptions.CommandError(
                f"{name} works on the flow list: run it in mitmweb or the mitmproxy console"
            )
        return view

    @staticmethod
    def _ignore_rules() -> tuple[IgnoreRule, ...]:
        """soap_replay_ignore's rules, when the replay addon declared it: one set of rules."""
        if "soap_replay_ignore" not in ctx.options:
            return ()
        return tuple(options.parse("soap_replay_ignore", ctx.options.soap_replay_ignore))

    def _diff_text(self, flow: object, message: object) -> str:
        """The `SOAP diff` view of a message: against the same message of the reference flow."""
        if self.reference is None:
            return (
                "No reference flow. Mark one with the command soap.reference FLOW (FLOW: its id, "
                "as in mitmweb's address bar #/flows/ID/request), then show this view again."
            )
        if not isinstance(flow, http.HTTPFlow) or not isinstance(message, http.Message):
            return "SOAP diff compares HTTP messages only"
        which = "request" if isinstance(message, http.Request) else "response"
        if flow is self.reference:
            return f"This is the reference flow ({self._describe(flow)})."
        rules = self._ignore_rules()
        reference, shown = side_of(self.reference, which, rules), side_of(flow, which, rules)
        if reference is None or shown is None:
            return f"The reference flow has no {which} to compare with."
        return "\n".join(report(reference, shown, self.inspector.options.mask, f"{which}s"))

    def _inspect(
        self,
        flow: http.HTTPFlow,
        message: http.Message,
        request: Resolution | None = None,
        url: str | None = None,
    ) -> Inspection | None:
        content = _content(message)
        if content is None:
            return None
        found = self.inspector.inspect(
            content,
            message_info(message),
            url=url or flow.request.pretty_url,
            request=request,
        )
        if found is not None:
            self.inspector.summaries[message] = found.summary
        return found

    def request(self, flow: http.HTTPFlow) -> None:
        found = self._inspect(flow, flow.request)
        if found is None:
            return
        label = flow_label(found.summary, None)
        assert label is not None  # a summary was given
        flow.comment = with_label(flow.comment, label)

    def response(self, flow: http.HTTPFlow) -> None:
        if flow.response is None or self._learn(flow):
            return
        request = self.inspector.summaries.get(flow.request)
        if request is None and _content(flow.response) is None:
            return  # nothing SOAP to tell: the common case of other traffic, kept cheap
        url = flow.request.pretty_url  # once: it is parsed again on every read
        if request is None:  # not SOAP, or a request this addon did not see
            seen = self._inspect(flow, flow.request, url=url)
            request = seen.summary if seen else None
        # An empty answer (one-way, 202) or one that is not SOAP (an HTML error page) has none.
        found = self._inspect(flow, flow.response, request.resolution if request else None, url)
        response = found.summary if found else None
        label = flow_label(request, response)
        if label is None:  # neither message is SOAP
            return
        flow.comment = with_label(flow.comment, label)
        if response is not None and response.fault is not None:
            if not flow.marked:
                flow.marked = FAULT_MARKER
            logger.warning(f"{flow.request.method} {url}: {label}")
        elif (
            self.log_calls
            or (request is not None and request.invalid)
            or (response is not None and response.invalid)
        ):
            logger.info(f"{flow.request.method} {url}: {label}")

    def _learn(self, flow: http.HTTPFlow) -> bool:
        """Keep a WSDL or XSD document a client fetched (`?wsdl`, `?singleWsdl`, `?xsd=N` and the
        documents those import); log every contract it makes or completes."""
        assert flow.response is not None
        if flow.request.method != "GET" or flow.response.status_code != 200:
            return False
        content = _content(flow.response)
        if content is None or kind_of(content) is None:
            return False
        url = flow.request.pretty_url
        catalog = self.inspector.catalog
        for found in catalog.add(url, content):
            logger.info(f"SOAP: learned {found.describe()}")
        error = catalog.errors.get(normalize_url(url))
        if error:
            logger.warning(f"SOAP: cannot use the WSDL {url}: {error}")
        return True
