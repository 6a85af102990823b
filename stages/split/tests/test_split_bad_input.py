"""Bad input: exit 2 with one clear line naming file, line, column and value; the
quarantine mode; and no partial output after any failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from pachflow_paysim.format import HEADER

BAD_VALUES = [
    # (column index, bad value, column name, what the message must say was expected)
    (0, "1.5", "step", "whole number"),
    (0, "1234567890", "step", "whole number"),
    (1, "WIRE", "type", "CASH_OUT"),
    (2, "-5.0", "amount", "non-negative number"),
    (2, "1,5", None, "11 fields, found"),
    (2, "", "amount", "non-negative number"),
    (2, "1e999", "amount", "fits a 64-bit float"),
    (2, ".5", "amount", "non-negative number"),
    (3, "X123", "nameOrig", "C<digits>"),
    (3, "../../x", "nameOrig", "C<digits>"),
    (4, "NaN", "oldbalanceOrg", "non-negative number"),
    (6, "C1979787155", "nameDest", "M<digits> for PAYMENT"),  # row 0 is a PAYMENT
    (9, "2", "isFraud", "0 or 1"),
    (10, "yes", "isFlaggedFraud", "0 or 1"),
]


def _with_value(row: str, index: int, value: str) -> str:
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


def _assert_nothing_published(out: Path) -> None:
    leftovers = [p for p in out.rglob("*")] if out.exists() else []
    assert leftovers == [], leftovers


@pytest.mark.parametrize(("index", "value", "column", "expected"), BAD_VALUES)
def test_split_bad_value_exits_2_naming_file_line_column_value(
    split, kit, tmp_path: Path, index: int, value: str, column: str | None, expected: str
) -> None:
    rows = list(kit.ROWS)
    rows[0] = _with_value(rows[0], index, value)
    rows[3], rows[0] = rows[0], rows[3]  # the bad row is line 5 (header is line 1)
    if index == 6:  # keep the PAYMENT rule the thing under test
        rows[3] = _with_value(kit.ROWS[0], 6, value)
    write_source = kit.write_source(tmp_path / "in", "bad.csv", rows)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    message = run.stderr.strip().splitlines()[-1]
    assert str(write_source) in message
    assert "line 5" in message
    if column is not None:
        assert f"column {column}: {value!r}" in message
    assert expected in message
    _assert_nothing_published(run.out)


def test_split_lists_the_first_five_bad_values(split, kit, tmp_path: Path) -> None:
    rows = [_with_value(r, 9, "7") for r in kit.ROWS]  # every row bad
    kit.write_source(tmp_path / "in", "bad.csv", rows)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    message = run.stderr.strip().splitlines()[-1]
    for line in range(2, 7):
        assert f"line {line} column isFraud: '7'" in message
    assert "line 7 column" not in message
    assert "and 6 more" in message


def test_split_bad_value_line_number_across_blocks(split, kit, tmp_path: Path) -> None:
    rows = kit.many_rows(30_000, customers=100)
    rows[25_000] = _with_value(rows[25_000], 2, "abc")
    kit.write_source(tmp_path / "in", "big.csv", rows)
    run = split(tmp_path / "in", "--block-mb", "1")
    assert run.exit_code == 2
    assert "line 25002 column amount: 'abc'" in run.stderr


@pytest.mark.parametrize(
    ("header", "found"),
    [
        (HEADER.replace("oldbalanceOrg", "oldbalanceOrig"), "unexpected 'oldbalanceOrig'"),
        (HEADER.rsplit(",", 1)[0], "missing isFlaggedFraud"),
        (HEADER.replace("step,type", "type,step"), "wrong order"),
    ],
)
def test_split_wrong_header_exits_2_naming_expected_and_found(
    split, kit, tmp_path: Path, header: str, found: str
) -> None:
    kit.write_source(tmp_path / "in", "h.csv", kit.ROWS, header=header)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    message = run.stderr.strip().splitlines()[-1]
    assert found in message
    assert f"expected columns {HEADER}" in message
    assert f"found {header!r}" in message
    _assert_nothing_published(run.out)


BAD_FILES = {
    "missing header": ("noheader.csv", None, "expected columns {header} found {first_row!r}"),
    "empty file": ("empty.csv", b"", "empty file, missing header"),
    "corrupt gzip": ("x.csv.gz", b"\x1f\x8b\x08\x00not really gzip", "x.csv.gz"),
}


@pytest.mark.parametrize("case", BAD_FILES, ids=str)
def test_split_bad_file_exits_2_naming_the_problem(split, kit, tmp_path: Path, case: str) -> None:
    name, content, expected = BAD_FILES[case]
    (tmp_path / "in").mkdir()
    rows_only = ("\n".join(kit.ROWS) + "\n").encode()
    (tmp_path / "in" / name).write_bytes(rows_only if content is None else content)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    assert expected.format(header=HEADER, first_row=kit.ROWS[0]) in run.stderr
    _assert_nothing_published(run.out)


def test_split_no_input_dir_or_no_csv_exits_2(split, tmp_path: Path) -> None:
    run = split(tmp_path / "nowhere")
    assert run.exit_code == 2
    assert "does not exist" in run.stderr
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "readme.txt").write_text("no csv here")
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    assert "no PaySim CSV files" in run.stderr


def test_split_same_stem_in_two_files_exits_2(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS)
    kit.write_source(tmp_path / "in", "a.csv.gz", kit.ROWS)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    assert "a.csv, a.csv.gz" in run.stderr and "share the name 'a'" in run.stderr
    _assert_nothing_published(run.out)


def test_split_failure_in_a_later_file_publishes_nothing(split, kit, tmp_path: Path) -> None:
    """a.csv is fine and fully processed; b.csv then fails: OUTPUT_DIR keeps only what was
    there before the run."""
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS)
    kit.write_source(tmp_path / "in", "b.csv", [*kit.ROWS, _with_value(kit.ROWS[0], 0, "x")])
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("from before")
    run = split(tmp_path / "in", out=out)
    assert run.exit_code == 2
    assert run.files() == ["keep.txt"]


def test_split_existing_output_is_not_overwritten(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS)
    assert split(tmp_path / "in", "--shards", "2").exit_code == 0
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()}
    run = split(tmp_path / "in", "--shards", "2")
    assert run.exit_code == 2
    assert "is not empty" in run.stderr
    after = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").rglob("*") if p.is_file()}
    assert after == before


def test_split_quarantine_keeps_good_rows_and_lists_bad_ones(split, kit, tmp_path: Path) -> None:
    rows = list(kit.ROWS)
    rows[1] = _with_value(rows[1], 2, "-1")  # line 3
    rows[4] = "1,PAYMENT,5"  # line 6: wrong number of fields
    kit.write_source(tmp_path / "in", "q.csv", rows)
    run = split(tmp_path / "in", "--max-reject-ratio", "0.2")
    assert run.exit_code == 0, run.stderr
    assert run.table().num_rows == len(rows) - 2
    lines = (run.out / "_rejects" / "q.csv").read_text().splitlines()
    assert lines[0] == "line,columns,reason,row"
    assert lines[1].startswith("3,amount,")
    assert "expected a non-negative number" in lines[1]
    assert lines[1].endswith(rows[1] + '"') or rows[1] in lines[1]
    assert lines[2].startswith("6,")
    assert "11 fields, found" in lines[2]
    summary = run.summary("q")
    assert (summary["rows_read"], summary["rows_written"], summary["rows_rejected"]) == (
        len(rows),
        len(rows) - 2,
        2,
    )
    assert summary["rejects_file"] == "_rejects/q.csv"


def test_split_quarantine_fails_above_the_ratio(split, kit, tmp_path: Path) -> None:
    rows = list(kit.ROWS)
    rows[1] = _with_value(rows[1], 2, "-1")
    rows[4] = _with_value(rows[4], 1, "WIRE")
    kit.write_source(tmp_path / "in", "q.csv", rows)
    run = split(tmp_path / "in", "--max-reject-ratio", "0.1")  # 2/11 = 18 % > 10 %
    assert run.exit_code == 2
    message = run.stderr.strip().splitlines()[-1]
    assert "2 of 11 rows rejected" in message and "0.1" in message
    assert "line 3 column amount: '-1'" in message
    _assert_nothing_published(run.out)


def test_split_invalid_utf8_exits_2_with_the_line(split, kit, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    data = kit.csv_text(kit.ROWS).replace(b"C840083671", b"C84008\xff671")
    (tmp_path / "in" / "u.csv").write_bytes(data)
    run = split(tmp_path / "in")
    assert run.exit_code == 2
    assert "u.csv: line 5: not UTF-8 text (byte 0xff at byte 24 of the line" in run.stderr
    assert r"'1,CASH_OUT,181.0,C84008\xff671,181.0," in run.stderr
    _assert_nothing_published(run.out)


def test_split_help_says_what_it_reads_and_writes(split, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from pachflow_split.cli import main

    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for words in [".csv.gz", "shard=NN/<stem>.parquet", "_summary/<stem>.json", "--sample"]:
        assert words in result.output


def test_split_usage_errors_exit_2(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS)
    assert split(tmp_path / "in", "--shards", "0").exit_code == 2
    assert split(tmp_path / "in", "--max-reject-ratio", "1.5").exit_code == 2
    assert split(tmp_path / "in", "--sample", "0").exit_code == 2


def test_split_file_without_line_breaks_exits_2(split, kit, tmp_path: Path) -> None:
    """Carriage-return-only line endings are refused instead of buffered whole."""
    (tmp_path / "in").mkdir()
    data = kit.csv_text(kit.many_rows(20_000, customers=50)).replace(b"\n", b"\r")
    (tmp_path / "in" / "mac.csv").write_bytes(data.replace(b"\r", b"\n", 1))
    run = split(tmp_path / "in", "--block-mb", "1")
    assert run.exit_code == 2
    assert "no line break" in run.stderr and "mac.csv" in run.stderr


def test_split_reject_line_numbers_after_skipped_and_blank_lines(
    split, kit, tmp_path: Path
) -> None:
    """Malformed and blank lines before a bad value, in an earlier block, do not shift the
    line numbers reported for later rows."""
    rows = kit.many_rows(30_000, customers=100)
    rows[98] = "1,PAYMENT,1.0"  # line 100: too few fields
    rows[198] = ""  # line 200: blank
    rows[298] = rows[298] + ",extra"  # line 300: too many fields
    rows[25_000] = _with_value(rows[25_000], 4, "-3")  # line 25002
    kit.write_source(tmp_path / "in", "m.csv", rows)
    run = split(tmp_path / "in", "--block-mb", "1", "--max-reject-ratio", "0.01")
    assert run.exit_code == 0, run.stderr
    lines = (run.out / "_rejects" / "m.csv").read_text().splitlines()[1:]
    assert [line.split(",")[0] for line in lines] == ["100", "300", "25002"]
    assert "oldbalanceOrg: '-3'" in lines[2]
    summary = run.summary("m")
    assert summary["blank_lines"] == 1
    assert summary["rows_read"] == len(rows) - 1
    assert summary["rows_written"] == len(rows) - 4
