"""Format variants the stage must accept: CRLF, gzip, Java notation, header-only, blocks."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from pachflow_contracts import TRANSACTIONS


def _rows_as_tuples(table) -> list[tuple]:
    return sorted(tuple(r.values()) for r in table.to_pylist())


def test_split_plain_crlf_and_gzip_give_the_same_rows(split, kit, tmp_path: Path) -> None:
    results = []
    for i, (name, crlf) in enumerate(
        [("plain.csv", False), ("crlf.csv", True), ("zipped.csv.gz", False), ("both.csv.gz", True)]
    ):
        kit.write_source(tmp_path / f"in{i}", name, kit.ROWS, crlf=crlf)
        run = split(tmp_path / f"in{i}", "--shards", "4", out=tmp_path / f"out{i}")
        assert run.exit_code == 0, run.stderr
        results.append(_rows_as_tuples(run.table()))
    assert all(r == results[0] for r in results)
    assert len(results[0]) == len(kit.ROWS)


def test_split_java_notation_is_parsed_as_numbers(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "java.csv", kit.ROWS)
    run = split(tmp_path / "in")
    assert run.exit_code == 0, run.stderr
    rows = {(r["step"], r["type"], r["nameOrig"]): r for r in run.table().to_pylist()}
    cash_in = rows[(2, "CASH_IN", "C1231006815")]
    assert cash_in["amount"] == 10_000_000.0
    assert cash_in["newbalanceOrig"] == 10_160_296.36
    assert cash_in["oldbalanceDest"] == 12_000_000.0


def test_split_typed_values_follow_the_contract(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "t.csv", kit.ROWS[:1])
    run = split(tmp_path / "in")
    assert run.exit_code == 0, run.stderr
    (row,) = run.table().to_pylist()
    assert row == {
        "step": 1,
        "type": "PAYMENT",
        "amount": 9839.64,
        "nameOrig": "C1231006815",
        "oldbalanceOrg": 170136.0,
        "newbalanceOrig": 160296.36,
        "nameDest": "M1979787155",
        "oldbalanceDest": 0.0,
        "newbalanceDest": 0.0,
        "isFraud": 0,
        "isFlaggedFraud": 0,
    }
    for path in (run.out).glob("shard=*/t.parquet"):
        TRANSACTIONS.check_file(path)


def test_split_header_only_file_writes_empty_shards_and_summary(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "empty.csv", [])
    run = split(tmp_path / "in", "--shards", "3")
    assert run.exit_code == 0, run.stderr
    assert run.files() == [
        "_summary/empty.json",
        "shard=00/empty.parquet",
        "shard=01/empty.parquet",
        "shard=02/empty.parquet",
    ]
    for path in run.out.glob("shard=*/empty.parquet"):
        TRANSACTIONS.check_file(path)
        assert pq.read_metadata(path).num_rows == 0
    summary = run.summary("empty")
    assert (summary["rows_read"], summary["rows_written"], summary["rows_rejected"]) == (0, 0, 0)


def test_split_header_without_newline_is_header_only(split, kit, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "h.csv").write_bytes(kit.csv_text([]).rstrip(b"\n"))
    run = split(tmp_path / "in", "--shards", "2")
    assert run.exit_code == 0, run.stderr
    assert run.summary("h")["rows_read"] == 0


def test_split_last_line_without_newline_and_blank_lines(split, kit, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    # two blank lines, then a last line without a newline
    data = kit.csv_text(kit.ROWS[:3]) + b"\n\r\n" + kit.ROWS[3].encode()
    (tmp_path / "in" / "b.csv").write_bytes(data)
    run = split(tmp_path / "in")
    assert run.exit_code == 0, run.stderr
    assert run.table().num_rows == 4
    summary = run.summary("b")
    assert (summary["rows_read"], summary["blank_lines"]) == (4, 2)


def test_split_counts_rows_of_empty_fields_as_blank_lines(split, kit, tmp_path: Path) -> None:
    """A row of commas only is a blank line: dropped and counted, not rejected as a bad row
    (the fuzz test meets it only by chance)."""
    (tmp_path / "in").mkdir()
    data = kit.csv_text(kit.ROWS[:2]) + b",,,,,,,,,,\n" + kit.ROWS[2].encode() + b"\n"
    (tmp_path / "in" / "c.csv").write_bytes(data)
    run = split(tmp_path / "in")
    assert run.exit_code == 0, run.stderr
    assert run.table().num_rows == 3
    summary = run.summary("c")
    assert (summary["rows_read"], summary["blank_lines"]) == (3, 1), summary


def test_split_many_blocks_keep_every_row(split, kit, tmp_path: Path) -> None:
    rows = kit.many_rows(30_000, customers=500)
    kit.write_source(tmp_path / "in", "big.csv", rows)
    # 1 MB blocks: the ~2 MB file is read in several blocks cut at newlines.
    run = split(tmp_path / "in", "--block-mb", "1", "--shards", "5")
    assert run.exit_code == 0, run.stderr
    assert run.table().num_rows == len(rows)
    assert run.summary("big")["rows_written"] == len(rows)


def test_split_every_csv_under_input_dir_recursively(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "a.csv", kit.ROWS[:4])
    kit.write_source(tmp_path / "in" / "sub", "b.csv.gz", kit.ROWS[4:])
    kit.write_source(tmp_path / "in", "notes.txt", ["ignored"])
    run = split(tmp_path / "in", "--shards", "2")
    assert run.exit_code == 0, run.stderr
    assert {p.name for p in run.out.glob("shard=00/*")} == {"a.parquet", "b.parquet"}
    assert run.table().num_rows == len(kit.ROWS)
    assert run.summary("a")["rows_read"] == 4
    assert run.summary("b")["rows_read"] == len(kit.ROWS) - 4
