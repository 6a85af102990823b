"""Issue 16's cluster code paths against a real Pachyderm cluster: `pachflow reproduce
--runtime cluster` and the provenance stage's OpenLineage events.

Runs only where PACHD_ADDRESS and MLFLOW_TRACKING_URI (the cluster's MLflow as reachable
from here) name a cluster with the pipelines deployed (`make deploy`) and at least one
model trained (train@master holds run.json); skipped otherwise. The reproduction makes a
project of its own, deleted afterwards; the user's heads must not move."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.skipif(
    not (os.environ.get("PACHD_ADDRESS") and os.environ.get("MLFLOW_TRACKING_URI")),
    reason=(
        "needs a Pachyderm cluster: set PACHD_ADDRESS (e.g. grpc://localhost:30650) and "
        "MLFLOW_TRACKING_URI (the cluster's MLflow as reachable from here) with the "
        "pipelines deployed and a model trained"
    ),
)

COMMIT_LABEL = re.compile(r"^[a-z0-9_.-]+@[0-9a-f]{32}$")


@pytest.fixture
def client() -> Any:
    from pachflow_lineage.client import connect, resolve_target

    return connect(resolve_target())


@pytest.fixture
def trained(client: Any) -> dict[str, Any]:
    """train@master's run.json (the newest model on the cluster) and its commit id."""
    from pachyderm_sdk.api import pfs

    info = client.pfs.inspect_commit(
        commit=pfs.Commit.from_uri("train@master"), wait=pfs.CommitState.FINISHED
    )
    with client.pfs.pfs_file(pfs.File(commit=info.commit, path="/run.json")) as fh:
        manifest = json.loads(fh.read())
    if not manifest.get("registered_model"):
        pytest.skip("train@master's run registered no model version")
    return {**manifest, "commit": info.commit.id}


def _heads(client: Any) -> dict[str, str]:
    from pachyderm_sdk.api import pfs

    return {
        r: client.pfs.inspect_commit(commit=pfs.Commit.from_uri(f"{r}@master")).commit.id
        for r in ("raw_data", "split", "etl", "train")
    }


@pytest.fixture
def reproductions(client: Any) -> Iterator[None]:
    """Deletes the reproduce-* projects this test made."""
    from pachyderm_sdk.api import pfs

    before = {p.project.name for p in client.pfs.list_project()}
    yield
    for info in client.pfs.list_project():
        name = info.project.name
        if name.startswith("reproduce-") and name not in before:
            ref = pfs.Project(name=name)
            client.pps.delete_pipelines(projects=[ref], force=True)
            client.pfs.delete_repos(projects=[ref], force=True)
            client.pfs.delete_project(project=ref, force=True)


def test_reproduce_a_model_version_on_the_cluster(client, trained, reproductions) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow.cli import main

    model = trained["registered_model"]
    heads = _heads(client)
    result = CliRunner().invoke(
        main, ["reproduce", f"{model['name']}/{model['version']}", "--runtime", "cluster", "--json"]
    )
    assert result.exit_code == 0, result.output
    verdict = json.loads(result.stdout)
    assert verdict["ok"] and verdict["verdict"] == "reproduced", verdict
    items = {c["item"] for c in verdict["checks"]}
    assert "metric test_areaUnderPR" in items and "param seed" in items
    new_run = verdict["info"]["new run"].split()[0]
    assert new_run != trained["run_id"]
    tags = MlflowClient(os.environ["MLFLOW_TRACKING_URI"]).get_run(new_run).data.tags
    assert tags["pachflow.reproduces"] == trained["run_id"]
    assert _heads(client) == heads  # the user's repos were not touched


def test_provenance_sends_openlineage_events_named_by_cluster_commits(
    client, trained, tmp_path, monkeypatch
) -> None:
    """The provenance stage's cluster path (Pachyderm backend), run here against the
    cluster with the file transport: one START and one COMPLETE per job, every dataset
    `repo@commit` in `pachyderm://<cluster>`, train's output commit among them and the
    MLflow run as a facet."""
    from pachflow_provenance.link import link_cmd

    events_file = tmp_path / "events.jsonl"
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "file")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__LOG_FILE_PATH", str(events_file))
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__APPEND", "true")
    monkeypatch.setenv("PACHFLOW_OPENLINEAGE_CLUSTER", "test-cluster")
    monkeypatch.delenv("PACHFLOW_HOME", raising=False)
    inp = tmp_path / "in"
    inp.mkdir()
    (inp / "run.json").write_text(json.dumps(trained))
    result = CliRunner().invoke(
        link_cmd, [str(inp), str(tmp_path / "out"), "--backend", "pachyderm"]
    )
    assert result.exit_code == 0, result.output

    events = [json.loads(line) for line in events_file.read_text().splitlines() if line]
    jobs = {e["job"]["name"] for e in events}
    assert {"default/split", "default/etl", "default/train"} <= jobs
    for job in jobs:
        states = sorted(e["eventType"] for e in events if e["job"]["name"] == job)
        assert states == ["COMPLETE", "START"], (job, states)
    datasets = [d for e in events for d in e["inputs"] + e["outputs"]]
    assert datasets and all(d["namespace"] == "pachyderm://test-cluster" for d in datasets)
    assert all(COMMIT_LABEL.match(d["name"]) for d in datasets), datasets
    assert f"train@{trained['commit']}" in {d["name"] for d in datasets}
    train_done = next(
        e for e in events if e["job"]["name"] == "default/train" and e["eventType"] == "COMPLETE"
    )
    assert train_done["run"]["facets"]["mlflow"]["runId"] == trained["run_id"]
