"""The options a recipe may set: those of the running mitmproxy and its loaded addons."""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Optional

from mitmproxy import options, optmanager

from .validate import OptionInfo

_KINDS: dict[Any, tuple[str, bool]] = {
    str: ("str", False),
    int: ("int", False),
    bool: ("bool", False),
    Optional[str]: ("str", True),
    Optional[int]: ("int", True),
    Sequence[str]: ("list", False),
}


def catalog(manager: optmanager.OptManager) -> dict[str, OptionInfo]:
    """Validation's view of every option known to an option manager."""
    known = {}
    for name, option in manager.items():
        kind, optional = _KINDS.get(option.typespec, ("any", True))
        choices = tuple(option.choices) if option.choices else None
        known[name] = OptionInfo(kind, optional, choices)
    return known


def offline_catalog(addon_script: Path) -> dict[str, OptionInfo]:
    """The options mitmdump knows with an addon script loaded, without starting any listener."""

    async def build() -> dict[str, OptionInfo]:
        from mitmproxy.tools.dump import DumpMaster

        master = DumpMaster(options.Options(), with_termlog=False, with_dumper=False)
        try:
            master.addons.add(*_script_addons(addon_script))
            return catalog(master.options)
        finally:
            # Removes the master's log handler, which would otherwise outlive this event loop.
            await master.done()

    return asyncio.run(build())


def _script_addons(path: Path) -> list[Any]:
    spec = importlib.util.spec_from_file_location(f"mitmrelay_script_{path.stem}", path)
    assert spec and spec.loader, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return list(module.addons)
