"""Partials: etl's output, merged the way every reader merges it, against an independent
pandas computation of the features; Spark and Arrow partials against each other."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pachflow_contracts import FEATURES, PARTIALS
from pachflow_etl.job import run
from pachflow_etl.spark_job import SPARK_INPUT_SCHEMA
from pachflow_features import read_features
from pachflow_features.partials import spark_partials

pytestmark = pytest.mark.spark

ALWAYS_SPARK, ALWAYS_ARROW = 0, 10**12  # --arrow-max-bytes


def merged(spark, out: Path) -> pd.DataFrame:
    """The features every reader gets from etl's output, indexed by nameOrig."""
    files = sorted(out.rglob("*.parquet"))
    return read_features(spark, files).toPandas().set_index("nameOrig").sort_index()


@pytest.fixture(scope="module")
def fixture_tx(tmp_path_factory, random_tx, write_tx) -> tuple[Path, dict[str, pd.DataFrame]]:
    """Three shards: 00 with a customer spread over two source files, 01 with extreme
    values, 02 empty; rows of each shard as written."""
    root = tmp_path_factory.mktemp("split")
    a = random_tx(120, [f"C1{i:03d}" for i in range(25)], seed=1)
    b = random_tx(80, [f"C1{i:03d}" for i in range(10, 40)], seed=2)  # overlaps a's customers
    extreme = pd.DataFrame(
        {
            "step": np.array([1, 743, 5, 5, 9, 9], np.int32),
            "type": ["TRANSFER", "CASH_OUT", "PAYMENT", "CASH_IN", "DEBIT", "TRANSFER"],
            "amount": [1e8, 92_445_516.64, 0.0, 1e8, 0.01, 10_000_000.0],
            "nameOrig": ["C900", "C900", "C901", "C901", "C902", "C902"],
            "oldbalanceOrg": [1e8, 0.0, 0.0, 0.0, 0.0, 10_000_000.0],
            "newbalanceOrig": [0.0, 0.0, 0.0, 1e8, 0.0, 0.0],
            "nameDest": ["C1", "C2", "M3", "C4", "C5", "C6"],
            "oldbalanceDest": [0.0, 0.0, 0.0, 1e8, 0.0, 0.0],
            "newbalanceDest": [0.0, 92_445_516.64, 0.0, 0.0, 0.0, 0.0],
            "isFraud": np.array([1, 1, 0, 0, 0, 1], np.int8),
            "isFlaggedFraud": np.array([1, 0, 0, 0, 0, 0], np.int8),
        }
    )
    write_tx(root / "shard=00" / "raw-a.parquet", a)
    write_tx(root / "shard=00" / "raw-b.parquet", b)
    write_tx(root / "shard=01" / "raw-a.parquet", extreme)
    write_tx(root / "shard=02" / "raw-a.parquet", extreme.iloc[0:0])
    return root, {"shard=00": pd.concat([a, b]), "shard=01": extreme}


@pytest.fixture(scope="module", params=["spark", "arrow"])
def partials_dir(request, fixture_tx, spark, tmp_path_factory) -> Path:
    root, _ = fixture_tx
    out = tmp_path_factory.mktemp(f"etl-{request.param}") / "out"
    limit = ALWAYS_SPARK if request.param == "spark" else ALWAYS_ARROW
    run(root, out, lambda: spark, arrow_max_bytes=limit)
    return out


def test_one_file_per_non_empty_source_named_after_it(partials_dir):
    files = sorted(p.relative_to(partials_dir).as_posix() for p in partials_dir.rglob("*"))
    assert files == [
        "shard=00",
        "shard=00/raw-a.parquet",
        "shard=00/raw-b.parquet",
        "shard=01",
        "shard=01/raw-a.parquet",
    ]  # no file for the empty source: it adds no customer


def test_every_output_file_has_the_partials_types(partials_dir):
    for path in partials_dir.rglob("*.parquet"):
        PARTIALS.check_file(path)
        found = pq.read_schema(path)
        assert [(f.name, f.type) for f in found] == [(f.name, f.type) for f in PARTIALS.schema]


