"""train fits, evaluates, logs and registers the same model whichever Spark runs it:
in-process local[2], a Spark Connect server (MLlib and mlflow.spark.log_model through a
thin client), or a standalone cluster (executors in two other JVMs). Same seed, same
input: the metrics are equal within float tolerance; the run says which Spark it used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from pachflow_train.run import ENDPOINT_TAG, KIND_TAG, MASTER_TAG

TRAIN = str(Path(sys.executable).with_name("pachflow-train"))
EXPERIMENT = "train-engines-tests"
MODEL = "train-engines-detector"
#: Metrics that measure the machine, not the model.
TIMINGS = {"fit_seconds", "evaluate_seconds"}


def options() -> list[str]:
    return ["--max-depth", "4", "--experiment", EXPERIMENT, "--registered-model", MODEL]


def model_metrics(out: Path) -> dict[str, float]:
    metrics = json.loads((out / "run.json").read_text())["metrics"]
    return {k: v for k, v in metrics.items() if k not in TIMINGS}


@pytest.fixture(scope="module")
def local_run(
    spark, features_dir, mlflow_tracking_uri, run_train, worker_env, commit_id, tmp_path_factory
):
    out = tmp_path_factory.mktemp("local") / "out"
    inv = run_train(
        features_dir, out, mlflow_tracking_uri, worker_env(commit_id(), commit_id()), *options()
    )
    assert inv.exit_code == 0, inv.result.output + repr(inv.result.exception)
    return out


def train_on(master: str, features_dir: Path, out: Path, tracking_uri: str, env: dict[str, str]):
    full = {
        **os.environ,
        **env,
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PACHFLOW_SPARK_MASTER": master,
        "PACHFLOW_SPARK_DRIVER_MEMORY": "1g",
    }
    args = [TRAIN, *options(), str(features_dir), str(out)]
    return subprocess.run(args, env=full, capture_output=True, text=True)


def check_same_model(out: Path, local_out: Path, tracking_uri: str) -> Any:
    got, want = model_metrics(out), model_metrics(local_out)
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
    run_id = json.loads((out / "run.json").read_text())["run_id"]
    return MlflowClient(tracking_uri=tracking_uri).get_run(run_id)


@pytest.mark.parametrize("engine", ["connect", "standalone"])
def test_the_same_model_on_every_kind_of_spark(
    engine, request, local_run, features_dir, mlflow_tracking_uri, worker_env, commit_id, tmp_path
):
    server = request.getfixturevalue(
        "spark_connect_server" if engine == "connect" else "spark_standalone_cluster"
    )
    out = tmp_path / "out"
    done = train_on(
        server.url, features_dir, out, mlflow_tracking_uri, worker_env(commit_id(), commit_id())
    )
    assert done.returncode == 0, done.stderr
    run = check_same_model(out, local_run, mlflow_tracking_uri)
    tags = run.data.tags
    assert tags[ENDPOINT_TAG] == server.url
    assert tags[KIND_TAG] == ("connect" if engine == "connect" else "cluster")
    assert tags[MASTER_TAG] == ("local[2]" if engine == "connect" else server.url)
    # the model was logged by mlflow.spark (MLmodel + sparkml) and scores from OUTPUT_DIR
    artifacts = {
        a.path for a in MlflowClient(mlflow_tracking_uri).list_artifacts(run.info.run_id, "model")
    }
    assert {"model/MLmodel", "model/sparkml"} <= artifacts
    assert (out / "model" / "metadata").is_dir()
    assert "Failed to validate serving input example" not in done.stderr


def test_the_local_run_is_tagged_in_process(local_run, mlflow_tracking_uri):
    run_id = json.loads((local_run / "run.json").read_text())["run_id"]
    tags = MlflowClient(tracking_uri=mlflow_tracking_uri).get_run(run_id).data.tags
    assert tags[KIND_TAG] == "local" and tags[MASTER_TAG] == "local[2]"
