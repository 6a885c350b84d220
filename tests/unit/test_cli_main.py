"""mitmrelay.__version__ (what `mitmrelay --version` prints) where the package is not installed
(tests/integration/test_cli.py and test_wheel.py run the command itself)."""

from __future__ import annotations

import tomllib
from importlib import metadata

import mitmrelay
import pytest
from peers import REPO

DECLARED = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


@pytest.fixture
def not_installed(monkeypatch):
    def version(name: str) -> str:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "version", version)


def test_version_from_a_checkout_that_is_not_installed(not_installed):
    assert mitmrelay._version() == DECLARED


def test_version_unknown_outside_a_checkout_when_not_installed(not_installed, tmp_path):
    assert mitmrelay._version(tmp_path / "pyproject.toml") == "unknown"
