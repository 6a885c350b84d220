import time

import pytest
import soap_helpers as h
from lxml import etree
from mitmrelay.soap import MASK, MessageInfo, RenderOptions, mask_text, render
from mitmrelay.soap.mask import mask_tree


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "<wsse:Password Type='x'>pw</wsse:Password>",
            f"<wsse:Password Type='x'>{MASK}</wsse:Password>",
        ),
        ("<Nonce>abc</Nonce><Nonce>def</Nonce>", f"<Nonce>{MASK}</Nonce><Nonce>{MASK}</Nonce>"),
        (
            "<ds:SignatureValue>\nAAA\n</ds:SignatureValue >",
            f"<ds:SignatureValue>{MASK}</ds:SignatureValue >",
        ),
        ("<x:BinarySecret>k</x:BinarySecret>", f"<x:BinarySecret>{MASK}</x:BinarySecret>"),
        ("<a><wsse:BinarySecurityToken>MIIB...", f"<a><wsse:BinarySecurityToken>{MASK}"),
        ("<xenc:CipherValue>zz</xenc:CipherValue>", f"<xenc:CipherValue>{MASK}</xenc:CipherValue>"),
        ("<Password/>", "<Password/>"),
        ("<PasswordHint>red</PasswordHint>", "<PasswordHint>red</PasswordHint>"),
        ("<Username>alice</Username>", "<Username>alice</Username>"),
    ],
)
def test_mask_text(text, expected):
    assert mask_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "<Password>" * 20_000,
        "<Nonce a='" * 20_000,
        "<wsse:Password>" + "x<" * 30_000,
        "<" * 60_000,
        "<" + "a" * 60_000,
    ],
)
def test_mask_text_takes_linear_time_on_hostile_text(text):
    started = time.monotonic()
    mask_text(text)
    assert time.monotonic() - started < 0.5


def test_mask_tree_masks_text_and_children():
    root = etree.fromstring(
        b"<r xmlns:d='urn:d'><d:SignatureValue>abc</d:SignatureValue>"
        b"<Password><inner>x</inner>tail</Password><keep>k</keep></r>"
    )
    assert mask_tree(root) == 2
    assert etree.tostring(root) == (
        b'<r xmlns:d="urn:d"><d:SignatureValue>[masked]</d:SignatureValue>'
        b"<Password>[masked]</Password><keep>k</keep></r>"
    )


@pytest.mark.parametrize("mask", [True, False])
def test_the_view_masks_by_default_and_on_request_only(mask):
    text = render(h.SOAP11_REQUEST, MessageInfo(), RenderOptions(mask=mask)).text
    assert (h.SECRET in text, h.NONCE in text) == (not mask, not mask)
    assert "alice" in text


def test_the_raw_fallback_is_masked_too():
    broken = h.SOAP11_REQUEST.replace(b"</soap:Envelope>", b"</soap:Envelop>")
    text = render(broken, MessageInfo()).text
    assert text.startswith("SOAP: malformed XML:")
    assert h.SECRET not in text and h.NONCE not in text


SAML_REQUEST = b"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>
<wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="a1">
  <saml:Subject><saml:NameID>alice@example</saml:NameID></saml:Subject>
  <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo><ds:Reference URI="#a1"><ds:DigestValue>ZGlnZXN0</ds:DigestValue></ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue>U0FNTC1TSUdOQVRVUkU=</ds:SignatureValue>
  </ds:Signature>
  <saml:SubjectConfirmation><saml:SubjectConfirmationData><ds:KeyInfo
      xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><xenc:EncryptedKey
      xmlns:xenc="http://www.w3.org/2001/04/xmlenc#"><xenc:CipherData>
      <xenc:CipherValue>RU5DUllQVEVELUtFWQ==</xenc:CipherValue></xenc:CipherData></xenc:EncryptedKey>
  </ds:KeyInfo></saml:SubjectConfirmationData></saml:SubjectConfirmation>
</saml:Assertion>
<wsse:BinarySecurityToken ValueType="x509">TUlJQy1DRVJU</wsse:BinarySecurityToken>
</wsse:Security></s:Header><s:Body><o:Op xmlns:o="urn:o"/></s:Body></s:Envelope>"""


def test_saml_signature_encrypted_keys_and_tokens_are_masked():
    text = render(SAML_REQUEST, MessageInfo()).text
    for secret in ("U0FNTC1TSUdOQVRVUkU=", "RU5DUllQVEVELUtFWQ==", "TUlJQy1DRVJU"):
        assert secret not in text
    assert "Security: Assertion" in text and "Security: BinarySecurityToken" in text
    assert "alice@example" in text and "ZGlnZXN0" in text  # not secrets: kept
