"""Load a recipe (YAML) and judge it before traffic flows: every problem with file, line and key.

    recipes/x.yaml:7: At key 'options' ==> 'proxy_chian': unknown option (did you mean ...?)

Pure: the known options (a catalog), the environment and the recipe's folder are passed in. Each
option's value is judged by its check in mitmrelay.options, the one `--set` goes through.

Three kinds of problem: an error is the recipe's fault (a bad scheme, an unknown option, a wrong
type); a need is what the user supplies before running it, which the recipe cannot hold (an unset
`${NAME}`, an input file that does not exist yet, such as a shipped recipe's example path); a
warning is reported, and the recipe runs. A recipe does not start with an error or a need.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from mitmproxy.proxy.mode_specs import ProxyMode

from mitmrelay import options
from mitmrelay.chain.spec import expand, mask, suggest
from mitmrelay.safety import is_loopback

from . import schema, shipped

Crumb = str | int
Lines = dict[tuple[Crumb, ...], int]


@dataclass(frozen=True)
class OptionInfo:
    """What validation needs to know of one option: its kind, whether None is allowed, choices."""

    kind: str  # "str", "int", "bool", "list" (of str) or "any"
    optional: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Need:
    """One thing the user supplies before a recipe runs: an environment variable, or an input file
    (or folder) that an option names."""

    option: str
    variable: str | None = None
    file: Path | None = None
    folder: bool = False

    def __str__(self) -> str:
        if self.variable is not None:
            return f"{self.variable} (export {self.variable}=...)"
        return f"the {'folder' if self.folder else 'file'} {self.file} ({self.option})"


@dataclass(frozen=True)
class Problem:
    file: str
    line: int | None
    path: tuple[Crumb, ...]
    message: str
    # "error"; "need": only what needs holds is missing; "warning": reported, the recipe still runs
    severity: str = "error"
    needs: tuple[Need, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file

    @property
    def stops(self) -> bool:
        """Whether the recipe cannot start with it (an error, or a need not supplied)."""
        return self.severity != "warning"

    def __str__(self) -> str:
        """As starting the recipe reports it: a need reads as the error it is then."""
        crumbs = [f"At key {c!r}" if isinstance(c, str) else f"At item {c + 1}" for c in self.path]
        label = "warning: " if self.severity == "warning" else ""
        return f"{self.where}: {label}{' ==> '.join([*crumbs, self.message])}"


@dataclass(frozen=True)
class Recipe:
    file: str
    data: Any
    lines: Lines


def parse(text: str, file: str) -> tuple[Recipe, list[Problem]]:
    """Parse YAML with the safe loader, remembering the line of every key and list item."""
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # rejects control characters already here
        node = loader.get_single_node()
        if node is not None and (alias := _first_alias(node)) is not None:
            # An alias shares its node: nested ones make a few lines stand for billions of values.
            return Recipe(file, None, {}), [
                Problem(
                    file,
                    alias.start_mark.line + 1,
                    (),
                    "YAML anchors and aliases (&name, *name) are not supported in recipes: "
                    "write the value out",
                )
            ]
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = mark.line + 1 if mark else None
        reason = getattr(e, "problem", None) or getattr(e, "reason", None) or str(e)
        return Recipe(file, None, {}), [Problem(file, line, (), f"not valid YAML: {reason}")]
    finally:
        if loader is not None:
            loader.dispose()
    lines: Lines = {}
    problems: list[Problem] = []
    if node is not None:
        _walk(node, (), lines, problems, file)
    return Recipe(file, data, lines), problems


def _first_alias(root: yaml.Node) -> yaml.Node | None:
    """A node reached a second time (an anchored node that an alias repeats), or None."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            return node
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            todo += [part for pair in node.value for part in pair]
        elif isinstance(node, yaml.SequenceNode):
            todo += node.value
    return None


def _walk(
    node: yaml.Node, path: tuple[Crumb, ...], lines: Lines, problems: list[Problem], file: str
) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = key_node.value
            line = key_node.start_mark.line + 1
            if (*path, key) in lines:
                problems.append(
                    Problem(
                        file,
                        line,
                        path,
                        f"{key!r}: given twice (first on line {lines[(*path, key)]}); keep one",
                    )
                )
            lines[(*path, key)] = line
            _walk(value_node, (*path, key), lines, problems, file)
    elif isinstance(node, yaml.SequenceNode):
        for n, item in enumerate(node.value):
            lines[(*path, n)] = item.start_mark.line + 1
            _walk(item, (*path, n), lines, problems, file)


