"""The package's imports point one way: no module imports, through others, one that imports it.

The graph is read from the sources (ast), imports inside functions included: an import moved into
a function to dodge a cycle is still a cycle.
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
        edges[name] = {m for m in found if m in modules and m != name}
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
