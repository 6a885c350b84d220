"""`mitmrelay recipes [list|check]`: the recipes known by name, and recipes validated offline.

`check` validates without starting a proxy: unknown keys and options, wrong types, every value
`--set` would refuse (each option's check in mitmrelay/options.py), unset ${ENV} references,
missing input files and unwritable outputs; each problem with file, line and key. Exit status 0
when no recipe has an error (warnings are printed too), 1 otherwise.

Usage:
    mitmrelay recipes                            # list them
    mitmrelay recipes check                      # every shipped recipe
    mitmrelay recipes check ./mine.yaml --static # skip environment and file checks (CI)
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

from ..recipe import parse, shipped, validate
from ..recipe.catalog import offline_catalog

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


def check(args: Sequence[str], prog: str = "mitmrelay recipes check") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.split("\n\n")[1],
        epilog=f"examples:\n  {prog}\n  {prog} ./mine.yaml --static",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="*", type=Path, help="recipes (default: the shipped ones)")
    parser.add_argument(
        "--static", action="store_true", help="do not check the environment and files"
    )
    ns = parser.parse_args(args)
    files = ns.files or sorted(shipped.shipped_dir().glob("*.yaml"))
    known = offline_catalog(SCRIPT)
    failed = 0
    for file in files:
        try:
            text = file.read_text(encoding="utf-8")
        except OSError as e:
            print(f"{file}: cannot read: {e.strerror}")
            failed += 1
            continue
        name = os.path.relpath(file)
        recipe, problems = parse(text, name)
        if not problems:
            environ = None if ns.static else os.environ
            problems = validate(recipe, known, environ, None if ns.static else file.parent)
        for problem in problems:
            print(problem)
        errors = sum(p.severity == "error" for p in problems)
        failed += bool(errors)
        print(f"{name}: {f'{errors} error(s)' if errors else 'ok'}")
    return 1 if failed else 0


def main(args: Sequence[str]) -> int:
    if args[:1] == ["check"]:
        return check(args[1:])
    if args[:1] == ["list"]:
        return listing(args[1:])
    if args[:1] in (["-h"], ["--help"]):
        print(
            "usage: mitmrelay recipes [list|check] ...\n\n"
            "list (the default): the recipes known by name and their files.\n"
            "check [FILE...] [--static]: validate recipes without starting a proxy "
            "(default: the shipped ones).\n\n"
            "examples:\n  mitmrelay recipes\n  mitmrelay recipes check ./mine.yaml"
        )
        return 0
    return listing(args, prog="mitmrelay recipes")
