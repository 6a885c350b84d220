"""The SoapView addon: registers the `SOAP` contentview and labels SOAP flows.

Usage:
    mitmdump -s addons/soap.py --flow-detail 3 --mode reverse:https://partner.example:443@5000
    mitmweb -s addons/soap.py --set view_filter='~comment Fault'

Labels go into the flow comment (`SOAP GetQuote`, `SOAP GetQuote Fault soap:Server: ...`) and
faults are marked; both are display-side flow attributes: the forwarded bytes are never changed.
"""

from __future__ import annotations

import logging
import weakref

from mitmproxy import ctx, exceptions, http
from mitmproxy.addonmanager import Loader

from mitmrelay import options

from .contentview import SoapContentview, message_info, register, unregister
from .render import RenderOptions, analyze
from .summary import Summary, flow_label, with_label

logger = logging.getLogger(__name__)

FAULT_MARKER = ":warning:"


def _summary(message: http.Message, max_bytes: int) -> Summary | None:
    try:
        content = message.content
    except ValueError:  # unknown Content-Encoding: nothing we could show either
        return None
    if not content:  # also None when the body was streamed past mitmproxy
        return None
    return analyze(content, message_info(message), max_bytes)


class SoapView:
    def __init__(self) -> None:
        self.view = SoapContentview()
        # The request's summary, kept for the response hook so the body is not parsed twice.
        # Not in flow.metadata: that is saved with the flow (`-w`) and a Summary does not serialize.
        self._requests: weakref.WeakKeyDictionary[http.HTTPFlow, Summary] = (
            weakref.WeakKeyDictionary()
        )

    def load(self, loader: Loader) -> None:
        options.declare(loader, "soap_mask_secrets", "soap_max_bytes")
        register(self.view)

    def configure(self, updated: set[str]) -> None:
        if not {"soap_mask_secrets", "soap_max_bytes"} & updated:
            return
        try:
            mask = options.use("soap_mask_secrets", ctx.options.soap_mask_secrets)
            max_bytes = options.use("soap_max_bytes", ctx.options.soap_max_bytes)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
        self.view.options = RenderOptions(mask=mask, max_bytes=max_bytes)

    def running(self) -> None:
        # mitmweb shows flow comments, hence the SOAP labels, only in its optional comment
        # column: add it unless the user chose the columns.
        if "web_columns" in ctx.options and not ctx.options.has_changed("web_columns"):
            ctx.options.update(web_columns=[*ctx.options.web_columns, "comment"])

    def done(self) -> None:
        unregister(self.view)

    def request(self, flow: http.HTTPFlow) -> None:
        request = _summary(flow.request, ctx.options.soap_max_bytes)
        if request is None:
            return
        self._requests[flow] = request
        label = flow_label(request, None)
        assert label is not None  # request is a summary
        flow.comment = with_label(flow.comment, label)

    def response(self, flow: http.HTTPFlow) -> None:
        request = self._requests.pop(flow, None)
        if flow.response is None:
            return
        response = _summary(flow.response, ctx.options.soap_max_bytes)
        if response is None:
            return
        if request is None:  # not SOAP, or a request this addon did not see
            request = _summary(flow.request, ctx.options.soap_max_bytes)
        label = flow_label(request, response)
        assert label is not None  # response is a summary
        flow.comment = with_label(flow.comment, label)
        if response.fault is not None:
            if not flow.marked:
                flow.marked = FAULT_MARKER
            logger.warning(f"{flow.request.method} {flow.request.pretty_url}: {label}")
        else:
            logger.info(f"{flow.request.method} {flow.request.pretty_url}: {label}")
