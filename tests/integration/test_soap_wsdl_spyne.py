"""spyne as the server (document/literal wrapped, its own WSDL at `/?wsdl`, over TLS) and zeep as
the client, through `mitmdump -s addons/relay.py` in reverse mode with a SOCKS5 hop. spyne runs
under Python 3.11 whatever line this test runs on (it does not import on 3.12)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import peers
import pytest
import soap_helpers
from mitmrelay.testing import Process, make_certs, start_mitmdump

zeep = pytest.importorskip("zeep")
from zeep.transports import Transport  # noqa: E402 (after importorskip)

SERVICE = Path(__file__).parents[1] / "spyne_service.py"
BINDING = "{urn:example:greeter}Application"


def python311() -> str:
    """This Python if it is 3.11, else the mitmproxy 11 virtualenv's beside this one."""
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    sibling = Path(sys.executable).parents[2] / "mitmproxy11" / "bin" / "python"
    if not sibling.exists():
        raise RuntimeError(f"no Python 3.11 virtualenv at {sibling}: run scripts/test once")
    return str(sibling)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("spyne")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    python = python311()
    found = subprocess.run([python, "-c", "import spyne"], capture_output=True, check=False)
    if found.returncode != 0:
        raise RuntimeError(f"spyne is not installed for {python}: run scripts/test once")
    server = Process(
        [python, str(SERVICE), str(certs.cert), str(certs.key)],
        tmp / "spyne.log",
        ready=[r"listening \d+"],
    )
    server.port = int(server.wait_log(r"listening (\d+)").group(1))
    socks = peers.start_microsocks(tmp)
    relay = start_mitmdump(
        tmp,
        "--mode",
        f"reverse:https://localhost:{server.port}@{{port}}",
        "--set",
        f"proxy_chain=socks5h://127.0.0.1:{socks.port}",
        "--set",
        f"ssl_verify_upstream_trusted_ca={certs.ca}",
        "--flow-detail",
        "3",
        "--set",
        "soap_log_calls=true",  # the labels are read from the log
    )
    try:
        session = soap_helpers.client_session()
        base = f"http://127.0.0.1:{relay.port}/"
        client = zeep.Client(base + "?wsdl", transport=Transport(session=session))
        greeter = client.create_service(BINDING, base)
        results = {"hello": greeter.say_hello(name="Ada", times=2)}
        with pytest.raises(zeep.exceptions.Fault) as fault:
            greeter.say_hello(name="FAIL", times=1)
        results["fault"] = fault.value.message
        relay.stop()
        yield relay.text(), results, socks.text(), server.port
    finally:
        relay.stop()
        socks.stop()
        server.stop()


def test_zeep_gets_spynes_answers_through_the_chain(run):
    _, results, socks_log, port = run
    assert results == {"hello": ["Hello, Ada", "Hello, Ada"], "fault": "Unknown name FAIL"}
    assert f"connected to localhost:{port}" in socks_log


def test_spynes_wsdl_is_learned_and_names_the_calls(run):
    output = run[0]
    assert re.search(
        r"SOAP: learned WSDL \S+/\?wsdl: service Greeter, ports Application, 1 operations", output
    )
    assert re.findall(r"POST \S+: (SOAP .*)", output) == [
        "SOAP say_hello",
        "SOAP say_hello Fault soap11env:Client.UnknownName: Unknown name FAIL",
    ]
    assert re.search(r"Operation:\s+say_hello \(document/literal, matched by SOAPAction\)", output)
    # Request (zeep) and answer (spyne) are valid against spyne's own schema.
    assert len(re.findall(r"Schema:\s+valid\n", output)) == 3
