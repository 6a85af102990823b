"""A saved tree model scored with numpy gives every row Spark's score and prediction:
exactly, not within a tolerance. The models are fitted as train fits them (VectorAssembler
of MODEL_INPUTS, then the tree classifier, on weighted rows: leaf stats that are not
counts); train's own fit is tested with them in stages/train (evaluate_arrays)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from pachflow_contracts import LABEL_COLUMN, MODEL_INPUTS
from pachflow_features.saved_trees import SavedTrees, spark_round
from pachflow_features.scores import fraud_score
from pachflow_spark import SparkSettings, build_session
from pachflow_testing.features import features_table

pytestmark = pytest.mark.spark

SCORE = "score"
PREDICTION = "prediction"
COLUMNS = [*MODEL_INPUTS, SCORE, PREDICTION]


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    yield build_session("pachflow-features-tests", SparkSettings("local[2]", "1g", 2))


@pytest.fixture(scope="module")
def split(spark: Any) -> Any:
    """3000 customers, ~5 % fraud, with a label and balanced weights (as train's
    `training_rows` gives them: negatives / positives on each fraud row)."""
    from pyspark.sql import functions as F

    table = features_table(3000, fraud_rate=0.05)
    positives = int(pa.compute.sum(table[LABEL_COLUMN]).as_py())
    balance = (table.num_rows - positives) / positives
    df = spark.createDataFrame(table.to_pandas())
    label = F.col(LABEL_COLUMN).cast("double")
    return (
        df.withColumn("label", label)
        .withColumn("weight", F.when(label > 0, F.lit(balance)).otherwise(F.lit(1.0)))
        .cache()
    )


def saved(split: Any, tmp: Path, name: str) -> tuple[Any, Path]:
    """A tree model as train composes it, saved as train saves OUTPUT_DIR/model."""
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import (
        DecisionTreeClassifier,
        GBTClassifier,
        RandomForestClassifier,
    )
    from pyspark.ml.feature import VectorAssembler

    common = {"labelCol": "label", "weightCol": "weight", "maxDepth": 4, "seed": 42}
    classifier = {
        "decision_tree": lambda: DecisionTreeClassifier(**common),
        "random_forest": lambda: RandomForestClassifier(numTrees=4, **common),
        "gbt": lambda: GBTClassifier(maxIter=3, **common),
    }[name]()
    assembler = VectorAssembler(inputCols=list(MODEL_INPUTS), outputCol="features")
    model = Pipeline(stages=[assembler, classifier]).fit(split)
    model.write().save(str(tmp / "model"))
    return model, tmp / "model"


def scores(model: Any, rows: Any) -> Any:
    """Spark's transform with the fraud score as column SCORE (as train and scoring)."""
    return model.transform(rows).withColumn(SCORE, fraud_score())


