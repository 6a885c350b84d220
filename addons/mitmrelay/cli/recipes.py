"""`mitmrelay recipes [list|check]`: the recipes known by name, and recipes validated offline.

`check` validates without starting a proxy: unknown keys and options, wrong types, every value
`--set` would refuse (each option's check in mitmrelay/options.py), missing input files and
unwritable outputs; each problem with file, line and key. What you supply before running a recipe
(an unset ${NAME}, an input file that does not exist yet) is listed as `needs:`, not as an error.
Nothing is fetched unless --fetch. Exit status 1 when a recipe has an error (--strict: or a need),
else 0; warnings are printed too.

Usage:
    mitmrelay recipes                              # list them
    mitmrelay recipes check                        # the shipped recipes and yours
    mitmrelay recipes check soap-over-socks5 ./mine.yaml
    mitmrelay recipes check ./mine.yaml --strict --fetch   # as the relay would start it here
    mitmrelay recipes check ./mine.yaml --static   # values only, no environment or files (CI)
"""

from __future__ import annotations

import argparse
import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .. import options
from ..recipe import shipped
from ..recipe.catalog import offline_catalog
from ..recipe.validate import Need, OptionInfo, Problem, parse, validate

SCRIPT = Path(__file__).resolve().parent / "all_addons.py"


def listing(args: Sequence[str], prog: str = "mitmrelay recipes list") -> int:
    argparse.ArgumentParser(
        prog=prog,
        description="List the recipes `mitmrelay run NAME` and the recipe option know by name: "
        f"yours in {shipped.user_dir()} first, then the shipped ones.",
        epilog="example: mitmrelay recipes",
    ).parse_args(args)
    for name, path in shipped.available().items():
        print(f"{name:32} {path}")
    return 0


@dataclass
class Tally:
    checked: int = 0
    failed: int = 0  # recipes with an error (--strict: or a need)
    needy: int = 0  # recipes without errors that need something supplied


def check(args: Sequence[str], prog: str = "mitmrelay recipes check") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[1],
        epilog=f"examples:\n  {prog}\n  {prog} soap-over-socks5 ./mine.yaml\n"
        f"  {prog} ./mine.yaml --strict --fetch",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "recipes",
        nargs="*",
        metavar="RECIPE",
        help="recipe files, or names as `mitmrelay run NAME` takes them (default: the shipped "
        f"recipes and yours, in {shipped.user_dir()})",
    )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="count what a recipe needs (unset variables, missing files) as errors, as starting "
        "it here would: for the recipes you deploy",
    )
    parser.add_argument(
        "--fetch",
        action="store_true",
        help="also load each recipe that has all it needs into the relay, without listening: "
        "its proxy_pac URL is fetched as the relay fetches it at start, its soap_wsdl URLs over "
        "its proxy chain as the running relay does",
    )
    parser.add_argument(
        "--static", action="store_true", help="do not check the environment and files"
    )
    ns = parser.parse_args(args)
    if ns.static and (ns.strict or ns.fetch):
        parser.error("--static checks no environment or files: not with --strict or --fetch")
    known = offline_catalog(SCRIPT)
    tally = Tally()
    if ns.recipes:
        for given in ns.recipes:
            try:
                file = shipped.find(given)
            except ValueError as e:
                print(f"{given}: {e}")
                tally.checked += 1
                tally.failed += 1
                continue
            label = given if Path(given).expanduser().is_file() else _shown(file)
            _check_file(file, label, known, ns, tally)
    else:
        folders = [("Shipped", shipped.shipped_dir()), ("Your", shipped.user_dir())]
        for whose, folder in folders:
            files = sorted(folder.glob("*.yaml")) if folder.is_dir() else []
            print(f"{whose} recipes, in {_shown(folder)}:{'' if files else ' none'}")
            for file in files:
                _check_file(file, file.name, known, ns, tally)
    if tally.checked > 1:
        print(_total(tally, ns.strict))
    return 1 if tally.failed else 0


