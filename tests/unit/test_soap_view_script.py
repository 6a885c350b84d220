"""scripts/soap-view with --wsdl: a message file named after its WSDL operation and validated."""

import os
import subprocess
import sys
from pathlib import Path

import peers
import wsdl_samples as w

SCRIPT = Path(__file__).parents[2] / "scripts" / "soap-view"


def soap_view(*args: str) -> subprocess.CompletedProcess:
    # No proxy from the environment: the test's server is on 127.0.0.1.
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=60, env=env
    )


def test_a_message_file_with_its_wsdl_file(tmp_path):
    for url, text in w.ORDERS_FILES.items():
        (tmp_path / url.rsplit("/", 1)[1]).write_text(text)
    message = tmp_path / "order.xml"
    message.write_bytes(w.order_request("0"))
    done = soap_view("--wsdl", str(tmp_path / "service.wsdl"), "--request", str(message))
    assert done.returncode == 0, done.stderr
    assert "SOAP: learned WSDL file://" in done.stderr and "1 operations" in done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "SOAP 1.1 request"
    assert " ".join(lines[1].split()) == (
        "Operation: PlaceOrder (document/literal, matched by Body element PlaceOrder)"
    )
    assert any(line.strip().startswith("INVALID:") and "quantity" in line for line in lines)
    done = soap_view("--wsdl", str(tmp_path / "service.wsdl"), "--no-validate", str(message))
    assert "INVALID" not in done.stdout and "Schema" not in done.stdout


def test_a_bad_wsdl_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "bad.wsdl"
    bad.write_bytes(w.xxe_wsdl("/etc/passwd"))
    message = tmp_path / "m.xml"
    message.write_bytes(w.stock_request())
    done = soap_view("--wsdl", str(bad), str(message))
    assert done.returncode == 2
    assert f"soap-view: cannot use --wsdl: file://{bad}: refused" in done.stderr
    assert "root:" not in done.stdout + done.stderr


def test_a_wsdl_url_and_its_imports_from_the_same_host(tmp_path):
    for url, text in w.ORDERS_FILES.items():
        (tmp_path / url.rsplit("/", 1)[1]).write_text(text)
    server = peers.FileServer(tmp_path)
    try:
        message = tmp_path / "order.xml"
        message.write_bytes(w.order_request())
        url = server.url("service.wsdl")
        done = soap_view("--wsdl", url, "--request", str(message))
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr
    assert f"SOAP: learned WSDL {url}: service OrderService" in done.stderr
    assert "imports not seen yet" not in done.stderr
    assert any(line.split()[:2] == ["Schema:", "valid"] for line in done.stdout.splitlines())
