"""The merge every features reader runs: partial rows of a customer over several files
reduce to the features of all its rows, whichever plan the merge picks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pachflow_contracts import FEATURES, PARTIALS
from pachflow_features import (
    features_of_partials,
    plan_merge,
    read_features,
    read_features_table,
)
from pachflow_features import spark as merge
from pachflow_spark import SparkSettings, build_session

pytestmark = pytest.mark.spark


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    yield build_session("pachflow-features-tests", SparkSettings("local[2]", "1g", 2))


def random_partials(customers: list[str], seed: int) -> pd.DataFrame:
    """One partial row per customer, integer-valued money (exact sums in any order), valid
    under the contract (no negative amount, balance or count)."""
    rng = np.random.default_rng(seed)
    n = len(customers)
    frame = {"nameOrig": customers}
    for f in PARTIALS.schema:
        if f.name == "nameOrig":
            continue
        if pa.types.is_floating(f.type):
            low = 0 if f.name in PARTIALS.non_negative else -(10**6)
            frame[f.name] = rng.integers(low, 10**9, n).astype(np.float64)
        else:
            frame[f.name] = rng.integers(0, 5, n)
    frame["n_tx"] = frame["n_tx"] + 10  # at least every counted row
    frame["is_flagged"] = rng.integers(0, 2, n)
    return pd.DataFrame(frame)


def write(path: Path, rows: pd.DataFrame) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(rows, preserve_index=False)
    pq.write_table(table.cast(PARTIALS.stamped_schema()), path)
    return path


def expected(rows: pd.DataFrame) -> pd.DataFrame:
    """Independently: reduce by customer with pandas, then the features' definitions."""
    g = rows.groupby("nameOrig")
    r = pd.DataFrame(
        {
            c: getattr(
                g[c],
                "max"
                if c.endswith("_max") or c in ("last_step", "is_flagged")
                else "min"
                if c == "first_step"
                else "sum",
            )()
            for c in PARTIALS.columns[1:]
        }
    )
    out = pd.DataFrame(index=r.index)
    for c in ("n_tx", "n_cash_out", "n_payment", "n_cash_in", "n_transfer", "n_debit"):
        out[c] = r[c]
    out["amount_mean"] = r.amount_sum / r.n_tx
    out["amount_total"] = r.amount_sum
    out["amount_max"] = r.amount_max
    for c in ("oldbalanceOrg", "newbalanceOrig", "oldbalanceDest", "newbalanceDest"):
        out[f"{c}_mean"] = r[f"{c}_sum"] / r.n_tx
    for c in ("error_balance_orig", "error_balance_dest"):
        out[f"{c}_mean"] = r[f"{c}_sum"] / r.n_tx
        out[f"{c}_max"] = r[f"{c}_max"]
    out["drain_share"] = r.n_drain / r.n_tx
    out["dest_zero_share"] = r.n_dest_zero / r.n_tx
    out["first_step"], out["last_step"] = r.first_step, r.last_step
    out["fraud_tx_count"] = r.fraud_tx_count
    out["is_fraud"] = (r.fraud_tx_count > 0).astype(int)
    out["is_flagged"] = r.is_flagged
    return out[FEATURES.columns[1:]].sort_index()


@pytest.fixture(scope="module")
def layout(tmp_path_factory) -> tuple[list[Path], pd.DataFrame]:
    """Shard 00: a big base file and two deltas overlapping it and each other; shard 01:
    one file; shard 02: an empty file."""
    root = tmp_path_factory.mktemp("etl")
    base = random_partials([f"C{i:04d}" for i in range(400)], seed=1)
    d1 = random_partials([f"C{i:04d}" for i in range(390, 420)], seed=2)
    d2 = random_partials([f"C{i:04d}" for i in range(0, 400, 40)] + ["C0415"], seed=3)
    other = random_partials([f"D{i:04d}" for i in range(50)], seed=4)
    files = [
        write(root / "shard=00" / "a.parquet", base),
        write(root / "shard=00" / "b.parquet", d1),
        write(root / "shard=00" / "c.parquet", d2),
        write(root / "shard=01" / "a.parquet", other),
        write(root / "shard=02" / "a.parquet", other.iloc[:0]),
    ]
    return files, pd.concat([base, d1, d2, other])


