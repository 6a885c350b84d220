"""Hostile and broken recipe text: parse and validate report problems, they never raise or hang."""

from __future__ import annotations

import time

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.recipe.catalog import offline_catalog
from mitmrelay.recipe.validate import parse, validate
from peers import REPO

CATALOG = offline_catalog(REPO / "addons" / "relay.py")

OPTIONS = [
    "proxy_chain",
    "proxy_routes",
    "proxy_bypass",
    "mode",
    "listen_host",
    "ssl_insecure",
    "socat_dump",
    "record_dir",
    "proxy_chian",
]
scalars = st.one_of(
    st.text(max_size=40), st.integers(), st.booleans(), st.none(), st.floats(allow_nan=False)
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3)
    ),
    max_leaves=8,
)


def check(text: str) -> None:
    start = time.monotonic()
    recipe, problems = parse(text, "fuzz.yaml")
    if not problems:
        problems = validate(recipe, CATALOG, environ={}, base_dir=None)
    assert all(str(p).startswith("fuzz.yaml") for p in problems)
    assert time.monotonic() - start < 2


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=400))
def test_any_text(text):
    check(text)


@settings(max_examples=150, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["description", "options", "try", "extra"]),
        st.one_of(values, st.dictionaries(st.sampled_from(OPTIONS), values, max_size=5)),
        max_size=4,
    )
)
def test_any_structure(data):
    check(yaml.safe_dump(data))


def test_billion_laughs_aliases_are_bounded():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    lines += [
        f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)
    ]
    check("\n".join(lines) + "\noptions:\n  proxy_bypass: *i\n")


def test_aliases_are_refused_with_the_line():
    _, problems = parse("a: &x [1]\noptions:\n  proxy_bypass: *x\n", "r.yaml")
    assert [str(p) for p in problems] == [
        "r.yaml:1: YAML anchors and aliases (&name, *name) are not supported in recipes: "
        "write the value out"
    ]
