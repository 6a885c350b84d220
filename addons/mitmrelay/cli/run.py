"""`mitmrelay run RECIPE`: the mitmproxy arguments that start a recipe on its own listen address.

mitmproxy 12 binds its listeners (8080 by default) before scripts load, so a recipe's `mode`,
`listen_host` and `listen_port` applied by the recipe addon come too late: a busy 8080 stops the
start. Here they go on the command line, unless the user's arguments or mitmproxy config file
already set them (those win, as they do over `--set recipe=`).
"""

from __future__ import annotations

from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import yaml

CONF_DIR = "~/.mitmproxy"  # mitmproxy's default confdir

# Each listen option and the command-line flags that set it (mitmproxy's tools/cmdline.py).
LISTEN_FLAGS: dict[str, tuple[str, ...]] = {
    "mode": ("--mode", "-m"),
    "listen_host": ("--listen-host",),
    "listen_port": ("--listen-port", "-p"),
}


def _settings(args: Sequence[str]) -> dict[str, str]:
    """The `--set NAME=VALUE` of mitmproxy arguments (the last one of each name)."""
    settings = {}
    for index, arg in enumerate(args):
        setting = None
        if arg == "--set" and index + 1 < len(args):
            setting = args[index + 1]
        elif arg.startswith("--set="):
            setting = arg.removeprefix("--set=")
        if setting is not None:
            name, _, value = setting.partition("=")
            settings[name.strip()] = value
    return settings


def given_options(args: Sequence[str]) -> set[str]:
    """The listen options that mitmproxy arguments set: by their flag, or by --set NAME=VALUE."""
    given = {name for name in _settings(args) if name in LISTEN_FLAGS}
    for arg in args:
        for name, flags in LISTEN_FLAGS.items():
            long_flags = [f for f in flags if f.startswith("--")]
            short = [f for f in flags if not f.startswith("--")]
            if (
                arg in flags
                or any(arg.startswith(f + "=") for f in long_flags)
                or any(arg.startswith(f) and len(arg) > 2 for f in short)
            ):
                given.add(name)
    return given


def config_options(args: Sequence[str]) -> set[str]:
    """The listen options the user's mitmproxy config file sets (config.yaml or config.yml in
    confdir, ~/.mitmproxy unless `--set confdir=` says otherwise): they win over a recipe too,
    as they do for `--set recipe=`."""
    confdir = Path(_settings(args).get("confdir") or CONF_DIR).expanduser()
    found: set[str] = set()
    for name in ("config.yaml", "config.yml"):
        try:
            data = yaml.safe_load((confdir / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # none, or mitmproxy says what is wrong with it
        if isinstance(data, dict):
            found |= {option for option in LISTEN_FLAGS if option in data}
    return found


def recipe_listen_options(text: str) -> dict[str, Any]:
    """The recipe's listen options, as written; {} if the file is not a mapping of options (the
    recipe addon reports that, with the line, when mitmproxy starts)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    options = data.get("options") if isinstance(data, dict) else None
    if not isinstance(options, dict):
        return {}
    return {name: options[name] for name in LISTEN_FLAGS if name in options}


def listen_args(
    recipe: dict[str, Any], args: Sequence[str], configured: AbstractSet[str] = frozenset()
) -> list[str]:
    """Command-line flags for the recipe's listen options that neither the user's args nor their
    config file (configured: see config_options) set."""
    given = given_options(args) | configured
    out: list[str] = []
    for name, value in recipe.items():
        if name in given or value is None:
            continue
        flag = LISTEN_FLAGS[name][0]
        values = [value] if isinstance(value, str | int) else list(value)
        for item in values:
            out += [flag, str(item)]
    return out