def references(text: str) -> list[str]:
    """Names of the `${NAME}` references in text."""

    class Recorder(dict):
        def __missing__(self, name: str) -> str:
            found.append(name)
            return ""

    found: list[str] = []
    expand(text, Recorder())
    return found


def as_list(info: OptionInfo, value: Any) -> Any:
    """A single string is accepted for a list option, as one item (`mode: regular@8080`)."""
    return [value] if info.kind == "list" and isinstance(value, str) else value


_KINDS = {"str": "text", "int": "a whole number", "bool": "true or false", "list": "a list of text"}


def _type_error(info: OptionInfo, value: Any) -> str | None:
    if value is None:
        return None if info.optional else f"needs a value ({_KINDS.get(info.kind, 'any')})"
    ok = {
        "str": isinstance(value, str),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "bool": isinstance(value, bool),
        "list": isinstance(value, list) and all(isinstance(v, str) for v in value),
    }.get(info.kind, True)
    if ok:
        return None
    hint = (
        f"; write it in quotes: '{value}'"
        if info.kind == "str" and isinstance(value, int | float)
        else ""
    )
    return f"expected {_KINDS[info.kind]}, got {value!r}{hint}"


class _Judge:
    """Collects the problems of one recipe; each check adds what it finds."""

    def __init__(self, recipe: Recipe) -> None:
        self.recipe = recipe
        self.problems: list[Problem] = []

    def add(
        self,
        path: tuple[Crumb, ...],
        message: str,
        severity: str = "error",
        line_of=None,
        needs: tuple[Need, ...] = (),
    ) -> None:
        line = self.recipe.lines.get(line_of or path) or self.recipe.lines.get(path[:-1])
        severity = "need" if needs else severity
        self.problems.append(Problem(self.recipe.file, line, path, message, severity, needs))


def validate(
    recipe: Recipe,
    catalog: Mapping[str, OptionInfo],
    environ: Mapping[str, str] | None = os.environ,
    base_dir: Path | None = None,
    skip: Collection[str] = (),
) -> list[Problem]:
    """Every problem of a parsed recipe. environ=None skips the environment check, base_dir=None
    the file checks (for recipes as shipped, whose CA bundles and secrets live on the user's side);
    options in skip (given on the command line, so not applied) are not judged. Nothing is
    fetched: the relay fetches a PAC file's URL as it starts, and WSDL URLs once running."""
    judge = _Judge(recipe)
    place = recipe_place(base_dir) if base_dir is not None else None
    data = recipe.data
    if not isinstance(data, dict):
        keys = ", ".join(k for k, key in schema.TOP_KEYS.items() if key.required)
        judge.add((), f"a recipe is a mapping with the keys {keys}; found {type(data).__name__}")
        return judge.problems
    for key, value in data.items():
        if key not in schema.TOP_KEYS:
            judge.add(
                (),
                f"{key!r}: unknown key{suggest(str(key), list(schema.TOP_KEYS))}; "
                f"use {', '.join(schema.TOP_KEYS)}",
                line_of=(key,),
            )
        elif schema.TOP_KEYS[key].kind == "str" and not isinstance(value, str):
            judge.add((key,), f"expected text ({schema.TOP_KEYS[key].help})")
        elif schema.TOP_KEYS[key].kind == "mapping" and not isinstance(value, dict):
            judge.add((key,), f"expected a mapping of NAME: VALUE ({schema.TOP_KEYS[key].help})")
    for key, spec in schema.TOP_KEYS.items():
        if spec.required and key not in data:
            judge.add((), f"missing key {key!r}: {spec.help}")
    given = data.get("options")
    if isinstance(given, dict):
        for name, value in given.items():
            if name in skip:
                continue
            _check_option(judge, catalog, str(name), value, environ, place)
        _check_safety(judge, given)
    return judge.problems


