"""The shared MLflow server fixture: real server, proxied artifacts, clean stop."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from pachflow_testing.loopback import port_open
from pachflow_testing.mlflow_server import MlflowServer, run_mlflow_server


def test_mlflow_server_stores_runs_and_proxied_artifacts(
    mlflow_server: MlflowServer, tmp_path: Path
) -> None:
    client = MlflowClient(tracking_uri=mlflow_server.uri)
    exp_id = client.create_experiment("testing-fixture")
    run = client.create_run(exp_id)
    note = tmp_path / "note.txt"
    note.write_text("hello")
    client.log_artifact(run.info.run_id, str(note))
    # Proxied: the artifact lands in the server's --artifacts-destination (the S3 bucket,
    # or a local dir on SQLite), not a client path: the client has no S3 keys.
    assert run.info.artifact_uri.startswith("mlflow-artifacts:")
    if mlflow_server.s3 is not None:
        keys = [k for k in mlflow_server.s3.object_keys() if k.endswith("/note.txt")]
        assert keys == [f"artifacts/{exp_id}/{run.info.run_id}/artifacts/note.txt"]
    else:
        stored = list((mlflow_server.root / "artifacts").rglob("note.txt"))
        assert [p.read_text() for p in stored] == ["hello"]
    assert Path(client.download_artifacts(run.info.run_id, "note.txt")).read_text() == "hello"


def test_dead_tracking_uri_refuses(dead_tracking_uri: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "2")
    with pytest.raises(MlflowException):
        MlflowClient(tracking_uri=dead_tracking_uri).search_experiments()


@pytest.mark.mlflow  # starts a server of its own
def test_run_mlflow_server_closes_its_port_on_exit(tmp_path: Path) -> None:
    """...and a SQLite server after the process's first starts from a copy of that one's
    empty, migrated database (MLflow's migrations are not run again): the copy holds only
    MLflow's Default experiment, whatever the first server stored since."""
    import sqlite3
    from contextlib import closing

    from pachflow_testing import mlflow_server as servers

    had_template = servers._empty_sqlite_db is not None
    with run_mlflow_server(tmp_path / "srv") as server:
        assert port_open(server.port)
        MlflowClient(server.uri).create_experiment("stored-after-start")
    assert not port_open(server.port)
    assert (not had_template) or "Creating initial MLflow database tables" not in (
        server.log.read_text()
    )
    assert servers._empty_sqlite_db is not None
    with closing(sqlite3.connect(servers._empty_sqlite_db)) as db:
        assert db.execute("SELECT name FROM experiments").fetchall() == [("Default",)]


def test_a_removed_template_database_is_migrated_afresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kept empty database lives in the first server's root: once its caller removed
    that folder, the next SQLite server runs MLflow's migrations instead of failing."""
    from pachflow_testing import mlflow_server as servers

    monkeypatch.setattr(servers, "_empty_sqlite_db", tmp_path / "removed" / "empty-mlflow.db")
    with run_mlflow_server(tmp_path / "srv") as server:
        assert MlflowClient(server.uri).get_experiment_by_name("Default") is not None


def test_production_server_checks_every_request_against_a_cheap_stored_hash(
    mlflow_server: MlflowServer,
) -> None:
    """The pipeline user's password is stored with TEST_PASSWORD_HASH (not scrypt: ~0.12
    CPU-s per request), and the server still checks it on each request."""
    import base64
    import urllib.error
    import urllib.request

    import psycopg

    from pachflow_testing.mlflow_production import AUTH_DB, TEST_PASSWORD_HASH

    if mlflow_server.postgres is None or mlflow_server.credentials is None:
        pytest.skip("the MLflow test server runs on SQLite without auth")
    user = mlflow_server.credentials
    with psycopg.connect(mlflow_server.postgres.uri(AUTH_DB)) as conn:
        row = conn.execute(
            "SELECT password_hash FROM users WHERE username = %s", (user.username,)
        ).fetchone()
    assert row is not None and row[0].startswith(TEST_PASSWORD_HASH + "$")

    def status(password: str) -> int:
        token = base64.b64encode(f"{user.username}:{password}".encode()).decode()
        request = urllib.request.Request(
            f"{mlflow_server.uri}/api/2.0/mlflow/experiments/search?max_results=1",
            headers={"Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as resp:
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code

    assert status(user.password) == 200
    assert status(user.password + "x") == 401
