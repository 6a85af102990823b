"""The fit's negative sample is a hash of the customer (pachflow_train.data.sampled_column): Spark's
Column and the numpy mask keep the same customers, whatever the partition layout or the
other customers, and every fraud row."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from pachflow_contracts import ID_COLUMN, LABEL_COLUMN
from pachflow_testing.features import features_table
from pachflow_train import data
from pachflow_train.data import sample_rule, sampled_column, sampled_mask

SHARE, SEED = 0.3, 42


@pytest.fixture(scope="module")
def table() -> pa.Table:
    """8,000 customers, ~5 % fraud."""
    return features_table(8000, seed=11, fraud_rate=0.05)


def kept_by_spark(spark: Any, table: pa.Table, partitions: int = 2) -> set[str]:
    rows = data.prepare(spark.createDataFrame(table).repartition(partitions), 0.0, SEED)
    kept = rows.filter(sampled_column(SHARE, SEED)).select(ID_COLUMN).collect()
    return {r[0] for r in kept}


def kept_by_numpy(table: pa.Table) -> set[str]:
    mask = sampled_mask(table[ID_COLUMN], table[LABEL_COLUMN].to_numpy(), SHARE, SEED)
    return set(np.asarray(table[ID_COLUMN].to_pylist())[mask].tolist())


def test_spark_and_numpy_keep_the_same_customers(spark: Any, table: pa.Table) -> None:
    """Half of Spark's hashes are negative longs: shifted as signed they would draw a
    negative uniform and keep every such customer (~65 % kept, not ~30 %)."""
    ours, theirs = kept_by_numpy(table), kept_by_spark(spark, table)
    assert ours == theirs
    fraud = set(table.filter(pc.equal(table[LABEL_COLUMN], 1))[ID_COLUMN].to_pylist())
    assert fraud <= ours  # every fraud row
    negatives = table.num_rows - len(fraud)
    assert 0.27 < len(ours - fraud) / negatives < 0.33


def test_membership_depends_on_the_customer_alone(spark: Any, table: pa.Table) -> None:
    """Adding customers, or another partition layout, changes no customer's membership."""
    first = table.slice(0, 3000)
    few = kept_by_spark(spark, first, partitions=1)
    assert kept_by_spark(spark, table, partitions=7) & set(first[ID_COLUMN].to_pylist()) == few
    assert kept_by_numpy(table) & set(first[ID_COLUMN].to_pylist()) == kept_by_numpy(first)


def test_training_rows_are_the_sampled_customers(spark: Any, table: pa.Table) -> None:
    """train's fit rows (training part, share 0.3) are exactly the rule's rows."""
    split = data.prepare(spark.createDataFrame(table), 0.25, SEED)
    counts = data.survey(split, ranges=False).counts
    train = data.training_rows(split, counts, "none", SHARE, SEED, min_negatives=0)
    try:
        amounts = sorted(
            r[0][list(data.MODEL_INPUTS).index("amount_total")]
            for r in train.rows.select(data.FEATURES_VECTOR).collect()
        )
    finally:
        train.rows.unpersist()
    held = {r[0] for r in split.filter(split[data.IS_TEST]).select(ID_COLUMN).collect()}
    kept = kept_by_numpy(table) - held
    expected = table.filter(pc.is_in(table[ID_COLUMN], pa.array(sorted(kept))))
    assert amounts == sorted(expected["amount_total"].to_pylist())


def test_share_one_keeps_every_row_and_the_rule_names_its_seed() -> None:
    ids = pa.array(["C1", "C2", "C3"])
    assert sampled_mask(ids, np.zeros(3), 1.0, SEED).all()
    assert not sampled_mask(ids, np.zeros(3), 0.0, SEED).any()
    assert sampled_mask(ids, np.ones(3), 0.0, SEED).all()
    assert sample_rule(0.1, 42) == "label = 1 or (xxhash64(nameOrig, 43) >>> 11) / 2^53 < 0.1"
