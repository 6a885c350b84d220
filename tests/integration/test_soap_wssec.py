"""Real WS-Security through the relay: zeep signs its requests with xmlsec (XML-DSig over the
Body, X.509 key info), and xmlsec encrypts a Body's content (AES-128-CBC, the key wrapped with
RSA-OAEP) as XML-Enc prescribes; the relay shows what the signature covers and that the Body is
encrypted with which algorithm, masks signature and cipher values, and forwards bytes whose
signature still verifies and whose ciphertext still decrypts at the service."""

from __future__ import annotations

import re

import pytest
import soap_helpers
import wsdl_samples as w
import wsdl_service
from lxml import etree
from mitmrelay.testing import make_certs
from wssec_helpers import signing_pair

zeep = pytest.importorskip("zeep")
xmlsec = pytest.importorskip("xmlsec")
from zeep.transports import Transport  # noqa: E402
from zeep.wsse.signature import Signature, verify_envelope  # noqa: E402

BINDING = "{http://example.com/stockquote.wsdl}StockQuoteSoapBinding"


class SignOnly(Signature):
    """Signs requests; the test service does not sign its answers, so there is nothing to check."""

    def verify(self, envelope):
        return envelope


def encrypt_body(message: bytes, cert_file: str) -> bytes:
    """The message with its Body's content encrypted for the holder of cert_file's key."""
    root = etree.fromstring(message)
    body = root[0]
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_file(cert_file, xmlsec.constants.KeyDataFormatCertPem))
    template = xmlsec.template.encrypted_data_create(
        root, xmlsec.constants.TransformAes128Cbc, type=xmlsec.constants.TypeEncContent, ns="xenc"
    )
    xmlsec.template.encrypted_data_ensure_cipher_value(template)
    key_info = xmlsec.template.encrypted_data_ensure_key_info(template, ns="dsig")
    wrapped = xmlsec.template.add_encrypted_key(key_info, xmlsec.constants.TransformRsaOaep)
    xmlsec.template.encrypted_data_ensure_cipher_value(wrapped)
    context = xmlsec.EncryptionContext(manager)
    context.key = xmlsec.Key.generate(
        xmlsec.constants.KeyDataAes, 128, xmlsec.constants.KeyDataTypeSession
    )
    context.encrypt_xml(template, body)
    return etree.tostring(root)


def decrypt(message: bytes, key_file: str) -> bytes:
    root = etree.fromstring(message)
    manager = xmlsec.KeysManager()
    manager.add_key(xmlsec.Key.from_file(key_file, xmlsec.constants.KeyDataFormatPem))
    found = root.find(".//{http://www.w3.org/2001/04/xmlenc#}EncryptedData")
    xmlsec.EncryptionContext(manager).decrypt(found)
    return etree.tostring(root)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("wssec")
    certs = make_certs(tmp_path_factory.mktemp("certs"))
    key_file, cert_file = map(str, signing_pair(tmp))
    service = wsdl_service.StockService(certs.server_context())
    relay = wsdl_service.relay_to(
        tmp, service.port, certs, "--flow-detail", "3", "--set", "soap_log_calls=true"
    )
    try:
        session = soap_helpers.client_session()
        base = f"http://127.0.0.1:{relay.port}/stock"
        client = zeep.Client(
            base + "?wsdl",
            transport=Transport(session=session),
            wsse=SignOnly(key_file, cert_file),
        )
        price = client.create_service(BINDING, base).GetLastTradePrice(tickerSymbol="MSFT")
        encrypted = encrypt_body(w.stock_request("SECRETSYM"), cert_file)
        answer = session.post(
            base,
            data=encrypted,
            headers={
                "Content-Type": "text/xml",
                "SOAPAction": '"http://example.com/GetLastTradePrice"',
            },
        )
        assert answer.status_code == 200
        relay.stop()
        yield relay.text(), price, service.received, (key_file, cert_file)
    finally:
        relay.stop()
        service.stop()


def test_the_service_gets_verifiable_and_decryptable_bytes(run):
    _, price, received, (key_file, cert_file) = run
    assert price == pytest.approx(42.5)
    signed, encrypted = received
    verify_envelope(etree.fromstring(signed), cert_file)  # raises if a byte changed
    assert b"SECRETSYM" not in encrypted
    assert b"<m:tickerSymbol>SECRETSYM</m:tickerSymbol>" in decrypt(encrypted, key_file)


def test_the_encrypted_body_is_told_with_its_algorithm(run):
    output, _, received, _ = run
    assert re.search(r"Body:\s+encrypted \(xenc:EncryptedData, aes128-cbc\)\n", output)
    assert re.search(
        r"Operation:\s+GetLastTradePrice \(document/literal, matched by SOAPAction", output
    )
    labels = re.findall(r"POST \S+: (SOAP .*)", output)
    assert labels == ["SOAP GetLastTradePrice", "SOAP GetLastTradePrice"]
    ciphers = re.findall(rb"<xenc:CipherValue>([^<]+)<", received[1])
    assert len(ciphers) == 2 and not [c for c in ciphers if c.split()[0].decode() in output]


def test_the_view_tells_what_is_signed_and_masks_the_value(run):
    output, _, received, _ = run
    assert re.search(r"Security:\s+Signature rsa-sha1 over Body\n", output)
    assert "POST https://localhost:" in output and ": SOAP GetLastTradePrice\n" in output
    value = re.search(rb"<SignatureValue>([^<]+)<", received[0]).group(1).decode()
    assert value.split()[0] not in output
    assert re.search(r"<SignatureValue>\[masked\]</SignatureValue>", output)
