"""pyproject.toml tells the truth: every package the library imports is declared, and the declared
mitmproxy and Python ranges are the lines CI tests (scripts/setup_env.py TARGETS), no wider."""

from __future__ import annotations

import ast
import sys
import tomllib
from importlib import metadata

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from peers import ADDONS, REPO

sys.path.insert(0, str(REPO / "scripts"))
from setup_env import TARGETS

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
DEPENDENCIES = [Requirement(line) for line in PROJECT["dependencies"]]
# Imported only to see whether the `kerberos` extra is installed (pyspnego[kerberos] brings them).
EXTRA_ONLY = {"gssapi", "krb5"}
# Imported only when a replay is signed again: the `sign` extra brings it (soap/sign.py).
EXTRA_ONLY |= {"xmlsec"}


def imported_modules() -> set[str]:
    """The top-level names the package and the addon scripts import."""
    names = set()
    for path in ADDONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"__future__", "mitmrelay"}


def test_every_imported_package_is_declared():
    declared = {canonicalize_name(r.name) for r in DEPENDENCIES}
    distributions = metadata.packages_distributions()
    third_party = imported_modules() - EXTRA_ONLY
    # Addon scripts import the package's modules by their own names (addons/ is on sys.path).
    third_party -= {path.stem for path in ADDONS.glob("*.py")}
    undeclared = {
        module: distributions.get(module)
        for module in third_party
        if not {canonicalize_name(d) for d in distributions.get(module, [])} & declared
    }
    assert not undeclared, f"imported but not declared in pyproject.toml: {undeclared}"


@pytest.mark.parametrize(("line", "target"), sorted(TARGETS.items()))
def test_declared_mitmproxy_and_python_are_what_ci_tests(line, target):
    python, requirement = target
    tested = Requirement(requirement).specifier
    environment = {"python_version": python, "python_full_version": f"{python}.0"}
    declared = [
        r.specifier
        for r in DEPENDENCIES
        if r.name == "mitmproxy" and (r.marker is None or r.marker.evaluate(environment))
    ]
    assert declared == [tested], f"mitmproxy {line}: pyproject allows {declared} on {python}"
    assert SpecifierSet(PROJECT["requires-python"]).contains(f"{python}.0")


def test_no_python_beyond_the_tested_lines():
    newest = max(tuple(map(int, python.split("."))) for python, _ in TARGETS.values())
    beyond = f"{newest[0]}.{newest[1] + 1}.0"
    assert not SpecifierSet(PROJECT["requires-python"]).contains(beyond)


def test_no_private_module_of_another_library_is_imported():
    # A library's underscore modules change in any release (python-socks' connectors did, which
    # pinned it to 3.2 until the SOCKS handshakes became mitmrelay's own).
    private = []
    for path in ADDONS.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            private += [
                f"{path.relative_to(ADDONS)}: {module}"
                for module in modules
                if module.split(".")[0] != "mitmrelay"
                and any(_private(part) for part in module.split("."))
            ]
    assert not private, f"private modules of other libraries imported: {private}"


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))
