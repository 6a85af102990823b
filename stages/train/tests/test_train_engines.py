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
    here = arrow_data.training_rows(
        spark, arrow_data.fit_sample(customers, counts, "balanced", **sample)
    )
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


def _partitions(training: data.TrainingRows) -> list[list[tuple]]:
    """The fit's rows partition by partition, in the order the fit sees them."""
    parts = training.rows.rdd.glom().collect()
    training.rows.unpersist()
    row = lambda r: (tuple(r[data.FEATURES_VECTOR]), r[data.LABEL], r[data.WEIGHT])  # noqa: E731
    return [[row(r) for r in part] for part in parts]


@pytest.mark.spark
def test_the_fit_sees_the_same_partitions_from_files_as_from_arrow(
    spark: Any, files: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MLlib draws a tree's split candidates per partition, so the layout decides the
    tree: the sample written as Parquet files (read by a Spark on this machine) reaches
    the fit in the partitions, and the order, createDataFrame gives it (fit_layout). Here
    with 40-row Arrow batches and 100-row partitions, as 10,000 and 200,000 at full size
    (where the sample's ~90 MB are above the size up to which createDataFrame makes a
    local relation instead, split in one slice per core)."""
    monkeypatch.setattr(arrow_data, "ARROW_BATCH_ROWS", 40)
    monkeypatch.setattr(arrow_data, "FIT_ROWS_PER_PARTITION", 100)
    customers = arrow_data.load_split(files, TEST_FRACTION, SEED)
    counts = arrow_data.survey(customers).counts
    sample = arrow_data.fit_sample(customers, counts, "balanced", 0.3, SEED, min_negatives=0)
    assert len(sample.slices) > 2
    # 40-row batches, and one partition each (as above Spark's 48 MB local relation limit)
    arrow_conf = {"maxRecordsPerBatch": "40", "localRelationThreshold": "0"}
    for key, value in arrow_conf.items():
        spark.conf.set(f"spark.sql.execution.arrow.{key}", value)
    try:
        from_arrow = _partitions(arrow_data.training_rows(spark, sample))
    finally:
        for key in arrow_conf:
            spark.conf.unset(f"spark.sql.execution.arrow.{key}")
    written = arrow_data.written(sample, tmp_path / "sample")
    assert written.table is None and len(written.files) == len(sample.slices)
    from_files = _partitions(arrow_data.training_rows(spark, written))
    assert [len(p) for p in from_files] == [b - a for a, b in sample.slices]
    assert from_files == from_arrow


@pytest.mark.spark
def test_the_fit_passes_over_the_rows_only_for_the_tree(spark: Any, files: list) -> None:
    """Every Spark job of the fit is MLlib's tree building (metadata, split candidates,
    one per level): the number of classes comes from the label's declared classes
    (data.LABEL_ATTRIBUTE), not from a max(label) pass over every training row."""
    from pachflow_train import classifier

    customers = arrow_data.load_split(files, TEST_FRACTION, SEED)
    counts = arrow_data.survey(customers).counts
    sample = arrow_data.fit_sample(customers, counts, "balanced", 0.5, SEED, min_negatives=0)
    train = arrow_data.training_rows(spark, sample)
    train.rows.count()  # the cache, built outside the fit
    sc = spark.sparkContext
    sc.setJobGroup("fit-jobs", "the fit's own jobs")
    try:
        classifier.fit(train.rows, classifier.ModelSettings(max_depth=3))
    finally:
        sc.setLocalProperty("spark.jobGroup.id", None)
        train.rows.unpersist()
    tracker = sc.statusTracker()
    infos = [
        tracker.getStageInfo(stage)
        for job in tracker.getJobIdsForGroup("fit-jobs")
        for stage in tracker.getJobInfo(job).stageIds
    ]
    stages = [info.name for info in infos if info is not None]
    assert stages
    tree_code = ("DecisionTreeMetadata.scala", "RandomForest.scala")
    assert all(any(c in s for c in tree_code) for s in stages), stages


@pytest.mark.parametrize(
    ("master", "model_staging", "as_files"),
    [
        ("local[2]", None, True),
        ("sc://127.0.0.1:15002", None, True),  # `pachflow run --spark engine`
        ("spark://localhost:7077", None, True),  # `pachflow spark up`
        ("sc://127.0.0.1:15002", "s3a://models/staging", False),
        ("sc://spark.example:15002", None, False),
        ("k8s://https://10.0.0.1:6443", None, False),
    ],
)
def test_the_sample_goes_as_files_only_to_a_spark_on_this_machine(
    master: str, model_staging: str | None, as_files: bool
) -> None:
    from pachflow_spark import SparkSettings
    from pachflow_train.run import reads_local_files

    assert reads_local_files(SparkSettings(master), model_staging) is as_files


def test_the_fit_layout_is_train_0_6_4s() -> None:
    """createDataFrame's 10,000-row batches coalesced into ceil(rows / 200,000) runs."""
    assert arrow_data.fit_layout(513_803) == (
        (0, 170_000),
        (170_000, 340_000),
        (340_000, 513_803),
    )
    assert arrow_data.fit_layout(150_000) == ((0, 150_000),)
    assert arrow_data.fit_layout(0) == ((0, 0),)


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
