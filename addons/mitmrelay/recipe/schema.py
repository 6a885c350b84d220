"""What a recipe may contain, as data: its top-level keys.

The options themselves are not listed here: any option of the running mitmproxy and its addons is
allowed (see catalog.py), so a recipe can set whatever `--set` can, and each is judged by the
check in mitmrelay.options that `--set` uses.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Key:
    kind: str  # "str" or "mapping"
    required: bool
    help: str


TOP_KEYS: dict[str, Key] = {
    "description": Key("str", True, "what the setup is, in a sentence or two"),
    "try": Key("str", False, "a command that sends traffic through the running recipe"),
    "options": Key("mapping", True, "mitmproxy and mitmrelay options, as with --set NAME=VALUE"),
}