def _check_file(
    file: Path, label: str, known: dict[str, OptionInfo], ns: argparse.Namespace, tally: Tally
) -> None:
    """Check one recipe; print its problems and its verdict line (`LABEL: ok`...)."""
    tally.checked += 1
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        print(f"{label}: cannot read: {getattr(e, 'strerror', None) or e}")
        tally.failed += 1
        return
    recipe, problems = parse(text, label)
    if not problems:
        environ = None if ns.static else os.environ
        problems = validate(recipe, known, environ, None if ns.static else file.parent)
    for line in _lines(problems, ns.strict):
        print(line)
    errors = sum(p.stops if ns.strict else p.severity == "error" for p in problems)
    needy = any(p.severity == "need" for p in problems)
    if ns.fetch and not errors and not needy:
        faults = _fetch(file)
        for fault in faults:
            print(f"{label}: --fetch: {fault}")
        errors += len(faults)
    if errors:
        tally.failed += 1
        print(f"{label}: {errors} error(s)")
    elif needy:
        tally.needy += 1
        later = " (nothing fetched until then)" if ns.fetch else ""
        print(f"{label}: ok; supply what it needs before running it{later}")
    else:
        print(f"{label}: ok")


def _lines(problems: Sequence[Problem], strict: bool) -> list[str]:
    """A problem per line; a need as `FILE:LINE: needs: WHAT`, each thing once (unless strict:
    then as the error that starting the recipe here reports)."""
    lines: list[str] = []
    seen: set[Need] = set()
    for problem in problems:
        if problem.severity != "need" or strict:
            lines.append(str(problem))
            continue
        for need in problem.needs:
            if need not in seen:
                seen.add(need)
                lines.append(f"{problem.where}: needs: {need}")
    return lines


def _total(tally: Tally, strict: bool) -> str:
    ok = tally.checked - tally.failed
    verdict = "all ok" if not tally.failed else f"{tally.failed} with errors, {ok} ok"
    if tally.needy:
        verdict += (
            f"; {tally.needy} need what you supply before running them (the needs: lines; "
            "--strict counts them as errors)"
        )
    return f"{tally.checked} recipes checked: {verdict}"


def _shown(path: Path) -> str:
    """A path as short as it is clear: from the current directory if inside it, else from ~."""
    path = path.resolve()
    for base, prefix in ((Path.cwd(), ""), (Path.home(), "~/")):
        if path.is_relative_to(base) and path != base:
            return prefix + str(path.relative_to(base))
    return str(path)


def _fetch(file: Path) -> list[str]:
    """Load the recipe into the relay as mitmproxy starts it, short of its listeners (as
    `mitmrelay check --recipe` does): its proxy_pac URL is fetched there as at every start. Then
    its soap_wsdl URLs, over the connection the proxy chain opens for their host, as the running
    relay fetches them. The faults, one line each."""
    from ..soap import fetch
    from ..soap.catalog import Catalog
    from .check import load_relay

    async def run() -> list[str]:
        try:
            master, chain = await load_relay([], str(file.resolve()))
        except ValueError as e:
            return str(e).splitlines()
        faults = []
        try:
            sources = options.parse("soap_wsdl", master.options.soap_wsdl)
            for url in [source for source in sources if isinstance(source, str)]:
                try:
                    await fetch.add_as_relay(Catalog(), url, chain.open_connection, master.options)
                except ValueError as e:
                    faults.append(str(e))
        finally:
            await master.done()
        return faults

    return asyncio.run(run())


def main(args: Sequence[str]) -> int:
    if args[:1] == ["check"]:
        return check(args[1:])
    if args[:1] == ["list"]:
        return listing(args[1:])
    if args[:1] in (["-h"], ["--help"]):
        print(
            "usage: mitmrelay recipes [list|check] ...\n\n"
            "list (the default): the recipes known by name and their files.\n"
            "check [RECIPE...] [--strict] [--fetch] [--static]: validate recipes (files or "
            "names) without starting a proxy (default: the shipped ones and yours); what you "
            "supply before running them is listed as needs:.\n\n"
            "examples:\n  mitmrelay recipes\n  mitmrelay recipes check\n"
            "  mitmrelay recipes check ./mine.yaml --strict"
        )
        return 0
    return listing(args, prog="mitmrelay recipes")
