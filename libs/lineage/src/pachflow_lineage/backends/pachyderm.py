"""The Pachyderm backend: pachyderm_sdk messages translated into the lineage model.

The translation functions are pure (message in, model out) so tests can feed them real
pachyderm_sdk messages without a cluster.
"""

from __future__ import annotations

import inspect
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import grpc
from pachyderm_sdk.api import metadata, pfs, pps

import pachflow_store as ps
from pachflow_contracts.commits import DEFAULT_BRANCH, DEFAULT_PROJECT, CommitRef
from pachflow_lineage.backends.base import MAX_FILES, CommitRecord
from pachflow_lineage.errors import LineageError, UnknownCommit, Unreachable
from pachflow_lineage.graph import Commit, Datum, FileEntry, Job, utc_iso

# Protobuf Timestamps that were never set come back as the epoch.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HIDDEN_REPO_TYPES = {"meta"}  # a pipeline's meta repo (datum bookkeeping), not data


def iso(ts: datetime | None) -> str | None:
    return None if ts is None or ts <= _EPOCH else utc_iso(ts)


def ref_from_commit(commit: pfs.Commit) -> CommitRef:
    repo = commit.repo
    project = repo.project.name if repo.project and repo.project.name else DEFAULT_PROJECT
    return CommitRef(repo=repo.name, id=commit.id, project=project, repo_type=repo.type or "user")


def commit_message(ref: CommitRef) -> pfs.Commit:
    """A Commit message by id. Not `Commit.from_uri`: it reads an id without the UUID-4
    marker (local-store style, e.g. 'aaaa...') as a branch name."""
    repo = pfs.Repo(name=ref.repo, type=ref.repo_type, project=pfs.Project(name=ref.project))
    return pfs.Commit(repo=repo, id=ref.id)


def commit_from_info(info: pfs.CommitInfo, files: list[FileEntry] | None = None) -> Commit:
    size = info.details.size_bytes if info.details and info.details.size_bytes else None
    if size is None and info.size_bytes_upper_bound:
        size = info.size_bytes_upper_bound
    created = iso(info.created_at) or iso(info.started)
    return Commit(
        ref=ref_from_commit(info.commit),
        origin=info.origin.kind.name if info.origin and info.origin.kind else "",
        size=size,
        created=created,
        files=files or [],
        metadata=dict(info.metadata),
        error=info.error,
    )


def record_from_info(
    info: pfs.CommitInfo, files: list[FileEntry] | None = None, job: Job | None = None
) -> CommitRecord:
    def keep(c: pfs.Commit) -> bool:
        return (c.repo.type or "user") not in HIDDEN_REPO_TYPES

    return CommitRecord(
        commit=commit_from_info(info, files),
        provenance=[ref_from_commit(c) for c in info.direct_provenance if keep(c)],
        subvenance=[ref_from_commit(c) for c in info.direct_subvenance if keep(c)],
        job=job,
    )


def job_from_info(info: pps.JobInfo) -> Job:
    pipeline = info.job.pipeline
    project = (
        pipeline.project.name if pipeline.project and pipeline.project.name else DEFAULT_PROJECT
    )
    return Job(
        pipeline=pipeline.name,
        id=info.job.id,
        project=project,
        state=info.state.name if info.state else "",
        created=iso(info.created),
        finished=iso(info.finished),
        data_processed=info.data_processed,
        data_skipped=info.data_skipped,
        data_failed=info.data_failed,
        data_total=info.data_total,
        reason=info.reason,
    )


def datum_from_info(info: pps.DatumInfo) -> Datum:
    return Datum(
        pipeline=info.datum.job.pipeline.name,
        job_id=info.datum.job.id,
        id=info.datum.id,
        state=info.state.name if info.state else "",
    )


def files_from_infos(infos: Any) -> list[FileEntry]:
    out: list[FileEntry] = []
    for fi in infos:
        if fi.file_type == pfs.FileType.FILE:
            out.append(
                FileEntry(path=fi.file.path.lstrip("/"), size=fi.size_bytes, hash=fi.hash.hex())
            )
            if len(out) >= MAX_FILES:
                break
    return out


def _is(exc: grpc.RpcError, *codes: grpc.StatusCode) -> bool:
    """The status of a failed call (grpc's errors carry `code()`; plain RpcError has none)."""
    code = getattr(exc, "code", None)
    return callable(code) and code() in codes


def _details(exc: grpc.RpcError) -> str:
    details = getattr(exc, "details", None)
    return str(details() if callable(details) else exc)


