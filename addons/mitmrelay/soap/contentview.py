"""The `SOAP` contentview for both contentview APIs: mitmproxy 12's `Contentview` (`prettify`) and
mitmproxy 11's `View`. The API is chosen once, at import; registering goes through
`register`/`unregister` so that callers need not know which one is in use."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from mitmproxy import contentviews, http

from .render import RenderOptions, is_soap, render
from .summary import MessageInfo

NAME = "SOAP"
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


class _SoapViewCore:
    """State shared by both API classes: the addon sets `options`, and `active` to False on unload
    (mitmproxy 12's registry has no public way to remove a view)."""

    name = NAME

    def __init__(self) -> None:
        self.options = RenderOptions()
        self.active = True

    def _priority(self, data: bytes, message: object, content_type: str | None) -> float:
        if not self.active or not data:
            return 0.0
        return PRIORITY if is_soap(data, message_info(message, content_type).content_type) else 0.0


if hasattr(contentviews, "Contentview"):  # mitmproxy >= 12

    class SoapContentview(_SoapViewCore, contentviews.Contentview):
        syntax_highlight = "xml"

        def prettify(self, data: bytes, metadata: contentviews.Metadata) -> str:
            info = message_info(metadata.http_message, metadata.content_type)
            return render(data, info, self.options).text

        def render_priority(self, data: bytes, metadata: contentviews.Metadata) -> float:
            return self._priority(data, metadata.http_message, metadata.content_type)

    def register(view: SoapContentview) -> None:
        view.active = True
        contentviews.add(view)

    def unregister(view: SoapContentview) -> None:
        view.active = False

else:  # mitmproxy 11

    class SoapContentview(_SoapViewCore, contentviews.View):  # type: ignore[no-redef]
        def __call__(
            self,
            data: bytes,
            *,
            content_type: str | None = None,
            http_message: http.Message | None = None,
            **unknown_metadata: Any,
        ) -> tuple[str, Iterator[list[tuple[str, str]]]]:
            rendering = render(data, message_info(http_message, content_type), self.options)
            return rendering.description, iter(
                [[("text", line)] for line in rendering.text.splitlines()]
            )

        def render_priority(
            self,
            data: bytes,
            *,
            content_type: str | None = None,
            http_message: http.Message | None = None,
            **unknown_metadata: Any,
        ) -> float:
            return self._priority(data, http_message, content_type)

    def register(view: SoapContentview) -> None:
        existing = contentviews.get(NAME)
        if existing is not None:  # a previous load that was never unloaded (script reload)
            contentviews.remove(existing)
        view.active = True
        contentviews.add(view)

    def unregister(view: SoapContentview) -> None:
        if view in contentviews.views:
            contentviews.remove(view)
