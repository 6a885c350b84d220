"""Signing a replayed request again: the recorded ds:Signature's references, transforms and
algorithms, with the configured key, by xmlsec (libxmlsec1: its canonicalisation and digests,
not ours).

The recorded request is untrusted XML, and libxmlsec1 is native code: it signs in a worker
process (sign_worker.py, run by mitmrelay/worker.py), started when the key is loaded and reused.
The worker gets the envelope and the key's and certificate's file names, and answers with the
texts the signature changed, which are written here into the envelope; a worker that dies or
is late (SIGN_SECONDS) is a SignError (the replay goes as recorded) and a new one signs the next.

The recorded signature element is the template: its DigestValues and SignatureValue are emptied
and xmlsec fills them for the message as it now is. The key information names the configured
certificate: a BinarySecurityToken it points at, an X509Certificate, an issuer and serial number,
a subject key identifier or a SHA-1 thumbprint are written for it. xmlsec comes with the `sign`
extra (`pip install 'mitmrelay[sign]'`); without it, `load_signer` says so.

Usage:
    signer = load_signer(Path("client.key"), Path("client.pem"))   # the worker, the key loaded
    material = wssec.Material(password=..., signer=signer)
    signer.close()
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from ..worker import Command, ReplyTooLong, Shared, WorkerDied, package_folders
from ._xml import attribute_items, qname
from .wssec import WSU_NS

WORKER = Path(__file__).with_name("sign_worker.py")
SIGN_SECONDS = 5.0  # one signature, a few milliseconds when all is well
_ENV_KEPT = ("PATH", "SYSTEMROOT")  # libxmlsec1 reads no environment of ours
_SKI = "#X509SubjectKeyIdentifier"
_THUMBPRINT = "#ThumbprintSHA1"


class SignError(ValueError):
    """Signing is impossible: xmlsec missing, a key or certificate that cannot be read, or a
    signature xmlsec cannot make again."""


def _missing(why: str) -> SignError:
    return SignError(
        f"signing needs python-xmlsec ({why}): pip install 'mitmrelay[sign]' "
        "(Debian: the wheel brings libxmlsec1; building from source needs libxmlsec1-dev)"
    )


def _xmlsec() -> Any:
    try:
        import xmlsec  # optional: the `sign` extra
    except ImportError as e:
        raise _missing(str(e)) from None
    return xmlsec


def _children(element: etree._Element, local: str) -> Iterator[etree._Element]:
    return (child for child in element if qname(child)[1] == local)


class XmlsecSigner:
    """A key and its certificate, loaded once; called for each signature to renew. It runs
    libxmlsec1 where it is made: in the signing worker (see WorkerSigner)."""

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


class WorkerSigner:
    """The signer wssec.refresh calls, here: each signature is made by an XmlsecSigner in the
    signing worker, over the envelope as it is now, and the texts it changed are written back
    into this envelope (the tree's shape is the same on both sides: the worker parses what this
    side serialised, as this side parsed it)."""

    def __init__(self, key_file: Path, cert_file: Path) -> None:
        if importlib.util.find_spec("xmlsec") is None:
            raise _missing("No module named 'xmlsec'")
        folders = package_folders("mitmrelay", "xmlsec", "lxml", "cryptography")
        self._shared = Shared(Command(WORKER, tuple(folders), _ENV_KEPT, "signing worker"))
        self._files = {"key": str(key_file), "cert": str(cert_file)}
        self._ask({})  # the key and certificate loaded now: their faults are told at configure

    @property
    def worker_pid(self) -> int | None:
        return self._shared.worker_pid

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        try:
            _, reply = self._shared.ask(self._files | request, SIGN_SECONDS)
        except (WorkerDied, ReplyTooLong) as e:
            raise SignError(f"{e}; a new one signs the next replay") from None
        if "error" in reply:
            raise SignError(str(reply["error"]))
        return reply

    def __call__(self, signature: etree._Element, root: etree._Element) -> str:
        nodes = list(root.iter())
        index = next(n for n, node in enumerate(nodes) if node is signature)
        # lxml writes ASCII, with character references for the rest, unless told an encoding
        document = etree.tostring(root).decode("ascii")
        reply = self._ask({"document": document, "signature": index})
        if reply["nodes"] != len(nodes):
            raise SignError("the signing worker read another envelope than was sent")
        for key, text in reply["texts"].items():
            nodes[int(key)].text = text
        for key, tail in reply["tails"].items():
            nodes[int(key)].tail = tail
        return str(reply["described"])

    def close(self) -> None:
        """End the signing worker (a later signature starts a new one)."""
        self._shared.close()


def changes(
    before: list[tuple[str | None, str | None]], nodes: list[etree._Element]
) -> dict[str, Any]:
    """What signing changed, by node position: texts and tails (it changes nothing else)."""
    if len(nodes) != len(before):
        raise SignError("xmlsec changed the envelope's structure, not only its texts")
    texts = {str(n): node.text for n, node in enumerate(nodes) if node.text != before[n][0]}
    tails = {str(n): node.tail for n, node in enumerate(nodes) if node.tail != before[n][1]}
    return {"texts": texts, "tails": tails, "nodes": len(nodes)}


def load_signer(key_file: Path, cert_file: Path) -> WorkerSigner:
    """A signer for key_file and cert_file (PEM); SignError when they cannot be used."""
    return WorkerSigner(key_file, cert_file)
