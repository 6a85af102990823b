"""Hostile input: garbage, endless lines, terminal escapes, links and odd file names all
end in one short printable line (exit 2) and no output."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from pachflow_paysim.format import HEADER

#: The longest error line any of these inputs may produce (path and expectations included).
MAX_MESSAGE = 600


def _error_line(run) -> str:
    assert run.exit_code == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert lines[-1].startswith("Error: "), run.stderr
    assert not [line for line in lines if "Traceback" in line or "Exception" in line]
    return lines[-1]


def _assert_safe(message: str) -> None:
    assert message.isprintable(), message  # no ESC, CR or other control byte
    assert len(message) <= MAX_MESSAGE, f"{len(message)} chars: {message[:200]}..."


def _nothing_written(out: Path) -> None:
    assert not out.exists() or list(out.rglob("*")) == []


def _garbage(size: int, seed: int = 7) -> bytes:
    return random.Random(seed).randbytes(size)


@pytest.mark.parametrize(
    ("head", "says"),
    [
        (b"", "junk.csv: not a CSV file: its first line holds binary data"),
        (HEADER.encode() + b"\n", "junk.csv: line 2: not UTF-8 text"),
    ],
    ids=["random bytes", "random bytes after a good header"],
)
def test_random_bytes_are_refused_in_one_short_line_naming_where(split, tmp_path, head, says):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "junk.csv").write_bytes(head + _garbage(4096))
    run = split(tmp_path / "in")
    message = _error_line(run)
    _assert_safe(message)
    assert says in message
    _nothing_written(run.out)


def test_megabytes_without_a_newline_are_quoted_briefly(split, tmp_path):
    (tmp_path / "in").mkdir()
    body = b"1,PAYMENT," + b"9" * 3_000_000
    (tmp_path / "in" / "long.csv").write_bytes(HEADER.encode() + b"\n" + body)
    run = split(tmp_path / "in")
    message = _error_line(run)
    _assert_safe(message)
    assert "long.csv: bad value at line 2: '1,PAYMENT,999" in message
    assert "more characters) (expected 11 fields, found 3)" in message
    _nothing_written(run.out)


def test_terminal_escapes_in_a_value_are_escaped(split, kit, tmp_path):
    row = kit.ROWS[0].replace("C1231006815", "C123\x1b[2J\x1b]0;pwned\x07")
    kit.write_source(tmp_path / "in", "esc.csv", [row])
    run = split(tmp_path / "in")
    message = _error_line(run)
    _assert_safe(message)
    assert r"line 2 column nameOrig: 'C123\x1b[2J\x1b]0;pwned\x07'" in message


def test_a_link_out_of_input_dir_is_refused_not_read(split, kit, tmp_path):
    outside = kit.write_source(tmp_path / "elsewhere", "other.csv", kit.ROWS)
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS)
    (tmp_path / "in" / "b.csv").symlink_to(outside)
    run = split(tmp_path / "in")
    message = _error_line(run)
    assert f"b.csv: symbolic link to {outside}, outside INPUT_DIR" in message
    _nothing_written(run.out)


def test_a_link_inside_input_dir_is_read_like_a_copy(split, kit, tmp_path):
    kit.write_source(tmp_path / "in" / "real", "a.csv", kit.ROWS)
    (tmp_path / "in" / "b.csv").symlink_to(tmp_path / "in" / "real" / "a.csv")
    run = split(tmp_path / "in", "--shards", "2")
    assert run.exit_code == 0, run.stderr
    assert run.table().num_rows == 2 * len(kit.ROWS)
    assert {"shard=00/a.parquet", "shard=00/b.parquet"} <= set(run.files())


@pytest.mark.parametrize("name", ["a\nb.csv", "x\x1b[31m.csv", "a\rb.csv"])
def test_a_control_character_in_a_file_name_never_reaches_an_output_path(
    split, kit, tmp_path, name
):
    kit.write_source(tmp_path / "in", name, kit.ROWS)
    run = split(tmp_path / "in")
    message = _error_line(run)
    _assert_safe(message)
    assert "the file name holds a control character" in message
    _nothing_written(run.out)
