"""The public surface: what `mitmrelay.__all__` names resolves, and importing the package alone is
light (no mitmproxy, no lxml: the names load on first use)."""

from __future__ import annotations

import subprocess
import sys

import mitmrelay
import pytest
from peers import ADDONS


@pytest.mark.parametrize("name", mitmrelay.__all__)
def test_every_public_name_resolves(name):
    assert getattr(mitmrelay, name) is not None
    assert name in dir(mitmrelay)


def test_a_private_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'ProxyChain'"):
        mitmrelay.ProxyChain  # noqa: B018  (the addon class: chain/addon.py, not public)


def test_importing_the_package_alone_is_light_and_knows_its_version():
    probe = (
        "import sys, mitmrelay; print(mitmrelay.__version__); "
        "print(sorted(m for m in ('mitmproxy', 'lxml', 'h11') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ADDONS)},
    ).stdout.split("\n")
    assert out[0] == mitmrelay.__version__ != "unknown"
    assert out[1] == "[]"


def test_the_package_says_it_is_typed():
    assert (ADDONS / "mitmrelay" / "py.typed").exists()
