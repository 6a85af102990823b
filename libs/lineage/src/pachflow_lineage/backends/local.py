"""The local backend: the pachflow store (libs/store) that `pachflow run` writes, read
through pachflow_store's API and translated into the lineage model."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pachflow_store as ps
from pachflow_contracts.commits import DEFAULT_PROJECT, CommitRef
from pachflow_lineage.backends.base import MAX_FILES, CommitRecord
from pachflow_lineage.errors import LineageError, UnknownCommit, Unreachable
from pachflow_lineage.graph import Commit, Datum, FileEntry, Job, utc_iso

SPEC_FILE = "/spec.json"  # what the local runner stores in a pipeline's spec commit


def _iso(ts: float | None) -> str | None:
    return None if ts is None else utc_iso(datetime.fromtimestamp(ts, UTC))


def open_store(home: str | None = None) -> ps.Store:
    """The existing store under `home` / $PACHFLOW_HOME / ./.pachflow. Never creates one: a
    lineage question about a store that is not there is a usage error."""
    path = ps.resolve_home(home)
    if not (path / "store.db").is_file():
        raise Unreachable(
            f"no local pachflow store at {path} (set PACHFLOW_HOME, or run `pachflow put`/"
            "`pachflow run` first)"
        )
    return ps.Store(path)


class LocalBackend:
    name = "local"

    def __init__(self, store: ps.Store) -> None:
        self.store = store

    @classmethod
    def open(cls, home: str | None = None) -> LocalBackend:
        return cls(open_store(home))

    def inspect_commit(self, ref: CommitRef, *, files: bool = True) -> CommitRecord:
        try:
            info = self.store.inspect_commit(ref)
        except ps.NotFound as exc:
            raise UnknownCommit(
                f"no commit {ref.label} in the local store {self.store.home}"
            ) from exc
        entries = (
            [
                FileEntry(path=f.path.lstrip("/"), size=f.size, hash=f.blob or "")
                for f in self.store.walk_files(info.commit)[:MAX_FILES]
            ]
            if files and ref.repo_type == ps.USER
            else []
        )
        commit = Commit(
            ref=ref,
            origin=info.origin,
            size=info.size,
            created=_iso(info.created),
            files=entries,
            metadata=dict(info.metadata),
        )
        job = self._job(ref) if info.origin == ps.ORIGIN_AUTO and ref.repo_type == ps.USER else None
        return CommitRecord(
            commit=commit,
            provenance=list(info.provenance),
            subvenance=list(info.subvenance),
            job=job,
        )

    def resolve_commit(self, name: ps.CommitName) -> CommitRef:
        if name.is_full_id and name.project == DEFAULT_PROJECT:  # as is: inspect says if absent
            repo, repo_type = ps.parse_repo(name.repo)
            return CommitRef(repo=repo, id=name.ref, repo_type=repo_type)
        try:
            return self.store.resolve_name(name)
        except ps.NotFound as exc:
            raise UnknownCommit(f"{exc} (local store {self.store.home})") from exc
        except ps.StoreError as exc:
            raise LineageError(str(exc)) from exc

    def _job(self, output: CommitRef) -> Job | None:
        """The job whose output commit this is: same id as in Pachyderm (global id), else
        the pipeline's job that recorded it as its output commit."""
        if not self.store.pipeline_exists(output.repo):
            return None
        try:
            return _job(self.store.inspect_job(output.repo, output.id))
        except ps.NotFound:
            pass
        for info in self.store.list_jobs(output.repo):
            if info.output_commit == output.id:
                return _job(info)
        return None

    def commit_set(self, commit_set_id: str) -> list[CommitRef]:
        try:
            infos = self.store.inspect_commit_set(commit_set_id)
        except ps.NotFound as exc:
            raise UnknownCommit(str(exc)) from exc
        return [i.commit for i in infos]

    def datums(self, job: Job) -> list[Datum]:
        return [
            Datum(pipeline=d.pipeline, job_id=d.job_id, id=d.id, state=d.state)
            for d in self.store.list_datums(job.pipeline, job.id)
        ]

    def set_commit_metadata(self, ref: CommitRef, items: dict[str, str]) -> str | None:
        try:
            for key, value in sorted(items.items()):
                self.store.set_metadata(ref, key, value)
        except ps.NotFound as exc:
            raise UnknownCommit(f"no commit {ref.label} in the local store") from exc
        return None

    def file_hash(self, ref: CommitRef, path: str) -> str | None:
        try:
            entry = self.store.manifest(ref).get("/" + path.lstrip("/"))
        except ps.NotFound as exc:
            raise UnknownCommit(f"no commit {ref.label} in the local store") from exc
        return entry[0] if entry else None

    def read_file(self, ref: CommitRef, path: str) -> bytes | None:
        if self.file_hash(ref, path) is None:  # UnknownCommit when the commit is absent
            return None
        return self.store.file_blob(ref, "/" + path.lstrip("/")).read_bytes()

    def commits_of(self, repo: str) -> list[CommitRef]:
        try:
            return [i.commit for i in self.store.list_commits(repo)]
        except ps.NotFound as exc:
            raise UnknownCommit(f"no repo {repo} in the local store {self.store.home}") from exc

    def spec(self, ref: CommitRef) -> dict[str, Any] | None:
        try:
            path = self.store.file_blob(ref, SPEC_FILE)
        except ps.NotFound:
            return None
        return dict(json.loads(path.read_bytes()))

    def commit_url(self, ref: CommitRef) -> str | None:
        return None

    def job_url(self, job: Job) -> str | None:
        return None

    def close(self) -> None:
        self.store.close()


def _job(info: ps.JobInfo) -> Job:
    return Job(
        pipeline=info.pipeline,
        id=info.id,
        state=info.state,
        created=_iso(info.created),
        finished=_iso(info.finished),
        data_processed=info.processed,
        data_skipped=info.skipped,
        data_failed=info.failed,
        data_total=info.total,
        reason=info.reason,
    )
