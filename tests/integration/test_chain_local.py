"""The whole chain (raw_data -> split -> etl -> train) on a backend, against a real MLflow
server, asserting the links between MLflow runs and Pachyderm commits in both directions.

The assertions are written against `ChainBackend`, so the same test runs on the local
backend (always: `pachflow`'s runner + store, MLflow server on loopback) and on a cluster
(when PACHD_ADDRESS and MLFLOW_TRACKING_URI name one; skipped otherwise).
"""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
ROWS = 20_000  # ~26 frauds: enough for both parts of the stratified train/test split
CHAIN = ["raw_data", "split", "etl", "train"]
STAGE_MODULES = ["pachflow_split.cli", "pachflow_etl.cli", "pachflow_train.cli"]

pytestmark = pytest.mark.spark


@dataclass(frozen=True)
class Commit:
    repo: str
    id: str
    provenance: tuple[tuple[str, str], ...]  # (repo, id) of the data inputs (no spec repos)
    spec: str | None  # the spec commit id (pipelines only)
    metadata: dict[str, str]


class ChainBackend(Protocol):
    tracking_uri: str

    def put_raw(self, local: Path) -> str:
        """Put one file into raw_data@master; returns the new commit id."""

    def run(self, raw_commit: str) -> None:
        """Bring the DAG up to date with that raw_data commit (wait for it on a cluster)."""

    def head(self, repo: str) -> Commit: ...

    def inspect(self, repo: str, commit_id: str) -> Commit: ...

    def read(self, repo: str, commit_id: str, path: str) -> bytes: ...

    def delete_raw(self, name: str) -> str:
        """Delete one file from raw_data@master; returns the new commit id."""

    def files(self, repo: str, commit_id: str) -> list[str]:
        """Every file path of a commit."""


class LocalBackend:
    """`pachflow`'s store and runner, with a private $PACHFLOW_HOME."""

    def __init__(self, home: Path, tracking_uri: str, upto: str | None = None) -> None:
        from pachflow_store import Store

        self.store = Store(home)
        self.tracking_uri = tracking_uri
        self.upto = upto  # run the DAG only as far as this pipeline (None: all of it)

    def put_raw(self, local: Path) -> str:
        return self.store.put_files("raw_data", [("/" + local.name, local)]).id

    def run(self, raw_commit: str) -> None:
        from pachflow.local.progress import Progress
        from pachflow.local.runner import Runner
        from pachflow.local.specs import load_specs

        specs = load_specs(SPECS)
        if self.upto:
            names = [s.name for s in specs]
            specs = specs[: names.index(self.upto) + 1]  # DAG order: its upstream comes first
        summary = Runner(self.store, specs, progress=Progress(quiet=True)).run()
        assert not summary.failed, [(o.pipeline, o.reason) for o in summary.failed]

    def _commit(self, ref) -> Commit:
        info = self.store.inspect_commit(ref)
        data = tuple((p.repo, p.id) for p in info.provenance if p.repo_type == "user")
        spec = next((p.id for p in info.provenance if p.repo_type == "spec"), None)
        return Commit(ref.repo, ref.id, data, spec, dict(info.metadata))

    def head(self, repo: str) -> Commit:
        return self._commit(self.store.resolve(repo))

    def inspect(self, repo: str, commit_id: str) -> Commit:
        return self._commit(self.store.resolve(repo, commit_id))

    def read(self, repo: str, commit_id: str, path: str) -> bytes:
        return self.store.file_blob(self.store.resolve(repo, commit_id), path).read_bytes()

    def delete_raw(self, name: str) -> str:
        return self.store.delete_files("raw_data", ["/" + name]).id

    def files(self, repo: str, commit_id: str) -> list[str]:
        return [f.path for f in self.store.walk_files(self.store.resolve(repo, commit_id))]

    def datums(self, pipeline: str) -> tuple[int, int]:
        """(processed, skipped) datums of the pipeline's latest job."""
        job = self.store.list_jobs(pipeline)[0]
        return job.processed, job.skipped


