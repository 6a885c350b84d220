"""The parts every option check is made of: where paths start (Place), how one option is judged
(Check, Option), and how a refusal is told (BadValue, Unset, Missing); with the checks that many
options share (an input file exists, `${NAME}` is set).

No package of mitmrelay is imported here but chain.spec (the one masking rule), so anything,
trust.py included, can judge a value the way options.py does.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mitmrelay.chain.spec import mask


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
    # Values may hold proxy credentials: shown masked, a literal password warned about in recipes.
    masked: bool = False

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
        masked: bool = False,
    ) -> None:
        super().__init__(reason)
        self.option = option
        self.value = value
        self.reason = reason
        self.entry = entry  # 1-based, for list options
        self.cause = cause  # what the check raised: an Unset or a Missing is the user's to supply
        self.masked = masked  # the value may hold proxy credentials

    @property
    def shown(self) -> Any:
        """The value as it may be printed: literal passwords of proxy URLs as `***`."""
        if self.masked and isinstance(self.value, str):
            return mask(self.value)
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
