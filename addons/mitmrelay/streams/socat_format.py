"""Format read blocks exactly as `socat -v`, `socat -x` and `socat -v -x` print them.

Pure functions: bytes and numbers in, text out. The reference is the real socat 1.7.4 binary
(Debian 12); tests/integration/test_socat_dump.py compares against it byte for byte.

Usage:
    >>> from mitmrelay.streams.socat_format import format_block
    >>> format_block("v", from_client=True, data=b"hi\\r\\n", offset=0, timestamp=0.0)[-26:]
    'length=4 from=0 to=3\\nhi\\\\r\\n'
"""

from __future__ import annotations

import re
import time
from typing import Literal

Format = Literal["v", "x", "vx"]
FORMATS: tuple[Format, ...] = ("v", "x", "vx")

# socat -v keeps printable ASCII, tab and newline, writes these five controls and the backslash
# as C escapes, and shows every other byte as a dot.
_ESCAPES = {0x5C: "\\\\", 0x07: "\\a", 0x08: "\\b", 0x0B: "\\v", 0x0C: "\\f", 0x0D: "\\r"}
_KEPT = set(range(0x20, 0x7F)) | {0x09, 0x0A}
# One table for bytes.translate (C speed); the escapes are applied afterwards with str.replace,
# so a bulk stream costs a few passes over the data instead of a Python loop per byte.
_TEXT_TABLE = bytes(b if b in _KEPT or b in _ESCAPES else 0x2E for b in range(256))
# The ASCII column of -v -x shows printable ASCII only, the backslash not doubled.
_ASCII_TABLE = bytes(b if 0x20 <= b < 0x7F else 0x2E for b in range(256))
# A -v -x row holds up to 16 bytes and also ends after a newline byte.
_ROW = re.compile(rb"[^\n]{0,15}\n|[^\n]{1,16}")


def header(from_client: bool, offset: int, length: int, timestamp: float) -> str:
    """The line socat prints before each block: direction, local time, length and offsets.

    socat 1.7.4 prints the microseconds zero-padded to nine digits, and `to` is the offset of
    the block's last byte in its direction.
    """
    seconds = int(timestamp)
    micros = round((timestamp - seconds) * 1_000_000)
    if micros == 1_000_000:
        seconds, micros = seconds + 1, 0
    when = time.strftime("%Y/%m/%d %H:%M:%S", time.localtime(seconds))
    arrow = ">" if from_client else "<"
    to = offset + length - 1
    return f"{arrow} {when}.{micros:09d}  length={length} from={offset} to={to}\n"


def text_body(data: bytes) -> str:
    """The -v body. No newline is added: socat starts the next header right after it."""
    text = data.translate(_TEXT_TABLE).decode("latin-1")
    if not any(b in data for b in _ESCAPES):
        return text
    text = text.replace("\\", "\\\\")
    for byte, escape in _ESCAPES.items():
        if byte != 0x5C:
            text = text.replace(chr(byte), escape)
    return text


def hex_body(data: bytes) -> str:
    """The -x body: every byte as ` xx` on one line."""
    return f" {data.hex(' ')}\n"


def hexdump_body(data: bytes) -> str:
    """The -v -x body: rows of hex and ASCII columns, then the `--` line."""
    rows = [
        f" {row.hex(' '):<47}  {row.translate(_ASCII_TABLE).decode('latin-1')}\n"
        for row in _ROW.findall(data)
    ]
    return "".join(rows) + "--\n"


_BODIES = {"v": text_body, "x": hex_body, "vx": hexdump_body}


def format_block(fmt: Format, from_client: bool, data: bytes, offset: int, timestamp: float) -> str:
    """One block as socat prints it: the header, then the body in the chosen format.

    `offset` is the number of bytes already seen in this block's direction.
    """
    return header(from_client, offset, len(data), timestamp) + _BODIES[fmt](data)