class PachydermBackend:
    """Lineage reads and commit metadata writes against a pachd, through pachyderm_sdk.

    `client` is a pachyderm_sdk Client (tests pass an object with the same `pfs`, `pps`
    and `metadata` attributes returning real messages).
    """

    name = "pachyderm"

    def __init__(self, client: Any, console_url: str | None = None) -> None:
        self.client = client
        self.console_url = (console_url or os.environ.get("PACHFLOW_CONSOLE_URL") or "").rstrip("/")

    def _call(self, what: str, fn: Any, **kwargs: Any) -> Any:
        """One call; streaming answers are read here, so their errors are mapped too."""
        try:
            result = fn(**kwargs)
            return list(result) if inspect.isgenerator(result) else result
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise Unreachable(f"pachd is unreachable while {what}: {_details(exc)}") from exc
            raise

    def inspect_commit(self, ref: CommitRef, *, files: bool = True) -> CommitRecord:
        commit = commit_message(ref)
        try:
            info = self._call(
                f"inspecting {ref.label}", self.client.pfs.inspect_commit, commit=commit
            )
        except grpc.RpcError as exc:
            if _is(
                exc,
                grpc.StatusCode.NOT_FOUND,
                grpc.StatusCode.UNKNOWN,
                grpc.StatusCode.INVALID_ARGUMENT,
            ):
                raise UnknownCommit(
                    f"no commit {ref.label} in Pachyderm ({_details(exc)})"
                ) from exc
            raise
        entries: list[FileEntry] = []
        if files and ref.repo_type == "user":
            entries = files_from_infos(
                self._call(
                    f"listing files of {ref.label}",
                    self.client.pfs.glob_file,
                    commit=commit,
                    pattern="**",
                )
            )
        job = None
        if info.origin.kind == pfs.OriginKind.AUTO and ref.repo_type == "user":
            job = self._job(ref)
        return record_from_info(info, entries, job)

    def resolve_commit(self, name: ps.CommitName) -> CommitRef:
        """A full id as it is; else the head of that branch; else the one commit of the
        repo whose id starts with the prefix (pachd itself takes only whole ids)."""
        repo_name, _, repo_type = name.repo.partition(".")
        ref = CommitRef(repo_name, name.ref, project=name.project, repo_type=repo_type or "user")
        if name.is_full_id:
            return ref
        repo = pfs.Repo(name=ref.repo, type=ref.repo_type, project=pfs.Project(name=ref.project))
        branch = pfs.Branch(repo=repo, name=name.ref or DEFAULT_BRANCH)
        try:
            info = self._call(
                f"inspecting {name.text}",
                self.client.pfs.inspect_commit,
                commit=pfs.Commit(repo=repo, branch=branch),
            )
            return ref_from_commit(info.commit)
        except grpc.RpcError as exc:
            if not _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                raise
            if not ps.is_id_prefix(name.ref):
                raise UnknownCommit(
                    f"no branch or commit {name.text} in Pachyderm ({_details(exc)})"
                ) from exc
        ids = [c.id for c in self._commits(repo)]
        try:
            return replace(ref, id=ps.pick_unique(f"{name.repo} commit", name.ref, ids))
        except ps.NotFound as exc:
            raise UnknownCommit(str(exc)) from exc
        except ps.StoreError as exc:
            raise LineageError(str(exc)) from exc

    def _job(self, output: CommitRef) -> Job | None:
        """The job of a pipeline output commit: same pipeline name and id (global id)."""
        job = pps.Job(
            pipeline=pps.Pipeline(name=output.repo, project=pfs.Project(name=output.project)),
            id=output.id,
        )
        try:
            return job_from_info(
                self._call(
                    f"inspecting job {output.label}",
                    self.client.pps.inspect_job,
                    job=job,
                    details=False,
                )
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                return None  # e.g. an output commit from a deleted pipeline version
            raise

    def commit_set(self, commit_set_id: str) -> list[CommitRef]:
        try:
            infos = self._call(
                f"inspecting commit set {commit_set_id}",
                self.client.pfs.inspect_commit_set,
                commit_set=pfs.CommitSet(id=commit_set_id),
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                raise UnknownCommit(f"no commit set {commit_set_id} ({_details(exc)})") from exc
            raise
        return [
            ref_from_commit(i.commit)
            for i in infos
            if (i.commit.repo.type or "user") not in HIDDEN_REPO_TYPES
        ]

    def datums(self, job: Job) -> list[Datum]:
        request = pps.Job(
            pipeline=pps.Pipeline(name=job.pipeline, project=pfs.Project(name=job.project)),
            id=job.id,
        )
        infos = self._call(
            f"listing datums of {job.label}", self.client.pps.list_datum, job=request
        )
        return [datum_from_info(i) for i in infos]

    def set_commit_metadata(self, ref: CommitRef, items: dict[str, str]) -> str | None:
        """edit_key upserts, so a retry writes the same values again. pachd older than
        2.10 has no metadata API (UNIMPLEMENTED); with auth on, the caller may lack the
        right on that repo (PERMISSION_DENIED): both are reported as skipped, not failed,
        because the lineage itself is already in MLflow and in the output."""
        picker = pfs.CommitPicker(
            id=pfs.CommitPickerCommitByGlobalId(
                repo=pfs.Repo(
                    name=ref.repo, type=ref.repo_type, project=pfs.Project(name=ref.project)
                ).as_picker(),
                id=ref.id,
            )
        )
        edits = [
            metadata.Edit(commit=picker, edit_key=metadata.EditEditKey(key=k, value=v))
            for k, v in sorted(items.items())
        ]
        try:
            self._call(
                f"editing metadata of {ref.label}",
                self.client.metadata.edit_metadata,
                edits=edits,
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.UNIMPLEMENTED):
                return "pachd has no commit metadata API (older than 2.10)"
            if _is(exc, grpc.StatusCode.PERMISSION_DENIED):
                return (
                    f"no permission to edit metadata of {ref.label} ({_details(exc)}); grant "
                    f"this pipeline repoWriter on {ref.repo}"
                )
            raise
        return None

    def file_hash(self, ref: CommitRef, path: str) -> str | None:
        file = pfs.File(commit=commit_message(ref), path="/" + path.lstrip("/"))
        try:
            info = self._call(
                f"inspecting {ref.label}:{path}", self.client.pfs.inspect_file, file=file
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                return None
            raise
        return info.hash.hex() if info.file_type == pfs.FileType.FILE else None

    def read_file(self, ref: CommitRef, path: str) -> bytes | None:
        if self.file_hash(ref, path) is None:
            return None
        file = pfs.File(commit=commit_message(ref), path="/" + path.lstrip("/"))
        with self._call(f"reading {ref.label}:{path}", self.client.pfs.pfs_file, file=file) as f:
            return bytes(f.read())

    def commits_of(self, repo: str) -> list[CommitRef]:
        return self._commits(
            pfs.Repo(name=repo, type="user", project=pfs.Project(name=DEFAULT_PROJECT))
        )

    def _commits(self, repo: pfs.Repo) -> list[CommitRef]:
        try:
            infos = self._call(
                f"listing commits of {repo.name}", self.client.pfs.list_commit, repo=repo, all=True
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                raise UnknownCommit(f"no repo {repo.name} in Pachyderm ({_details(exc)})") from exc
            raise
        return [ref_from_commit(i.commit) for i in infos]

    def spec(self, ref: CommitRef) -> dict[str, Any] | None:
        """The pipeline version whose spec commit is `ref` (from the pipeline's history)."""
        pipeline = pps.Pipeline(name=ref.repo, project=pfs.Project(name=ref.project))
        try:
            infos = self._call(
                f"listing versions of pipeline {ref.repo}",
                self.client.pps.list_pipeline,
                pipeline=pipeline,
                history=-1,
                details=True,
            )
        except grpc.RpcError as exc:
            if _is(exc, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.UNKNOWN):
                return None
            raise
        for info in infos:
            if info.spec_commit.id == ref.id:
                if info.user_spec_json:  # the spec as the user wrote it (pachd 2.x)
                    return dict(json.loads(info.user_spec_json))
                return info.details.to_dict() if info.details else {}
        return None

    def commit_url(self, ref: CommitRef) -> str | None:
        if not self.console_url or ref.repo_type != "user":
            return None
        return f"{self.console_url}/lineage/{ref.project}/repos/{ref.repo}/commit/{ref.id}/"

    def job_url(self, job: Job) -> str | None:
        if not self.console_url:
            return None
        pipeline = f"{self.console_url}/lineage/{job.project}/pipelines/{job.pipeline}"
        return f"{pipeline}/jobs/{job.id}/logs"

    def close(self) -> None:
        channel = getattr(self.client, "_channel", None)
        if channel is not None:
            channel.close()
