"""Which WSDL operation a message belongs to, and the contradictions between the message and
the WSDL (an action the WSDL maps to another operation than the Body's element).

rpc style: the Body's wrapper element is the operation. document/literal wrapped: the element is
named like the operation by convention only. document/literal bare: the element names a message
part; only the binding's soapAction or the operation's input part element maps it.
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from ._xml import qtext
from .catalog import Catalog
from .summary import QName, Resolution, Summary
from .wsdl import Contract, Operation


def _path(url: str | None) -> str | None:
    return urlsplit(url).path.rstrip("/") if url else None


def _pick(
    found: list[tuple[Contract, Operation]], version: str, path: str | None
) -> tuple[Contract, Operation] | None:
    """The best candidate: same SOAP version as the envelope, then the port at this path."""
    if not found:
        return None
    # The port at this path, else the WSDL published at this path (`/calc?wsdl` describes
    # `/calc`, whatever internal address the WSDL names), else the first.
    ranked = sorted(
        found,
        key=lambda c: (
            c[1].soap_version != version,
            path is None or _path(c[1].address) != path,
            path is None or _path(c[0].url) != path,
        ),
    )
    return ranked[0]


def _matches_body(expected: tuple[QName, ...], body: tuple[QName, ...]) -> bool:
    return bool(body) and (expected == body or (bool(expected) and expected[0] == body[0]))


def resolve(
    catalog: Catalog,
    summary: Summary,
    is_request: bool | None,
    url: str | None = None,
    request: Resolution | None = None,
) -> tuple[Resolution | None, tuple[str, ...]]:
    """Which WSDL operation the message belongs to, and warnings for contradictions between the
    message and the WSDL (an action the WSDL maps to another operation than the Body's element).

    Requests: by SOAPAction (SOAP 1.2: the `action` parameter) or wsa:Action, else by the Body's
    element(s) against each operation's input. Responses: the operation their request resolved
    to, else the Body against each operation's output.
    """
    candidates = list(catalog.operations())
    if not candidates:
        return None, ()
    if is_request is None:  # a message file of unknown direction: a request, else a response
        found = resolve(catalog, summary, True, url)
        return found if found[0] is not None else resolve(catalog, summary, False, url)
    path = _path(url)
    body = summary.body or ()
    readable = summary.encrypted is None and summary.fault is None
    warnings: list[str] = []

    def resolution(c: tuple[Contract, Operation], how: str) -> Resolution:
        contract, op = c
        return Resolution(
            op.name, op.service, op.port, op.binding, op.style_text, how, contract.url
        )

    if not is_request:
        if request is not None:
            how = (
                request.how
                if request.how.startswith("its request")
                else f"its request ({request.how})"
            )
            return dataclasses.replace(request, how=how), ()
        if readable:
            by_body = [c for c in candidates if _matches_body(c[1].output_elements, body)]
            chosen = _pick(by_body, summary.version, path)
            if chosen is not None:
                return resolution(chosen, f"Body element {body[0][1]}"), ()
        return None, ()

    by_body = [c for c in candidates if readable and _matches_body(c[1].input_elements, body)]
    actions = [("SOAPAction" if summary.version == "1.1" else "action", summary.action)]
    actions.append(("wsa:Action", summary.addressing.get("Action")))
    for how, action in actions:
        if not action:
            continue
        by_action = [c for c in candidates if action in (c[1].soap_action, c[1].input_action)]
        if not by_action:
            continue
        agreeing = [c for c in by_action if c in by_body]
        chosen = _pick(agreeing or by_action, summary.version, path)
        assert chosen is not None
        op = chosen[1]
        if readable and body and not agreeing:
            other = _pick(by_body, summary.version, path)
            if other is not None:
                warnings.append(
                    f"{how} {action!r} is operation {op.name} in the WSDL, but the Body element "
                    f"{qtext(body[0])} is the input of operation {other[1].name}"
                )
            elif op.use == "literal" and op.input_elements:
                warnings.append(
                    f"the Body element {qtext(body[0])} is not the input of operation "
                    f"{op.name} (the WSDL expects {qtext(op.input_elements[0])})"
                )
        return resolution(chosen, how), tuple(warnings)
    chosen = _pick(by_body, summary.version, path)
    if chosen is None:
        return None, ()
    action = summary.action
    if action and chosen[1].soap_action and action != chosen[1].soap_action:
        warnings.append(
            f"SOAPAction {action!r} names no operation of the WSDL; the Body element is the "
            f"input of {chosen[1].name} (soapAction {chosen[1].soap_action!r})"
        )
    return resolution(chosen, f"Body element {body[0][1]}"), tuple(warnings)