class ClusterBackend:
    """A Pachyderm cluster with the pipelines deployed (`make deploy`)."""

    def __init__(self, address: str, tracking_uri: str) -> None:
        from pachyderm_sdk import Client

        self.client = Client.from_pachd_address(address)
        self.tracking_uri = tracking_uri

    def put_raw(self, local: Path) -> str:
        from pachyderm_sdk.api import pfs

        branch = pfs.Branch.from_uri("raw_data@master")
        with self.client.pfs.commit(branch=branch) as commit, local.open("rb") as fh:
            commit.put_file_from_file(path="/" + local.name, file=fh)
        return commit.id

    def run(self, raw_commit: str) -> None:
        from pachyderm_sdk.api import pfs

        self.client.pfs.wait_commit_set(pfs.CommitSet(id=raw_commit))
        for repo in CHAIN[1:]:
            self.client.pfs.wait_commit(pfs.Commit.from_uri(f"{repo}@master"))

    def _commit(self, uri: str) -> Commit:
        from pachyderm_sdk.api import pfs

        info = self.client.pfs.inspect_commit(
            commit=pfs.Commit.from_uri(uri), wait=pfs.CommitState.FINISHED
        )
        data = tuple((c.repo.name, c.id) for c in info.direct_provenance if c.repo.type != "spec")
        spec = next((c.id for c in info.direct_provenance if c.repo.type == "spec"), None)
        return Commit(info.commit.repo.name, info.commit.id, data, spec, dict(info.metadata))

    def head(self, repo: str) -> Commit:
        return self._commit(f"{repo}@master")

    def inspect(self, repo: str, commit_id: str) -> Commit:
        return self._commit(f"{repo}@{commit_id}")

    def read(self, repo: str, commit_id: str, path: str) -> bytes:
        from pachyderm_sdk.api import pfs

        with self.client.pfs.pfs_file(pfs.File.from_uri(f"{repo}@{commit_id}:{path}")) as fh:
            return fh.read()

    def delete_raw(self, name: str) -> str:
        from pachyderm_sdk.api import pfs

        with self.client.pfs.commit(branch=pfs.Branch.from_uri("raw_data@master")) as commit:
            commit.delete_file(path="/" + name)
        return commit.id

    def files(self, repo: str, commit_id: str) -> list[str]:
        from pachyderm_sdk.api import pfs

        root = pfs.File.from_uri(f"{repo}@{commit_id}:/")
        return [
            f.file.path
            for f in self.client.pfs.walk_file(file=root)
            if f.file_type == pfs.FileType.FILE
        ]


@pytest.fixture(params=["local", "cluster"])
def backend(request, tmp_path, monkeypatch) -> Iterator[ChainBackend]:
    if request.param == "cluster":
        address = os.environ.get("PACHD_ADDRESS")
        tracking = os.environ.get("MLFLOW_TRACKING_URI")
        if not address or not tracking:
            pytest.skip(
                "no Pachyderm cluster: set PACHD_ADDRESS (and MLFLOW_TRACKING_URI, the "
                "cluster's MLflow as reachable from here) with the pipelines deployed"
            )
        yield ClusterBackend(address, tracking)
        return
    missing = [m for m in STAGE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        pytest.skip(f"stage code not installed yet: {', '.join(missing)}")
    server = request.getfixturevalue("mlflow_server")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.uri)  # the runner passes it to stages
    yield LocalBackend(tmp_path / "pachflow-home", server.uri)


