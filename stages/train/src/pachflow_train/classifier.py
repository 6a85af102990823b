"""The Spark ML model: VectorAssembler(MODEL_INPUTS) -> a tree classifier, as one
PipelineModel that scores raw feature columns."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from pachflow_contracts import MODEL_INPUTS
from pachflow_features.scores import fraud_score
from pachflow_train.data import FEATURES_VECTOR, HELD_OUT, IS_TEST, LABEL, WEIGHT, assembler
from pachflow_train.evaluate import Evaluation, evaluate_counts

if TYPE_CHECKING:
    import pyarrow as pa
    from pyspark.ml import PipelineModel
    from pyspark.ml.classification import (
        DecisionTreeClassificationModel,
        GBTClassificationModel,
        RandomForestClassificationModel,
    )
    from pyspark.sql import DataFrame

    FittedTrees = (
        DecisionTreeClassificationModel | RandomForestClassificationModel | GBTClassificationModel
    )

CLASSIFIERS = ("decision_tree", "random_forest", "gbt")
IMPURITIES = ("gini", "entropy")


@dataclass(frozen=True)
class ModelSettings:
    """What the CLI options set; logged as MLflow params."""

    classifier: str = "decision_tree"
    max_depth: int = 5
    max_bins: int = 32
    min_instances_per_node: int = 1
    impurity: str = "gini"
    num_trees: int = 20
    max_iter: int = 20
    seed: int = 42
    test_fraction: float = 0.2
    class_weight: str = "none"
    negative_fraction: float = 0.1

    def params(self) -> dict[str, Any]:
        params = asdict(self)
        if self.classifier != "random_forest":
            params.pop("num_trees")
        if self.classifier != "gbt":
            params.pop("max_iter")
        else:
            params.pop("impurity")  # GBT fits regression trees: impurity is fixed
        return params


def build_classifier(s: ModelSettings, weighted: bool) -> Any:
    from pyspark.ml.classification import (
        DecisionTreeClassifier,
        GBTClassifier,
        RandomForestClassifier,
    )

    common: dict[str, Any] = {
        "featuresCol": FEATURES_VECTOR,
        "labelCol": LABEL,
        "maxDepth": s.max_depth,
        "maxBins": s.max_bins,
        "minInstancesPerNode": s.min_instances_per_node,
        "seed": s.seed,
    }
    if weighted:
        common["weightCol"] = WEIGHT
    if s.classifier == "decision_tree":
        return DecisionTreeClassifier(impurity=s.impurity, **common)
    if s.classifier == "random_forest":
        return RandomForestClassifier(impurity=s.impurity, numTrees=s.num_trees, **common)
    return GBTClassifier(maxIter=s.max_iter, **common)


def fit(train: DataFrame, s: ModelSettings) -> PipelineModel:
    """Fit the classifier on already assembled rows (`data.prepare`), with their WEIGHT
    column as instance weights when they have one (`data.training_rows`); return it behind
    the assembler, so the model scores raw MODEL_INPUTS columns (MLflow, OUTPUT_DIR/model)."""
    from pyspark.ml import PipelineModel

    classifier = build_classifier(s, weighted=WEIGHT in train.columns)
    return PipelineModel(stages=[assembler(), classifier.fit(train)])


SCORE = "score"
PREDICTION = "prediction"  # the classifier's own column: 1.0 predicted fraud


def scores(model: PipelineModel, rows: DataFrame) -> DataFrame:
    """Rows with MODEL_INPUTS columns (`data.prepare`, features) with the model's fraud
    score as column SCORE: what evaluation groups, and what scoring must reproduce."""
    return model.transform(rows).withColumn(SCORE, fraud_score())


@dataclass(frozen=True)
class Evaluated:
    """Both parts' metrics, and each held-out customer's score (None when not asked for)."""

    parts: dict[str, Evaluation]  # "test", "train"
    heldout: Any  # pyarrow Table with pachflow_contracts.heldout_scores.COLUMNS, or None


def evaluate(model: PipelineModel, df: DataFrame, heldout: bool = True) -> Evaluated:
    """One Spark pass scores every `data.prepare`d row; only small groups reach the
    driver: (part, score, label) with their counts, and with `heldout` each held-out
    customer's own group (its name, score, label and prediction: HELD_OUT is null on the
    training rows, which still collapse into a few groups). Every metric is computed
    exactly from them (evaluate_counts)."""
    import pyarrow.compute as pc

    from pachflow_contracts import heldout_scores as hs

    keys = [IS_TEST, SCORE, LABEL] + ([HELD_OUT, PREDICTION] if heldout else [])
    groups = scores(model, df).groupBy(*keys).count().toArrow()
    parts = {}
    for part, is_test in (("test", True), ("train", False)):
        mine = groups.filter(pc.equal(groups[IS_TEST], is_test))
        parts[part] = evaluate_counts(
            mine[SCORE].to_numpy(), mine[LABEL].to_numpy(), mine["count"].to_numpy()
        )
    if not heldout:
        return Evaluated(parts, None)
    held = groups.filter(groups[IS_TEST]).select([HELD_OUT, LABEL, SCORE, PREDICTION])
    return Evaluated(parts, held.rename_columns(list(hs.COLUMNS)))


def evaluate_arrays(
    score: np.ndarray,
    label: np.ndarray,
    is_test: np.ndarray,
    held_out_ids: pa.Array,
    prediction: np.ndarray,
) -> Evaluated:
    """`evaluate` of rows held as arrays (scored by pachflow_features.saved_trees): each part's
    rows grouped by (score, label) and counted, its metrics from those groups
    (evaluate_counts), and the held-out table; `held_out_ids` names the `is_test` rows, in
    row order (one customer per row, as `data.prepare` makes them)."""
    import pyarrow as pa

    from pachflow_contracts import heldout_scores as hs

    # doubles, as Spark's LABEL, SCORE and PREDICTION columns are (the held-out table's types)
    score, label, prediction = (np.asarray(a, np.float64) for a in (score, label, prediction))
    is_test = np.asarray(is_test, bool)
    if len(held_out_ids) != int(is_test.sum()):
        raise ValueError(f"{len(held_out_ids)} held-out ids for {int(is_test.sum())} held-out rows")
    parts = {}
    for part, mine in (("test", is_test), ("train", ~is_test)):
        # (score, label) groups by their indices among the distinct values (np.unique of
        # the pairs, axis=0, sorts them as bytes: ~25x slower on 6.4 M rows)
        scores, score_at = _distinct(score[mine])
        labels, label_at = _distinct(label[mine])
        counts = np.bincount(score_at * len(labels) + label_at)
        group = np.flatnonzero(counts)
        groups = (scores[group // len(labels)], labels[group % len(labels)], counts[group])
        parts[part] = evaluate_counts(*groups)
    ids = (
        held_out_ids
        if isinstance(held_out_ids, pa.Array | pa.ChunkedArray)
        else pa.array(held_out_ids)
    )
    columns = [ids, *(pa.array(a[is_test]) for a in (label, score, prediction))]
    heldout = pa.table(columns, names=list(hs.COLUMNS))
    return Evaluated(parts, heldout)


def _distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """np.unique(values, return_inverse=True), faster for the few distinct values of
    scores and labels: a sort, then a binary search among them (not an argsort)."""
    distinct = np.unique(values)
    return distinct, np.searchsorted(distinct, values)


def feature_importances(model: PipelineModel) -> dict[str, float]:
    """{model input: importance}, highest first."""
    values = _tree(model).featureImportances.toArray()
    pairs = sorted(zip(MODEL_INPUTS, values, strict=True), key=lambda kv: -kv[1])
    return {name: float(v) for name, v in pairs}


def tree_text(model: PipelineModel) -> str:
    """The fitted tree(s) with feature names instead of `feature 7`."""
    text: str = _tree(model).toDebugString
    # Replace longest indices first so "feature 1" does not clobber "feature 12".
    for i in sorted(range(len(MODEL_INPUTS)), reverse=True):
        text = text.replace(f"feature {i} ", f"{MODEL_INPUTS[i]} ")
    return text


def _tree(model: PipelineModel) -> FittedTrees:
    """The fitted tree(s): the last stage of every model `fit` makes."""
    from pyspark.ml.classification import (
        DecisionTreeClassificationModel,
        GBTClassificationModel,
        RandomForestClassificationModel,
    )

    trees = model.stages[-1]
    assert isinstance(
        trees,
        DecisionTreeClassificationModel | RandomForestClassificationModel | GBTClassificationModel,
    ), type(trees)
    return trees
