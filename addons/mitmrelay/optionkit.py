"""What every option check is made of: where paths start (Place), how one option is judged (Check,
Option), a package's options and what its addons call with them (Table), how a refusal is told
(BadValue, Unset, Missing); with the checks that many options share (an input exists, `${NAME}`
is set).

Each package declares its own options in its `options.py` as a Table; mitmrelay/options.py
gathers them for what needs them all (recipes, the Setup page, `mitmrelay check`). Nothing of
mitmrelay is imported here, so anything, trust.py included, can judge a value the way an
option's check does.

A check has up to three parts, each one function:

- check(value) -> parsed: the value alone, pure; for a list option, one item.
- environ(parsed, environ): the environment variables the option reads itself (the `${NAME}` of
  proxy credentials, read at each connection).
- files(parsed, place) -> found: the file system (input files that must exist, output paths that
  must be writable); returns what it read (a route's recording), or None.

Each raises ValueError with the exact fault and the fix; a Table raises BadValue, which names the
option, the entry of a list and the value (passwords masked).

Usage, in a package's options.py and its addon:

    TABLE = Table(Option(name="tcp_messages_max", typespec=int, default=0, help="...",
                         check=_tcp_messages))
    declare, use = TABLE.declare, TABLE.use

    def load(self, loader: Loader) -> None:
        options.declare(loader, "tcp_messages_max")

    def configure(self, updated: set[str]) -> None:
        try:
            keep = options.use("tcp_messages_max", ctx.options.tcp_messages_max)
        except options.BadValue as e:
            raise exceptions.OptionsError(str(e)) from None
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmproxy.addonmanager import Loader


@dataclass(frozen=True)
class Place:
    """Where relative input paths start, and the words a message uses for it."""

    folder: Path
    name: str
    # False: URLs (a PAC file's) are not fetched to judge them, only files read; the relay
    # fetches them itself as it starts (a recipe's validation leaves them to it).
    fetch: bool = True

    def path(self, text: str) -> Path:
        return self.folder / Path(text).expanduser()


# --set and config.yaml take paths as given: relative to the directory mitmproxy runs in.
CWD = Place(Path(), "the directory mitmproxy started in")


def _as_is(value: Any) -> Any:
    return value


@dataclass(frozen=True, kw_only=True)
class Check:
    """How a value of one option is judged. Which parts exist decides what the validator does."""

    name: str
    check: Callable[[Any], Any] = _as_is
    # Set for options that read `${NAME}` themselves: a recipe keeps the reference as written.
    environ: Callable[[Any, Mapping[str, str]], None] | None = None
    files: Callable[[Any, Place], Any] | None = None
    # The value with the input path in it taken from a place (a recipe's folder), for resolve.
    absolute: Callable[[str, Place], str] | None = None
    # Values may hold proxy credentials: shown through this (chain.spec.mask), a literal password
    # warned about in recipes.
    masked: Callable[[str], str] | None = None

    @property
    def keeps_references(self) -> bool:
        return self.environ is not None


@dataclass(frozen=True, kw_only=True)
class Option(Check):
    """One option of this project: its declaration and its check."""

    typespec: Any
    default: Any
    help: str
    # A function for choices known only at load (the recipes found by name).
    choices: Sequence[str] | Callable[[], Sequence[str]] | None = None

    @property
    def is_list(self) -> bool:
        return self.typespec == Sequence[str]


class BadValue(ValueError):
    """A value an option refuses: which option, which entry of a list, the value, and why."""

    def __init__(
        self,
        option: str,
        value: Any,
        reason: str,
        entry: int | None = None,
        cause: ValueError | None = None,
        masked: Callable[[str], str] | None = None,
    ) -> None:
        super().__init__(reason)
        self.option = option
        self.value = value
        self.reason = reason
        self.entry = entry  # 1-based, for list options
        self.cause = cause  # what the check raised: an Unset or a Missing is the user's to supply
        self.masked = masked  # how to show a value that may hold proxy credentials

    @property
    def shown(self) -> Any:
        """The value as it may be printed: literal passwords of proxy URLs as `***`."""
        if self.masked is not None and isinstance(self.value, str):
            return self.masked(self.value)
        return self.value

    def at(self, entry: int) -> BadValue:
        return BadValue(self.option, self.value, self.reason, entry, self.cause, self.masked)

    def __str__(self) -> str:
        where = self.option if self.entry is None else f"{self.option} entry {self.entry}"
        return f"Cannot use {where} {self.shown!r}: {self.reason}"


class Unset(ValueError):
    """Environment variables a value refers to (`${NAME}`) that are not set."""

    def __init__(self, names: Sequence[str], message: str) -> None:
        super().__init__(message)
        self.names = tuple(names)


class Missing(ValueError):
    """An input file (or folder) a value names that does not exist."""

    def __init__(self, path: Path, message: str, folder: bool = False) -> None:
        super().__init__(message)
        self.path = path
        self.folder = folder


def missing(file: Path, message: str, folder: bool = False) -> ValueError:
    """Missing when nothing is at file; a plain ValueError when something of the wrong kind is."""
    return ValueError(message) if file.exists() else Missing(file, message, folder)


def no_such_file(file: Path) -> Missing:
    return Missing(file, f"cannot read {file}: {os.strerror(errno.ENOENT)}")


def require_env(names: Sequence[str], environ: Mapping[str, str]) -> None:
    """Unset (a ValueError) naming every variable of names that environ does not define."""
    missing = sorted({name for name in names if name not in environ})
    if not missing:
        return
    refs = ", ".join(f"${{{name}}}" for name in missing)
    verb = "is" if len(missing) == 1 else "are"
    exports = " ".join(f"{name}=..." for name in missing)
    raise Unset(
        missing,
        f"{refs} {verb} not set in the environment: export {exports} before starting mitmproxy",
    )


def input_check(kind: str) -> Callable[[str, Place], None]:
    """A check that an input file ("file", "dir" or "file or dir") exists."""

    def exists(value: str, place: Place) -> None:
        file = place.path(value)
        found = {"file": file.is_file(), "dir": file.is_dir(), "file or dir": file.exists()}
        if not found[kind]:
            raise missing(
                file,
                f"{kind} {str(file)!r} does not exist: fix the path (relative paths are "
                f"relative to {place.name})",
                folder=kind == "dir",
            )

    return exists


def absolute_input(value: str, place: Place) -> str:
    return str(place.path(value))


class Table:
    """Options and checks by name, and what load(), configure() and the validator call with them.
    Tables add up: `Table(*a.entries, *b.entries)`."""

    def __init__(self, *entries: Check) -> None:
        self.entries = entries
        self.checks: dict[str, Check] = {entry.name: entry for entry in entries}
        self.options: dict[str, Option] = {
            entry.name: entry for entry in entries if isinstance(entry, Option)
        }

    def declare(self, loader: Loader, *names: str) -> None:
        """Declare options of this table, for an addon's load()."""
        for name in names:
            option = self.options[name]
            choices = option.choices() if callable(option.choices) else option.choices
            loader.add_option(option.name, option.typespec, option.default, option.help, choices)

    def judge(self, name: str, value: Any) -> Any:
        """One value (one item, for a list option) judged alone: what the check parses it to."""
        check = self.checks[name]
        try:
            return check.check(value)
        except ValueError as e:
            raise BadValue(name, value, str(e), masked=check.masked) from None

    def judge_environment(
        self,
        name: str,
        value: Any,
        parsed: Any,
        environ: Mapping[str, str] | None,
        place: Place | None,
    ) -> Any:
        """One value (one item) judged against the environment and the file system; environ=None
        or place=None skips that part (recipes checked as shipped). Returns what the files check
        read."""
        check = self.checks[name]
        try:
            if check.environ is not None and environ is not None:
                check.environ(parsed, environ)
            if check.files is not None and place is not None:
                return check.files(parsed, place)
        except ValueError as e:
            raise BadValue(name, value, str(e), cause=e, masked=check.masked) from None
        return None

    def parse(self, name: str, value: Any) -> Any:
        """An option's value parsed by its check; a list option item by item, into a tuple."""
        if not self.options[name].is_list:
            return self.judge(name, value)
        parsed = []
        for n, item in enumerate(value, start=1):
            try:
                parsed.append(self.judge(name, item))
            except BadValue as e:
                raise e.at(n) from None
        return tuple(parsed)

    def check_environment(
        self,
        name: str,
        value: Any,
        parsed: Any,
        environ: Mapping[str, str] = os.environ,
        place: Place | None = CWD,
    ) -> Any:
        """An option's parsed value judged against the environment and the file system
        (place=None: not the files): what the files check read (a list of it, for a list
        option)."""
        if not self.options[name].is_list:
            return self.judge_environment(name, value, parsed, environ, place)
        found = []
        for n, (item, item_parsed) in enumerate(zip(value, parsed, strict=True), start=1):
            try:
                found.append(self.judge_environment(name, item, item_parsed, environ, place))
            except BadValue as e:
                raise e.at(n) from None
        return found

    def use(
        self, name: str, value: Any, environ: Mapping[str, str] = os.environ, place: Place = CWD
    ) -> Any:
        """What configure() uses: the value parsed and checked against the environment and
        files."""
        parsed = self.parse(name, value)
        self.check_environment(name, value, parsed, environ, place)
        return parsed
