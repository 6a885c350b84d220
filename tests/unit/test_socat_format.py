"""socat's dump formats. Expected strings are copied from the output of the real socat 1.7.4."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st
from mitmrelay.streams import socat_format


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("from_client", "offset", "length", "timestamp", "line"),
    [
        (True, 0, 7, 1795587385.716338, "> 2026/11/25 06:16:25.000716338  length=7 from=0 to=6\n"),
        (
            False,
            17,
            40,
            1795587385.000531,
            "< 2026/11/25 06:16:25.000000531  length=40 from=17 to=56\n",
        ),
        # A fraction that rounds up to a whole second carries into the seconds.
        (True, 5, 1, 1795587385.9999996, "> 2026/11/25 06:16:26.000000000  length=1 from=5 to=5\n"),
    ],
)
def test_header(utc, from_client, offset, length, timestamp, line) -> None:
    assert socat_format.header(from_client, offset, length, timestamp) == line


@pytest.mark.parametrize(
    ("data", "text"),
    [
        (b"hello\r\n", "hello\\r\n"),
        (b"no newline", "no newline"),
        (
            b"\x00\x01\x02\x07\x08\x09\x0a\x0b\x0c\x0d\x1b\\ab\x7f\x80\xff",
            "...\\a\\b\t\n\\v\\f\\r.\\\\ab...",
        ),
        (b"\r\r\n\n\\\r", "\\r\\r\n\n\\\\\\r"),
        (b"", ""),
    ],
)
def test_text_body(data: bytes, text: str) -> None:
    assert socat_format.text_body(data) == text


def test_text_body_keeps_printable_ascii() -> None:
    printable = bytes(range(0x20, 0x7F)).replace(b"\\", b"")
    assert socat_format.text_body(printable) == printable.decode()


def test_hex_body_is_one_line_whatever_the_length() -> None:
    assert socat_format.hex_body(b"hello\r\n") == " 68 65 6c 6c 6f 0d 0a\n"
    assert socat_format.hex_body(bytes(40)) == " 00" * 40 + "\n"


@pytest.mark.parametrize(
    ("data", "rows"),
    [
        (b"hello\r\n", [" 68 65 6c 6c 6f 0d 0a                             hello.."]),
        (
            b"x" * 33 + b"\n",
            [
                " 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78  xxxxxxxxxxxxxxxx",
                " 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78 78  xxxxxxxxxxxxxxxx",
                " 78 0a                                            x.",
            ],
        ),
        # A row also ends after a newline byte; one that is the 16th byte ends it only once.
        (
            b"\r\r\n\n\\\r",
            [
                " 0d 0d 0a                                         ...",
                " 0a                                               .",
                " 5c 0d                                            \\.",
            ],
        ),
        (
            bytes(range(0x19, 0x0F, -1)) + b"\x0f\x0e\x0d\x0c\x0b\x0a\x09",
            [
                " 19 18 17 16 15 14 13 12 11 10 0f 0e 0d 0c 0b 0a  ................",
                " 09                                               .",
            ],
        ),
        (b"~\x7f\x80 ", [" 7e 7f 80 20                                      ~.. "]),
    ],
)
def test_hexdump_body(data: bytes, rows: list[str]) -> None:
    assert socat_format.hexdump_body(data) == "".join(row + "\n" for row in rows) + "--\n"


@pytest.mark.parametrize(
    ("fmt", "body"),
    [("v", "ab"), ("x", " 61 62\n"), ("vx", " 61 62" + " " * 42 + "  ab\n--\n")],
)
def test_format_block(utc, fmt: socat_format.Format, body: str) -> None:
    block = socat_format.format_block(fmt, False, b"ab", 3, 0.5)
    assert block == "< 1970/01/01 00:00:00.000500000  length=2 from=3 to=4\n" + body


@given(st.binary(max_size=600), st.integers(0, 2**40), st.floats(0, 4e9))
def test_any_block_formats_in_every_format(data: bytes, offset: int, timestamp: float) -> None:
    for fmt in socat_format.FORMATS:
        block = socat_format.format_block(fmt, True, data, offset, timestamp)
        head, body = block.split("\n", 1)
        assert head.endswith(f"length={len(data)} from={offset} to={offset + len(data) - 1}")
        assert body.isascii()


@given(st.binary(max_size=600))
def test_hex_body_round_trips(data: bytes) -> None:
    assert bytes.fromhex(socat_format.hex_body(data)) == data


@given(st.binary(max_size=600))
def test_hexdump_rows_hold_the_bytes(data: bytes) -> None:
    rows = socat_format.hexdump_body(data).splitlines()
    assert rows[-1] == "--"
    chunks = [bytes.fromhex(row[:48]) for row in rows[:-1]]
    assert b"".join(chunks) == data
    for chunk in chunks:
        assert 0 < len(chunk) <= 16 and b"\n" not in chunk[:-1]


@given(st.binary(max_size=600))
def test_text_body_keeps_newlines_and_escapes_the_rest(data: bytes) -> None:
    text = socat_format.text_body(data)
    assert text.count("\n") == data.count(b"\n")
    assert len(text) == len(data) + sum(data.count(bytes([b])) for b in b"\\\a\b\v\f\r")
