"""The Spark side: split, learnability checks, and metrics that agree with Spark's own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from pyspark.ml.evaluation import BinaryClassificationEvaluator

from pachflow_testing.features import features_table, partials_table, write_features
from pachflow_train import classifier, data, leakage


@pytest.fixture(scope="module")
def split(spark: Any, features_dir: Path) -> Any:
    return data.load_split(spark, data.feature_files(features_dir), 0.25, 42, 2)


def test_split_is_seeded_and_stratified(spark: Any, features_dir: Path, split: Any) -> None:
    counts = data.survey(split).counts
    again = data.load_split(spark, data.feature_files(features_dir), 0.25, 42, 2)
    assert data.survey(again).counts == counts
    assert counts.rows == 3000
    # Both classes are held out at about the requested share.
    assert 0.15 < counts.test_pos / counts.positives < 0.35
    assert 0.2 < counts.test_neg / (counts.rows - counts.positives) < 0.3


def test_metrics_match_spark_evaluator(split: Any) -> None:
    settings = classifier.ModelSettings(max_depth=4)
    fitted = classifier.fit(data.assembled(split.filter(~split[data.IS_TEST])), settings)
    evaluated = classifier.evaluate(fitted, split)
    parts = evaluated.parts
    # one group per held-out customer or a few per part: the same metrics
    assert classifier.evaluate(fitted, split, heldout=False).parts == parts
    heldout = evaluated.heldout.to_pydict()
    test = fitted.transform(split.filter(split[data.IS_TEST]))
    assert sorted(heldout["nameOrig"]) == sorted(
        r[data.HELD_OUT] for r in split.filter(split[data.IS_TEST]).collect()
    )
    for metric, ours in (
        ("areaUnderROC", parts["test"].area_under_roc),
        ("areaUnderPR", parts["test"].area_under_pr),
    ):
        spark_value = BinaryClassificationEvaluator(
            labelCol=data.LABEL, rawPredictionCol="probability", metricName=metric
        ).evaluate(test)
        assert ours == pytest.approx(spark_value, abs=1e-6), metric
    assert parts["test"].rows == split.filter(split[data.IS_TEST]).count()
    importances = classifier.feature_importances(fitted)
    assert sum(importances.values()) == pytest.approx(1.0)
    text = classifier.tree_text(fitted)
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
    counts = data.survey(split).counts
    train = data.training_rows(split, counts, "balanced", 1.0, 42)
    assert train.positive_weight == pytest.approx(counts.train_neg / counts.train_pos)
    assert (train.negative_share, train.negative_weight) == (1.0, 1.0)
    row = train.rows.filter(train.rows[data.LABEL] == 1.0).select(data.WEIGHT).first()
    assert row[0] == pytest.approx(train.positive_weight)
    assert train.rows.count() == counts.train_pos + counts.train_neg
    assert data.training_rows(split, counts, "3", 1.0, 42).positive_weight == 3.0
    assert data.WEIGHT not in data.training_rows(split, counts, "none", 1.0, 42).rows.columns


def test_negative_sampling_keeps_every_fraud_row_and_reweights(split: Any) -> None:
    counts = data.survey(split).counts
    train = data.training_rows(split, counts, "none", 0.2, 42, min_negatives=0)
    assert train.negative_share == 0.2 and train.negative_weight == pytest.approx(5.0)
    by_label = {r[data.LABEL]: r for r in train.rows.groupBy(data.LABEL).count().collect()}
    assert by_label[1.0]["count"] == counts.train_pos  # every fraud row
    kept = by_label[0.0]["count"]
    assert 0.15 * counts.train_neg < kept < 0.25 * counts.train_neg
    # Seeded: the same rows again; weights put the negatives back at their full total.
    assert (
        data.training_rows(split, counts, "none", 0.2, 42, 0).rows.count()
        == kept + counts.train_pos
    )
    weights = dict(train.rows.groupBy(data.LABEL).agg({data.WEIGHT: "sum"}).collect())
    assert weights[0.0] == pytest.approx(counts.train_neg, rel=0.15)
    assert weights[1.0] == counts.train_pos


def test_negative_share_never_goes_below_the_minimum_rows() -> None:
    assert data.negative_share(5_000_000, 0.1, 100_000) == 0.1
    assert data.negative_share(500_000, 0.1, 100_000) == pytest.approx(0.2)  # 100k rows
    assert data.negative_share(80_000, 0.1, 100_000) == 1.0  # small data: every row
    assert data.negative_share(5_000_000, 1.0, 100_000) == 1.0


def test_only_the_training_sample_is_cached(split: Any) -> None:
    """Memory: every customer's prepared row is read from the files by each pass that
    needs it (survey, sample, evaluation) and never held; only what the fit passes over
    many times is cached: the sampled training rows' vectors, labels and weights."""
    from pyspark import StorageLevel

    assert split.storageLevel == StorageLevel.NONE
    counts = data.survey(split).counts
    train = data.training_rows(split, counts, "none", 0.2, 42, min_negatives=0)
    try:
        assert train.rows.storageLevel.useMemory
        assert train.rows.columns == [data.FEATURES_VECTOR, data.LABEL, data.WEIGHT]
    finally:
        train.rows.unpersist()
    assert train.rows.storageLevel == StorageLevel.NONE


