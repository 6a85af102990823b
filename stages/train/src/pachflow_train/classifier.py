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


def scores(model: PipelineModel, assembled: DataFrame) -> DataFrame:
    """Assembled rows (`data.prepare`, or `data.assembler()` on features) with the model's
    fraud score as column SCORE: what evaluation groups, and what scoring must reproduce."""
    return model.stages[-1].transform(assembled).withColumn(SCORE, fraud_score())


def evaluate_parts(model: PipelineModel, df: DataFrame) -> dict[str, Evaluation]:
    """Score every `data.prepare`d row once; {"test": ..., "train": ...} from
    (part, score, label) groups."""
    rows = scores(model, df).groupBy(IS_TEST, SCORE, LABEL).count().collect()
    result = {}
    for part, is_test in (("test", True), ("train", False)):
        mine = [r for r in rows if r[IS_TEST] == is_test]
        result[part] = evaluate_counts(
            np.array([r[SCORE] for r in mine]),
            np.array([int(r[LABEL]) for r in mine]),
            np.array([r["count"] for r in mine]),
        )
    return result


def heldout_scores(model: PipelineModel, df: DataFrame) -> Any:
    """Each held-out customer's (nameOrig, label, fraud probability, prediction) as an
    Arrow table: Spark filters and projects, only ~a fifth of the rows' four columns
    reach the driver (no pandas)."""
    from pyspark.sql import functions as F

    from pachflow_contracts import heldout_scores as hs

    held = scores(model, df).filter(F.col(IS_TEST))
    return held.select(
        F.col(HELD_OUT).alias(hs.CUSTOMER),
        F.col(LABEL).alias(hs.LABEL),
        F.col(SCORE).alias(hs.SCORE),
        F.col("prediction").alias(hs.PREDICTION),
    ).toArrow()


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
