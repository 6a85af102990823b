"""Many train jobs at once against one PostgreSQL-backed MLflow server and one registered
model (parallel pipelines or branches), and the database restarting under them.

Each job is a real `pachflow-train` process (own Spark driver, local[1], small data), as
on separate Pachyderm workers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from pachflow_contracts.worker_context import PachydermContext
from pachflow_testing.features import write_features

pytestmark = pytest.mark.spark

JOB_TIMEOUT_S = 900
ARTIFACTS = {"confusion_matrix.png", "feature_importance.png", "tree.txt", "metrics.json", "model"}
# Rides out a database outage of ~2 minutes (urllib3 backoff 0, 2, 4, ... 64 s).
PATIENT = {"PACHFLOW_MLFLOW_RETRIES": "8", "PACHFLOW_MLFLOW_BACKOFF": "1"}


@dataclass
class Job:
    name: str
    env: dict[str, str]
    out: Path
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def job_id(self) -> str:
        return self.env["PACH_JOB_ID"]

    def start(self, features: Path) -> None:
        train = Path(sys.executable).with_name("pachflow-train")
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(train), "--max-depth", "3", str(features), str(self.out)],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def wait(self) -> int:
        assert self.proc is not None
        code = self.proc.wait(timeout=JOB_TIMEOUT_S)
        self.proc = None
        return code

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def manifest(self) -> dict[str, Any]:
        return json.loads((self.out / "run.json").read_text())


def _jobs(n: int, tmp: Path, uri: str, experiment: str, model: str, train: Any) -> list[Job]:
    jobs = []
    for i in range(n):
        env = {
            **os.environ,  # the session's MLflow user (MLFLOW_TRACKING_USERNAME/PASSWORD)
            **train.env(),
            **PATIENT,
            "MLFLOW_TRACKING_URI": uri,
            "PACHFLOW_EXPERIMENT": experiment,
            "PACHFLOW_REGISTERED_MODEL": model,
            "PACHFLOW_SPARK_MASTER": "local[1]",
            "PACHFLOW_SPARK_DRIVER_MEMORY": "1g",
            "PACHFLOW_SPARK_SHUFFLE_PARTITIONS": "1",
        }
        jobs.append(Job(f"job{i}", env, tmp / f"out{i}", tmp / f"job{i}.log"))
    return jobs


def _runs_of(client: MlflowClient, experiment: str, job: Job) -> list[Any]:
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    return client.search_runs([exp.experiment_id], f"tags.`pachyderm.job_id` = '{job.job_id}'")


def _assert_complete(client: MlflowClient, job: Job) -> Any:
    """The job's run is FINISHED with every tag and artifact, and OUTPUT_DIR names it."""
    manifest = job.manifest()
    run = client.get_run(manifest["run_id"])
    assert run.info.status == "FINISHED", job.name
    expected = PachydermContext.from_env(job.env, default_pipeline="train").tags()
    assert expected.items() <= run.data.tags.items(), job.name
    assert {"test_areaUnderPR", "train_areaUnderPR", "fit_seconds"} <= set(run.data.metrics)
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= ARTIFACTS, job.name
    assert "MLmodel" in {Path(a.path).name for a in client.list_artifacts(run.info.run_id, "model")}
    assert sorted(p.name for p in job.out.iterdir()) == sorted(
        [run.info.run_id, "evaluation", "model", "run.json"]
    )
    return run


def _assert_registry(client: MlflowClient, model: str, runs: list[Any]) -> None:
    """One version per run, numbered 1..N without gaps, tagged with its job, and the
    candidate alias on the newest."""
    versions = client.search_model_versions(f"name = '{model}'")
    numbers = sorted(int(v.version) for v in versions)
    assert numbers == list(range(1, len(runs) + 1)), numbers
    by_run = {v.run_id: v for v in versions}
    assert sorted(by_run) == sorted(r.info.run_id for r in runs)  # distinct: one each
    for run in runs:
        mv = by_run[run.info.run_id]
        assert mv.tags["pachyderm.job_id"] == run.data.tags["pachyderm.job_id"]
    assert client.get_model_version_by_alias(model, "candidate").version == str(numbers[-1])