def test_fit_uses_the_weights_training_rows_carry(split: Any) -> None:
    counts = data.survey(split).counts
    settings = classifier.ModelSettings(max_depth=2)
    weighted = classifier.fit(data.training_rows(split, counts, "balanced", 1.0, 42).rows, settings)
    assert weighted.stages[-1].getOrDefault("weightCol") == data.WEIGHT
    plain = classifier.fit(data.training_rows(split, counts, "none", 1.0, 42).rows, settings)
    assert not plain.stages[-1].isSet("weightCol")


def test_leakage_check_passes_learnable_features(split: Any) -> None:
    # Overlapping classes (label noise, no rule that decides alone): nothing to warn about.
    assert leakage.perfect_separators(data.survey(split).train_ranges) == []


def test_leakage_check_names_a_feature_that_alone_separates_the_classes(
    spark: Any, tmp_path: Path
) -> None:
    table = features_table(2000, fraud_rate=0.05)
    label = table["is_fraud"].to_numpy()
    i = table.schema.get_field_index("drain_share")
    # fraud customers drain exactly 1.0, the rest never do: one threshold decides alone
    table = table.set_column(i, "drain_share", pa.array(np.where(label == 1, 1.0, 0.4)))
    write_features(tmp_path / "etl", 0, table=partials_table(table))  # as etl writes it
    df = data.load_split(spark, data.feature_files(tmp_path / "etl"), 0.25, 42)
    assert leakage.perfect_separators(data.survey(df).train_ranges) == ["drain_share"]
    assert "drain_share alone separates fraud" in leakage.warning(["drain_share"])


def test_separators_need_non_overlapping_ranges() -> None:
    pos = {"a": leakage.Range(5, 9), "b": leakage.Range(0, 1), "c": leakage.Range(-3, -1)}
    neg = {"a": leakage.Range(0, 4.9), "b": leakage.Range(0, 1), "c": leakage.Range(-1, 2)}
    assert leakage.separators(pos, neg, ("a", "b", "c")) == ["a"]


def _sides(spark: Any, root: Path) -> tuple[dict[int, bool], data.ClassCounts]:
    df = data.load_split(spark, data.feature_files(root), 0.2, 42)
    sides = {r[data.CUSTOMER_HASH]: r[data.IS_TEST] for r in df.collect()}
    return sides, data.survey(df).counts


def test_a_customers_side_is_a_function_of_the_customer(spark: Any, tmp_path: Path) -> None:
    """Data grows (more customers, new rows for old ones, other files): every customer of
    the smaller set stays on its side, so two versions' test parts share their customers;
    the held-out set's digest depends on the customers alone, not on the file layout."""
    base = partials_table(features_table(2000, seed=3, fraud_rate=0.05))
    grown = partials_table(features_table(3000, seed=4, fraud_rate=0.05))  # C0..C1999 again
    write_features(tmp_path / "base", 0, table=base)
    write_features(tmp_path / "base-4-files", 0, table=base, n_files=4)
    write_features(tmp_path / "grown", 0, table=grown, n_files=3)

    before, counts = _sides(spark, tmp_path / "base")
    relaid, relaid_counts = _sides(spark, tmp_path / "base-4-files")
    after, grown_counts = _sides(spark, tmp_path / "grown")

    assert set(before) < set(after)
    assert {h: after[h] for h in before} == before
    assert relaid == before
    assert relaid_counts.test_digest == counts.test_digest
    assert grown_counts.test_digest != counts.test_digest
    held_out = [h for h, is_test in before.items() if is_test]
    assert len(held_out) == counts.test_pos + counts.test_neg
    xor = 0
    for h in held_out:
        xor ^= h
    assert counts.test_digest == f"{xor & (1 << 64) - 1:016x}"
