"""soap.diff's comparison on generated envelopes: the same tree written by two "stacks" (other
prefixes, declarations on other elements, other layout, attributes in another order) has no
differences; changing one text value reports exactly that path; any bytes at all give an answer,
never an exception."""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy.test import tflow, tutils
from mitmrelay.soap.diff import compare, side_of

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
NAMESPACES = ["urn:a", "urn:b", ""]
names = st.sampled_from(["item", "value", "code", "x", "Amount"])
texts = st.text(alphabet="abcXYZ019_-.", min_size=1, max_size=12)


@st.composite
def trees(draw, depth: int = 0):
    """(namespace, local, attributes, text or children) of one element."""
    ns, local = draw(st.sampled_from(NAMESPACES)), draw(names)
    attributes = draw(st.dictionaries(st.sampled_from(["id", "kind", "unit"]), texts, max_size=2))
    if depth >= 3 or draw(st.booleans()):
        return ns, local, attributes, draw(texts)
    return ns, local, attributes, draw(st.lists(trees(depth + 1), min_size=1, max_size=3))


def write(tree, prefixes: dict[str, str], layout: str, reverse: bool, top: bool = True) -> str:
    """The element as a stack writes it: its own prefixes, declarations where it likes."""
    ns, local, attributes, content = tree
    prefix = prefixes.get(ns, "")
    tag = f"{prefix}:{local}" if prefix else local
    declarations = "".join(f' xmlns:{p}="{n}"' for n, p in prefixes.items() if n and top) + (
        ' xmlns=""' if not prefix and top else ""
    )
    items = sorted(attributes.items(), reverse=reverse)
    attrs = "".join(f" {name}={quoteattr(value)}" for name, value in items)
    if isinstance(content, str):
        inner = escape(content)
    else:
        inner = layout + layout.join(write(c, prefixes, layout, reverse, False) for c in content)
        inner += layout
    return f"<{tag}{declarations}{attrs}>{inner}</{tag}>"


def envelope(tree, prefixes: dict[str, str], soap: str, layout: str, reverse: bool) -> bytes:
    body = write(tree, prefixes, layout, reverse)
    return (
        f'<{soap}:Envelope xmlns:{soap}="{S11}">{layout}<{soap}:Body>{layout}{body}{layout}'
        f"</{soap}:Body></{soap}:Envelope>"
    ).encode()


def flow(content: bytes):
    f = tflow.tflow()
    f.request = tutils.treq(method=b"POST", path=b"/s", content=content)
    f.request.headers["content-type"] = "text/xml"
    return f


def differences(a: bytes, b: bytes) -> list[str]:
    side_a, side_b = side_of(flow(a), "request"), side_of(flow(b), "request")
    assert side_a is not None and side_b is not None
    return compare(side_a, side_b, mask=False)


STACK_A = ({"urn:a": "a", "urn:b": "b"}, "soap", "", False)
STACK_B = ({"urn:a": "ns1", "urn:b": "tns"}, "SOAP-ENV", "\n  ", True)


@FUZZ
@given(trees())
def test_the_same_tree_from_two_stacks_has_no_differences(tree):
    assert differences(envelope(tree, *STACK_A), envelope(tree, *STACK_B)) == []


def _leaves(tree, path):
    content = tree[3]
    if isinstance(content, str):
        yield path, tree
        return
    for index, child in enumerate(content):
        yield from _leaves(child, (*path, index))


def _replace(tree, path, text):
    ns, local, attributes, content = tree
    if not path:
        return ns, local, attributes, text
    children = list(content)
    children[path[0]] = _replace(children[path[0]], path[1:], text)
    return ns, local, attributes, children


@FUZZ
@given(trees(), st.data())
def test_one_changed_value_is_one_changed_line(tree, data):
    leaves = list(_leaves(tree, ()))
    path, leaf = data.draw(st.sampled_from(leaves))
    changed = _replace(tree, path, leaf[3] + "!")
    (line,) = differences(envelope(tree, *STACK_A), envelope(changed, *STACK_B))
    assert line.startswith("changed  Body/")
    assert line.endswith(f": {leaf[3]!r} -> {leaf[3] + '!'!r}")


@FUZZ
@given(st.binary(max_size=2000), st.binary(max_size=2000))
def test_any_bytes_give_an_answer(a, b):
    assert isinstance(differences(b"<s:Envelope xmlns:s='" + S11.encode() + b"'>" + a, b), list)
