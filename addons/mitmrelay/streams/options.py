"""The stream addons' options, declared and checked here: socat_dump, socat_dump_format,
record_dir, tcp_messages_max (see optionkit)."""

from __future__ import annotations

import os
from pathlib import Path

from mitmrelay.optionkit import BadValue, Option, Place, Table

from . import socat_format

# The fixes, also for the addons' own errors when opening or creating fails after all.
DUMP_FIX = "give a writable file path, '-' for stderr, or '' to turn dumps off"

RECORD_FIX = "give a directory this user can create and write, or '' to turn recording off"


def _socat_format(value: str) -> socat_format.Format:
    for fmt in socat_format.FORMATS:
        if value == fmt:
            return fmt
    raise ValueError("choose 'v' (socat -v), 'x' (socat -x) or 'vx' (socat -v -x).")


def _dump_file(value: str, place: Place) -> None:
    """socat_dump's file can be written (without touching it: the addon truncates it at start).
    An output path: relative to the directory mitmproxy runs in, as on the command line."""
    if value in ("", "-"):
        return
    file = Path(value).expanduser()
    if file.is_dir():
        raise ValueError(f"{str(file)!r} is a directory: {DUMP_FIX}")
    folder = file.parent
    if not folder.is_dir():
        raise ValueError(f"folder {str(folder)!r} does not exist: create it, or {DUMP_FIX}")
    if not os.access(file if file.exists() else folder, os.W_OK):
        raise ValueError(f"{str(file)!r} is not writable by this user: {DUMP_FIX}")


def _record_folder(value: str, place: Place) -> None:
    """record_dir exists as a writable directory, or can be created (without creating it)."""
    if not value:
        return
    folder = Path(value).expanduser()
    existing = next((p for p in (folder, *folder.parents) if p.exists()), Path())
    if not existing.is_dir():
        raise ValueError(f"{str(existing)!r} is not a directory: {RECORD_FIX}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{str(existing)!r} is not writable by this user: {RECORD_FIX}")


def _tcp_messages(value: int) -> int:
    if value < 0:
        raise ValueError(
            "give the number of newest messages to keep per TCP flow (at least 1), "
            "or 0 to keep all."
        )
    return value


TABLE = Table(
    Option(
        name="socat_dump",
        typespec=str,
        default="",
        help="Dump every connection's plaintext in socat's format: '-' for stderr, or a file "
        "path (truncated at start), e.g. --set socat_dump=/tmp/dump.txt. Empty: off.",
        files=_dump_file,
    ),
    Option(
        name="socat_dump_format",
        typespec=str,
        default="v",
        help="socat_dump format: 'v' like socat -v (text), 'x' like socat -x (hex), "
        "'vx' like socat -v -x (hex and text columns), e.g. --set socat_dump_format=vx",
        choices=socat_format.FORMATS,
        check=_socat_format,
    ),
    Option(
        name="record_dir",
        typespec=str,
        default="",
        help="Record each connection's bytes in both directions to files in this directory, "
        "replayable with scripts/mock-server, e.g. --set record_dir=recordings/. Empty: off.",
        files=_record_folder,
    ),
    Option(
        name="tcp_messages_max",
        typespec=int,
        default=0,
        help="Keep at most this many of the newest messages in each TCP flow, dropping older "
        "ones to bound memory on long streams, e.g. --set tcp_messages_max=16. 0: keep all.",
        check=_tcp_messages,
    ),
)


declare = TABLE.declare
use = TABLE.use
parse = TABLE.parse
check_environment = TABLE.check_environment

__all__ = [
    "DUMP_FIX",
    "RECORD_FIX",
    "TABLE",
    "BadValue",
    "check_environment",
    "declare",
    "parse",
    "use",
]
