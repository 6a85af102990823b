"""etl and train on a Spark Connect server (its own JVM, from pyspark's jars; the stages
are thin clients with no JVM): the same partial rows and the same model metrics as the
in-process run; the MLflow run says which Spark it used, and the model was logged through
MLflow's public API in mlflow.spark's layout (a Connect client has no JVM gateway)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from mlflow.tracking import MlflowClient

from pachflow_train.run import ENDPOINT_TAG, MASTER_TAG

pytestmark = pytest.mark.spark


def test_etl_and_train_on_spark_connect_equal_the_in_process_run(
    spark_connect_server, spark_reference, tmp_path
):
    ref, url = spark_reference, spark_connect_server.url
    etl_out, train_out = tmp_path / "etl", tmp_path / "train"
    env = ref.stage_env(ref.tracking_uri, url)
    done = ref.run_cli("pachflow-etl", [str(ref.split), str(etl_out)], env)
    assert done.returncode == 0, done.stderr
    assert f"Spark: Spark Connect server {url}" in done.stderr
    ref.same_rows(etl_out)

    done = ref.run_cli("pachflow-train", [*ref.train_args, str(etl_out), str(train_out)], env)
    assert done.returncode == 0, done.stderr
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
