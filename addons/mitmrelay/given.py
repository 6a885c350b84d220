"""Which options the user gave mitmproxy: on its command line (a flag, or `--set NAME=VALUE`) or in
its config file (config.yaml or config.yml in confdir). The one answer to "did the user set this?"
for what an option's value cannot tell (a built-in option set to its default looks unset).

    given(["--mode", "socks5", "--set", "confdir=/etc/mitm"])   # before mitmproxy starts
    by_user(loader.master.options)                              # in an addon's load()
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import yaml
from mitmproxy.optmanager import OptManager

CONF_DIR = "~/.mitmproxy"  # mitmproxy's default confdir
# The programs whose arguments are mitmproxy's (mitmrelay runs mitmdump/mitmweb in its process).
TOOLS = frozenset({"mitmdump", "mitmweb", "mitmproxy", "mitmrelay"})

# The options that have flags of their own besides --set, and those flags (mitmproxy's
# tools/cmdline.py); every other option is given with --set only.
FLAGS: dict[str, tuple[str, ...]] = {
    "mode": ("--mode", "-m"),
    "listen_host": ("--listen-host",),
    "listen_port": ("--listen-port", "-p"),
    "flow_detail": ("--flow-detail",),
    "ssl_insecure": ("--ssl-insecure", "-k"),
}


def settings(args: Sequence[str]) -> dict[str, str]:
    """The `--set NAME=VALUE` of mitmproxy arguments (the last one of each name)."""
    found = {}
    for index, arg in enumerate(args):
        setting = None
        if arg == "--set" and index + 1 < len(args):
            setting = args[index + 1]
        elif arg.startswith("--set="):
            setting = arg.removeprefix("--set=")
        if setting is not None:
            name, _, value = setting.partition("=")
            found[name.strip()] = value
    return found


def in_args(args: Sequence[str]) -> set[str]:
    """The options mitmproxy arguments set: by their flag, or by --set NAME=VALUE."""
    found = set(settings(args))
    for arg in args:
        for name, flags in FLAGS.items():
            long_flags = [f for f in flags if f.startswith("--")]
            short = [f for f in flags if not f.startswith("--")]
            if (
                arg in flags
                or any(arg.startswith(f + "=") for f in long_flags)
                or any(arg.startswith(f) and len(arg) > 2 for f in short)
            ):
                found.add(name)
    return found


def in_config(confdir: str | Path | None) -> set[str]:
    """The options mitmproxy's config file in confdir sets (config.yaml, then config.yml); none
    when there is none or it does not parse (mitmproxy reports that itself)."""
    folder = Path(confdir or CONF_DIR).expanduser()
    found: set[str] = set()
    for name in ("config.yaml", "config.yml"):
        try:
            data = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue
        if isinstance(data, dict):
            found |= {str(key) for key in data}
    return found


def given(args: Sequence[str], confdir: str | Path | None = None) -> set[str]:
    """The options the user gave: args, and the config file of confdir (by default the one args
    name with --set confdir=, else mitmproxy's)."""
    return in_args(args) | in_config(confdir or settings(args).get("confdir"))


def command_line() -> list[str]:
    """This process's arguments when it is a mitmproxy tool or the mitmrelay command (python -m
    mitmrelay too); none when mitmproxy runs embedded in another program (a test's master)."""
    program = Path(sys.argv[0])
    if program.name in TOOLS or program.parts[-2:] == ("mitmrelay", "__main__.py"):
        return sys.argv[1:]
    return []


def by_user(manager: OptManager, args: Sequence[str] | None = None) -> set[str]:
    """The options the user set, asked while mitmproxy runs: on its command line (args, by default
    this process's) or in its config file, even to the default value; changed from the default
    (by a recipe, in mitmweb's Options editor); or an addon's option given with --set that waits
    for its addon to load (mitmproxy's deferred options)."""
    changed = {name for name, option in manager.items() if option.has_changed()}
    named = given(command_line() if args is None else args, manager.confdir)
    return changed | set(manager.deferred) | named