def test_chain_links_runs_and_commits_both_ways(backend: ChainBackend, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    from pachflow_paysim.generator import write_paysim

    data = tmp_path / "paysim.csv.gz"
    write_paysim(data, ROWS, 11)
    raw_id = backend.put_raw(data)
    backend.run(raw_id)

    # commits: train <- etl <- split <- raw_data, each by direct provenance
    train = backend.head("train")
    etl = backend.inspect(*train.provenance[0])
    split = backend.inspect(*etl.provenance[0])
    assert [train.provenance[0][0], etl.provenance[0][0], split.provenance[0][0]] == [
        "etl",
        "split",
        "raw_data",
    ]
    assert split.provenance == (("raw_data", raw_id),)
    assert train.spec and etl.spec and split.spec

    # etl ran with datum batching: one process (one Spark session) for all its datums
    if isinstance(backend, LocalBackend):
        logs = backend.store.logs_dir / "etl" / etl.id
        starts = sum(
            log.read_text().count("--- pachflow: started") for log in logs.glob("worker*.log")
        )
        assert starts == 1

    # commit -> run: train's output names its MLflow run
    manifest = json.loads(backend.read("train", train.id, "/run.json"))
    run_id = manifest["run_id"]
    assert backend.read("train", train.id, f"/{run_id}") == b""  # the seed's marker file
    client = MlflowClient(backend.tracking_uri)
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED"
    tags = run.data.tags
    assert tags["pachyderm.pipeline"] == "train"
    assert tags["pachyderm.job_id"] == train.id
    assert tags["pachyderm.output_commit"] == train.id
    assert tags["pachyderm.spec_commit"] == train.spec
    assert tags["pachyderm.input.etl.repo"] == "etl"
    assert tags["pachyderm.input.etl.commit"] == etl.id
    assert {m for m in run.data.metrics} >= set(manifest["metrics"])

    # run -> commit: the run is found from the commit id alone
    found = client.search_runs(
        experiment_ids=[run.info.experiment_id],
        filter_string=f"tags.`pachyderm.output_commit` = '{train.id}'",
    )
    assert [r.info.run_id for r in found] == [run_id]

    # the provenance pipeline records the run on train's output commit (commit metadata)
    if (SPECS / "provenance.json").exists():
        assert backend.head("provenance").provenance == (("train", train.id),)
        assert backend.inspect("train", train.id).metadata.get("mlflow.run_id") == run_id

    # the registered model version comes from that run
    registered = manifest["registered_model"]
    version = client.get_model_version(registered["name"], str(registered["version"]))
    assert version.run_id == run_id


def features_of(backend: ChainBackend, etl_commit: str, into: Path):
    """The features every reader gets from an etl commit (pachflow_features' merge), as
    rows sorted by customer."""
    from pachflow_features import read_features
    from pachflow_spark import SparkSettings, build_session

    files = []
    for path in backend.files("etl", etl_commit):
        if path.endswith(".parquet"):
            local = into / etl_commit / path.lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(backend.read("etl", etl_commit, path))
            files.append(local)
    spark = build_session("chain-test-features", SparkSettings("local[2]", "1g", 2))
    return read_features(spark, files).toPandas().sort_values("nameOrig").reset_index(drop=True)


def runs_of(client, run_id: str) -> int:
    """How many train runs the experiment of `run_id` holds."""
    experiment = client.get_run(run_id).info.experiment_id
    return len(client.search_runs(experiment_ids=[experiment], max_results=1000))


def test_new_data_recomputes_only_what_it_touches(
    backend: ChainBackend, tmp_path: Path, mlflow_server
):
    """+ a small raw file: only its datums run, one new MLflow run naming the new etl
    commit, features equal to a cold run over both files; + an empty file: no new run;
    - the small file: features equal to the first run's again."""
    import pandas as pd
    from mlflow.tracking import MlflowClient

    from pachflow_paysim.generator import write_paysim

    first, second, empty = tmp_path / "a.csv.gz", tmp_path / "b.csv.gz", tmp_path / "c.csv"
    write_paysim(first, ROWS, 11)
    write_paysim(second, ROWS // 10, 12)
    empty.write_text(gzip_header(first))
    backend.run(backend.put_raw(first))
    etl_first = backend.head("etl").id
    run_first = json.loads(backend.read("train", backend.head("train").id, "/run.json"))["run_id"]
    client = MlflowClient(backend.tracking_uri)
    features_first = features_of(backend, etl_first, tmp_path)
    runs = runs_of(client, run_first)

    backend.run(backend.put_raw(empty))  # no customer changes: train is skipped
    if isinstance(backend, LocalBackend):
        assert backend.datums("train") == (0, 1)
    assert (
        json.loads(backend.read("train", backend.head("train").id, "/run.json"))["run_id"]
        == run_first
    )
    assert runs_of(client, run_first) == runs

    backend.run(backend.put_raw(second))
    etl_added = backend.head("etl").id
    if isinstance(backend, LocalBackend):
        assert backend.datums("split") == (1, 2)  # only the new file
        processed, skipped = backend.datums("etl")
        assert processed <= 16 and skipped >= 16  # only the new file's shard files
    manifest = json.loads(backend.read("train", backend.head("train").id, "/run.json"))
    assert manifest["run_id"] != run_first and runs_of(client, run_first) == runs + 1
    run = client.get_run(manifest["run_id"])
    assert run.data.tags["pachyderm.input.etl.commit"] == etl_added
    assert [i.dataset.source for i in run.inputs.dataset_inputs if etl_added in i.dataset.source]
    added = features_of(backend, etl_added, tmp_path)

    # a cold run over both files, in one commit, on a fresh store (features only: no train)
    if isinstance(backend, LocalBackend):
        cold = LocalBackend(tmp_path / "cold-home", backend.tracking_uri, upto="etl")
        ref = cold.store.put_files("raw_data", [("/a.csv.gz", first), ("/b.csv.gz", second)])
        cold.run(ref.id)
        pd.testing.assert_frame_equal(added, features_of(cold, cold.head("etl").id, tmp_path))
    assert len(added) > len(features_first)

    backend.run(backend.delete_raw(second.name))
    if isinstance(backend, LocalBackend):
        assert backend.datums("etl")[0] == 0  # nothing to compute: its datums just vanish
    pd.testing.assert_frame_equal(
        features_of(backend, backend.head("etl").id, tmp_path), features_first
    )


def gzip_header(path: Path) -> str:
    """The header line of a PaySim CSV (an input with no rows)."""
    import gzip

    with gzip.open(path, "rt") as fh:
        return fh.readline()
