"""Feature values: etl's Spark output against an independent pandas computation."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from pachflow_contracts import FEATURES
from pachflow_etl.features import customer_features
from pachflow_etl.inputs import discover
from pachflow_etl.job import _partitioned_base, read_transactions, run

pytestmark = pytest.mark.spark


def read_output(out: Path) -> dict[str, pd.DataFrame]:
    """Output shard dir name -> its rows (all files of the shard), indexed by nameOrig."""
    shards = {}
    for shard_dir in sorted(out.iterdir()):
        files = sorted(shard_dir.glob("part-*.parquet"))
        assert files, f"{shard_dir} holds no part-*.parquet file"
        frames = [pq.read_table(f).to_pandas() for f in files]
        shards[shard_dir.name] = pd.concat(frames).set_index("nameOrig").sort_index()
    return shards


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
    return root, {"shard=00": pd.concat([a, b]), "shard=01": extreme, "shard=02": extreme[:0]}


@pytest.fixture(scope="module")
def features_dir(fixture_tx, spark, tmp_path_factory) -> Path:
    root, _ = fixture_tx
    out = tmp_path_factory.mktemp("etl") / "out"
    run(root, out, lambda: spark, shuffle_partitions=2)
    return out


@pytest.fixture(scope="module")
def features_out(features_dir) -> dict[str, pd.DataFrame]:
    return read_output(features_dir)


def test_one_output_dir_per_input_shard(features_out):
    assert sorted(features_out) == ["shard=00", "shard=01", "shard=02"]


@pytest.mark.parametrize("shard", ["shard=00", "shard=01"])
def test_features_match_pandas(fixture_tx, features_out, expected, shard):
    want = expected(fixture_tx[1][shard])
    got = features_out[shard]
    assert list(got.columns) == FEATURES.columns[1:]
    assert list(got.index) == list(want.index)  # one row per customer, no more, no less
    pd.testing.assert_frame_equal(
        got, want, check_dtype=False, check_exact=False, rtol=1e-12, atol=1e-6
    )


def test_customer_spread_over_two_files_is_one_row(fixture_tx, features_out):
    tx = fixture_tx[1]["shard=00"]
    counts = tx.groupby("nameOrig").size()
    spread = [
        c
        for c in counts.index
        if c in set(tx.iloc[:120].nameOrig) and c in set(tx.iloc[120:].nameOrig)
    ]
    assert spread, "fixture must have customers in both source files"
    for customer in spread:
        assert features_out["shard=00"].loc[customer, "n_tx"] == counts[customer]


def test_extreme_values(features_out):
    got = features_out["shard=01"]
    assert got.loc["C900", "amount_total"] == 1e8 + 92_445_516.64
    assert got.loc["C900", "drain_share"] == 0.5  # 1e8 drained; the 0-balance cash-out not
    assert got.loc["C900", "is_fraud"] == 1 and got.loc["C900", "is_flagged"] == 1
    assert got.loc["C901", "dest_zero_share"] == 0.5
    assert got.loc["C901", "error_balance_orig_max"] == 2e8  # CASH_IN: 1e8 + 1e8 - 0
    assert (got.loc["C900", "first_step"], got.loc["C900", "last_step"]) == (1, 743)


def test_empty_shard_gives_empty_file_with_the_schema(features_out):
    assert len(features_out["shard=02"]) == 0


def test_every_output_file_has_the_contract_types(features_dir):
    files = sorted(features_dir.rglob("*.parquet"))
    assert len(files) >= 3
    assert len(list((features_dir / "shard=00").iterdir())) <= 2  # <= shuffle partitions
    for path in files:
        FEATURES.check_file(path)
        found = pq.read_schema(path)
        assert [(f.name, f.type) for f in found] == [(f.name, f.type) for f in FEATURES.schema]
    assert not [p for p in features_dir.rglob("*") if p.name.startswith((".", "_"))]


def test_split_layout_is_read_as_one_partitioned_scan(fixture_tx, tmp_path):
    """Files directly in `shard=NN/` (split's layout, whole repo or one-shard datum): one
    scan with `shard` from the path. Anything else: one scan per shard."""
    root, _ = fixture_tx
    assert _partitioned_base(discover(root)) == root
    assert _partitioned_base(discover(root / "shard=01")) == root
    nested = tmp_path / "split" / "shard=01" / "deeper"
    nested.mkdir(parents=True)
    shutil.copy(root / "shard=01" / "raw-a.parquet", nested)
    assert _partitioned_base(discover(tmp_path / "split")) is None


def test_split_layout_plans_one_scan_and_others_a_union(fixture_tx, spark, tmp_path):
    root, _ = fixture_tx
    one_scan = read_transactions(spark, [s for s in discover(root) if s.rows])
    assert "Union" not in one_scan._jdf.queryExecution().optimizedPlan().toString()
    assert sorted(r.shard for r in one_scan.select("shard").distinct().collect()) == ["00", "01"]
    for f in root.rglob("*.parquet"):
        dest = tmp_path / "split" / f.parent.name / "deeper" / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dest)
    nested = [s for s in discover(tmp_path / "split") if s.rows]
    assert (
        "Union" in read_transactions(spark, nested)._jdf.queryExecution().optimizedPlan().toString()
    )


def test_input_rows_are_shuffled_by_customer_and_aggregated_once_there(fixture_tx, spark):
    """Customers are nearly unique, so no partial aggregation before the one shuffle: it
    would send 24 aggregation buffers per row instead of the input columns."""
    root, _ = fixture_tx
    tx = read_transactions(spark, [s for s in discover(root) if s.rows])
    plan = customer_features(tx, ("shard",), partitions=3)._jdf.queryExecution().executedPlan()
    lines = plan.toString().splitlines()
    exchanges = [i for i, line in enumerate(lines) if "Exchange" in line]
    aggregates = [i for i, line in enumerate(lines) if "HashAggregate" in line]
    assert len(exchanges) == 1 and aggregates, plan.toString()
    assert "hashpartitioning(shard#" in lines[exchanges[0]] and ", 3)" in lines[exchanges[0]]
    assert max(aggregates) < exchanges[0]  # printed top-down: every aggregate is after it


def test_other_layouts_give_the_same_features(fixture_tx, features_out, spark, tmp_path):
    """Files one level deeper than their shard directory take the one-scan-per-shard path;
    the features must not depend on which path read them."""
    root, _ = fixture_tx
    nested = tmp_path / "split"
    for f in root.rglob("*.parquet"):
        dest = nested / f.parent.name / "deeper" / f.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(f, dest)
    run(nested, tmp_path / "out", lambda: spark, shuffle_partitions=2)
    got = read_output(tmp_path / "out")
    assert sorted(got) == sorted(features_out)
    for name, frame in got.items():
        pd.testing.assert_frame_equal(frame, features_out[name])
