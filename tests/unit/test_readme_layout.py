"""The README's Layout section names every module of the package and every addon script."""

from __future__ import annotations

import peers


def layout_section() -> str:
    text = (peers.REPO / "README.md").read_text()
    return text.split("\n## Layout\n", 1)[1].split("\n## ", 1)[0]


def test_every_module_and_addon_script_is_in_the_layout():
    section = layout_section()
    package = peers.ADDONS / "mitmrelay"
    modules = [p for p in package.rglob("*.py") if p.name != "__init__.py"]
    missing = [
        str(p.relative_to(package))
        for p in modules
        if f" {p.name} " not in section
        or (p.parent != package and f" {p.parent.name}/ " not in section)
    ]
    missing += [p.name for p in peers.ADDONS.glob("*.py") if f"addons/{p.name} " not in section]
    assert not missing, f"add to README.md's Layout: {missing}"
