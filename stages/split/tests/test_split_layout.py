"""The outputs: shard completeness and stability, the contract, the summary, the
per-customer layout and its safety, and the fraud-keeping sample."""

from __future__ import annotations

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pachflow_contracts import TRANSACTIONS
from pachflow_paysim.format import HEADER
from pachflow_split.hashing import shard_of


def test_split_every_row_once_and_each_customer_in_one_shard(split, kit, tmp_path: Path) -> None:
    rows = kit.many_rows(5_000, customers=300)
    kit.write_source(tmp_path / "in", "part-1.csv", rows)
    run = split(tmp_path / "in", "--shards", "7", "--block-mb", "1")
    assert run.exit_code == 0, run.stderr

    shards_of_customer: dict[str, set[int]] = defaultdict(set)
    seen: Counter = Counter()
    for path in sorted(run.out.glob("shard=*/part-1.parquet")):
        TRANSACTIONS.check_file(path)
        shard = int(path.parent.name.removeprefix("shard="))
        for row in pq.read_table(path).to_pylist():
            shards_of_customer[row["nameOrig"]].add(shard)
            seen[row["step"], row["type"], row["amount"], row["nameOrig"], row["nameDest"]] += 1
    expected = Counter()
    for line in rows:
        f = line.split(",")
        expected[int(f[0]), f[1], float(f[2]), f[3], f[6]] += 1
    assert seen == expected  # every row exactly once
    assert all(len(s) == 1 for s in shards_of_customer.values())
    assert all(s == {shard_of(name, 7)} for name, s in shards_of_customer.items())
    assert len(list(run.out.glob("shard=*"))) == 7


def test_split_shards_are_identical_across_runs_and_block_sizes(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "s.csv", kit.many_rows(20_000, customers=400))
    a = split(tmp_path / "in", "--block-mb", "1", out=tmp_path / "a")
    b = split(tmp_path / "in", "--block-mb", "64", out=tmp_path / "b")
    assert a.exit_code == b.exit_code == 0
    for path in sorted(a.out.glob("shard=*/s.parquet")):
        other = b.out / path.relative_to(a.out)
        assert pq.read_table(path).equals(pq.read_table(other))


def test_split_summary_json_per_source(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "day1.csv.gz", kit.ROWS)
    run = split(tmp_path / "in", "--shards", "4")
    assert run.exit_code == 0
    summary = run.summary("day1")
    assert summary["rows_read"] == summary["rows_written"] == len(kit.ROWS)
    assert summary["rows_rejected"] == 0 and summary["shards"] == 4
    assert summary["files_written"] == 4 and summary["layout"] == "shards"
    # part of the output commit: nothing that differs between two runs of the same data
    assert summary["source"] == "day1.csv.gz"
    assert not {"seconds", "rows_per_s"} & set(summary)
    assert "rows/s)" in run.stderr  # the timing is in the progress line instead
    assert f"read {len(kit.ROWS)} rows, wrote {len(kit.ROWS)}, rejected 0" in run.stderr
    meta = pq.read_schema(run.out / "shard=00" / "day1.parquet").metadata
    assert meta[b"pachflow.contract"] == b"transactions"


def test_split_per_customer_layout(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "src.csv", kit.ROWS)
    run = split(tmp_path / "in", "--per-customer")
    assert run.exit_code == 0, run.stderr
    by_customer: dict[str, list[str]] = defaultdict(list)
    for row in kit.ROWS:
        by_customer[row.split(",")[3]].append(row)
    assert run.files() == sorted(
        ["_summary/src.json"] + [f"{name}/src.csv" for name in by_customer]
    )
    for name, rows in by_customer.items():
        text = (run.out / name / "src.csv").read_text()
        assert text == "\n".join([HEADER, *rows]) + "\n"  # raw values, input order
    assert run.summary("src")["layout"] == "per-customer"


