"""train's two data engines hold out, survey, sample and evaluate the same customers: the
Arrow engine (pachflow_train.arrow_data: partials merged with pyarrow, numpy, the saved
tree scored here) and the Spark engine (pachflow_train.data: every pass a Spark job).
Whichever holds the data, the model, its metrics and its held-out scores are the same."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from pachflow_contracts import MODEL_INPUTS
from pachflow_contracts.heldout_scores import HELDOUT_SCORES
from pachflow_testing.features import features_table, partials_table, write_features
from pachflow_train import arrow_data, data
from pachflow_train.engine import ARROW, SPARK, choose_engine

TEST_FRACTION, SEED = 0.2, 42
TIMINGS = {"fit_seconds", "evaluate_seconds"}


@pytest.fixture(scope="module")
def merged_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two shards and a delta file in one of them: customers whose partials are merged."""
    root = tmp_path_factory.mktemp("engines") / "etl"
    write_features(root, 1500, fraud_rate=0.05, n_files=2)
    delta = partials_table(features_table(60, seed=9, fraud_rate=0.1))
    pq.write_table(delta, root / "shard=00" / "part-1.parquet")
    return root


@pytest.fixture(params=["plain", "merged"])
def files(request: pytest.FixtureRequest, features_dir: Path, merged_tree: Path) -> list:
    return data.feature_files(features_dir if request.param == "plain" else merged_tree)


@pytest.mark.spark
def test_both_engines_survey_the_same_customers(spark: Any, files: list) -> None:
    """Counts per part and class, the held-out set's digest and the leakage ranges."""
    customers = arrow_data.load_split(files, TEST_FRACTION, SEED)
    in_spark = data.survey(data.load_split(spark, files, TEST_FRACTION, SEED))
    assert arrow_data.survey(customers) == in_spark
    assert in_spark.counts.test_pos > 0 and in_spark.counts.train_pos > 0


def _rows(training: data.TrainingRows) -> list[tuple]:
    collected = training.rows.collect()
    training.rows.unpersist()
    return sorted(
        (tuple(r[data.FEATURES_VECTOR]), r[data.LABEL], r[data.WEIGHT]) for r in collected
    )


@pytest.mark.spark
def test_both_engines_fit_on_the_same_rows_with_the_same_weights(spark: Any, files: list) -> None:
    customers = arrow_data.load_split(files, TEST_FRACTION, SEED)
    counts = arrow_data.survey(customers).counts
    sample: dict[str, Any] = {"negative_fraction": 0.3, "seed": SEED, "min_negatives": 50}
    here = arrow_data.training_rows(spark, customers, counts, "balanced", **sample)
    df = data.load_split(spark, files, TEST_FRACTION, SEED)
    there = data.training_rows(df, counts, "balanced", **sample)
    assert here.negative_share == there.negative_share < 1
    assert (here.positive_weight, here.negative_weight) == (
        there.positive_weight,
        there.negative_weight,
    )
    rows = _rows(here)
    assert rows == _rows(there)
    assert counts.train_pos < len(rows) < counts.train_pos + counts.train_neg


def test_the_engine_is_chosen_by_the_partials_size() -> None:
    assert choose_engine(100, 100).engine == ARROW
    assert choose_engine(101, 100).engine == SPARK
    off = choose_engine(1, 0)
    assert off.engine == SPARK and "--arrow-max-bytes 0" in off.reason
    assert "too large" in choose_engine(101, 100).reason
    assert choose_engine(1, 100, "random_forest").engine == ARROW
    gbt = choose_engine(1, 100, "gbt")
    assert gbt.engine == SPARK and "scored by Spark" in gbt.reason


@pytest.mark.spark
def test_a_run_on_either_engine_gives_the_same_model_metrics_and_scores(
    merged_tree: Path, tmp_path: Path, mlflow_tracking_uri: str, train: Any
) -> None:
    runs = {}
    for engine, extra in ((ARROW, ()), (SPARK, ("--arrow-max-bytes", "0"))):
        out = tmp_path / engine
        done = train.run(merged_tree, out, mlflow_tracking_uri, train.env(), *extra)
        assert done.exit_code == 0, done.result.output
        assert f"data in {engine}: " in done.result.output
        manifest = json.loads((out / "run.json").read_text())
        metrics = {k: v for k, v in manifest["metrics"].items() if k not in TIMINGS}
        scores = pq.read_table(out / HELDOUT_SCORES).sort_by("nameOrig")
        nodes = sorted((out / "model" / "stages").glob("1_*/data/*.parquet"))
        tree = pq.read_table(nodes[0]).sort_by("id").to_pylist()
        runs[engine] = (metrics, scores, tree, manifest["holdout"])
    assert runs[ARROW][0] == runs[SPARK][0]
    assert runs[ARROW][1].equals(runs[SPARK][1])
    assert runs[ARROW][2] == runs[SPARK][2]
    assert runs[ARROW][3] == runs[SPARK][3]
    assert runs[ARROW][0]["test_rows"] == len(runs[ARROW][1]) > 0
    assert len(MODEL_INPUTS) == len([k for k in runs[ARROW][0] if k.startswith("importance.")])
