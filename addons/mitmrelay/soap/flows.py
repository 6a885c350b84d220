"""The flow side of soap.new, soap.diff and soap.reference: a new flow from a request template
(as mitmproxy's `view.flows.create` makes one), flows named by id or selection spec, and the diff
of two flows' requests and responses.

Usage (in an addon command):
    view.add([new_flow(template)])
    lines = diff_flows(find_flow(view, "3f2a9c1e"), find_flow(view, "@focus"), mask=True)
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from mitmproxy import connection, flow, http
from mitmproxy.net.http.url import hostport

from .diff import report, side_of
from .replay import IgnoreRule
from .template import Template

HOW_TO_NAME = (
    "name a flow by its id (in mitmweb's address bar: #/flows/ID/request, a unique start of it "
    "will do), or by a selection spec resolving to one flow (@focus, or a filter such as "
    "'~q ~comment GetQuote')"
)
_ID = re.compile(r"@?[0-9a-f][0-9a-f-]{3,35}")


class FlowList(Protocol):
    """What is used of mitmproxy's view addon."""

    def add(self, flows: Sequence[flow.Flow]) -> None: ...

    def resolve(self, flow_spec: str) -> Sequence[flow.Flow]: ...


def new_flow(template: Template) -> http.HTTPFlow:
    """A flow holding the template's request, without a response, ready to edit and replay."""
    headers = [(name.encode(), value.encode()) for name, value in template.headers]
    request = http.Request.make("POST", template.url, template.body, headers)
    request.headers["Host"] = hostport(request.scheme, request.host, request.port)
    client = connection.Client(
        peername=("", 0), sockname=("", 0), timestamp_start=request.timestamp_start - 0.0001
    )
    made = http.HTTPFlow(client, connection.Server(address=(request.host, request.port)))
    made.request = request
    return made


def find_flow(view: FlowList, spec: str) -> http.HTTPFlow:
    """The one HTTP flow `spec` names (an id, a unique start of one, or a selection spec);
    raises ValueError saying what it matched and how to name a flow."""
    text = spec.strip()
    if _ID.fullmatch(text):
        start = text.removeprefix("@")
        found = [f for f in view.resolve("@all") if f.id.startswith(start)]
        if not found:
            raise ValueError(f"no flow has the id {start!r}; {HOW_TO_NAME}")
    else:
        found = list(view.resolve(text))
    if len(found) != 1:
        raise ValueError(f"{spec!r} matched {len(found)} flows, not one; {HOW_TO_NAME}")
    if not isinstance(found[0], http.HTTPFlow):
        raise ValueError(f"{spec!r} is not an HTTP flow")
    return found[0]


def diff_flows(
    a: http.HTTPFlow, b: http.HTTPFlow, mask: bool = True, rules: Sequence[IgnoreRule] = ()
) -> list[str]:
    """The SOAP diff of two flows: their requests, then their responses if both have one."""
    lines: list[str] = []
    for which in ("request", "response"):
        side_a, side_b = side_of(a, which, rules), side_of(b, which, rules)
        if side_a is None or side_b is None:
            if which == "response" and (side_a or side_b):
                lines.append("responses: only one of the flows has one")
            continue
        lines += report(side_a, side_b, mask, f"{which}s")
    return lines
