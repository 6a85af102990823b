"""`pachflow deploy`, `undeploy` and `cluster put` against a real Pachyderm cluster.

Runs only when PACHD_ADDRESS names one (e.g. `PACHD_ADDRESS=grpc://localhost:30650` after
infra/minikube/up.sh); everything happens in a fresh, uniquely named project that is deleted
afterwards, so the user's default project is never touched."""

from __future__ import annotations

import copy
import dataclasses
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pachyderm_sdk import Client
from pachyderm_sdk.api import pfs

from pachflow.cluster.deploy import deploy, put_files, undeploy
from pachflow.cluster.requests import pipeline_ref
from pachflow.pipeline_spec import PipelineSpec, load_specs
from pachflow_lineage.client import connect, resolve_target

pytestmark = pytest.mark.skipif(
    not os.environ.get("PACHD_ADDRESS"),
    reason="needs a Pachyderm cluster: set PACHD_ADDRESS (e.g. grpc://localhost:30650)",
)

PIPELINES = Path(__file__).resolve().parents[3] / "pipelines"


@pytest.fixture
def client() -> Client:
    return connect(resolve_target())


@pytest.fixture
def project(client: Client) -> Iterator[str]:
    name = f"pachflow-test-{uuid.uuid4().hex[:8]}"
    yield name
    ref = pfs.Project(name=name)
    if client.pfs.project_exists(ref):
        client.pps.delete_pipelines(projects=[ref], force=True)
        client.pfs.delete_repos(projects=[ref], force=True)
        client.pfs.delete_project(project=ref, force=True)


def _in_project(spec: PipelineSpec, project: str) -> PipelineSpec:
    body = copy.deepcopy(spec.spec)
    body["pipeline"]["project"] = {"name": project}
    return dataclasses.replace(spec, spec=body, project=project)


def _described(spec: PipelineSpec, description: str) -> PipelineSpec:
    body = copy.deepcopy(spec.spec)
    body["description"] = description
    return dataclasses.replace(spec, spec=body, description=description)


def test_deploy_then_redeploy_then_undeploy(client: Client, project: str) -> None:
    specs = [_in_project(s, project) for s in load_specs(PIPELINES)]
    lines: list[str] = []
    deploy(client, specs, lines.append)
    assert client.pfs.repo_exists(
        pfs.Repo(name="raw_data", type="user", project=pfs.Project(name=project))
    )
    for spec in specs:
        info = client.pps.inspect_pipeline(pipeline=pipeline_ref(spec), details=True)
        assert info.details.transform.image == spec.image
        assert list(info.details.transform.cmd) == list(spec.cmd)
    lines.clear()
    deploy(client, specs, lines.append)  # the same specs again: nothing to do
    assert lines[-len(specs) :] == [f"pipeline {s.name} unchanged (version 1)" for s in specs], (
        "pachd's user_spec_json should equal the request pachflow sent"
    )
    changed = [_described(s, "changed") for s in specs]
    deploy(client, changed, lines.append, dry_run=True)  # pachd checks each update
    deploy(client, changed, lines.append)
    assert sum(line.startswith("updated pipeline") for line in lines) == len(specs)
    for spec in changed:
        info = client.pps.inspect_pipeline(pipeline=pipeline_ref(spec), details=True)
        assert info.version == 2
        assert info.details.description == "changed"
    undeploy(client, specs, lines.append, delete_input_repos=True)
    for spec in specs:
        assert not client.pps.pipeline_exists(pipeline_ref(spec))


def test_put_creates_the_repo_and_commits_the_files(
    client: Client, project: str, tmp_path: Path
) -> None:
    client.pfs.create_project(project=pfs.Project(name=project))
    data = tmp_path / "one.csv"
    data.write_text("step,type\n1,PAYMENT\n")
    commit_id = put_files(client, "put_test", [data], lambda _: None, project=project)
    assert len(commit_id) == 32
    repo = pfs.Repo(name="put_test", type="user", project=pfs.Project(name=project))
    commit = pfs.Commit(repo=repo, id=commit_id)
    info = client.pfs.inspect_file(file=pfs.File(commit=commit, path="/one.csv"))
    assert info.size_bytes == data.stat().st_size