def features_of(spark, files: list[Path]) -> pd.DataFrame:
    got = read_features(spark, files).toPandas()
    assert list(got.columns) == FEATURES.columns
    assert got.nameOrig.is_unique  # one row per customer
    return got.set_index("nameOrig").sort_index()


def test_plan_picks_the_largest_file_of_each_shard_as_base(layout):
    files, _ = layout
    plan = plan_merge(files)
    assert [p.parent.name + "/" + p.name for p in plan.base] == [
        "shard=00/a.parquet",
        "shard=01/a.parquet",
    ]
    assert [p.name for p in plan.deltas] == ["b.parquet", "c.parquet"]
    assert (plan.base_rows, plan.delta_rows, plan.how) == (450, 41, "touched")
    assert plan_merge([files[0], files[3]]).how == "none"


@pytest.mark.parametrize("share", [merge.FULL_REDUCE_SHARE, 0.0])  # touched, then full
def test_merged_features_equal_a_reduction_of_every_row(layout, spark, share, monkeypatch):
    files, rows = layout
    monkeypatch.setattr(merge, "FULL_REDUCE_SHARE", share)
    assert plan_merge(files).how == ("touched" if share else "full")
    pd.testing.assert_frame_equal(features_of(spark, files), expected(rows), check_dtype=False)


def test_removing_a_file_removes_exactly_its_contribution(layout, spark):
    files, _ = layout
    without = [f for f in files if f.name != "b.parquet"]
    rows = pd.concat(pq.read_table(f).to_pandas() for f in without)
    pd.testing.assert_frame_equal(features_of(spark, without), expected(rows), check_dtype=False)


def test_untouched_base_rows_are_not_shuffled(layout, spark):
    """Only the deltas' customers are grouped: the base scan feeds a broadcast anti-join,
    so the plan's shuffles carry the deltas and the touched base rows, never all rows."""
    files, _ = layout
    plan = read_features(spark, files)._jdf.queryExecution().executedPlan().toString()
    assert "BroadcastHashJoin" in plan and "LeftAnti" in plan, plan


def test_no_rows_give_an_empty_frame_with_the_features_columns(layout, spark):
    files, _ = layout
    assert read_features(spark, [files[-1]]).columns == FEATURES.columns


def test_arrow_formulas_match_spark_on_one_file(layout, spark):
    files, _ = layout
    arrow = (
        features_of_partials(pq.read_table(files[3])).to_pandas().set_index("nameOrig").sort_index()
    )
    pd.testing.assert_frame_equal(arrow, features_of(spark, [files[3]]), check_dtype=False)


@pytest.mark.parametrize("how", ["none", "touched", "full"])
def test_arrow_reader_gives_sparks_rows(layout, spark, how, monkeypatch):
    """read_features_table (no JVM) returns the rows and values of Spark's read_features
    under each plan, exactly: the money is integer-valued (sums exact in any order) and
    the means divide the same doubles."""
    files, _ = layout
    if how == "none":
        files = [files[0], files[3], files[4]]
    monkeypatch.setattr(merge, "FULL_REDUCE_SHARE", 0.0 if how == "full" else 0.25)
    assert plan_merge(files).how == how
    ours = read_features_table(files)
    assert ours.schema == FEATURES.schema
    theirs = read_features(spark, files).toArrow().sort_by("nameOrig")
    ours = ours.sort_by("nameOrig")
    assert ours.num_rows == theirs.num_rows == len(set(ours["nameOrig"].to_pylist()))
    for name in FEATURES.columns:
        assert ours[name].to_pylist() == theirs[name].to_pylist(), name


def test_arrow_reader_of_no_rows_is_an_empty_features_table(layout):
    files, _ = layout
    assert read_features_table([files[-1]]) == FEATURES.schema.empty_table()
    assert read_features_table([]).schema == FEATURES.schema
