"""The direct MLflow readers (sqlite3 on the server's own database, REST on the server)
answer every lineage read exactly as MlflowClient does, and a question about an unknown run
is answered without importing mlflow at all (it costs seconds)."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient

import pachflow_store as ps
from pachflow_contracts.commits import CommitRef
from pachflow_lineage.errors import UnknownModelVersion, UnknownRun
from pachflow_lineage.tracking import ClientReader, Tracking
from pachflow_testing.mlflow_server import run_mlflow_server


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A server on SQLite whatever the session's server is: the sqlite reader reads its
    database file directly (the session's production server keeps its data in PostgreSQL)."""
    with run_mlflow_server(tmp_path_factory.mktemp("mlflow-sqlite")) as server:
        yield server


@pytest.fixture(scope="module")
def logged(sqlite_server: Any) -> dict[str, str]:
    """A run with pachyderm tags, a commit as dataset input and an aliased model version."""
    client = MlflowClient(sqlite_server.uri)
    exp = client.create_experiment(f"read-{uuid.uuid4().hex[:8]}")
    commit, job = uuid.uuid4().hex, uuid.uuid4().hex
    run = client.create_run(
        exp, run_name=f"train@{job}", tags={"pachyderm.job_id": job, "other": "x"}
    )
    run_id = run.info.run_id
    client.log_param(run_id, "max_depth", "5")
    client.log_metric(run_id, "test_areaUnderPR", 0.5, step=0)
    client.log_metric(run_id, "test_areaUnderPR", 0.75, step=1)  # the latest counts
    dataset = Dataset(f"etl@{commit}", commit, "local", json.dumps({"uri": "/pfs/etl"}))
    tags = [InputTag("mlflow.data.context", "training"), InputTag("pachyderm.repo", "etl")]
    client.log_inputs(run_id, datasets=[DatasetInput(dataset, tags=tags)])
    client.set_terminated(run_id)
    model = f"read-model-{uuid.uuid4().hex[:8]}"
    client.create_registered_model(model)
    mv = client.create_model_version(model, f"{run.info.artifact_uri}/model", run_id=run_id)
    client.set_registered_model_alias(model, "candidate", mv.version)
    return {"run_id": run_id, "job": job, "commit": commit, "model": model, "v": mv.version}


def readers(sqlite_server: Any) -> dict[str, Tracking]:
    via_client = Tracking(sqlite_server.uri)
    via_client.reader = ClientReader(via_client.client)
    return {
        "rest": Tracking(sqlite_server.uri),
        "sqlite": Tracking(f"sqlite:///{sqlite_server.root / 'mlflow.db'}"),
        "client": via_client,
    }


def answers(t: Tracking, logged: dict[str, str]) -> dict[str, Any]:
    raw = t.get_run(logged["run_id"])
    run = t.run_node(raw)
    by_tags = t.runs_by_tags({"pachyderm.job_id": logged["job"]})
    by_data = t.runs_with_dataset(CommitRef("etl", logged["commit"]))
    return {
        "run": (run.run_id, run.name, run.status, run.experiment_id, run.tags, run.datasets),
        "data": (dict(raw.data.params), dict(raw.data.metrics)),
        "by_tags": [r.info.run_id for r in by_tags],
        "by_data": [r.info.run_id for r in by_data],
        "versions": t.model_versions_for_run(logged["run_id"]),
        "alias": t.get_model_version(logged["model"], "candidate"),
        "number": t.get_model_version(logged["model"], logged["v"]),
        "prefix": [t.resolve_run_id(logged["run_id"][:n]) for n in (4, 12, 32)],
    }


@pytest.mark.mlflow  # the module's own SQLite server
def test_sqlite_and_rest_readers_agree_with_mlflow_client(
    sqlite_server: Any, logged: dict[str, str]
) -> None:
    got = {name: answers(t, logged) for name, t in readers(sqlite_server).items()}
    client = got["client"]
    assert client["run"][5][0]["context"] == "training"  # the data is really there
    assert client["by_tags"] == client["by_data"] == [logged["run_id"]]
    assert client["data"] == ({"max_depth": "5"}, {"test_areaUnderPR": 0.75})
    assert client["alias"].aliases == ["candidate"]
    assert client["prefix"] == [logged["run_id"]] * 3  # a printed short id names the run
    for name in ("rest", "sqlite"):
        for key in ("run", "data", "by_tags", "by_data", "prefix"):
            assert got[name][key] == client[key], (name, key)
        for key in ("versions", "alias", "number"):
            mine, theirs = got[name][key], client[key]
            if not isinstance(mine, list):
                mine, theirs = [mine], [theirs]
            fields = [(v.name, v.version, v.run_id, v.aliases, v.status) for v in mine]
            assert fields == [(v.name, v.version, v.run_id, v.aliases, v.status) for v in theirs]


