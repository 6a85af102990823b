"""The CLI contract: exit codes and one-line messages, shard naming, atomic output."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from pachflow_contracts import PARTIALS, TRANSACTIONS
from pachflow_etl.cli import main
from pachflow_etl.engine import ARROW_MAX_BYTES
from pachflow_etl.inputs import discover, shard_value
from pachflow_stagekit import BadInput


def invoke(*args: str) -> object:
    return CliRunner().invoke(main, ["--master", "local[2]", *map(str, args)])


def test_help_says_what_it_reads_and_writes():
    out = CliRunner().invoke(main, ["--help"]).output
    for word in (
        "transactions",
        "partials",
        "shard=NN/<stem>.parquet",
        "--datum-batching",
        "Exit codes",
    ):
        assert word in out


def _tx(random_tx, n: int = 20) -> pd.DataFrame:
    return random_tx(n, ["C1", "C2", "C3"], seed=3)


def test_wrong_column_type_exits_2_naming_file_column_expected_found(tmp_path, random_tx):
    rows = _tx(random_tx)
    schema = TRANSACTIONS.schema.set(2, pa.field("amount", pa.float32()))
    path = tmp_path / "in" / "shard=04" / "raw.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(rows, schema=schema, preserve_index=False), path)
    result = invoke(tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 2
    for part in (str(path), "'amount'", "expected double", "found float"):
        assert part in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_missing_column_exits_2(tmp_path, random_tx):
    rows = _tx(random_tx).drop(columns=["isFlaggedFraud"])
    path = tmp_path / "in" / "shard=00" / "raw.parquet"
    path.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pandas(rows, preserve_index=False), path)
    result = invoke(tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 2
    assert "missing column 'isFlaggedFraud' (expected int8)" in result.output


def test_missing_input_dir_exits_2(tmp_path):
    result = invoke(tmp_path / "nope", tmp_path / "out")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_datum_without_parquet_is_empty_output(tmp_path):
    """split's `_summary/` is a datum of its own under glob `/*`: nothing to do, exit 0."""
    (tmp_path / "_summary").mkdir()
    (tmp_path / "_summary" / "raw.json").write_text("{}")
    result = invoke(tmp_path / "_summary", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert list((tmp_path / "out").iterdir()) == []


def test_shard_names():
    root = Path("/pfs/split")
    assert shard_value(root, root / "shard=07" / "a.parquet") == "07"
    assert shard_value(root / "shard=03", root / "shard=03" / "a.parquet") == "03"
    assert shard_value(root, root / "a.parquet") == "all"
    assert shard_value(root, root / "other" / "a.parquet") == "all"
    with pytest.raises(BadInput, match="unsupported name"):
        shard_value(root, root / "shard=a b" / "x.parquet")


def test_row_counts_come_from_footers(tmp_path, write_tx, random_tx):
    write_tx(tmp_path / "shard=01" / "a.parquet", _tx(random_tx, 7))
    write_tx(tmp_path / "shard=01" / "b.parquet", _tx(random_tx, 5))
    write_tx(tmp_path / "shard=02" / "a.parquet", _tx(random_tx, 0))
    sources = discover(tmp_path)
    assert [(s.output_name, s.rows) for s in sources] == [
        ("shard=01/a.parquet", 7),
        ("shard=01/b.parquet", 5),
        ("shard=02/a.parquet", 0),
    ]


def test_two_files_that_would_write_the_same_output_exit_2(tmp_path, write_tx, random_tx):
    write_tx(tmp_path / "in" / "x" / "a.parquet", _tx(random_tx))
    write_tx(tmp_path / "in" / "y" / "a.parquet", _tx(random_tx))
    result = invoke(tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 2
    assert "would both write shard=all/a.parquet" in result.output


@pytest.mark.spark
def test_files_directly_in_input_dir_go_to_shard_all(tmp_path, write_tx, random_tx, spark):
    write_tx(tmp_path / "in" / "a.parquet", _tx(random_tx))
    result = invoke(tmp_path / "in", tmp_path / "out")
    assert result.exit_code == 0, result.output
    files = list((tmp_path / "out").rglob("*.parquet"))
    assert {f.parent.name for f in files} == {"shard=all"}
    assert sum(pq.read_metadata(f).num_rows for f in files) == 3


@pytest.mark.spark
@pytest.mark.parametrize("datum", ["shard=05", "shard=05/a.parquet"])
def test_one_shard_datum_writes_only_its_shard(tmp_path, write_tx, random_tx, spark, datum):
    """A datum is `/pfs/split/shard=05/a.parquet` (glob /shard=*/*), `/pfs/split/shard=05`
    or `/pfs/split` holding `shard=05/`."""
    write_tx(tmp_path / "split" / "shard=05" / "a.parquet", _tx(random_tx))
    write_tx(tmp_path / "split" / "shard=04" / "a.parquet", _tx(random_tx))  # not this datum
    result = invoke(tmp_path / "split" / datum, tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["shard=05"]
    assert [f.name for f in (tmp_path / "out" / "shard=05").iterdir()] == ["a.parquet"]
    PARTIALS.check_file(tmp_path / "out" / "shard=05" / "a.parquet")


@pytest.mark.spark
@pytest.mark.parametrize("engine", ["--arrow-max-bytes=0", f"--arrow-max-bytes={ARROW_MAX_BYTES}"])
def test_failure_leaves_no_output(tmp_path, write_tx, random_tx, spark, engine):
    """A shard whose data pages are corrupt (footer intact, so the contract check passes)
    fails the Spark job: exit 2 naming the file, and nothing published, not even the good shard."""
    write_tx(tmp_path / "in" / "shard=00" / "a.parquet", _tx(random_tx))
    bad = tmp_path / "in" / "shard=01" / "a.parquet"
    rows = _tx(random_tx, 2000)
    rows["nameOrig"] = [f"C{i}" for i in np.arange(2000)]
    write_tx(bad, rows)
    data = bytearray(bad.read_bytes())
    data[8:4000] = bytes(np.random.default_rng(0).integers(0, 256, 3992, dtype=np.uint8))
    bad.write_bytes(bytes(data))
    TRANSACTIONS.check_file(bad)
    result = invoke(tmp_path / "in", tmp_path / "out", engine)
    assert result.exit_code == 2
    assert f"Error: {bad}: Parquet data cannot be read" in result.output
    assert list((tmp_path / "out").iterdir()) == []
