"""Signing a replayed request again: the recorded ds:Signature's references, transforms and
algorithms, with the configured key, by xmlsec (libxmlsec1: its canonicalisation and digests,
not ours).

The recorded signature element is the template: its DigestValues and SignatureValue are emptied
and xmlsec fills them for the message as it now is. The key information names the configured
certificate: a BinarySecurityToken it points at, an X509Certificate, an issuer and serial number,
a subject key identifier or a SHA-1 thumbprint are written for it. xmlsec comes with the `sign`
extra (`pip install 'mitmrelay[sign]'`); without it, `load_signer` says so.

Usage:
    signer = load_signer(Path("client.key"), Path("client.pem"))
    material = wssec.Material(password=..., signer=signer)
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ._xml import attribute_items, qname
from .wssec import WSU_NS

_SKI = "#X509SubjectKeyIdentifier"
_THUMBPRINT = "#ThumbprintSHA1"


class SignError(ValueError):
    """Signing is impossible: xmlsec missing, a key or certificate that cannot be read, or a
    signature xmlsec cannot make again."""


def _xmlsec() -> Any:
    try:
        import xmlsec  # optional: the `sign` extra
    except ImportError as e:
        raise SignError(
            f"signing needs python-xmlsec ({e}): pip install 'mitmrelay[sign]' "
            "(Debian: the wheel brings libxmlsec1; building from source needs libxmlsec1-dev)"
        ) from None
    return xmlsec


def _children(element: etree._Element, local: str) -> Iterator[etree._Element]:
    return (child for child in element if qname(child)[1] == local)


class XmlsecSigner:
    """A key and its certificate, loaded once; called for each signature to renew."""

    def __init__(self, key_file: Path, cert_file: Path, password: str | None = None) -> None:
        xmlsec = self.xmlsec = _xmlsec()
        try:
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
            self.key = xmlsec.Key.from_file(
                str(key_file), xmlsec.constants.KeyDataFormatPem, password
            )
        except (OSError, ValueError, xmlsec.Error) as e:
            raise SignError(
                f"cannot load the key {key_file} and certificate {cert_file}: {e}"
            ) from None
        self.cert = cert
        self.der = cert.public_bytes(serialization.Encoding.DER)

    def __call__(self, signature: etree._Element, root: etree._Element) -> str:
        info = next(_children(signature, "SignedInfo"), None)
        if info is None:
            raise SignError("the recorded ds:Signature has no SignedInfo")
        for reference in _children(info, "Reference"):
            for value in _children(reference, "DigestValue"):
                value.text = ""
        for value in _children(signature, "SignatureValue"):
            value.text = ""
        key_info = next(_children(signature, "KeyInfo"), None)
        if key_info is not None:
            self._name_certificate(key_info, root)
            # xmlsec would write its own key information into the KeyInfo; it is not signed,
            # so it is kept aside while xmlsec signs and put back as written above.
            position = signature.index(key_info)
            signature.remove(key_info)
        context = self.xmlsec.SignatureContext()
        context.key = self.key
        for element in root.iter(etree.Element):
            for name, _ in attribute_items(element):
                namespace, _, local = name[1:].rpartition("}") if name[0] == "{" else ("", "", name)
                if local in ("Id", "ID", "id"):
                    context.register_id(element, local, namespace or None)
        try:
            context.sign(signature)
        except self.xmlsec.Error as e:
            raise SignError(f"xmlsec could not sign the recorded references again: {e}") from None
        finally:
            if key_info is not None:
                signature.insert(position, key_info)
        return _described(signature, root)

    def _name_certificate(self, key_info: etree._Element, root: etree._Element) -> None:
        encoded = base64.b64encode(self.der).decode()
        ids = {
            value: element
            for element in root.iter(etree.Element)
            for name, value in attribute_items(element)
            if name == f"{{{WSU_NS}}}Id" or name == "Id"
        }
        for element in key_info.iter(etree.Element):
            local = qname(element)[1]
            if local == "Reference" and (element.get("URI") or "").startswith("#"):
                token = ids.get((element.get("URI") or "")[1:])
                if token is not None and qname(token)[1] == "BinarySecurityToken":
                    token.text = encoded
            elif local == "X509Certificate":
                element.text = encoded
            elif local == "X509IssuerName":
                element.text = self.cert.issuer.rfc4514_string()
            elif local == "X509SerialNumber":
                element.text = str(self.cert.serial_number)
            elif local == "KeyIdentifier":
                kind = element.get("ValueType") or ""
                if kind.endswith(_THUMBPRINT):
                    digest = hashlib.sha1(self.der).digest()  # the token profile's choice
                    element.text = base64.b64encode(digest).decode()
                elif kind.endswith(_SKI):
                    ski = self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
                    element.text = base64.b64encode(ski.value.digest).decode()


def _described(signature: etree._Element, root: etree._Element) -> str:
    """`rsa-sha256 over Body, Timestamp`: the algorithm and the names of the signed elements."""
    info = next(_children(signature, "SignedInfo"))
    method = next(_children(info, "SignatureMethod"), None)
    algorithm = (method.get("Algorithm") or "").rpartition("#")[2] if method is not None else "?"
    ids = {
        value: qname(element)[1]
        for element in root.iter(etree.Element)
        for name, value in attribute_items(element)
        if name.rpartition("}")[2] in ("Id", "ID", "id")
    }
    signed = [
        ids.get((reference.get("URI") or "")[1:], reference.get("URI") or "(whole document)")
        for reference in _children(info, "Reference")
    ]
    return f"{algorithm} over {', '.join(signed)}" if signed else algorithm


def load_signer(key_file: Path, cert_file: Path) -> XmlsecSigner:
    return XmlsecSigner(key_file, cert_file)