@pytest.mark.mlflow  # the module's own SQLite server
def test_unknown_run_and_version_are_clear_errors_from_every_reader(
    sqlite_server: Any, logged: dict[str, str]
) -> None:
    for name, t in readers(sqlite_server).items():
        with pytest.raises(UnknownRun, match=r"no MLflow run '0{32}'"):
            t.get_run("0" * 32)
        with pytest.raises(UnknownRun, match=r"no MLflow run id starts with 0000ffff"):
            t.resolve_run_id("0000ffff")
        with pytest.raises(UnknownModelVersion):
            t.get_model_version(logged["model"], "nosuchalias")
        assert t.runs_by_tags({"pachyderm.job_id": "nope"}) == [], name


PROBE = """
import json, sys
from pachflow_lineage.commands import lineage_group
try:
    lineage_group().main(sys.argv[1:], prog_name="lineage")
except SystemExit as exc:
    code = exc.code
print(json.dumps([code, sorted({m.split(".")[0] for m in sys.modules})]), file=sys.stderr)
"""


@pytest.mark.mlflow  # the module's own SQLite server
def test_no_such_run_is_answered_without_importing_mlflow(
    sqlite_server: Any, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    with ps.Store(home):
        pass  # an empty local store
    for uri in (f"sqlite:///{sqlite_server.root / 'mlflow.db'}", sqlite_server.uri):
        args = ["run", "0" * 32, "--backend", "local", "--home", str(home)]
        args += ["--tracking-uri", uri]
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120
        )
        code, modules = json.loads(done.stderr.strip().splitlines()[-1])
        assert code == 2, done.stderr
        assert f"no MLflow run '{'0' * 32}' at {uri}" in done.stderr
        assert "mlflow" not in modules and "pandas" not in modules, uri


LINEAGE_JSON = {"subject": "run:x", "direction": "upstream", "commits": [], "edges": []}


def _run_with_lineage_artifact(client: MlflowClient, tmp_path: Path) -> str:
    exp = client.create_experiment(f"verify-{uuid.uuid4().hex[:8]}")
    run_id = client.create_run(exp).info.run_id
    (tmp_path / "lineage.json").write_text(json.dumps(LINEAGE_JSON))
    client.log_artifact(run_id, str(tmp_path / "lineage.json"), artifact_path="lineage")
    client.set_terminated(run_id)
    return run_id


@pytest.mark.mlflow  # the module's own SQLite server
def test_verify_reads_the_runs_lineage_artifact_without_importing_mlflow(
    sqlite_server: Any, tmp_path: Path
) -> None:
    """`lineage verify` answers in well under a second: the link stage's lineage.json is
    read from a local artifact directory (a local store) or through the tracking server,
    not through MlflowClient (seconds of imports)."""
    home = tmp_path / "home"
    with ps.Store(home):
        pass
    local_db = tmp_path / "local" / "mlflow.db"
    local_db.parent.mkdir()
    local_uri = f"sqlite:///{local_db}"
    local = MlflowClient(local_uri)  # a local store, as `pachflow run` makes it: no server
    local.create_experiment("x", artifact_location=str(tmp_path / "local" / "mlruns"))
    cases = {
        local_uri: _run_with_lineage_artifact(local, tmp_path),
        sqlite_server.uri: _run_with_lineage_artifact(MlflowClient(sqlite_server.uri), tmp_path),
    }
    for uri, run_id in cases.items():
        assert Tracking(uri).load_json_artifact(run_id, "lineage/lineage.json") == LINEAGE_JSON
        assert Tracking(uri).load_json_artifact(run_id, "lineage/nothing.json") is None
        args = ["verify", run_id, "--backend", "local", "--home", str(home)]
        done = subprocess.run(
            [sys.executable, "-c", PROBE, *args, "--tracking-uri", uri],
            capture_output=True,
            text=True,
            timeout=120,
        )
        code, modules = json.loads(done.stderr.strip().splitlines()[-1])
        assert code == 1, done.stdout + done.stderr  # no pipeline made it: mismatches
        assert "no lineage/lineage.json on the run" not in done.stdout, uri
        assert "mlflow" not in modules and "pandas" not in modules, uri
