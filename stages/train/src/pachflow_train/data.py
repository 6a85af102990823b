"""Reading etl's features, checking them, and the stratified seeded train/test split."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow_contracts import FEATURES, LABEL_COLUMN, MODEL_INPUTS, ContractError
from pachflow_stagekit import BadInput, find_files

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

LABEL = "label"  # the label as double, as Spark ML wants it
WEIGHT = "weight"
IS_TEST = "is_test"
MIN_POSITIVES_PER_PART = 1


@dataclass(frozen=True)
class ClassCounts:
    """Rows per class in each part of the split."""

    train_pos: int
    train_neg: int
    test_pos: int
    test_neg: int

    @property
    def rows(self) -> int:
        return self.train_pos + self.train_neg + self.test_pos + self.test_neg

    @property
    def positives(self) -> int:
        return self.train_pos + self.test_pos


def feature_files(input_dir: str | Path) -> list[Path]:
    """Every Parquet file under INPUT_DIR, each checked against `features` v1 (exit 2)."""
    files = find_files(input_dir, [".parquet"], "features Parquet files (etl's output)")
    try:
        FEATURES.check_files(files)
    except ContractError as exc:
        raise BadInput(str(exc)) from exc
    return files


def load_split(
    spark: SparkSession,
    files: list[Path],
    test_fraction: float,
    seed: int,
    partitions: int | None = None,
) -> DataFrame:
    """The model inputs, the label as double and a seeded `is_test` flag, cached.

    The flag is a Bernoulli draw per row with the same probability in both classes, i.e.
    a stratified split in expectation (like DataFrame.sampleBy), deterministic for a given
    seed and input (files and `partitions`). Only the model inputs are cached (columnar,
    compressed): training and scoring then never read Parquet again.
    """
    from pyspark.sql import functions as F

    df = spark.read.parquet(*(str(p) for p in files)).select(
        *MODEL_INPUTS,
        F.col(LABEL_COLUMN).cast("double").alias(LABEL),
        (F.rand(seed) < F.lit(test_fraction)).alias(IS_TEST),
    )
    # Parquet splits (128 MB) already give every core work on full-size data; a repartition
    # would shuffle every row once more, so it is done only when asked for.
    if partitions is not None:
        df = df.repartition(partitions)
    return df.cache()


def class_counts(df: DataFrame) -> ClassCounts:
    """One pass (it also fills the cache): rows per (part, class)."""
    got = {
        (r[IS_TEST], int(r[LABEL])): r["count"]
        for r in df.groupBy(IS_TEST, LABEL).count().collect()
    }
    return ClassCounts(
        train_pos=got.get((False, 1), 0),
        train_neg=sum(v for (t, y), v in got.items() if not t and y != 1),
        test_pos=got.get((True, 1), 0),
        test_neg=sum(v for (t, y), v in got.items() if t and y != 1),
    )


def check_learnable(counts: ClassCounts, where: str, test_fraction: float) -> None:
    """Refuse (exit 2) data a classifier cannot be fitted and evaluated on."""
    if counts.rows == 0:
        raise BadInput(f"{where}: no rows in the features files (expected customers to learn from)")
    negatives = counts.rows - counts.positives
    if counts.positives == 0 or negatives == 0:
        only = "non-fraud (0)" if counts.positives == 0 else "fraud (1)"
        raise BadInput(
            f"{where}: all {counts.rows} rows have {LABEL_COLUMN} = {only}; "
            "expected both classes to learn from"
        )
    if min(counts.train_pos, counts.test_pos) < MIN_POSITIVES_PER_PART:
        needed = math.ceil(MIN_POSITIVES_PER_PART / min(test_fraction, 1 - test_fraction))
        raise BadInput(
            f"{where}: too few fraud rows for a train/test split: {counts.positives} in total, "
            f"{counts.train_pos} in train and {counts.test_pos} in test with --test-fraction "
            f"{test_fraction}; expected at least one in each part (about {needed}+ in total)"
        )


def with_class_weights(df: DataFrame, counts: ClassCounts, mode: str) -> tuple[DataFrame, float]:
    """Add the instance-weight column; returns (df, weight of a positive row).

    `balanced`: positives weigh negatives/positives of the training part (so both classes
    carry equal total weight); `none`: all 1; a number: that weight for positives.
    """
    from pyspark.sql import functions as F

    if mode == "none":
        pos_weight = 1.0
    elif mode == "balanced":
        pos_weight = counts.train_neg / max(counts.train_pos, 1)
    else:
        pos_weight = float(mode)
    weight = F.when(F.col(LABEL) == 1.0, F.lit(pos_weight)).otherwise(F.lit(1.0))
    return df.withColumn(WEIGHT, weight), pos_weight
