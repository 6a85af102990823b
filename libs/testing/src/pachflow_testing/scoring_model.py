"""A small real model for scoring tests: a depth-4 tree (or a small GBT) behind the
VectorAssembler (as train composes it), fitted on the features scoring computes from a
PaySim file, logged with mlflow.spark, its run carrying the threshold metric train records,
registered with alias `candidate`. Scoring tests need a registered model without running
the train stage.

`python -m pachflow_testing.scoring_model CSV TRACKING_URI NAME` does the same in a process
of its own (prints the registered version as JSON): the caller's MLflow and Spark state
stay untouched, and its working directory is where MLflow puts a new experiment's
artifacts (./mlruns), as for a stage that `pachflow run` starts in $PACHFLOW_HOME.
"""

from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

CANDIDATE = "candidate"
THRESHOLD = 0.5


@dataclass(frozen=True)
class Registered:
    name: str
    version: str
    run_id: str
    threshold: float


def register_tree_model(
    spark: Any,
    transactions: Path,
    tracking_uri: str,
    name: str,
    experiment: str = "score-tests",
    gbt: bool = False,
) -> Registered:
    """Fit on `transactions` (a PaySim CSV), log and register as `name`, alias candidate.
    `gbt`: a 3-tree GBT instead of the decision tree (a model only Spark scores)."""
    import mlflow
    import pyspark
    from mlflow.tracking import MlflowClient
    from pyspark.ml import Pipeline
    from pyspark.ml.classification import DecisionTreeClassifier, GBTClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.sql import functions as F

    from pachflow_contracts import LABEL_COLUMN, MODEL_INPUTS
    from pachflow_features.arrow import features_of_partials
    from pachflow_features.partials import arrow_partials
    from pachflow_scoring.registry import THRESHOLD_METRIC
    from pachflow_scoring.score import read_transactions

    table, _ = read_transactions(transactions)
    features = spark.createDataFrame(
        features_of_partials(arrow_partials(table)).to_pandas()
    ).withColumn("label", F.col(LABEL_COLUMN).cast("double"))
    fitted = Pipeline(
        stages=[
            VectorAssembler(inputCols=list(MODEL_INPUTS), outputCol="features"),
            GBTClassifier(maxDepth=3, maxIter=3, seed=1)
            if gbt
            else DecisionTreeClassifier(maxDepth=4, seed=1),
        ]
    ).fit(features)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.spark.log_model(
            fitted, "model", pip_requirements=[f"pyspark=={pyspark.__version__}"]
        )
        mlflow.log_metric(THRESHOLD_METRIC, THRESHOLD)
    mv = mlflow.register_model(f"runs:/{run.info.run_id}/model", name)
    MlflowClient(tracking_uri=tracking_uri).set_registered_model_alias(name, CANDIDATE, mv.version)
    return Registered(name, str(mv.version), run.info.run_id, THRESHOLD)


def main(argv: list[str]) -> None:
    from pachflow_spark import SparkSettings, build_session

    csv, tracking_uri, name = argv
    spark = build_session("pachflow-scoring-model", SparkSettings("local[1]", "1g", 1))
    try:
        registered = register_tree_model(spark, Path(csv), tracking_uri, name)
    finally:
        spark.stop()
    print(json.dumps(asdict(registered)))


if __name__ == "__main__":
    main(sys.argv[1:])
