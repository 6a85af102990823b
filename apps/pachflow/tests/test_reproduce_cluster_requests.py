"""`pachflow reproduce --runtime cluster` without a cluster: what run_cluster asks
pachd for, as real pachyderm_sdk messages, on the committed specs.

A stand-in client records the pfs/pps calls and answers with real pfs messages (the only
fake here); the run against a real cluster is
tests/integration/test_reproduce_and_events_cluster.py.
What a user relies on: the reproduction lives in a project of its own (the user's repos
and pipelines are never named), its raw_data is a server-side copy of the original
commit, every pipeline is the run's spec version moved into that project and created after
the repos it reads, and the new run id is read from train's run.json there."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from pachyderm_sdk.api import pfs

from pachflow.reproduce.cluster import run_cluster
from pachflow.reproduce.plan import Plan, ReproduceError
from pachflow_contracts.commits import CommitRef
from pachflow_lineage.graph import Commit, Lineage

SPECS = Path(__file__).resolve().parents[3] / "pipelines"
RAW = "0123456789ab4def8123456789abcde0"
NEW_RUN = "f" * 32
EXPERIMENT = "pachflow-fraud-reproductions"


class _Commit:
    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.id = "c" * 32
        self._calls = calls

    def copy_file(self, src: pfs.File, dst: str) -> None:
        self._calls.append(("copy_file", (src, dst)))


class _Pfs:
    def __init__(self, calls: list[tuple[str, Any]], error: str) -> None:
        self.calls, self.error = calls, error

    def create_project(self, project: pfs.Project, description: str) -> None:
        self.calls.append(("create_project", (project, description)))

    def create_repo(self, repo: pfs.Repo, description: str) -> None:
        self.calls.append(("create_repo", repo))

    @contextmanager
    def commit(self, branch: pfs.Branch) -> Iterator[_Commit]:
        self.calls.append(("commit", branch))
        yield _Commit(self.calls)

    def wait_commit_set(self, commit_set: pfs.CommitSet) -> None:
        self.calls.append(("wait_commit_set", commit_set))

    def inspect_commit(self, commit: pfs.Commit, wait: pfs.CommitState) -> pfs.CommitInfo:
        self.calls.append(("inspect_commit", commit))
        return pfs.CommitInfo(commit=pfs.Commit(repo=commit.repo, id="d" * 32), error=self.error)

    @contextmanager
    def pfs_file(self, file: pfs.File) -> Iterator[BytesIO]:
        self.calls.append(("pfs_file", file))
        yield BytesIO(json.dumps({"run_id": NEW_RUN}).encode())


class _Pps:
    def __init__(self, calls: list[tuple[str, Any]]) -> None:
        self.calls = calls

    def create_pipeline_v2(self, create_pipeline_request_json: str) -> None:
        self.calls.append(("create_pipeline", json.loads(create_pipeline_request_json)))


class StandIn:
    def __init__(self, error: str = "") -> None:
        self.calls: list[tuple[str, Any]] = []
        self.pfs, self.pps = _Pfs(self.calls, error), _Pps(self.calls)

    def of(self, kind: str) -> list[Any]:
        return [a for k, a in self.calls if k == kind]


def test_a_registered_runs_reproduction_registers_the_reproductions_model() -> None:
    from pachflow_lineage.graph import ModelVersion

    p = plan()
    p.model_version = ModelVersion(name="pachflow-fraud-detector", version="3")
    client = StandIn()
    run_cluster(p, client, "http://127.0.0.1:5000", EXPERIMENT)
    train = next(s for s in client.of("create_pipeline") if s["pipeline"]["name"] == "train")
    env = train["transform"]["env"]
    assert env["PACHFLOW_REGISTERED_MODEL"] == "pachflow-fraud-detector-reproductions"
    assert env["PACHFLOW_EXPERIMENT"] == EXPERIMENT


def plan() -> Plan:
    names = ["train", "provenance", "split", "etl"]  # not in DAG order on purpose
    specs = {n: json.loads((SPECS / f"{n}.json").read_text()) for n in names}
    return Plan(
        run_id="r" * 32,
        pipeline="train",
        model_version=None,
        lineage=Lineage(subject="run:x", direction="upstream"),
        roots=[Commit(ref=CommitRef("raw_data", RAW))],
        specs=specs,
    )


def test_the_reproduction_runs_in_a_project_of_its_own() -> None:
    client = StandIn()
    run_id, project, _ = run_cluster(plan(), client, "http://127.0.0.1:5000", EXPERIMENT)
    assert run_id == NEW_RUN
    assert project.startswith("reproduce-")
    [(made, description)] = client.of("create_project")
    assert made.name == project and description == "r" * 32

    # raw_data: a new repo in that project holding a server-side copy of the original commit
    [repo] = client.of("create_repo")
    assert (repo.name, repo.project.name) == ("raw_data", project)
    [(src, dst)] = client.of("copy_file")
    assert (src.commit.repo.name, src.commit.repo.project.name) == ("raw_data", "default")
    assert (src.commit.id, src.path, dst) == (RAW, "/", "/")

    # every pipeline in that project, after the repos it reads; inputs moved there too
    created = client.of("create_pipeline")
    assert [s["pipeline"]["name"] for s in created] == ["split", "etl", "train", "provenance"]
    for spec in created:
        assert spec["pipeline"]["project"] == {"name": project}
        assert spec["transform"]["env"]["MLFLOW_TRACKING_URI"]  # never dropped
        inputs = json.dumps(spec["input"])
        assert '"project": "default"' not in inputs and f'"project": "{project}"' in inputs
    # the specs' own (in-cluster) MLflow address wins over the caller's
    train = next(s for s in created if s["pipeline"]["name"] == "train")
    assert train["transform"]["env"]["MLFLOW_TRACKING_URI"].startswith("http://mlflow.mlflow")
    # its run goes to the reproductions' experiment, not the user's (no model version in
    # this plan: nothing to register under another name); the other stages are unchanged
    assert train["transform"]["env"]["PACHFLOW_EXPERIMENT"] == EXPERIMENT
    assert "PACHFLOW_REGISTERED_MODEL" not in train["transform"]["env"]
    assert not any(
        "PACHFLOW_EXPERIMENT" in s["transform"]["env"] for s in created if s is not train
    )

    # the new run id comes from train's output in the new project, never the user's
    [out] = client.of("inspect_commit")
    assert (out.repo.name, out.repo.project.name) == ("train", project)
    [manifest] = client.of("pfs_file")
    assert manifest.path == "/run.json" and manifest.commit.repo.project.name == project


def test_a_failed_reproduction_names_its_project() -> None:
    client = StandIn(error="datum failed")
    with pytest.raises(ReproduceError) as err:
        run_cluster(plan(), client, "http://127.0.0.1:5000", EXPERIMENT)
    assert "reproduction failed in project reproduce-" in str(err.value)
    assert "datum failed" in str(err.value)


def test_a_pipeline_reading_a_repo_nothing_makes_is_named() -> None:
    p = plan()
    del p.specs["split"]
    client = StandIn()
    with pytest.raises(ReproduceError, match="pipelines etl, provenance, train read repos"):
        run_cluster(p, client, "http://127.0.0.1:5000", EXPERIMENT)
    assert client.calls == []  # refused before anything is made on the cluster


def test_specs_that_read_each_other_in_a_cycle_are_named() -> None:
    p = plan()
    p.specs["split"]["input"] = {"pfs": {"repo": "etl", "glob": "/*"}}
    client = StandIn()
    with pytest.raises(ReproduceError, match="pipelines form a cycle: etl -> split -> etl"):
        run_cluster(p, client, "http://127.0.0.1:5000", EXPERIMENT)
    assert client.calls == []
