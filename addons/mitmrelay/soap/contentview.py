"""The `SOAP` and `SOAP diff` contentviews for both contentview APIs: mitmproxy 12's `Contentview`
(`prettify`) and mitmproxy 11's `View`. The API is chosen once, at import; registering goes
through `register`/`unregister` so that callers need not know which one is in use.

`SOAP diff` is never picked automatically: the user picks it to compare the message shown with
the same message of the reference flow (`soap.reference`); its text comes from the addon."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mitmproxy import contentviews, http

from .render import Inspector, RenderOptions, is_soap
from .summary import MessageInfo, Resolution

NAME = "SOAP"
DIFF_NAME = "SOAP diff"
# Above XML/HTML (1 for text/xml) and multipart: an envelope is more than XML.
PRIORITY = 2.0


def message_info(message: object, content_type: str | None = None) -> MessageInfo:
    """What the view needs from an HTTP message: full Content-Type, SOAPAction, direction."""
    if not isinstance(message, http.Message):
        return MessageInfo(content_type=content_type)
    is_request = isinstance(message, http.Request)
    return MessageInfo(
        content_type=message.headers.get("content-type", content_type),
        soap_action=message.headers.get("soapaction") if is_request else None,
        is_request=is_request,
    )


def request_resolution(inspector: Inspector, flow: object) -> Resolution | None:
    """The operation a flow's request resolved to: a response is named after it."""
    if not isinstance(flow, http.HTTPFlow):
        return None
    summary = inspector.summaries.get(flow.request)
    if summary is None:
        content = flow.request.get_content(strict=False)
        if not content:
            return None
        found = inspector.inspect(
            content, message_info(flow.request), url=flow.request.pretty_url, complete=False
        )
        summary = found.summary if found else None
    return summary.resolution if summary else None


def render_message(
    inspector: Inspector, data: bytes, message: object, flow: object, content_type: str | None
) -> tuple[str, str]:
    """(description, text) of the view of one message."""
    info = message_info(message, content_type)
    url = flow.request.pretty_url if isinstance(flow, http.HTTPFlow) else None
    request = None if info.is_request else request_resolution(inspector, flow)
    rendering = inspector.render(data, info, url=url, request=request)
    return rendering.description, rendering.text


class _SoapViewCore:
    """State shared by both API classes: the addon sets the inspector's options and catalog, and
    `active` to False on unload (mitmproxy 12's registry has no public way to remove a view)."""

    name = NAME

    def __init__(self, inspector: Inspector | None = None) -> None:
        self.inspector = inspector if inspector is not None else Inspector()
        self.active = True

    @property
    def options(self) -> RenderOptions:
        return self.inspector.options

    @options.setter
    def options(self, value: RenderOptions) -> None:
        self.inspector.options = value

    def _priority(self, data: bytes, message: object, content_type: str | None) -> float:
        if not self.active or not data:
            return 0.0
        return PRIORITY if is_soap(data, message_info(message, content_type).content_type) else 0.0


class _DiffViewCore:
    """`text(flow, message)` makes the diff; `active` as for the SOAP view."""

    name = DIFF_NAME

    def __init__(self, text: Callable[[object, object], str]) -> None:
        self.text = text
        self.active = True

    def _text(self, flow: object, message: object) -> str:
        if not self.active:
            return "the SOAP addon is not loaded"
        return self.text(flow, message)


if hasattr(contentviews, "Contentview"):  # mitmproxy >= 12
    # Checked against mitmproxy 11's types too, where these names do not exist.
    from mitmproxy.contentviews import (  # type: ignore[attr-defined,unused-ignore]
        Contentview,
        Metadata,
    )

    class SoapContentview(_SoapViewCore, Contentview):
        syntax_highlight = "xml"

        def prettify(self, data: bytes, metadata: Metadata) -> str:
            return render_message(
                self.inspector, data, metadata.http_message, metadata.flow, metadata.content_type
            )[1]

        def render_priority(self, data: bytes, metadata: Metadata) -> float:
            return self._priority(data, metadata.http_message, metadata.content_type)

    class SoapDiffContentview(_DiffViewCore, Contentview):
        syntax_highlight = "none"

        def prettify(self, data: bytes, metadata: Metadata) -> str:
            return self._text(metadata.flow, metadata.http_message)

        def render_priority(self, data: bytes, metadata: Metadata) -> float:
            return 0.0  # the user's choice only

    def register(view: SoapContentview | SoapDiffContentview) -> None:
        view.active = True
        contentviews.add(view)

    def unregister(view: SoapContentview | SoapDiffContentview) -> None:
        view.active = False

else:  # mitmproxy 11
    from mitmproxy.contentviews.base import TViewResult

    class SoapContentview(_SoapViewCore, contentviews.View):  # type: ignore[no-redef]
        def __call__(
            self,
            data: bytes,
            *,
            content_type: str | None = None,
            http_message: http.Message | None = None,
            flow: object = None,
            **unknown_metadata: Any,
        ) -> TViewResult:
            description, text = render_message(
                self.inspector, data, http_message, flow, content_type
            )
            return description, iter([[("text", line)] for line in text.splitlines()])

        def render_priority(
            self,
            data: bytes,
            *,
            content_type: str | None = None,
            http_message: http.Message | None = None,
            **unknown_metadata: Any,
        ) -> float:
            return self._priority(data, http_message, content_type)

    class SoapDiffContentview(_DiffViewCore, contentviews.View):  # type: ignore[no-redef]
        def __call__(
            self,
            data: bytes,
            *,
            http_message: http.Message | None = None,
            flow: object = None,
            **unknown_metadata: Any,
        ) -> TViewResult:
            text = self._text(flow, http_message)
            return DIFF_NAME, iter([[("text", line)] for line in text.splitlines()])

        def render_priority(self, data: bytes, **unknown_metadata: Any) -> float:
            return 0.0  # the user's choice only

    # Type-checked against mitmproxy 12, whose `get` returns a Contentview, whose `remove` takes
    # only its legacy View and which has no `views` list: the ignores below are that difference.
    def register(view: SoapContentview | SoapDiffContentview) -> None:
        existing = contentviews.get(view.name)
        if existing is not None:  # a previous load that was never unloaded (script reload)
            contentviews.remove(existing)  # type: ignore[arg-type]
        view.active = True
        contentviews.add(view)

    def unregister(view: SoapContentview | SoapDiffContentview) -> None:
        if view in contentviews.views:  # type: ignore[attr-defined]
            contentviews.remove(view)  # type: ignore[arg-type]