def _check_option(
    judge: _Judge,
    catalog: Mapping[str, OptionInfo],
    name: str,
    value: Any,
    environ: Mapping[str, str] | None,
    place: options.Place | None,
) -> None:
    """Judge one option as `--set` would, item by item so that each problem has its line."""
    path = ("options", name)
    if name not in catalog:
        judge.add(
            ("options",), f"{name!r}: unknown option{suggest(name, list(catalog))}", line_of=path
        )
        return
    info = catalog[name]
    written_as_list = isinstance(value, list)
    value = as_list(info, value)
    if error := _type_error(info, value):
        judge.add(path, error)
        return
    check = options.CHECKS.get(name)
    items = value if isinstance(value, list) else [value]
    for n, item in enumerate(items):
        item_path = (*path, n) if written_as_list else path
        if item is None:
            continue  # an optional option left unset
        # This project's options are judged by their own check, which knows their choices.
        if name not in options.OPTIONS and info.choices and item not in info.choices:
            judge.add(
                item_path,
                f"{item!r} is not one of {', '.join(info.choices)}"
                f"{suggest(item, list(info.choices))}",
            )
        if isinstance(item, str) and not (check and check.keeps_references):
            # The recipe expands `${NAME}` before the option is set: judge what will be set.
            names = references(item)
            if names and environ is None:
                continue  # its value is only known where the recipe runs
            try:
                options.require_env(names, environ or {})
            except options.Unset as e:
                judge.add(item_path, str(e), needs=needs_of(name, e))
                continue
            item = expand(item, environ or {})
        if check is None:
            continue
        try:
            parsed = options.judge(name, item)
        except options.BadValue as e:
            judge.add(item_path, f"{e.shown!r}: {e.reason}")
            continue
        try:
            options.judge_environment(name, item, parsed, environ, place)
        except options.BadValue as e:
            judge.add(item_path, e.reason, needs=needs_of(name, e.cause))


def needs_of(option: str, refusal: ValueError | None) -> tuple[Need, ...]:
    """What the user must supply, when a value is refused only for the lack of it: variables that
    are not set, an input file that does not exist. () for faults of the value itself."""
    if isinstance(refusal, options.Unset):
        return tuple(Need(option, variable=name) for name in refusal.names)
    if isinstance(refusal, options.Missing):
        return (Need(option, file=refusal.path, folder=refusal.folder),)
    return ()


def _check_safety(judge: _Judge, given: dict[str, Any]) -> None:
    """Warnings for what the design forbids by default: open listeners, no verification, secrets."""
    if given.get("ssl_insecure") is True:
        judge.add(
            ("options", "ssl_insecure"),
            "server certificates are not verified (like socat's "
            "verify=0): remove this line to verify them",
            "warning",
        )
    if "mode" in given or "listen_host" in given:
        default_host = given.get("listen_host", "")
        modes = given.get("mode", ["regular"])
        for mode in modes if isinstance(modes, list) else [modes]:
            host = _listen_host(mode, default_host)
            if host is not None and not is_loopback(host):
                judge.add(
                    ("options", "mode" if "mode" in given else "listen_host"),
                    f"{mode!r} listens on {host or 'every interface'}: add listen_host: "
                    "127.0.0.1 unless others must reach it",
                    "warning",
                )
    for name in [name for name, check in options.CHECKS.items() if check.masked]:
        values = given.get(name)
        for text in values if isinstance(values, list) else [values]:
            if isinstance(text, str) and mask(text) != text:
                judge.add(
                    ("options", name),
                    f"a password is written in the recipe ({mask(text)!r}): "
                    "write ${NAME} instead and export NAME",
                    "warning",
                )


def _listen_host(mode: Any, default: Any) -> str | None:
    try:
        return ProxyMode.parse(str(mode)).listen_host(str(default or ""))
    except ValueError:
        return None  # reported by the value check


def recipe_place(base_dir: Path) -> options.Place:
    """Where a recipe's relative input paths start: its own folder. A recipe shipped with
    mitmrelay lives inside the installed package, where nothing of the user's is: its relative
    paths start in the current directory (where mitmproxy starts), as on the command line.
    URLs are left to the relay, which fetches them its own way (see validate)."""
    if base_dir.resolve() == shipped.shipped_dir().resolve():
        return options.Place(
            Path.cwd(), "the current directory, for a recipe shipped with mitmrelay", fetch=False
        )
    return options.Place(base_dir, "the recipe file", fetch=False)


def resolve(
    recipe: Recipe,
    catalog: Mapping[str, OptionInfo],
    base_dir: Path,
    environ: Mapping[str, str] = os.environ,
) -> dict[str, Any]:
    """The option values to set, from a recipe without errors: `${NAME}` expanded (except where the
    option reads the environment itself), list options as lists, input paths absolute."""
    place = recipe_place(base_dir)
    values: dict[str, Any] = {}
    for name, value in recipe.data["options"].items():
        value = as_list(catalog[name], value)
        check = options.CHECKS.get(name)
        if check is None or not check.keeps_references:
            value = _expand(value, environ)
        if check is not None and check.absolute is not None:
            absolute = check.absolute
            if isinstance(value, list):
                value = [absolute(v, place) if isinstance(v, str) else v for v in value]
            elif isinstance(value, str):
                value = absolute(value, place)
        values[name] = value
    return values


def _expand(value: Any, environ: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [_expand(v, environ) for v in value]
    return expand(value, environ) if isinstance(value, str) else value
