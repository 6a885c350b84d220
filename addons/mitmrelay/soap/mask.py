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
# One tag at a time, the name taken possessively and the rest stopping at `<`: every match attempt
# is short, so hostile text costs linear time (a regex pairing open and close tags, or one that
# can give back name characters, backtracks quadratically on unclosed tags).
_TAG = re.compile(r"<(/?)([\w.:-]++)[^<>]*?(/?)>")


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
    """Mask secrets in raw (possibly malformed or cut) XML text: from a secret element's start
    tag to its end tag, or to the end of the text if the element is not closed there."""
    out, pos, open_name = [], 0, None
    for tag in _TAG.finditer(text):
        closing, qualified, self_closing = tag.groups()
        name = qualified.rpartition(":")[2]
        if open_name is None:
            if not closing and not self_closing and name in SECRET_ELEMENTS:
                out += [text[pos : tag.end()], MASK]
                open_name = name
        elif closing and name == open_name:
            pos, open_name = tag.start(), None
    if open_name is None:
        out.append(text[pos:])
    return "".join(out)
