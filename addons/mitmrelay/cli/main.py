"""The `mitmrelay` command (also `python -m mitmrelay`).

Usage:
    mitmrelay dump --mode reverse:https://api.partner.example:443@5000 --listen-host 127.0.0.1 \
        --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'
    mitmrelay web --set proxy_chain=socks5h://127.0.0.1:9050
    mitmrelay run soap-over-socks5 --set proxy_chain=socks5h://127.0.0.1:1080
    mitmrelay check --set proxy_chain=socks5h://127.0.0.1:1080 tls://api.partner.example:443
    mitmrelay recipes
    mitmrelay --version
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from ..recipe import shipped
from . import run as run_recipe

SCRIPT = Path(__file__).resolve().parent / "all_addons.py"

MAIN_HELP = """\
mitmproxy with every mitmrelay addon: proxy chains (SOCKS4/4a/5/5h, HTTP CONNECT) under every
server connection, the SOAP view, socat-style dumps, recordings and mock servers, recipes.

commands:
  dump ARGS...             mitmdump with every addon loaded; ARGS go to mitmdump unchanged
  web ARGS...              mitmweb with every addon loaded; ARGS go to mitmweb unchanged
  run RECIPE [--web] ...   run a recipe (a path or a shipped recipe's name) in mitmdump or mitmweb
  check [--recipe R] [--set OPTION=VALUE]... TARGET
                           connect to TARGET the way the relay would, hop by hop, and name
                           the step that fails (exit status 0 when reached)
  soap-view FILE...        the SOAP view of message files or of flow files (mitmdump -w)
  mock-server RECORDING    answer TCP clients from a recording (from --set record_dir=...)
  recipes [list|check]     list the recipes known by name; check validates recipes offline
  script                   print the path of the addon script, for mitmdump/mitmweb -s
  --version                mitmrelay's, mitmproxy's and Python's versions

Each command has --help, with an example. Example:
  mitmrelay dump --mode reverse:https://api.partner.example:443@5000 --listen-host 127.0.0.1 \\
      --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'
"""

TOOL_HELP = """\
usage: mitmrelay {name} [ARGS...]

{tool} with every mitmrelay addon loaded (the same as {tool} -s {script}).
ARGS go to {tool} unchanged: every {tool} flag and every --set option (mitmrelay's proxy_chain,
proxy_bypass, proxy_routes, proxy_connect_timeout, recipe, socat_dump, record_dir, ...).
`{tool} --help` lists {tool}'s own flags.

example:
  {example}
"""

EXAMPLES = {
    "dump": "mitmrelay dump --mode reverse:https://api.partner.example:443@5000 "
    "--listen-host 127.0.0.1 \\\n"
    "      --set proxy_chain='socks5h://user:${PROXY_PASS}@proxy.corp:4033'",
    "web": "mitmrelay web --listen-host 127.0.0.1 --set proxy_chain=socks5h://127.0.0.1:9050\n"
    "  (opens mitmrelay's Setup page, /mitmrelay/ on mitmweb's port; --no-web-open-browser: "
    "nothing)",
}

RUN_HELP = """\
usage: mitmrelay run RECIPE [--web] [ARGS...]

Run a recipe in mitmdump (or mitmweb with --web). RECIPE is a path to a YAML file, or the name of a
recipe in {user} (yours) or shipped with mitmrelay (`mitmrelay recipes` lists them).
The recipe's mode, listen_host and listen_port are given to mitmproxy at start, so nothing binds
mitmproxy's default 8080 first. ARGS go to mitmproxy unchanged and win over the recipe.

examples:
  export PROXY_PASS=...
  mitmrelay run soap-over-socks5 --mode reverse:https://api.example:443@5000 \\
      --set proxy_chain='socks5h://me:${{PROXY_PASS}}@127.0.0.1:1080'
  mitmrelay run ./mine.yaml --web
"""


def version_line() -> str:
    """`mitmrelay 0.1.0 (mitmproxy 12.3.1, Python 3.12.1)`: what a bug report needs."""
    import platform

    from mitmproxy.version import VERSION

    from .. import __version__

    python = platform.python_version()
    return f"mitmrelay {__version__} (mitmproxy {VERSION}, Python {python})"


def _tool(name: str) -> Callable[[Sequence[str]], int | None]:
    from mitmproxy.tools import main as tools

    return {"dump": tools.mitmdump, "web": tools.mitmweb}[name]


def _wants_help(args: Sequence[str]) -> bool:
    return list(args[:1]) in (["-h"], ["--help"])


def mitmproxy_args(args: Sequence[str]) -> list[str]:
    """Arguments for mitmdump/mitmweb: the addon script first, then the user's, unchanged."""
    return ["-s", str(SCRIPT), *args]


def run_args(recipe: Path, text: str, args: Sequence[str]) -> list[str]:
    """Arguments that run a recipe: its listen address first (unless args set it), then args."""
    listen = run_recipe.listen_args(run_recipe.recipe_listen_options(text), args)
    return mitmproxy_args([*listen, "--set", f"recipe={recipe.resolve()}", *args])


def web_args(args: Sequence[str]) -> list[str]:
    """mitmweb opens the Setup page instead of its own, unless the user chose what opens."""
    if any("open-browser" in arg or "open_browser" in arg for arg in args):
        return list(args)
    return ["--no-web-open-browser", "--set", "setup_open_browser=true", *args]


def cmd_tool(name: str, args: Sequence[str]) -> int:
    if _wants_help(args):
        tool = {"dump": "mitmdump", "web": "mitmweb"}[name]
        print(TOOL_HELP.format(name=name, tool=tool, script=SCRIPT, example=EXAMPLES[name]))
        return 0
    return _tool(name)(mitmproxy_args(web_args(args) if name == "web" else args)) or 0


def cmd_run(args: Sequence[str]) -> int:
    rest = list(args)
    if not rest or _wants_help(rest):
        print(RUN_HELP.format(user=shipped.user_dir()), end="")
        return 0 if rest else 2
    web = "--web" in rest[:2]
    if web:
        rest.remove("--web")
    if not rest:
        print("mitmrelay run: RECIPE is missing (mitmrelay run --help)", file=sys.stderr)
        return 2
    name, *rest = rest
    try:
        recipe = shipped.find(name)
        text = recipe.read_text(encoding="utf-8")
    except (ValueError, OSError) as e:
        print(f"mitmrelay run: {e}", file=sys.stderr)
        return 2
    return _tool("web" if web else "dump")(run_args(recipe, text, rest)) or 0


CHECK_EXAMPLES = """\
TARGET is host:port (TCP) or tls://host:port / https://host:port (TLS, the server's certificate and
ALPN shown). Exit status 0 when the destination was reached, 1 when a step failed, 2 on bad usage.

examples:
  mitmrelay check --set proxy_chain='socks5h://me:${PROXY_PASS}@127.0.0.1:1080' \\
      tls://api.partner.example:443
  mitmrelay check --recipe soap-over-socks5 https://api.partner.example:443
"""


def cmd_check(args: Sequence[str]) -> int:
    import asyncio

    from ..chain import check as engine
    from .check import load_relay

    parser = argparse.ArgumentParser(
        prog="mitmrelay check",
        description="Connect to TARGET the way the relay would (same routing, chain and timeout), "
        "hop by hop, printing each step: hop reached, handshake and authentication, remote DNS, "
        "destination reached, then for TLS the certificate, its verification and ALPN.",
        epilog=CHECK_EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--recipe", help="a recipe (path or name) whose options the check uses")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="OPTION=VALUE",
        help="an option, as mitmdump's --set (wins over the recipe)",
    )
    parser.add_argument("target", metavar="TARGET")
    ns = parser.parse_args(args)
    try:
        target = engine.parse_target(ns.target)
        recipe = str(shipped.find(ns.recipe).resolve()) if ns.recipe else None
    except ValueError as e:
        print(f"mitmrelay check: {e}", file=sys.stderr)
        return 2

    async def run() -> int:
        try:
            master, addon = await load_relay(ns.set, recipe)
        except ValueError as e:
            print(f"mitmrelay check: {e}", file=sys.stderr)
            return 2
        try:
            reached = await engine.check(
                addon, master.options, target, lambda line: print(line, flush=True)
            )
        finally:
            await master.done()
        return 0 if reached else 1

    return asyncio.run(run())


def cmd_recipes(args: Sequence[str]) -> int:
    from .recipes import main as recipes

    return recipes(args)


def cmd_mock_server(args: Sequence[str]) -> int:
    from .mock_server import main as mock_server

    return mock_server(args)


def _soap_view(args: Sequence[str]) -> int:
    from .soap_view import main as soap_view

    return soap_view(list(args))


def cmd_script(args: Sequence[str]) -> int:
    argparse.ArgumentParser(
        prog="mitmrelay script",
        description="Print the path of the addon script that loads every mitmrelay addon.",
        epilog='example: mitmweb -s "$(mitmrelay script)" --set proxy_chain=socks5h://127.0.0.1:9050',
    ).parse_args(args)
    print(SCRIPT)
    return 0


COMMANDS: dict[str, Callable[[Sequence[str]], int]] = {
    "dump": lambda args: cmd_tool("dump", args),
    "web": lambda args: cmd_tool("web", args),
    "run": cmd_run,
    "check": cmd_check,
    "soap-view": lambda args: _soap_view(args),
    "mock-server": cmd_mock_server,
    "recipes": cmd_recipes,
    "script": cmd_script,
}


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or _wants_help(args):
        print(MAIN_HELP, end="")
        return 0 if args else 2
    if args == ["--version"]:
        print(version_line())
        return 0
    command, *rest = args
    if command not in COMMANDS:
        print(
            f"mitmrelay: unknown command {command!r}; use one of {', '.join(COMMANDS)} "
            "(mitmrelay --help)",
            file=sys.stderr,
        )
        return 2
    return COMMANDS[command](rest)
