"""Pachyderm retries a failed datum (datum_tries): the same job + datum must end with
exactly one MLflow run, and a failed attempt must leave its run FAILED, not RUNNING."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

EXPERIMENT = "train-retry-tests"
MODEL = "train-retry-detector"


def _runs(client: MlflowClient, job: str) -> list[Any]:
    exp = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([exp.experiment_id], f"tags.`pachyderm.job_id` = '{job}'")


def _alias(client: MlflowClient) -> str | None:
    """The version `candidate` names, None before the model has one."""
    from mlflow.exceptions import MlflowException

    try:
        return str(client.get_model_version_by_alias(MODEL, "candidate").version)
    except MlflowException:
        return None


def test_failed_attempt_is_failed_then_retry_finishes_the_same_run_and_reuses_it(
    spark: Any,
    features_dir: Path,
    mlflow_tracking_uri: str,
    tmp_path: Path,
    train: Any,
    tmpfs: Any,
) -> None:
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    env = train.env()
    opts = ("--experiment", EXPERIMENT, "--registered-model", MODEL)

    # Attempt 1 fails late: OUTPUT_DIR passes the early check but its disk (a 64 KiB tmpfs)
    # fills up while the model is written.
    alias_before = _alias(client)
    stale = tmpfs("attempt1", "size=64k")
    first = train.run(features_dir, stale, mlflow_tracking_uri, env, *opts)
    assert first.exit_code == 1
    (failed,) = _runs(client, env["PACH_JOB_ID"])
    assert failed.info.status == "FAILED"
    assert list(stale.iterdir()) == []  # nothing was published
    # registry only after publishing (issue 28): no version of the failed run is left, and
    # `candidate` stays where it was
    assert client.search_model_versions(f"run_id = '{failed.info.run_id}'") == []
    assert _alias(client) == alias_before

    # Attempt 2 (fresh /pfs/out, as Pachyderm gives) resumes and finishes that same run.
    second = train.run(features_dir, tmp_path / "attempt2", mlflow_tracking_uri, env, *opts)
    assert second.exit_code == 0, second.result.output
    (run,) = _runs(client, env["PACH_JOB_ID"])
    assert run.info.run_id == failed.info.run_id
    assert run.info.status == "FINISHED"
    manifest = json.loads((tmp_path / "attempt2" / "run.json").read_text())
    assert manifest["run_id"] == run.info.run_id and manifest["reused_run"] is False

    # Attempt 3 (e.g. the datum re-ran after a later failure) reuses the finished run:
    # no new run, no new model version, and a complete OUTPUT_DIR rebuilt from MLflow.
    third = train.run(features_dir, tmp_path / "attempt3", mlflow_tracking_uri, env, *opts)
    assert third.exit_code == 0, third.result.output
    (again,) = _runs(client, env["PACH_JOB_ID"])
    assert again.info.run_id == run.info.run_id
    reused = json.loads((tmp_path / "attempt3" / "run.json").read_text())
    assert reused["reused_run"] is True
    assert reused["registered_model"] == manifest["registered_model"]
    assert reused["metrics"]["test_areaUnderPR"] == manifest["metrics"]["test_areaUnderPR"]
    assert (tmp_path / "attempt3" / run.info.run_id).exists()
    assert (tmp_path / "attempt3" / "model" / "metadata").is_dir()
    held = "evaluation/heldout_scores.parquet"
    assert (tmp_path / "attempt3" / held).read_bytes() == (
        tmp_path / "attempt2" / held
    ).read_bytes()
    versions = client.search_model_versions(f"name = '{MODEL}' AND run_id = '{run.info.run_id}'")
    assert len(versions) == 1


def test_killed_attempts_running_run_is_resumed_by_the_retry(
    spark: Any,
    features_dir: Path,
    mlflow_tracking_uri: str,
    tmp_path: Path,
    train: Any,
) -> None:
    """A killed attempt (datum timeout, OOM) leaves its run RUNNING; the retry of that job +
    datum resumes it instead of adding a second run. Another datum's run is not touched."""
    client = MlflowClient(tracking_uri=mlflow_tracking_uri)
    job = train.new_id()
    env_a = train.env(job, datum="A")
    # What a killed attempt of datum A leaves behind: a RUNNING run with A's tags.
    from pachflow_contracts.worker_context import PachydermContext

    ctx_a = PachydermContext.from_env(env_a, default_pipeline="train")
    exp = client.get_experiment_by_name(EXPERIMENT) or client.get_experiment(
        client.create_experiment(EXPERIMENT)
    )
    killed = client.create_run(exp.experiment_id, tags=ctx_a.tags(), run_name=ctx_a.run_name)
    ctx_b = PachydermContext.from_env({**env_a, "PACH_DATUM_ID": "B"}, default_pipeline="train")
    other = client.create_run(exp.experiment_id, tags=ctx_b.tags(), run_name=ctx_b.run_name)
    inv = train.run(
        features_dir,
        tmp_path / "a",
        mlflow_tracking_uri,
        env_a,
        "--experiment",
        EXPERIMENT,
        "--registered-model",
        MODEL,
    )
    assert inv.exit_code == 0, inv.result.output
    runs = {r.data.tags["pachyderm.datum_id"]: r for r in _runs(client, job)}
    assert sorted(runs) == ["A", "B"]
    assert runs["A"].info.run_id == killed.info.run_id
    assert runs["A"].info.status == "FINISHED"
    assert runs["B"].info.run_id == other.info.run_id
    assert runs["B"].info.status == "RUNNING"
