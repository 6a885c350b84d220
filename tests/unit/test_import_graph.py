"""The package's imports point one way: no module imports, through others, one that imports it.

The graph is read from the sources (ast), imports inside functions included: an import moved into
a function to dodge a cycle is still a cycle, and importing a module of another package runs
that package's __init__ first (what made optionkit -> chain.spec a cycle through chain/__init__).
"""

from __future__ import annotations

import ast
from pathlib import Path

from peers import ADDONS

PACKAGE = ADDONS / "mitmrelay"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ADDONS).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = (
                    ".".join([*base, node.module or ""]).strip(".") if node.level else node.module
                )
                for alias in node.names:
                    found.add(
                        f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                    )
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names}
        # Importing a.b.c first runs the package a.b's __init__, unless the importer is inside it.
        own = {".".join(name.split(".")[:n]) for n in range(1, name.count(".") + 1)}
        parents = {
            ".".join(m.split(".")[:n]) for m in found for n in range(2, m.count(".") + 1)
        } - own
        edges[name] = {m for m in found | parents if m in modules and m != name}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[set[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in edges[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(component)

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_graph_sees_the_package():
    edges = graph()
    assert "mitmrelay.chain.connector" in edges["mitmrelay.chain.check"]
    assert "mitmrelay.chain.check" in edges["mitmrelay.relay"]  # the command addon, from the core


def test_no_import_cycle():
    assert cycles(graph()) == []


def test_a_cycle_is_found():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]


def test_importing_a_module_of_another_package_runs_its_init_first():
    edges = graph()
    assert "mitmrelay.chain" in edges["mitmrelay.options"]  # through mitmrelay.chain.options
    assert "mitmrelay.chain" not in edges["mitmrelay.chain.connector"]  # its own package


def test_each_package_declares_its_own_options_and_none_imports_the_gathering_back():
    edges = graph()
    gathered = {m for m in edges["mitmrelay.options"] if m.endswith(".options")}
    assert gathered == {
        f"mitmrelay.{package}.options" for package in ("chain", "soap", "streams", "recipe", "web")
    }
    addons = [name for name in edges if name.endswith(".addon") or name.endswith("_addon")]
    assert len(addons) >= 5
    for name in addons:
        assert "mitmrelay.options" not in edges[name], f"{name} uses the gathering, not its own"
    for package in ("chain", "soap", "streams"):  # whose options it gathers, all but their users
        importers = [n for n in edges if n.startswith(f"mitmrelay.{package}.")]
        assert not [n for n in importers if "mitmrelay.options" in edges[n]]
