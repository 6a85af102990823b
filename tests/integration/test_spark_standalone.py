"""`pachflow spark up` (`make spark-cluster`), as a user runs it, with etl and train on it:
a Spark standalone master and two workers, each its own JVM on loopback (started from
pyspark's jars), that the stages run on; Ctrl-C stops them all.

The stage's process is the driver, the tasks run in executors the workers launched;
Spark's own status API (the driver's REST API, the master's and workers' JSON) says both
workers ran tasks of each stage, and the master lists both applications as finished. The
outputs equal the in-process run's. After Ctrl-C no process of any JVM's process group
(an executor included) is left.

One cluster for both checks: `spark up`'s own test and the stages-on-a-cluster test each
started a master and two workers (and the former ran a tiny job of its own on them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from pachflow_spark.servers import free_port, port_open
from pachflow_testing.spark_cluster import Cluster, run_stage_on_cluster
from pachflow_train.run import ENDPOINT_TAG, MASTER_TAG

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PACHFLOW = str(Path(sys.executable).parent / "pachflow")


def groups_alive(pgids: set[int]) -> dict[int, str]:
    """Live (not zombie) processes in any of `pgids`: pid -> command line."""
    alive = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if state != "Z" and pgid in pgids:
            alive[int(proc.name)] = cmdline[:200]
    return alive


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def finished_apps(cluster: Cluster, wanted: set[str], timeout: float = 30) -> dict[str, str]:
    """The master's completed applications among `wanted`: id -> state (a driver's exit
    reaches the master a moment after the stage's process ended)."""
    deadline = time.monotonic() + timeout
    while True:
        apps = {a["id"]: a["state"] for a in cluster.status()["completedapps"]}
        if wanted <= apps.keys() or time.monotonic() > deadline:
            return {app: state for app, state in apps.items() if app in wanted}
        time.sleep(0.3)


def test_spark_up_runs_etl_and_train_on_two_workers_as_in_process_and_ctrl_c_leaves_no_jvm(
    spark_reference, tmp_path
):
    ref = spark_reference
    port, webui = free_port(), free_port()
    env = {**os.environ, "PACHFLOW_HOME": str(tmp_path / "home")}
    env.pop("SPARK_REMOTE", None)
    argv = ["spark", "up", "--port", str(port), "--webui-port", str(webui), "--memory", "1g"]
    up = subprocess.Popen(
        [PACHFLOW, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert up.stdout is not None
        line = up.stdout.readline()  # printed once every worker registered
        assert line.startswith(f"Spark master spark://127.0.0.1:{port} "), (
            line + up.communicate(timeout=30)[1]
        )
        assert "2 workers" in line
        cluster = Cluster(f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{webui}")

        status = cluster.status()
        assert status["aliveworkers"] == 2
        workers = [w for w in status["workers"] if w["state"] == "ALIVE"]
        assert len(workers) == 2 and {w["cores"] for w in workers} == {1}
        jvms = children_of(up.pid)
        assert len(jvms) == 3, jvms  # the master and two workers
        groups = {os.getpgid(pid) for pid in jvms}
        assert groups == set(jvms), "each JVM leads its own process group"

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

        apps = {etl.app_id, train.app_id}
        assert finished_apps(cluster, apps) == dict.fromkeys(apps, "FINISHED")
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = up.communicate(timeout=60)
    assert up.returncode == 0, err
    assert "stopped the Spark master and workers" in err
    deadline = time.monotonic() + 10
    while groups_alive(groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert groups_alive(groups) == {}
    assert not port_open(port) and not port_open(webui)
    assert (tmp_path / "home" / "logs" / "spark" / "up" / "master.log").exists()
