"""A recipe is the third WSDL source: its `soap_wsdl` option is loaded like --set soap_wsdl."""

from __future__ import annotations

import wsdl_samples as w
from mitmrelay.testing import start_mitmdump


def test_a_recipe_names_the_wsdl(tmp_path):
    wsdl = tmp_path / "stock.wsdl"
    wsdl.write_text(w.STOCK_QUOTE)
    recipe = tmp_path / "stock.yaml"
    recipe.write_text(
        "description: the StockQuote service with its contract\n"
        "options:\n"
        "  listen_host: 127.0.0.1\n"
        f"  soap_wsdl: [{wsdl}]\n"
    )
    relay = start_mitmdump(
        tmp_path, "--mode", "reverse:http://127.0.0.1:9@{port}", "--set", f"recipe={recipe}"
    )
    try:
        relay.wait_log(
            rf"SOAP: learned WSDL file://{wsdl}: service StockQuoteService, ports StockQuotePort, "
            r"1 operations"
        )
    finally:
        relay.stop()
