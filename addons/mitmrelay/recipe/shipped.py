"""Where recipes are found by name: the user's folder, then the recipes shipped with mitmrelay.

A wheel carries the checkout's top-level recipes/*.yaml as mitmrelay/recipes/ (setup.py copies them
at build time); a checkout reads recipes/ directly. The user's folder is
$XDG_CONFIG_HOME/mitmrelay/recipes (default ~/.config/mitmrelay/recipes): a copy edited there under
a shipped recipe's name is the one used.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]


def shipped_dir() -> Path:
    """The folder of the recipes shipped with mitmrelay (inside the package once installed)."""
    packaged = _PACKAGE / "recipes"
    return packaged if packaged.is_dir() else _PACKAGE.parents[1] / "recipes"


def user_dir(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path("~/.config").expanduser())
    return Path(base) / "mitmrelay" / "recipes"


def available(environ: Mapping[str, str] = os.environ) -> dict[str, Path]:
    """Every recipe known by name (file name without .yaml), the user's over the shipped ones."""
    found: dict[str, Path] = {}
    for folder in (shipped_dir(), user_dir(environ)):
        if folder.is_dir():
            found.update({file.stem: file for file in sorted(folder.glob("*.yaml"))})
    return found


def find(recipe: str, environ: Mapping[str, str] = os.environ) -> Path:
    """A recipe given as a path, or as the name of a user's or shipped recipe (.yaml optional)."""
    path = Path(recipe).expanduser()
    if path.is_file():
        return path
    known = available(environ)
    name = recipe.removesuffix(".yaml")
    if os.sep not in recipe and name in known:
        return known[name]
    raise ValueError(
        f"no recipe file {recipe!r} and no recipe of that name; "
        f"the names are: {', '.join(known) or '(none found)'} "
        f"(from {shipped_dir()} and {user_dir(environ)})"
    )