def spark_scores(spark: Any, model: Any, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spark's SCORE and PREDICTION of the rows of `x` (MODEL_INPUTS as doubles)."""
    table = pa.table({"row": np.arange(len(x)), **{c: x[:, i] for i, c in enumerate(MODEL_INPUTS)}})
    out = scores(model, spark.createDataFrame(table.to_pandas()))
    got = out.select("row", SCORE, PREDICTION).toArrow().sort_by("row")
    return got[SCORE].to_numpy(), got[PREDICTION].to_numpy()


def inputs(rows: pa.Table) -> np.ndarray:
    return np.column_stack([rows[c].to_numpy().astype(np.float64) for c in MODEL_INPUTS])


def at_thresholds(trees: SavedTrees, base: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For every split, the `base` rows with its feature set to its threshold, and to the
    next double above it."""
    at, above = [], []
    for tree in trees.trees:
        for node in tree.splits:
            f, t = tree.feature[node], tree.threshold[node]
            rows = base.copy()
            rows[:, f] = t
            at.append(rows.copy())
            rows[:, f] = np.nextafter(t, np.inf)
            above.append(rows)
    return np.concatenate(at), np.concatenate(above)


@pytest.mark.parametrize("name", ["decision_tree", "random_forest"])
def test_saved_trees_score_every_row_as_spark(
    spark: Any, split: Any, tmp_path: Path, name: str
) -> None:
    model, path = saved(split, tmp_path, name)
    trees = SavedTrees.load(path)
    assert len(trees.trees) == (4 if name == "random_forest" else 1)
    rows = scores(model, split).select(*COLUMNS).toArrow()
    x = inputs(rows)
    score, prediction = trees.score(x)
    assert np.array_equal(score, rows[SCORE].to_numpy())
    assert np.array_equal(prediction, rows[PREDICTION].to_numpy())
    assert len(np.unique(score)) > 2 and set(np.unique(prediction)) == {0.0, 1.0}
    # the columns as read (int64, int32, double), never one matrix: the same outputs
    by_columns = trees.score_columns([rows[c].to_numpy() for c in MODEL_INPUTS])
    assert np.array_equal(by_columns[0], score) and np.array_equal(by_columns[1], prediction)
    assert [len(a) for a in trees.score(x[:0])] == [0, 0]
    nan = x[:3].copy()
    nan[1, 2] = np.nan
    with pytest.raises(ValueError, match="NaN among the model inputs"):
        trees.score(nan)  # Spark's assembler refuses NaN; a walk would send it right

    # Rows exactly at each split's threshold (Spark sends them left), and just above it.
    at, above = at_thresholds(trees, x[:40])
    spark_at, spark_above = spark_scores(spark, model, at), spark_scores(spark, model, above)
    ours_at, ours_above = trees.score(at), trees.score(above)
    for ours, theirs in ((ours_at, spark_at), (ours_above, spark_above)):
        assert np.array_equal(ours[0], theirs[0]) and np.array_equal(ours[1], theirs[1])
    # ...and the threshold decides some of them: `<` instead of `<=` would fail above.
    assert (spark_at[0] != spark_above[0]).any()


def test_spark_round_is_sparks_at_every_half(spark: Any) -> None:
    """Spark rounds HALF_UP through the double's decimal string: every k/10^4 + 1/2 10^-4
    in [0, 1] and the doubles around it, plus random values, as Spark's round."""
    from pyspark.sql import functions as F

    halves = (2 * np.arange(10_000) + 1) / 20_000
    near = [halves]
    for steps in (1, 2):
        for direction in (np.inf, -np.inf):
            moved = halves
            for _ in range(steps):
                moved = np.nextafter(moved, direction)
            near.append(moved)
    values = np.concatenate([*near, np.random.default_rng(3).random(10_000), [0.0, 1.0]])
    df = spark.createDataFrame(pa.table({"row": np.arange(len(values)), "v": values}).to_pandas())
    got = df.select("row", F.round("v", 4).alias("r")).toArrow().sort_by("row")
    assert np.array_equal(spark_round(values), got["r"].to_numpy())
    assert spark_round(np.array([0.00005]))[0] == 0.0001  # HALF_UP, not to even


def test_gbt_is_left_to_spark(split: Any, tmp_path: Path) -> None:
    _, path = saved(split, tmp_path, "gbt")
    with pytest.raises(NotImplementedError, match="GBTClassificationModel"):
        SavedTrees.load(path)


def test_a_directory_that_is_not_a_saved_tree_model_is_named(split: Any, tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=re.escape(f"{tmp_path / 'nothing' / 'metadata'}: expected one")
    ):
        SavedTrees.load(tmp_path / "nothing")
    _, path = saved(split, tmp_path, "decision_tree")
    stage = next((path / "stages").glob("1_*"))

    (data_file,) = (stage / "data").glob("part-*.parquet")
    original = data_file.read_bytes()
    data_file.write_bytes(b"not parquet")
    with pytest.raises(
        ValueError, match=re.escape(f"{data_file}: not a Parquet file of tree nodes")
    ):
        SavedTrees.load(path)
    data_file.write_bytes(original)

    (meta_file,) = (stage / "metadata").glob("part-*")
    meta = json.loads(meta_file.read_text())
    meta_file.write_text(json.dumps(meta | {"class": "org.example.SomeModel"}))
    with pytest.raises(
        ValueError, match=re.escape(f"{meta_file}: expected ") + ".*found 'org.example"
    ):
        SavedTrees.load(path)

    shutil.rmtree(stage / "data")
    meta_file.write_text(json.dumps(meta))
    with pytest.raises(ValueError, match=re.escape(f"{stage / 'data'}: expected the tree's nodes")):
        SavedTrees.load(path)
