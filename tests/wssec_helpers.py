"""WS-Security requests made by a real stack (zeep) for the refresh tests: UsernameToken with a
PasswordDigest, a Timestamp, a WS-Addressing MessageID, optionally an XML-DSig signature."""

from __future__ import annotations

import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
USER, PASSWORD = "alice", "wonder-land-7"


def signing_pair(folder: Path, name: str = "signer") -> tuple[Path, Path]:
    """An RSA key and a self-signed certificate for it (with a subject key identifier), PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    key_file, cert_file = folder / f"{name}.key", folder / f"{name}.pem"
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key_file, cert_file


def timestamp_token(lifetime: float, now: datetime.datetime | None = None) -> etree._Element:
    from zeep.wsse.utils import WSU

    created = (now or datetime.datetime.now(datetime.UTC)).replace(microsecond=0)
    token = WSU.Timestamp()
    token.append(WSU.Created(created.strftime("%Y-%m-%dT%H:%M:%SZ")))
    expires = created + datetime.timedelta(seconds=lifetime)
    token.append(WSU.Expires(expires.strftime("%Y-%m-%dT%H:%M:%SZ")))
    return token


def zeep_request(
    symbol: str = "ACME",
    lifetime: float = 300,
    sign: tuple[Path, Path] | None = None,
    now: datetime.datetime | None = None,
    signer: type | None = None,
    **algorithms,
) -> bytes:
    """A GetQuote request as zeep's WS-Security plugins write it; signed with `sign` (key and
    certificate) by `signer` (zeep's Signature, or BinarySignature: the certificate in a
    BinarySecurityToken) with zeep's or the given signature_method and digest_method."""
    from zeep.wsse.signature import Signature
    from zeep.wsse.username import UsernameToken

    envelope = etree.fromstring(
        f'<soap:Envelope xmlns:soap="{SOAP11}"><soap:Header>'
        f'<wsa:Action xmlns:wsa="{WSA}">urn:example:quotes/GetQuote</wsa:Action>'
        f'<wsa:MessageID xmlns:wsa="{WSA}">urn:uuid:0b7a9c2e-5d9f-4a53-9d55-1f1f5e0e3a11'
        "</wsa:MessageID></soap:Header><soap:Body>"
        f'<q:GetQuote xmlns:q="urn:example:quotes"><q:symbol>{symbol}</q:symbol></q:GetQuote>'
        "</soap:Body></soap:Envelope>"
    )
    token = UsernameToken(
        USER, PASSWORD, use_digest=True, timestamp_token=timestamp_token(lifetime, now)
    )
    envelope, _ = token.apply(envelope, {})
    if sign is not None:
        plugin = (signer or Signature)(str(sign[0]), str(sign[1]), **algorithms)
        envelope, _ = plugin.apply(envelope, {})
    return etree.tostring(envelope)
