"""The Spark side: split, learnability checks, and metrics that agree with Spark's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pyspark.ml.evaluation import BinaryClassificationEvaluator

from pachflow_train import data
from pachflow_train import model as m


@pytest.fixture(scope="module")
def split(spark: Any, features_dir: Path) -> Any:
    df = data.load_split(spark, data.feature_files(features_dir), 0.25, 42, 2)
    yield df
    df.unpersist()


def test_split_is_seeded_and_stratified(spark: Any, features_dir: Path, split: Any) -> None:
    counts = data.class_counts(split)
    again = data.load_split(spark, data.feature_files(features_dir), 0.25, 42, 2)
    assert data.class_counts(again) == counts
    again.unpersist()
    assert counts.rows == 3000
    # Both classes are held out at about the requested share.
    assert 0.15 < counts.test_pos / counts.positives < 0.35
    assert 0.2 < counts.test_neg / (counts.rows - counts.positives) < 0.3


def test_metrics_match_spark_evaluator(split: Any) -> None:
    settings = m.ModelSettings(max_depth=4)
    fitted = m.fit(split.filter(~split[data.IS_TEST]), settings, weighted=False)
    parts = m.evaluate_parts(fitted, split)
    test = fitted.transform(split.filter(split[data.IS_TEST]))
    for metric, ours in (
        ("areaUnderROC", parts["test"].area_under_roc),
        ("areaUnderPR", parts["test"].area_under_pr),
    ):
        spark_value = BinaryClassificationEvaluator(
            labelCol=data.LABEL, rawPredictionCol="probability", metricName=metric
        ).evaluate(test)
        assert ours == pytest.approx(spark_value, abs=1e-6), metric
    assert parts["test"].rows == split.filter(split[data.IS_TEST]).count()
    importances = m.feature_importances(fitted)
    assert sum(importances.values()) == pytest.approx(1.0)
    text = m.tree_text(fitted)
    assert "If (" in text and "feature " not in text  # names, not indices


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (data.ClassCounts(0, 0, 0, 0), "no rows"),
        (data.ClassCounts(0, 80, 0, 20), "all 100 rows have is_fraud = non-fraud"),
        (data.ClassCounts(5, 0, 1, 0), "all 6 rows have is_fraud = fraud"),
        (data.ClassCounts(2, 80, 0, 20), "too few fraud rows"),
    ],
)
def test_unlearnable_data_is_refused(counts: data.ClassCounts, message: str) -> None:
    with pytest.raises(data.BadInput, match=message) as err:
        data.check_learnable(counts, "/pfs/etl", 0.2)
    assert err.value.exit_code == 2


def test_class_weights(split: Any) -> None:
    counts = data.class_counts(split)
    weighted, w = data.with_class_weights(split, counts, "balanced")
    assert w == pytest.approx(counts.train_neg / counts.train_pos)
    row = weighted.filter(weighted[data.LABEL] == 1.0).select(data.WEIGHT).first()
    assert row[0] == pytest.approx(w)
    assert data.with_class_weights(split, counts, "3")[1] == 3.0
