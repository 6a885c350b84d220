"""Masking of WS-Security secrets in what is displayed (never in what is forwarded).

Elements are matched by local name in any namespace: WS-Security 1.0/1.1, WS-Trust and
XML-DSig/XML-Enc each have several namespace versions, and an application's own `Password`
element is just as secret.
"""

from __future__ import annotations

import re

from lxml import etree

from ._xml import qname

MASK = "[masked]"
SECRET_ELEMENTS = frozenset(
    {
        "Password",  # wsse:UsernameToken, in clear or as a digest
        "Nonce",  # a digest's salt: with the digest it allows offline guessing
        "BinarySecurityToken",  # X.509 / Kerberos tickets, SAML bearer tokens
        "BinarySecret",  # WS-Trust symmetric keys
        "SignatureValue",  # XML-DSig, including SAML assertions: a replayable bearer proof
        "CipherValue",  # XML-Enc encrypted keys and data
    }
)
_NAMES = "|".join(sorted(SECRET_ELEMENTS))
_CLOSED = re.compile(
    rf"(<(?:[\w.-]+:)?({_NAMES})\b[^>]*(?<!/)>)(.*?)(</(?:[\w.-]+:)?\2\s*>)", re.DOTALL
)
# A body cut for display can end inside a secret element: mask to the end.
_UNCLOSED = re.compile(rf"(<(?:[\w.-]+:)?(?:{_NAMES})\b[^>]*(?<!/)>)[^<]*\Z")


def mask_tree(root: etree._Element) -> int:
    """Replace the text of secret elements in place; returns how many were masked."""
    count = 0
    for element in root.iter(etree.Element):
        if qname(element)[1] in SECRET_ELEMENTS and (element.text or len(element)):
            element.text = MASK
            for child in list(element):
                element.remove(child)
            count += 1
    return count


def mask_text(text: str) -> str:
    """Mask secrets in raw (possibly malformed or cut) XML text."""
    text = _CLOSED.sub(lambda m: f"{m.group(1)}{MASK}{m.group(4)}", text)
    return _UNCLOSED.sub(lambda m: f"{m.group(1)}{MASK}", text)
