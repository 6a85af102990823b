"""etl and train on a Spark Connect server (its own JVM, from pyspark's jars; the stages
are thin clients with no JVM): the session's `warm_spark_engine`, which the chain and
registry tests share, so none is started and warmed for this module alone. The same
partial rows and the same model metrics as the in-process run; the MLflow run says which
Spark it used, and the model was logged through MLflow's public API in mlflow.spark's
layout (a Connect client has no JVM gateway). That model loads back from MLflow, by the
score stage's route and by mlflow.spark, and predicts what the in-process fit predicts on
the same rows."""

from __future__ import annotations

import json
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

from pachflow_train.run import ENDPOINT_TAG, MASTER_TAG

pytestmark = [pytest.mark.spark, pytest.mark.slow]


@dataclass(frozen=True)
class ConnectRun:
    """etl, then train on its output, each a CLI run against the Connect server."""

    url: str
    etl: subprocess.CompletedProcess[str]
    etl_out: Path
    train: subprocess.CompletedProcess[str]
    train_out: Path


@pytest.fixture(scope="module")
def connect_run(warm_spark_engine, spark_reference, tmp_path_factory) -> ConnectRun:
    ref, url = spark_reference, warm_spark_engine.url
    tmp = tmp_path_factory.mktemp("connect-run")
    etl_out, train_out = tmp / "etl", tmp / "train"
    env = ref.stage_env(ref.tracking_uri, url)
    etl = ref.run_cli("pachflow-etl", [str(ref.split), str(etl_out)], env)
    train = ref.run_cli("pachflow-train", [*ref.train_args, str(etl_out), str(train_out)], env)
    return ConnectRun(url, etl, etl_out, train, train_out)


def test_etl_and_train_on_spark_connect_equal_the_in_process_run(connect_run, spark_reference):
    ref, url = spark_reference, connect_run.url
    assert connect_run.etl.returncode == 0, connect_run.etl.stderr
    assert f"Spark: Spark Connect server {url}" in connect_run.etl.stderr
    ref.same_rows(connect_run.etl_out)

    train_out = connect_run.train_out
    assert connect_run.train.returncode == 0, connect_run.train.stderr
    ref.same_metrics(train_out)
    run_id = json.loads((train_out / "run.json").read_text())["run_id"]
    client = MlflowClient(ref.tracking_uri)
    tags = client.get_run(run_id).data.tags
    assert tags[ENDPOINT_TAG] == url and tags[MASTER_TAG] == "local[2]"
    artifacts = {a.path for a in client.list_artifacts(run_id, "model")}
    assert {"model/MLmodel", "model/sparkml", "model/requirements.txt"} <= artifacts
    mlmodel = yaml.safe_load(Path(client.download_artifacts(run_id, "model/MLmodel")).read_text())
    assert mlmodel["flavors"]["spark"]["model_class"] == "pyspark.ml.pipeline.PipelineModel"
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.spark"
    assert (train_out / "model" / "metadata").is_dir()


@pytest.fixture
def tracking_uri_set(spark_reference) -> Iterator[str]:
    """mlflow.spark.load_model takes no tracking URI: it asks the process's (the testing
    plugin restores MLFLOW_TRACKING_URI/MLFLOW_REGISTRY_URI after the test)."""
    import mlflow

    mlflow.set_tracking_uri(spark_reference.tracking_uri)
    yield spark_reference.tracking_uri


def predictions(pipeline: Any, features: Any) -> pd.DataFrame:
    from pyspark.ml.functions import vector_to_array

    scored = pipeline.transform(features).select(
        "nameOrig", vector_to_array("probability").alias("probability"), "prediction"
    )
    frame = scored.toPandas().sort_values("nameOrig").reset_index(drop=True)
    return frame.assign(probability=frame["probability"].map(list))


def test_the_connect_fitted_model_loads_back_from_mlflow_and_predicts_as_the_in_process_fit(
    connect_run, spark_reference, tracking_uri_set
):
    import mlflow.spark

    from pachflow_features import read_features
    from pachflow_scoring.registry import download_model, load_spark_model, resolve_model
    from pachflow_spark import SparkSettings, build_session

    ref = spark_reference
    assert connect_run.train.returncode == 0, connect_run.train.stderr
    spark = build_session("connect-model-load-back", SparkSettings("local[2]", "1g", 2))
    features = read_features(spark, sorted(ref.etl.rglob("*.parquet"))).cache()

    def scored_by(train_out: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Predictions of the model a train run logged: as `pachflow score` loads its
        registered version, and as mlflow.spark loads the run's artifact."""
        manifest = json.loads((train_out / "run.json").read_text())
        registered = manifest["registered_model"]
        version = f"{registered['name']}/{registered['version']}"
        model = resolve_model(version, ref.tracking_uri)
        assert model.run_id == manifest["run_id"]
        with tempfile.TemporaryDirectory() as tmp:  # as Scorer loads a model Spark scores
            by_score = predictions(
                load_spark_model(model, download_model(model, Path(tmp))), features
            )
        by_mlflow = mlflow.spark.load_model(f"runs:/{manifest['run_id']}/model")
        return by_score, predictions(by_mlflow, features)

    connect_score, connect_mlflow = scored_by(connect_run.train_out)
    in_process, _ = scored_by(ref.train)
    assert len(in_process) == features.count() > 0
    assert in_process["prediction"].sum() > 0  # the model finds some fraud on these rows
    pd.testing.assert_frame_equal(connect_score, in_process)
    pd.testing.assert_frame_equal(connect_mlflow, in_process)
