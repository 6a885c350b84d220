"""Whatever a WSDL server answers, the catalog keeps it or refuses it with a ContractError:
nothing else escapes, and messages are still resolved against whatever contracts are left."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmrelay.soap import MessageInfo, analyze
from mitmrelay.soap.catalog import Catalog
from mitmrelay.soap.render import Inspector
from mitmrelay.soap.resolve import resolve
from mitmrelay.soap.wsdl import kind_of
from mitmrelay.soap.xsd import schema_of
from wsdl_samples import ORDERS_FILES, STOCK_QUOTE, calculator, stock_request

PIECES = [
    STOCK_QUOTE,
    calculator("literal"),
    calculator("encoded"),
    *ORDERS_FILES.values(),
]


def mutations() -> st.SearchStrategy[bytes]:
    """Real WSDLs cut, spliced and sprinkled with hostile tokens."""
    token = st.sampled_from(
        [
            "<!DOCTYPE d [<!ENTITY e 'x'>]>",
            '<import location="../../etc/passwd"/>',
            '<xsd:include schemaLocation="file:///etc/passwd"/>',
            '<xsd:import namespace="urn:x" schemaLocation="http://169.254.169.254/"/>',
            "</definitions>",
            "<part name='x' element='nope:Missing'/>",
            "&#0;",
            "\x00",
        ]
    )
    piece = st.sampled_from(PIECES)
    return st.builds(
        lambda text, cut, extra, at: (text[:cut] + extra + text[at:]).encode("utf-8", "replace"),
        piece,
        st.integers(0, 4000),
        token,
        st.integers(0, 4000),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutations() | st.binary(max_size=300), min_size=1, max_size=3))
def test_the_catalog_takes_any_documents(documents):
    catalog = Catalog()
    for index, data in enumerate(documents):
        kind_of(data)
        catalog.add(f"http://h/doc{index}?wsdl", data)
    for contract in catalog.contracts.values():
        schema_of(contract)
    summary = analyze(stock_request(), MessageInfo("text/xml", '"x"', True))
    assert summary is not None
    resolve(catalog, summary, True)
    inspector = Inspector(catalog=catalog)
    assert inspector.render(stock_request(), MessageInfo(is_request=True)).text
