"""Recording files: what the Writer writes, read() reads back; hand-written files; errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmrelay.streams.block import Block
from mitmrelay.streams.recording import RecordingError, Writer, read

blocks_strategy = st.lists(
    st.builds(Block, st.booleans(), st.binary(max_size=200), st.floats(0, 4e9))
)


def write(path: Path, blocks: list[Block], meta: dict | None = None) -> None:
    writer = Writer(path, meta or {"server": "127.0.0.1:25"})
    for block in blocks:
        writer.block(block)
    writer.close(12.5)


@settings(max_examples=60, deadline=None)
@given(blocks=blocks_strategy)
def test_round_trip(tmp_path_factory: pytest.TempPathFactory, blocks: list[Block]) -> None:
    path = tmp_path_factory.mktemp("rec") / "x.recording"
    write(path, blocks)
    recording = read(path)
    assert recording.blocks == blocks
    assert recording.ended == 12.5
    assert recording.meta["server"] == "127.0.0.1:25"


def test_raw_files_hold_each_direction_like_socat_r_and_R(tmp_path: Path) -> None:
    blocks = [
        Block(False, b"220 hi\r\n", 1.0),
        Block(True, b"QUIT\r\n", 2.0),
        Block(False, b"221 bye\r\n", 3.0),
    ]
    write(tmp_path / "x.recording", blocks)
    assert (tmp_path / "x.c2s").read_bytes() == b"QUIT\r\n"
    assert (tmp_path / "x.s2c").read_bytes() == b"220 hi\r\n221 bye\r\n"
    lines = [json.loads(line) for line in (tmp_path / "x.recording").read_text().splitlines()]
    assert lines[0] | {"server": None} == {
        "mitmrelay": "recording",
        "version": 1,
        "server": None,
        "c2s": "x.c2s",
        "s2c": "x.s2c",
    }
    assert lines[1:] == [
        {"dir": "<", "t": 1.0, "n": 8},
        {"dir": ">", "t": 2.0, "n": 6},
        {"dir": "<", "t": 3.0, "n": 9},
        {"end": 12.5},
    ]


def test_hand_written_recording_with_inline_blocks(tmp_path: Path) -> None:
    path = tmp_path / "greeting.recording"
    path.write_text(
        '{"mitmrelay": "recording"}\n'
        '{"dir": "<", "text": "220 mock ready\\r\\n"}\n'
        "\n"
        '{"dir": ">", "hex": "51 55 49 54 0d 0a"}\n'
    )
    assert read(path).blocks == [Block(False, b"220 mock ready\r\n"), Block(True, b"QUIT\r\n")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty; a recording starts with its metadata line"),
        ('{"server": "x"}\n', ':1: the first line must be {"mitmrelay": "recording"}'),
        ('{"mitmrelay": "recording"}\n{"dir": "?"}\n', ':2: a block needs "dir"'),
        ('{"mitmrelay": "recording"}\n{"dir": "<", "n": 3}\n', ":2: 'n' needs the raw file"),
        ('{"mitmrelay": "recording"}\nnot json\n', ":2: Expecting value"),
        ('{"mitmrelay": "recording", "s2c": "gone.s2c"}\n', ":1: No such file or directory"),
        ('{"mitmrelay": "recording"}\n{"dir": "<", "hex": "zz"}\n', ":2: non-hexadecimal"),
    ],
)
def test_bad_recordings_name_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.recording"
    path.write_text(text)
    with pytest.raises(RecordingError, match=f"^{path}") as e:
        read(path)
    assert message in str(e.value)


def test_raw_file_shorter_than_its_blocks(tmp_path: Path) -> None:
    write(tmp_path / "x.recording", [Block(True, b"hello", 1.0)])
    (tmp_path / "x.c2s").write_bytes(b"he")
    with pytest.raises(RecordingError, match=r"x\.recording:2: the raw file ends 3 bytes before"):
        read(tmp_path / "x.recording")


def test_missing_recording(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"Cannot read recording .*nope\.recording: No such"):
        read(tmp_path / "nope.recording")
