"""Recordings: one connection's two byte streams, with the read blocks, peers and times.

A recording `NAME.recording` is JSON Lines, beside two raw files:

    NAME.recording   {"mitmrelay": "recording", "version": 1, "client": ..., "server": ..., ...}
                     {"dir": "<", "t": 1764051424.52, "n": 32}     one line per read block
                     {"dir": ">", "t": 1764051424.61, "n": 13}
                     {"end": 1764051425.0}
    NAME.c2s         every byte from the client, as `socat -r NAME.c2s` writes it
    NAME.s2c         every byte from the server, as `socat -R NAME.s2c` writes it

A block line gives its bytes by length `n` (taken in order from the direction's raw file) or, in a
hand-written recording, inline as `"text"` (UTF-8) or `"hex"`; then no raw files are needed.
See docs/dumps-and-recordings.md, "Recording streams and mock servers".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, BinaryIO, TextIO

from .block import Block

SUFFIX = ".recording"
VERSION = 1


@dataclass
class Recording:
    meta: dict[str, Any]
    blocks: list[Block] = field(default_factory=list)
    ended: float | None = None


class RecordingError(ValueError):
    """A recording file that cannot be read; the message names the file and line."""


def _arrow(from_client: bool) -> str:
    return ">" if from_client else "<"


class Writer:
    """Writes a recording as the blocks arrive, so nothing of the stream stays in memory."""

    def __init__(self, path: Path, meta: dict[str, Any]) -> None:
        base = path.name.removesuffix(SUFFIX)
        self._raw: dict[bool, BinaryIO] = {
            True: (path.parent / f"{base}.c2s").open("wb"),
            False: (path.parent / f"{base}.s2c").open("wb"),
        }
        self._index: TextIO = path.open("w", encoding="utf-8")
        head = {"mitmrelay": "recording", "version": VERSION, **meta}
        head |= {"c2s": f"{base}.c2s", "s2c": f"{base}.s2c"}
        self._line(head)

    def _line(self, obj: dict[str, Any]) -> None:
        self._index.write(json.dumps(obj) + "\n")

    def block(self, block: Block) -> None:
        self._raw[block.from_client].write(block.data)
        self._line({"dir": _arrow(block.from_client), "t": block.timestamp, "n": len(block.data)})

    def _files(self) -> list[IO[Any]]:
        return [*self._raw.values(), self._index]

    def flush(self) -> None:
        for f in self._files():
            f.flush()

    def close(self, ended: float | None) -> None:
        self._line({"end": ended})
        for f in self._files():
            f.close()


def _block_data(line: dict[str, Any], raw: dict[bool, BinaryIO | None], from_client: bool) -> bytes:
    if "text" in line:
        return str(line["text"]).encode("utf-8")
    if "hex" in line:
        return bytes.fromhex(line["hex"])
    n = int(line["n"])
    source = raw[from_client]
    if source is None:
        raise ValueError(f"'n' needs the raw file named by {'c2s' if from_client else 's2c'!r}")
    data = source.read(n)
    if len(data) != n:
        raise ValueError(f"the raw file ends {n - len(data)} bytes before this block does")
    return data


def _apply(
    recording: Recording | None,
    line: dict[str, Any],
    raw: dict[bool, BinaryIO | None],
    folder: Path,
) -> Recording:
    """Add one line of a recording file to what was read before it."""
    if recording is None:
        if line.get("mitmrelay") != "recording":
            raise ValueError('the first line must be {"mitmrelay": "recording"}')
        for from_client, key in ((True, "c2s"), (False, "s2c")):
            if key in line:
                raw[from_client] = (folder / line[key]).open("rb")
        return Recording(meta=line)
    if "end" in line:
        recording.ended = line["end"]
    elif line.get("dir") in (">", "<"):
        from_client = line["dir"] == ">"
        data = _block_data(line, raw, from_client)
        recording.blocks.append(Block(from_client, data, line.get("t")))
    else:
        raise ValueError('a block needs "dir": ">" (client) or "<" (server)')
    return recording


def read(path: Path) -> Recording:
    """Read a recording (or a hand-written file in the same form) wholly into memory."""
    raw: dict[bool, BinaryIO | None] = {True: None, False: None}
    recording: Recording | None = None
    try:
        with path.open(encoding="utf-8") as index:
            for number, text in enumerate(index, 1):
                if not text.strip():
                    continue
                try:
                    recording = _apply(recording, json.loads(text), raw, path.parent)
                except (ValueError, KeyError, TypeError, AttributeError) as e:
                    raise RecordingError(f"{path}:{number}: {e}") from e
                except OSError as e:
                    raise RecordingError(f"{path}:{number}: {e.strerror}: {e.filename}") from e
    except OSError as e:
        raise RecordingError(f"Cannot read recording {path}: {e.strerror}") from e
    finally:
        for f in raw.values():
            if f is not None:
                f.close()
    if recording is None:
        raise RecordingError(f"{path}: empty; a recording starts with its metadata line")
    return recording
