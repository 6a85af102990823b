"""train against MLflow with basic auth, as in the cluster (credentials from the
mlflow-credentials secret): bad or missing credentials and a user without permission fail
at once with exit 1, an empty OUTPUT_DIR, no run or model version, and no secret printed."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from mlflow.tracking import MlflowClient

from pachflow_testing.mlflow_production import create_user, new_password

EXPERIMENT = "train-auth-tests"
# Retries a 401 would cost if it were retried like a 503: 2+4+8+16+32 s of backoff.
SLOW_RETRIES = {"PACHFLOW_MLFLOW_RETRIES": "5", "PACHFLOW_MLFLOW_BACKOFF": "2"}


@pytest.fixture(scope="module")
def auth_server(mlflow_server: Any) -> Any:
    if mlflow_server.credentials is None:
        pytest.skip("the MLflow test server runs without authentication (SQLite)")
    return mlflow_server


def _no_trace(client: MlflowClient, job: str, model: str) -> None:
    """Nothing of that job reached MLflow: no run in any experiment, no registered model."""
    runs = client.search_runs(
        [e.experiment_id for e in client.search_experiments()],
        f"tags.`pachyderm.job_id` = '{job}'",
    )
    assert runs == []
    assert client.search_registered_models(f"name = '{model}'") == []


def _error_line(inv: Any) -> str:
    (error,) = [line for line in inv.result.output.splitlines() if line.startswith("Error:")]
    return error


@pytest.mark.parametrize("case", ["wrong_password", "none", "username_only", "wrong_token"])
def test_bad_or_missing_credentials_exit_1_at_once_naming_uri_and_authentication(
    case: str,
    auth_server: Any,
    features_dir: Path,
    tmp_path: Path,
    train: Any,
) -> None:
    user = auth_server.credentials.username
    wrong = new_password()
    creds: dict[str, str | None] = {
        "wrong_password": {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": wrong},
        "none": {"MLFLOW_TRACKING_USERNAME": None, "MLFLOW_TRACKING_PASSWORD": None},
        "username_only": {"MLFLOW_TRACKING_USERNAME": user, "MLFLOW_TRACKING_PASSWORD": None},
        "wrong_token": {
            "MLFLOW_TRACKING_USERNAME": None,
            "MLFLOW_TRACKING_PASSWORD": None,
            "MLFLOW_TRACKING_TOKEN": wrong,
        },
    }[case]
    job, model = train.new_id(), f"auth-{case}"
    out = tmp_path / "out"
    env = {**train.env(job), **SLOW_RETRIES, **creds}
    t0 = time.monotonic()
    inv = train.run(features_dir, out, auth_server.uri, env, "--experiment", EXPERIMENT,
                    "--registered-model", model)  # fmt: skip
    elapsed = time.monotonic() - t0
    assert inv.exit_code == 1, inv.result.output
    error = _error_line(inv)
    assert auth_server.uri in error and "authentication" in error, error
    assert elapsed < 30, f"took {elapsed:.0f}s: a 401 must not be retried"
    assert wrong not in inv.result.output
    assert auth_server.credentials.password not in inv.result.output
    assert not out.exists() or not any(out.iterdir())
    _no_trace(MlflowClient(auth_server.uri), job, model)


def test_user_without_permission_on_the_experiment_cannot_write_to_it(
    auth_server: Any,
    spark: Any,
    features_dir: Path,
    tmp_path: Path,
    train: Any,
) -> None:
    """The experiment belongs to the pipeline user; another user only has the server's
    default READ on it: train as that user is refused before any run exists."""
    owner = MlflowClient(auth_server.uri)  # the session's (pipeline) user
    experiment = f"owned-{train.new_id()[:8]}"
    owner.create_experiment(experiment)
    intruder = create_user(auth_server, f"intruder-{train.new_id()[:8]}")
    job, model = train.new_id(), f"intruder-model-{train.new_id()[:8]}"
    out = tmp_path / "out"
    env = {**train.env(job), **intruder.env()}
    inv = train.run(features_dir, out, auth_server.uri, env, "--experiment", experiment,
                    "--registered-model", model)  # fmt: skip
    assert inv.exit_code == 1, inv.result.output
    error = _error_line(inv)
    assert auth_server.uri in error and "permission denied" in error, error
    assert repr(intruder.username) in error and "runs/create" in error
    assert intruder.password not in inv.result.output
    assert not out.exists() or not any(out.iterdir())
    _no_trace(owner, job, model)


def test_messages_mask_the_password_token_and_uri_userinfo(monkeypatch: pytest.MonkeyPatch) -> None:
    from pachflow_stagekit.mlflow_access import mask  # the one masking helper train uses

    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "pipeline-pass-123")
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "token-abc-987")
    text = "GET http://bob:hunter2-long@mlflow:5000/x sent pipeline-pass-123 / token-abc-987"
    assert mask(text) == "GET http://bob:***@mlflow:5000/x sent *** / ***"
    assert mask("https://bob:hunter2-long@mlflow.example") == "https://bob:***@mlflow.example"
    assert mask("http://mlflow.mlflow.svc.cluster.local:80") == (
        "http://mlflow.mlflow.svc.cluster.local:80"
    )