def test_merged_partials_match_pandas_features(fixture_tx, partials_dir, spark, expected):
    """A customer spread over raw-a and raw-b is one row, with every feature exact."""
    _, rows = fixture_tx
    want = expected(pd.concat(rows.values())).sort_index()
    got = merged(spark, partials_dir)
    assert list(got.columns) == FEATURES.columns[1:]
    assert list(got.index) == list(want.index)  # one row per customer, no more, no less
    spread = set(rows["shard=00"].iloc[:120].nameOrig) & set(rows["shard=00"].iloc[120:].nameOrig)
    assert spread, "fixture must have customers in both source files"
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-6
    )


def test_extreme_values(partials_dir, spark):
    got = merged(spark, partials_dir)
    assert got.loc["C900", "amount_total"] == 1e8 + 92_445_516.64
    assert got.loc["C900", "drain_share"] == 0.5  # 1e8 drained; the 0-balance cash-out not
    assert got.loc["C900", "is_fraud"] == 1 and got.loc["C900", "is_flagged"] == 1
    assert got.loc["C901", "dest_zero_share"] == 0.5
    assert got.loc["C901", "error_balance_orig_max"] == 2e8  # CASH_IN: 1e8 + 1e8 - 0
    assert (got.loc["C900", "first_step"], got.loc["C900", "last_step"]) == (1, 743)


def test_spark_and_arrow_write_the_same_partials(fixture_tx, spark, tmp_path):
    root, _ = fixture_tx
    outs = {}
    for name, limit in (("spark", ALWAYS_SPARK), ("arrow", ALWAYS_ARROW)):
        run(root, tmp_path / name, lambda: spark, arrow_max_bytes=limit)
        outs[name] = {
            p.relative_to(tmp_path / name): pq.read_table(p).to_pandas().sort_values("nameOrig")
            for p in (tmp_path / name).rglob("*.parquet")
        }
    assert sorted(outs["spark"]) == sorted(outs["arrow"])
    for path, frame in outs["spark"].items():
        pd.testing.assert_frame_equal(
            frame.reset_index(drop=True),
            outs["arrow"][path].reset_index(drop=True),
            check_exact=False,
            rtol=1e-15,
        )


def test_a_datum_of_one_source_file_writes_only_its_file(fixture_tx, spark, tmp_path):
    """With glob /shard=*/*, a datum is one file: $split names it."""
    root, _ = fixture_tx
    run(root / "shard=00" / "raw-b.parquet", tmp_path / "out", lambda: spark)
    assert [
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet")
    ] == ["shard=00/raw-b.parquet"]


def test_small_sources_start_no_spark(fixture_tx, tmp_path):
    root, _ = fixture_tx

    def no_spark():
        raise AssertionError("a small source must not need Spark")

    run(root, tmp_path / "out", no_spark)  # default limit: these files fit in memory
    assert len(list((tmp_path / "out").rglob("*.parquet"))) == 3


def test_input_rows_are_shuffled_by_customer_and_aggregated_once_there(fixture_tx, spark):
    """Customers are nearly unique, so no partial aggregation before the one shuffle (into
    one partition: one output file per datum)."""
    root, _ = fixture_tx
    tx = spark.read.schema(SPARK_INPUT_SCHEMA).parquet(str(root / "shard=00" / "raw-a.parquet"))
    plan = spark_partials(tx, partitions=1)._jdf.queryExecution().executedPlan()
    lines = plan.toString().splitlines()
    exchanges = [i for i, line in enumerate(lines) if "Exchange" in line]
    aggregates = [i for i, line in enumerate(lines) if "HashAggregate" in line]
    assert len(exchanges) == 1 and aggregates, plan.toString()
    assert "Exchange SinglePartition" in lines[exchanges[0]]
    assert max(aggregates) < exchanges[0]  # printed top-down: every aggregate is after it
