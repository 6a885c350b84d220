"""Pretty-printing of a parsed envelope: indentation changes, nothing else (prefixes, attributes,
text and CDATA are kept), except that very long text is shortened with a note."""

from __future__ import annotations

import copy

from lxml import etree

from .mask import mask_tree

# Inline base64 (attachments, tokens) would bury the envelope: show its start and its length.
LONG_TEXT = 4096
KEPT_TEXT = 256


def _shorten(text: str | None) -> str | None:
    if text is None or len(text) <= LONG_TEXT:
        return text
    return f"{text[:KEPT_TEXT]}… [{len(text) - KEPT_TEXT} more characters]"


def _strip_layout(root: etree._Element) -> None:
    """Drop whitespace-only text between elements, so that lxml re-indents it."""
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element is not root and element.tail is not None and not element.tail.strip():
            element.tail = None
        # Assigning would turn CDATA into plain text: only touch what is too long.
        if isinstance(element.tag, str) and element.text and len(element.text) > LONG_TEXT:
            element.text = _shorten(element.text)
        if element.tail and len(element.tail) > LONG_TEXT:
            element.tail = _shorten(element.tail)


def pretty_xml(root: etree._Element, *, mask: bool) -> str:
    """The element indented by two spaces, secrets masked if asked."""
    tree = copy.deepcopy(root)
    if mask:
        mask_tree(tree)
    _strip_layout(tree)
    return etree.tostring(tree, encoding="unicode", pretty_print=True, with_tail=False)