@pytest.fixture(scope="module")
def small_features(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """1,000 customers (~50 fraud): each job is mostly its own Spark and MLflow overhead."""
    root = tmp_path_factory.mktemp("writers-features") / "etl"
    write_features(root, 1000, fraud_rate=0.05)
    return root


@pytest.fixture
def pg_server(mlflow_server: Any, postgres_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The PostgreSQL-backed server; this test's own MLflow client is as patient as the jobs
    (right after a restart the server's pooled connections fail once)."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", PATIENT["PACHFLOW_MLFLOW_RETRIES"])
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", PATIENT["PACHFLOW_MLFLOW_BACKOFF"])
    return mlflow_server


def _wait_for_run(client: MlflowClient, experiment: str, job: Job, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _runs_of(client, experiment, job):
        assert job.proc is not None and job.proc.poll() is None, job.output()[-3000:]
        assert time.monotonic() < deadline, f"{job.name} made no run in {timeout:.0f}s"
        time.sleep(0.3)


@pytest.mark.slow
def test_database_restart_mid_job_then_datum_retry_leaves_one_finished_run(
    pg_server: Any,
    small_features: Path,
    tmp_path: Path,
    train: Any,
) -> None:
    """Three train jobs at once on one model; PostgreSQL goes down while job A is training
    (its run exists) and comes back when A has given up: A (no client retries) fails clean,
    B and C ride it out with retries, and Pachyderm's retry of A's datum finishes A's one
    run. Every job ends with one complete run and its own version, numbered 1..3 without
    gaps, the alias on the newest. (This is also the many-writers check: it replaced a
    separate run of four jobs without an outage, which checked nothing more.)"""
    pg = pg_server.postgres
    experiment, model = f"restart-{train.new_id()[:8]}", f"restart-model-{train.new_id()[:8]}"
    a, *others = _jobs(3, tmp_path, pg_server.uri, experiment, model, train)
    a.env["PACHFLOW_MLFLOW_RETRIES"] = "0"  # the first 503 ends the attempt
    client = MlflowClient(pg_server.uri)
    for job in (a, *others):
        job.start(small_features)
    _wait_for_run(client, experiment, a, JOB_TIMEOUT_S)
    pg.stop()
    try:
        assert a.proc is not None
        a_code = a.proc.wait(timeout=JOB_TIMEOUT_S)
    finally:
        pg.start()
    a.proc = None
    codes = [job.wait() for job in others]
    assert codes == [0, 0], "\n\n".join(j.output()[-3000:] for j in others)
    assert a_code == 1, a.output()[-3000:]
    (error,) = [line for line in a.output().splitlines() if line.startswith("Error:")]
    assert pg_server.uri in error and "unreachable or refusing requests" in error, error
    assert not a.out.exists() or not any(a.out.iterdir())  # nothing half-written
    (attempt,) = _runs_of(client, experiment, a)
    assert attempt.info.status != "FINISHED"
    assert client.search_model_versions(f"run_id = '{attempt.info.run_id}'") == []
    assert pg.running()

    # Pachyderm retries A's datum: same job + datum, a fresh /pfs/out.
    retry = Job("job0-retry", {**a.env, **PATIENT}, tmp_path / "out0-retry", tmp_path / "r.log")
    retry.start(small_features)
    assert retry.wait() == 0, retry.output()[-3000:]
    (run,) = _runs_of(client, experiment, a)  # exactly one run for A's job + datum
    assert run.info.run_id == attempt.info.run_id
    runs = [_assert_complete(client, retry), *(_assert_complete(client, j) for j in others)]
    for job, done in zip((retry, *others), runs, strict=True):
        # one run per job, and the version its run.json records is its run's own
        assert [r.info.run_id for r in _runs_of(client, experiment, job)] == [done.info.run_id]
        (mv,) = client.search_model_versions(f"run_id = '{done.info.run_id}'")
        assert job.manifest()["registered_model"]["version"] == mv.version
    _assert_registry(client, model, runs)
    assert client.get_model_version_by_alias(model, "candidate").run_id == run.info.run_id


def test_a_slow_writer_does_not_move_the_alias_back_to_its_older_version(
    mlflow_tracking_uri: str, tmp_path: Path, train: Any
) -> None:
    """Writer X registered v1, writer Y then registered v2 and pointed `candidate` at it;
    X, slower, now moves the alias: it must stay on v2, the newest."""
    from pachflow_train.mlflow_run import Tracker

    client = MlflowClient(mlflow_tracking_uri)
    experiment, model = f"alias-{train.new_id()[:8]}", f"alias-model-{train.new_id()[:8]}"
    exp_id = client.create_experiment(experiment)
    client.create_registered_model(model)
    (tmp_path / "MLmodel").write_text("not a real model: only registered, never loaded\n")
    runs = []
    for _ in range(2):
        run = client.create_run(exp_id)
        client.log_artifact(run.info.run_id, str(tmp_path / "MLmodel"), "model")
        client.create_model_version(model, f"runs:/{run.info.run_id}/model", run.info.run_id)
        runs.append(run)
    client.set_registered_model_alias(model, "candidate", "2")
    ctx = PachydermContext.from_env(train.env(), default_pipeline="train")
    slow = Tracker(mlflow_tracking_uri, experiment, ctx)
    slow.run_id = runs[0].info.run_id
    registered, created = slow.register(model)
    slow.point_alias_at_newest(model, registered.alias)
    assert not created  # the run's version existed: found again, not duplicated
    assert registered.version == "1"  # its own version, as run.json records it
    assert client.get_model_version_by_alias(model, "candidate").version == "2"
