"""The Pachyderm backend: real pachyderm_sdk messages in, lineage model out.

No cluster runs here, so a tiny stand-in client returns real pfs/pps messages (the only
fake in these tests); the end-to-end cluster test is in tests/integration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from pachyderm_sdk.api import metadata, pfs, pps

import pachflow_store as ps
from pachflow_contracts.commits import CommitRef
from pachflow_lineage.backends.pachyderm import (
    PachydermBackend,
    commit_from_info,
    job_from_info,
    record_from_info,
)
from pachflow_lineage.errors import UnknownCommit, Unreachable
from pachflow_lineage.resolve import Resolver
from pachflow_lineage.tracking import Tracking

RAW = "0123456789ab4def8123456789abcde0"
SPLIT = "1123456789ab4def8123456789abcde1"
SPEC = "2123456789ab4def8123456789abcde2"
T0 = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)


def repo(name: str, type_: str = "user") -> pfs.Repo:
    return pfs.Repo(name=name, type=type_, project=pfs.Project(name="default"))


def commit(name: str, id_: str, type_: str = "user") -> pfs.Commit:
    return pfs.Commit(repo=repo(name, type_), id=id_)


def commit_info(
    name: str, id_: str, kind: pfs.OriginKind, type_: str = "user", **fields: Any
) -> pfs.CommitInfo:
    """What pachd answers for commit `id_` of repo `name`, made by `kind`."""
    return pfs.CommitInfo(
        commit=commit(name, id_, type_), origin=pfs.CommitOrigin(kind=kind), **fields
    )


def raw_info() -> pfs.CommitInfo:
    return commit_info(
        "raw_data",
        RAW,
        pfs.OriginKind.USER,
        started=T0,
        created_at=T0,
        size_bytes_upper_bound=2048,
        direct_subvenance=[commit("split", SPLIT), commit("split", SPLIT, "meta")],
    )


def split_info() -> pfs.CommitInfo:
    return commit_info(
        "split",
        SPLIT,
        pfs.OriginKind.AUTO,
        created_at=T0,
        finished=T0,
        details=pfs.CommitInfoDetails(size_bytes=4096),
        direct_provenance=[commit("raw_data", RAW), commit("split", SPEC, "spec")],
        metadata={"mlflow.run_id": "abc"},
    )


def split_job() -> pps.JobInfo:
    return pps.JobInfo(
        job=pps.Job(
            pipeline=pps.Pipeline(name="split", project=pfs.Project(name="default")), id=SPLIT
        ),
        output_commit=commit("split", SPLIT),
        state=pps.JobState.JOB_SUCCESS,
        created=T0,
        finished=T0,
        data_processed=2,
        data_skipped=1,
        data_total=3,
    )


class RpcError(grpc.RpcError):
    def __init__(self, code: grpc.StatusCode, details: str = "") -> None:
        super().__init__(details)
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


class Stub:
    def __init__(self, **methods: Any) -> None:
        self.__dict__.update(methods)


class FakeClient:
    """Answers like pachd for a two-repo DAG: raw_data -> split (+ split's spec commit)."""

    def __init__(self, metadata_error: grpc.StatusCode | None = None) -> None:
        self.edits: list[metadata.Edit] = []
        infos = {
            ("raw_data", "user", RAW): raw_info(),
            ("split", "user", SPLIT): split_info(),
            ("split", "spec", SPEC): commit_info("split", SPEC, pfs.OriginKind.USER, "spec"),
        }

        def inspect_commit(*, commit: pfs.Commit, wait: Any = None) -> pfs.CommitInfo:
            if commit.branch and commit.branch.name == "master":  # a branch: its head
                heads = {"raw_data": RAW, "split": SPLIT}
                if commit.repo.name not in heads:
                    raise RpcError(grpc.StatusCode.NOT_FOUND, "branch not found")
                return infos[(commit.repo.name, commit.repo.type, heads[commit.repo.name])]
            if commit.branch and commit.branch.name:
                raise RpcError(grpc.StatusCode.NOT_FOUND, f"branch {commit.branch.name}")
            key = (commit.repo.name, commit.repo.type, commit.id)
            if key not in infos:
                raise RpcError(grpc.StatusCode.NOT_FOUND, f"commit {commit.id} not found")
            return infos[key]

        def glob_file(*, commit: pfs.Commit, pattern: str) -> list[pfs.FileInfo]:
            assert pattern == "**"
            if commit.repo.name != "raw_data":
                return []
            return [
                pfs.FileInfo(
                    file=pfs.File(commit=commit, path="/a.csv"),
                    file_type=pfs.FileType.FILE,
                    size_bytes=2000,
                ),
                pfs.FileInfo(
                    file=pfs.File(commit=commit, path="/dir/"),
                    file_type=pfs.FileType.DIR,
                    size_bytes=48,
                ),
            ]

        def inspect_job(*, job: pps.Job, details: bool = False) -> pps.JobInfo:
            if (job.pipeline.name, job.id) == ("split", SPLIT):
                return split_job()
            raise RpcError(grpc.StatusCode.NOT_FOUND, "no job")

        def inspect_commit_set(*, commit_set: pfs.CommitSet) -> Iterator[pfs.CommitInfo]:
            # a server stream, as in the SDK: errors surface while iterating
            found = [i for i in infos.values() if i.commit.id == commit_set.id]
            if not found:
                raise RpcError(grpc.StatusCode.NOT_FOUND, f"commit set {commit_set.id}")
            yield from found

        def edit_metadata(*, edits: list[metadata.Edit]) -> metadata.EditMetadataResponse:
            if metadata_error:
                raise RpcError(metadata_error, "unknown service metadata.API")
            self.edits.extend(edits)
            return metadata.EditMetadataResponse()

        def list_commit(*, repo: pfs.Repo, all: bool = False) -> Iterator[pfs.CommitInfo]:
            yield from (i for k, i in infos.items() if k[:2] == (repo.name, repo.type))

        self.pfs = Stub(
            list_commit=list_commit,
            inspect_commit=inspect_commit,
            glob_file=glob_file,
            inspect_commit_set=inspect_commit_set,
        )
        self.pps = Stub(inspect_job=inspect_job)
        self.metadata = Stub(edit_metadata=edit_metadata)


def test_commit_info_translates_origin_size_time_metadata_and_spec_provenance() -> None:
    rec = record_from_info(split_info())
    c = rec.commit
    assert (c.ref.repo, c.ref.id, c.origin, c.size) == ("split", SPLIT, "AUTO", 4096)
    assert c.created == "2026-11-27T04:00:00Z"
    assert c.metadata == {"mlflow.run_id": "abc"}
    assert [p.label for p in rec.provenance] == [f"raw_data@{RAW}", f"split.spec@{SPEC}"]


def test_meta_repos_are_hidden_and_unset_fields_stay_empty() -> None:
    rec = record_from_info(raw_info())
    assert [s.label for s in rec.subvenance] == [f"split@{SPLIT}"]  # not split.meta
    # no details: the upper bound is the size; an unset Timestamp is no time at all
    assert rec.commit.size == 2048
    bare = commit_from_info(pfs.CommitInfo(commit=commit("x", RAW)))
    assert (bare.created, bare.origin, bare.size) == (None, "", None)


def test_job_info_translates_state_and_counts() -> None:
    job = job_from_info(split_job())
    assert (job.label, job.state, job.finished) == (
        f"split@{SPLIT}",
        "JOB_SUCCESS",
        "2026-11-27T04:00:00Z",
    )
    assert (job.data_processed, job.data_skipped, job.data_total) == (2, 1, 3)


def test_backend_inspect_lists_files_and_finds_the_job_of_an_output_commit() -> None:
    backend = PachydermBackend(FakeClient(), console_url="http://console:4000/")
    raw = backend.inspect_commit(CommitRef("raw_data", RAW))
    assert [(f.path, f.size) for f in raw.commit.files] == [("a.csv", 2000)]  # dirs skipped
    assert raw.job is None
    split = backend.inspect_commit(CommitRef("split", SPLIT))
    assert split.job is not None and split.job.state == "JOB_SUCCESS"
    assert backend.commit_url(CommitRef("raw_data", RAW)) == (
        f"http://console:4000/lineage/default/repos/raw_data/commit/{RAW}/"
    )
    assert [r.label for r in backend.commit_set(SPLIT)] == [f"split@{SPLIT}"]
    with pytest.raises(UnknownCommit, match=f"no commit set {RAW[:-1]}f"):
        backend.commit_set(RAW[:-1] + "f")


def test_backend_resolves_a_commit_named_by_branch_or_id_prefix() -> None:
    """pachd takes whole ids only: a branch is inspected, a prefix matched against the
    repo's commits (the ids the CLI prints are 12 hex digits)."""
    backend = PachydermBackend(FakeClient())
    assert backend.resolve_commit(ps.parse_commit_name("raw_data@master")).id == RAW
    assert backend.resolve_commit(ps.parse_commit_name("split")).id == SPLIT
    assert backend.resolve_commit(ps.parse_commit_name(f"raw_data@{RAW[:12]}")).id == RAW
    assert backend.resolve_commit(ps.parse_commit_name(f"split.spec@{SPEC[:4]}")) == CommitRef(
        "split", SPEC, repo_type="spec"
    )
    with pytest.raises(UnknownCommit, match="no raw_data commit id starts with ffff"):
        backend.resolve_commit(ps.parse_commit_name("raw_data@ffff"))
    with pytest.raises(UnknownCommit, match="no branch or commit raw_data@dev"):
        backend.resolve_commit(ps.parse_commit_name("raw_data@dev"))


def test_backend_unknown_commit_is_a_clear_error() -> None:
    backend = PachydermBackend(FakeClient())
    with pytest.raises(UnknownCommit, match=f"no commit raw_data@{SPLIT}"):
        backend.inspect_commit(CommitRef("raw_data", SPLIT))


def test_commit_metadata_edits_are_upserts_on_the_commit_by_id() -> None:
    client = FakeClient()
    skipped = PachydermBackend(client).set_commit_metadata(
        CommitRef("split", SPLIT), {"mlflow.run_id": "r1", "mlflow.model_version": "m/1"}
    )
    assert skipped is None
    assert [
        (e.commit.id.id, e.commit.id.repo.name.name, e.edit_key.key, e.edit_key.value)
        for e in client.edits
    ] == [
        (SPLIT, "split", "mlflow.model_version", "m/1"),
        (SPLIT, "split", "mlflow.run_id", "r1"),
    ]


def test_commit_metadata_on_a_pachd_without_the_api_is_skipped_not_failed() -> None:
    backend = PachydermBackend(FakeClient(metadata_error=grpc.StatusCode.UNIMPLEMENTED))
    skipped = backend.set_commit_metadata(CommitRef("split", SPLIT), {"k": "v"})
    assert skipped == "pachd has no commit metadata API (older than 2.10)"
    denied = PachydermBackend(FakeClient(metadata_error=grpc.StatusCode.PERMISSION_DENIED))
    assert "grant this pipeline repoWriter on split" in str(
        denied.set_commit_metadata(CommitRef("split", SPLIT), {"k": "v"})
    )
    failing = PachydermBackend(FakeClient(metadata_error=grpc.StatusCode.UNAVAILABLE))
    with pytest.raises(Unreachable):
        failing.set_commit_metadata(CommitRef("split", SPLIT), {"k": "v"})


def test_resolver_walks_pachyderm_both_ways(mlflow_tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow_contracts.worker_context import PachydermContext

    env = {
        "PACH_JOB_ID": SPLIT,
        "PACH_DATUM_ID": "d1",
        "PPS_PIPELINE_NAME": "split",
        "PPS_SPEC_COMMIT": SPEC,
        "raw_data": "/pfs/raw_data",
        "raw_data_COMMIT": RAW,
    }
    tags = PachydermContext.from_env(env, default_pipeline="split").tags()
    client = MlflowClient(mlflow_tracking_uri)
    exp = client.get_experiment_by_name("prov-pachyderm") or client.get_experiment(
        client.create_experiment("prov-pachyderm")
    )
    run = client.create_run(exp.experiment_id, tags=tags, run_name=f"split@{SPLIT}")
    resolver = Resolver(PachydermBackend(FakeClient()), Tracking(mlflow_tracking_uri))

    up = resolver.upstream_of_run(run.info.run_id)
    assert set(up.commits) == {
        f"commit:raw_data@{RAW}",
        f"commit:split@{SPLIT}",
        f"commit:split.spec@{SPEC}",
    }
    edges = {(e.src, e.dst, e.kind) for e in up.edges}
    assert (f"commit:split.spec@{SPEC}", f"job:split@{SPLIT}", "spec") in edges
    assert (f"job:split@{SPLIT}", f"datum:split@{SPLIT}/d1", "datum") in edges
    assert (f"datum:split@{SPLIT}/d1", f"run:{run.info.run_id}", "tracked") in edges
    assert up.info["spec versions"] == f"split.spec@{SPEC}"

    down = resolver.downstream_of_commit(CommitRef("raw_data", RAW))
    assert set(down.commits) == {f"commit:raw_data@{RAW}", f"commit:split@{SPLIT}"}
    assert f"run:{run.info.run_id}" in down.runs
    edges = {(e.src, e.dst, e.kind) for e in down.edges}
    assert (f"commit:raw_data@{RAW}", f"job:split@{SPLIT}", "input") in edges
    assert (f"job:split@{SPLIT}", f"commit:split@{SPLIT}", "output") in edges
    payload = json.loads(json.dumps(down.to_dict()))
    assert {(c["repo"], c["id"]) for c in payload["commits"]} == {
        ("raw_data", RAW),
        ("split", SPLIT),
    }


def test_read_file_reads_one_file_of_a_commit_and_none_when_absent() -> None:
    """What `lineage commit score@<id>` reads the scoring records with, on a cluster."""
    from betterproto import BytesValue
    from pachyderm_sdk.api.pfs.file import PFSFile

    record = b'{"model": {"name": "fraud", "version": "3"}}'
    asked: list[str] = []

    def inspect_file(*, file: pfs.File) -> pfs.FileInfo:
        asked.append(f"{file.commit.repo.name}@{file.commit.id}:{file.path}")
        if file.path != "/day-1.csv/scoring.json":
            raise RpcError(grpc.StatusCode.NOT_FOUND, "no such file")
        return pfs.FileInfo(file=file, file_type=pfs.FileType.FILE, hash=b"\x01")

    def pfs_file(*, file: pfs.File) -> PFSFile:
        return PFSFile(iter([BytesValue(value=record[:10]), BytesValue(value=record[10:])]))

    client = FakeClient()
    client.pfs = Stub(inspect_file=inspect_file, pfs_file=pfs_file)
    backend = PachydermBackend(client)
    ref = CommitRef("score", "a" * 32)
    assert backend.read_file(ref, "day-1.csv/scoring.json") == record
    assert backend.read_file(ref, "day-1.csv/other.json") is None
    assert asked == [
        f"score@{'a' * 32}:/day-1.csv/scoring.json",
        f"score@{'a' * 32}:/day-1.csv/other.json",
    ]
