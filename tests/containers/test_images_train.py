"""The train image alone, as Pachyderm runs it: spec cmd and env, /pfs/etl read-only,
/pfs/out owned by the image's non-root user, a real MLflow server reached over HTTP (host
network: the server listens on loopback, as a cluster's MLflow Service would be reached by
name). Writes run.json, the <run_id> marker and the Spark model; the run is on the server."""

from __future__ import annotations

import json

import pytest

pytestmark = [pytest.mark.containers, pytest.mark.slow]


@pytest.fixture(scope="module")
def train_out(images, run_stage, mlflow_server, tmp_path_factory):
    images.require_stage("train")
    features = pytest.importorskip("pachflow_testing.features")
    etl = tmp_path_factory.mktemp("etl")
    features.write_features(etl, 3000, seed=11, fraud_rate=0.05, n_files=2)
    env = {"MLFLOW_TRACKING_URI": mlflow_server.uri, "PACHFLOW_SPARK_DRIVER_MEMORY": "1g"}
    if mlflow_server.credentials:  # what the spec's mlflow-credentials secret sets
        env |= mlflow_server.credentials.env()
    out = tmp_path_factory.mktemp("train") / "out"
    return run_stage("train", {"etl": etl}, out, env=env, network_host=True)


def test_train_image_writes_the_run_manifest_marker_and_model(images, train_out):
    assert train_out.returncode == 0, train_out.stderr[-3000:]
    manifest = json.loads((train_out.out / "run.json").read_text())
    assert (train_out.out / manifest["run_id"]).is_file()
    assert (train_out.out / "model").is_dir()
    assert manifest["metrics"]
    owners = {p.stat().st_uid for p in images.tree(train_out.out).values()}
    assert owners == {images.uid}


def test_train_image_run_is_on_the_tracking_server(train_out, mlflow_tracking_uri):
    from mlflow.tracking import MlflowClient

    assert train_out.returncode == 0, train_out.stderr[-3000:]
    manifest = json.loads((train_out.out / "run.json").read_text())
    run = MlflowClient(mlflow_tracking_uri).get_run(manifest["run_id"])
    assert run.info.status == "FINISHED"
    for name, value in manifest["metrics"].items():
        assert run.data.metrics[name] == pytest.approx(value)
