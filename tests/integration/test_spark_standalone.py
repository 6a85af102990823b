"""etl and train on a real multi-process Spark: a standalone master and two workers, each
its own JVM on loopback, started from pyspark's jars (the `spark_standalone_cluster`
fixture). The stage's process is the driver, the tasks run in executors the workers
launched; Spark's own status API (the driver's REST API, the workers' JSON) says both
workers ran tasks. The outputs equal the in-process run's."""

from __future__ import annotations

import json

import pytest
from mlflow.tracking import MlflowClient

from pachflow_testing.spark_cluster import run_stage_on_cluster
from pachflow_train.run import ENDPOINT_TAG, MASTER_TAG

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def test_etl_and_train_on_a_standalone_cluster_equal_the_in_process_run(
    spark_standalone_cluster, spark_reference, tmp_path
):
    cluster, ref = spark_standalone_cluster, spark_reference
    assert cluster.alive_workers() == 2
    etl_out, train_out = tmp_path / "etl", tmp_path / "train"
    (tmp_path / "e").mkdir(), (tmp_path / "t").mkdir()

    etl = run_stage_on_cluster(
        cluster,
        "pachflow_etl.cli:main",
        [str(ref.split), str(etl_out)],
        ref.stage_env(ref.tracking_uri),
        tmp_path / "e",
    )
    assert etl.process.returncode == 0, etl.process.stderr
    assert f"Spark: Spark cluster {cluster.url}" in etl.process.stderr
    assert sorted(etl.tasks_by_worker) == [0, 1], str(etl)
    assert all(tasks > 0 for tasks in etl.tasks_by_worker.values()), str(etl)
    ref.same_rows(etl_out)

    train = run_stage_on_cluster(
        cluster,
        "pachflow_train.cli:main",
        [*ref.train_args, str(etl_out), str(train_out)],
        ref.stage_env(ref.tracking_uri),
        tmp_path / "t",
    )
    assert train.process.returncode == 0, train.process.stderr
    assert sorted(train.tasks_by_worker) == [0, 1], str(train)
    assert all(tasks > 0 for tasks in train.tasks_by_worker.values()), str(train)
    ref.same_metrics(train_out)
    run_id = json.loads((train_out / "run.json").read_text())["run_id"]
    tags = MlflowClient(ref.tracking_uri).get_run(run_id).data.tags
    assert tags[ENDPOINT_TAG] == cluster.url and tags[MASTER_TAG] == cluster.url