@pytest.mark.parametrize("evil", ["../../x", "/etc/passwd", "C1/../../y", "..", "C12\\x"])
def test_split_per_customer_never_writes_outside_output(
    split, kit, tmp_path: Path, evil: str
) -> None:
    rows = [*kit.ROWS[:2], kit.ROWS[2].replace("C1305486145", evil)]
    kit.write_source(tmp_path / "in", "evil.csv", rows)
    before = sorted(p for p in tmp_path.rglob("*"))
    run = split(tmp_path / "in", "--per-customer")
    assert run.exit_code == 2
    assert "column nameOrig" in run.stderr
    assert sorted(p for p in tmp_path.rglob("*") if p.name != "out") == before
    assert not (run.out.exists() and any(run.out.iterdir()))
    # Quarantined instead: the bad row is rejected, never used as a path.
    run = split(tmp_path / "in", "--per-customer", "--max-reject-ratio", "0.5")
    assert run.exit_code == 0
    written = {p.resolve() for p in tmp_path.rglob("*") if p.is_file()} - {
        p.resolve() for p in before
    }
    assert all(p.is_relative_to(run.out.resolve()) for p in written)
    assert run.summary("evil")["rows_rejected"] == 1


def test_split_per_customer_path_check_refuses_unsafe_names(tmp_path: Path) -> None:
    from pachflow_split.writers import CustomerWriter
    from pachflow_stagekit import BadInput

    writer = CustomerWriter(tmp_path, "s")
    assert writer.path_for("C123") == (tmp_path / "C123" / "s.csv").resolve()
    for evil in ["../C1", "C1/..", "", "C" + "1" * 65, "M123"]:
        with pytest.raises(BadInput):
            writer.path_for(evil)


def _customers(run) -> set[str]:
    return set(run.table().column("nameOrig").to_pylist())


def test_split_sample_keeps_every_fraud_customer(split, kit, tmp_path: Path) -> None:
    rows = kit.many_rows(20_000, customers=2_000)  # ~1.4 MB: two blocks of 1 MB below
    kit.write_source(tmp_path / "in", "s.csv", rows)
    fraud = {r.split(",")[3] for r in rows if r.split(",")[9] == "1"}
    all_customers = {r.split(",")[3] for r in rows}
    assert 0 < len(fraud) < 600
    run = split(tmp_path / "in", "--sample", "600", "--seed", "3", out=tmp_path / "a")
    assert run.exit_code == 0, run.stderr
    kept = _customers(run)
    assert len(kept) == 600
    assert fraud <= kept
    # all rows of a kept customer are kept
    assert run.table().num_rows == sum(1 for r in rows if r.split(",")[3] in kept)
    sample = run.summary("s")["sample"]
    assert sample["fraud_customers_kept"] == len(fraud)
    assert sample["customers_kept"] == 600
    assert f"{len(fraud)} of them with fraud" in run.stderr

    args = ["--sample", "600", "--seed", "3", "--block-mb", "1"]
    again = split(tmp_path / "in", *args, out=tmp_path / "b")
    assert _customers(again) == kept  # reproducible, whatever the block size
    other = split(tmp_path / "in", "--sample", "600", "--seed", "4", out=tmp_path / "c")
    assert _customers(other) != kept and fraud <= _customers(other)
    everyone = split(tmp_path / "in", "--sample", "100000", out=tmp_path / "d")
    assert _customers(everyone) == all_customers


def test_split_sample_smaller_than_fraud_keeps_all_fraud(split, kit, tmp_path: Path) -> None:
    kit.write_source(tmp_path / "in", "s.csv", kit.ROWS)
    fraud = {r.split(",")[3] for r in kit.ROWS if r.split(",")[9] == "1"}
    run = split(tmp_path / "in", "--sample", "1")
    assert run.exit_code == 0
    assert _customers(run) == fraud
    assert run.summary("s")["sample"]["other_customers_kept"] == 0


def test_split_sample_per_customer_and_quarantine_combine(split, kit, tmp_path: Path) -> None:
    rows = [*kit.ROWS, kit.ROWS[0].replace("PAYMENT", "BRIBE")]
    kit.write_source(tmp_path / "in", "s.csv", rows)
    run = split(tmp_path / "in", "--sample", "6", "--per-customer", "--max-reject-ratio", "0.2")
    assert run.exit_code == 0, run.stderr
    customer_files = [p for p in run.out.glob("C*/s.csv")]
    assert len(customer_files) == 6
    with (run.out / "_rejects" / "s.csv").open() as f:
        assert [r["line"] for r in csv.DictReader(f)] == [str(len(rows) + 1)]
    assert json.loads((run.out / "_summary" / "s.json").read_text())["rows_rejected"] == 1
