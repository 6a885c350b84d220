"""zeep against WSDLs of each style through `mitmdump -s addons/relay.py` (reverse mode, TLS to
the service): rpc/literal, rpc/encoded, and a document/literal wrapped contract split over three
files with a SOAP 1.1 and a SOAP 1.2 port. zeep fetches every WSDL and schema through the relay;
the relay must name each call after its WSDL operation and judge zeep's messages as the schema
does (zeep writes valid messages; one answer of the service breaks the schema on purpose)."""

from __future__ import annotations

import contextlib
import re

import pytest
import soap_helpers
import wsdl_samples as w
import wsdl_service
from mitmrelay.testing import make_certs

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after importorskip)

ORDERS = "{urn:example:orders/service}"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("styles")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    service = wsdl_service.StyleService(certs.server_context())
    # soap_log_calls: the labels are read from the log.
    relay = wsdl_service.relay_to(
        tmp, service.port, certs, "--flow-detail", "3", "--set", "soap_log_calls=true"
    )
    try:
        session = soap_helpers.client_session()
        base = f"http://127.0.0.1:{relay.port}"

        def client(wsdl: str) -> zeep.Client:
            return zeep.Client(base + wsdl, transport=Transport(session=session))

        calc = client("/calc?wsdl").create_service(f"{{{w.CALC_NS}}}CalcBinding", base + "/calc")
        encoded = client("/calcenc?wsdl").create_service(
            f"{{{w.CALC_NS}}}CalcBinding", base + "/calcenc"
        )
        orders = client("/orders/service.wsdl")
        orders11 = orders.create_service(ORDERS + "Orders11", base + "/orders")
        orders12 = orders.create_service(ORDERS + "Orders12", base + "/orders12")
        line = {"sku": "A-1", "quantity": 2}
        results = {
            "add": calc.Add(a=2, b=3),
            "encoded": encoded.Add(a=4, b=5),
            "order11": orders11.PlaceOrder(line=[line]),
            "order12": orders12.PlaceOrder(line=[line]),
        }
        # The service leaves orderId out: zeep may complain or not, the relay must.
        with contextlib.suppress(ValueError, zeep.exceptions.Error):
            orders11.PlaceOrder(line=[{"sku": "A-1", "quantity": 99}])
        relay.stop()
        yield relay.text(), results
    finally:
        relay.stop()
        service.stop()


def labels(output: str) -> list[str]:
    return re.findall(r"POST \S+: (SOAP .*)", output)


def test_zeep_gets_its_answers(run):
    assert run[1] == {"add": 5, "encoded": 9, "order11": "A-42", "order12": "A-42"}


def test_every_wsdl_and_import_was_learned_through_the_relay(run):
    output = run[0]
    for learned in (
        r"/calc\?wsdl: service Calc, ports CalcPort, 2 operations",
        r"/calcenc\?wsdl: service Calc, ports CalcPort, 2 operations",
        r"/orders/service.wsdl: service OrderService, ports Orders11Port, Orders12Port, "
        r"1 operations\n",
    ):
        assert re.search(r"SOAP: learned WSDL \S+" + learned, output), learned


def test_each_call_is_named_and_judged_by_its_wsdl(run):
    found = labels(run[0])
    assert found[:4] == ["SOAP Add", "SOAP Add", "SOAP PlaceOrder", "SOAP PlaceOrder"]
    assert found[4].startswith(
        "SOAP PlaceOrder invalid (line 1 PlaceOrderResponse: Missing child element(s). Expected "
        "is ( orderId )"
    )
    assert len(found) == 5


def test_styles_bindings_and_validation_are_told(run):
    output = run[0]
    assert re.search(r"Operation:\s+Add \(rpc/literal, matched by Body element Add\)", output)
    assert re.search(r"Operation:\s+Add \(rpc/encoded, matched by Body element Add\)", output)
    assert re.search(r"Schema:\s+not validated: rpc/encoded is not schema-validated", output)
    assert re.search(r"WSDL:\s+service OrderService, port Orders12Port, binding Orders12", output)
    # zeep's own messages of every literal style are valid against their schema.
    assert "INVALID" not in output.split("quantity>99<")[0]
