#!/usr/bin/env python3
"""What knowing the contract costs: CPU per 1 KB SOAP exchange (the StockQuote call: request and
response hooks, then the SOAP view of both, as mitmdump --flow-detail 3 does) with the SOAP view
alone, with its WSDL known, and with its WSDL known and validation on; and the cost of one 30 MB
request with the WSDL known and validation on (bounded by soap_max_bytes).

Configurations run interleaved, round after round, so that a busy neighbour slows them alike;
the ratio is taken within each round and its median reported.

Usage:
    .venv/mitmproxy12/bin/python bench/soap_contract_cost.py
    .venv/mitmproxy12/bin/python bench/soap_contract_cost.py --rounds 9 --exchanges 2000
    .venv/mitmproxy12/bin/python bench/soap_contract_cost.py --quick
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1] / p) for p in ("tests", "addons")]

import wsdl_samples as w  # noqa: E402
from mitmproxy import contentviews  # noqa: E402
from mitmproxy.proxy.layers import http as http_layer  # noqa: E402
from mitmproxy.test import taddons, tflow  # noqa: E402
from mitmrelay.soap.addon import SoapView  # noqa: E402
from mitmrelay.soap.catalog import Catalog  # noqa: E402

ACTION = '"http://example.com/GetLastTradePrice"'
CONFIGS = {
    "SOAP view, no WSDL": {"wsdl": False, "validate": False},
    "WSDL known": {"wsdl": True, "validate": False},
    "WSDL known + validation": {"wsdl": True, "validate": True},
}


def _view(message, flow) -> str:
    if hasattr(contentviews, "Contentview"):
        return contentviews.prettify_message(message, flow).text
    _, lines, _ = contentviews.get_message_content_view("auto", message, flow)
    return "\n".join("".join(t for _, t in line) for line in lines)


def _flow(request: bytes, response: bytes):
    f = tflow.tflow(resp=True)
    f.request.method = "POST"
    f.request.url = "http://example.com/stockquote"
    f.request.headers["content-type"] = "text/xml; charset=utf-8"
    f.request.headers["SOAPAction"] = ACTION
    f.request.content = request
    f.response.headers["content-type"] = "text/xml; charset=utf-8"
    f.response.content = response
    return f


def exchange(ctx, addon: SoapView, request: bytes, response: bytes, view: bool = True) -> float:
    """CPU seconds for one exchange: both hooks, then (if asked) both views."""
    f = _flow(request, response)
    start = time.process_time()
    ctx.master.addons.invoke_addon_sync(addon, http_layer.HttpRequestHook(f))
    ctx.master.addons.invoke_addon_sync(addon, http_layer.HttpResponseHook(f))
    if view:
        _view(f.request, f)
        _view(f.response, f)
    return time.process_time() - start


HEADER = (
    b'<s:Header xmlns:a="http://www.w3.org/2005/08/addressing">'
    b"<a:To>http://example.com/stockquote</a:To>"
    b"<a:Action>http://example.com/GetLastTradePrice</a:Action>"
    b"<a:MessageID>urn:uuid:6b29fc40-ca47-1067-b31d-00dd010662da</a:MessageID>"
    b"<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo>"
    b"</s:Header>"
)


def with_header(envelope: bytes) -> bytes:
    """A message as WS-Addressing clients send it: about half of a 1 KB exchange."""
    return envelope.replace(b"<s:Body>", HEADER + b"<s:Body>", 1)


def big_request(size: int) -> bytes:
    """A StockQuote request carrying about `size` bytes of ticker text (one huge text node)."""
    return w.stock_request("X" * size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--exchanges", type=int, default=1000, help="per configuration and round")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 50: a smoke run")
    args = parser.parse_args()
    rounds, count = (2, 50) if args.quick else (args.rounds, args.exchanges)
    request, response = with_header(w.stock_request()), with_header(w.stock_response())
    size = len(request) + len(response)
    with tempfile.TemporaryDirectory() as tmp, taddons.context() as ctx:
        wsdl = Path(tmp) / "stock.wsdl"
        wsdl.write_text(w.STOCK_QUOTE)
        addon = SoapView()
        ctx.master.addons.add(addon)
        ctx.configure(addon, soap_wsdl=[str(wsdl)])
        known, empty = addon.inspector.catalog, Catalog()

        def use(name: str) -> None:
            config = CONFIGS[name]
            addon.inspector.catalog = known if config["wsdl"] else empty
            ctx.configure(addon, soap_validate=config["validate"])

        per_round: dict[str, list[float]] = {name: [] for name in CONFIGS}
        for _ in range(rounds):
            for name in CONFIGS:
                use(name)
                spent = sum(exchange(ctx, addon, request, response) for _ in range(count))
                per_round[name].append(spent / count)
        base = per_round["SOAP view, no WSDL"]
        print(f"CPU per SOAP exchange ({size} bytes: request + response, hooks and both views),")
        print(f"median of {rounds} rounds of {count} exchanges; ratios within each round\n")
        print("| configuration | CPU per exchange | vs. SOAP view alone |")
        print("|---|---|---|")
        for name, values in per_round.items():
            ratio = statistics.median(v / b for v, b in zip(values, base, strict=True))
            print(f"| {name} | {statistics.median(values) * 1e6:.0f} µs | {ratio:.2f} x |")
        use("WSDL known + validation")
        big = big_request(30 * 2**20)
        hooks = exchange(ctx, addon, big, response, view=False)
        f = _flow(big, response)
        start = time.process_time()
        ctx.master.addons.invoke_addon_sync(addon, http_layer.HttpRequestHook(f))
        text = _view(f.request, f)
        viewed = time.process_time() - start
        print(
            f"\n30 MB request, WSDL known + validation: hooks {hooks * 1000:.0f} ms CPU, "
            f"hook + view {viewed * 1000:.0f} ms CPU, view {len(text)} characters "
            f"(parsed up to soap_max_bytes: {'body is longer than soap_max_bytes' in text})"
        )


if __name__ == "__main__":
    main()
