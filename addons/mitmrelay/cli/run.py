"""`mitmrelay run RECIPE`: the mitmproxy arguments that start a recipe on its own listen address.

mitmproxy 12 binds its listeners (8080 by default) before scripts load, so a recipe's `mode`,
`listen_host` and `listen_port` applied by the recipe addon come too late: a busy 8080 stops the
start. Here they go on the command line, unless the user's arguments or mitmproxy config file
already set them (those win, as they do over `--set recipe=`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from .. import given

# The listen options a recipe may give (their flags: given.FLAGS).
LISTEN = ("mode", "listen_host", "listen_port")


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
    return {name: options[name] for name in LISTEN if name in options}


def listen_args(recipe: dict[str, Any], args: Sequence[str]) -> list[str]:
    """Command-line flags for the recipe's listen options that neither the user's args nor their
    mitmproxy config file (config.yaml or config.yml in confdir, ~/.mitmproxy unless `--set
    confdir=` says otherwise) set: given.given answers, as the recipe addon asks given.by_user."""
    users = given.given(args)
    out: list[str] = []
    for name, value in recipe.items():
        if name in users or value is None:
            continue
        flag = given.FLAGS[name][0]
        values = [value] if isinstance(value, str | int) else list(value)
        for item in values:
            out += [flag, str(item)]
    return out
