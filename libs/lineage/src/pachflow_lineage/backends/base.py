"""The interface every data-versioning backend implements (Pachyderm, the local store).

A backend answers questions about single commits; walking the graph and joining MLflow is
the resolver's job, so both backends walk the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from pachflow_contracts.commits import CommitRef
from pachflow_lineage.graph import Commit, Datum, Job
from pachflow_store import CommitName

#: Files an inspected commit lists, in every backend: enough to read, bounded for repos
#: with many shards.
MAX_FILES = 1000


@dataclass
class CommitRecord:
    """One commit and its direct neighbours. `job` is the job that produced it (output
    commits of pipelines), None for commits a person made."""

    commit: Commit
    provenance: list[CommitRef] = field(default_factory=list)
    subvenance: list[CommitRef] = field(default_factory=list)
    job: Job | None = None


class Backend(Protocol):
    """Read (and annotate) versioned data: Pachyderm or the local pachflow store."""

    name: str

    def inspect_commit(self, ref: CommitRef, *, files: bool = True) -> CommitRecord:
        """The commit, its direct provenance and subvenance; UnknownCommit when absent."""
        ...

    def resolve_commit(self, name: CommitName) -> CommitRef:
        """The commit a person named (full id, branch head or unique id prefix: refs.py);
        UnknownCommit when there is none, LineageError when a prefix is ambiguous."""
        ...

    def commit_set(self, commit_set_id: str) -> list[CommitRef]:
        """Every commit made by one run of the DAG (the global id)."""
        ...

    def datums(self, job: Job) -> list[Datum]:
        """The datums of a job (may be empty when the backend does not record them)."""
        ...

    def set_commit_metadata(self, ref: CommitRef, items: dict[str, str]) -> str | None:
        """Add or replace metadata keys on a commit (idempotent). None when written, else
        why it was skipped (Pachyderm older than 2.10, no permission)."""
        ...

    def file_hash(self, ref: CommitRef, path: str) -> str | None:
        """The content hash of one file of a commit; None when the commit has no such file."""
        ...

    def read_file(self, ref: CommitRef, path: str) -> bytes | None:
        """The content of one (small) file of a commit; None when it has no such file."""
        ...

    def commits_of(self, repo: str) -> list[CommitRef]:
        """Every commit of a (user) repo, newest first; UnknownCommit when no such repo."""
        ...

    def spec(self, ref: CommitRef) -> dict[str, Any] | None:
        """The pipeline spec a spec commit holds (transform, image...), None when gone."""
        ...

    def commit_url(self, ref: CommitRef) -> str | None:
        """A browser link to the commit (Pachyderm console when configured), else None."""
        ...

    def job_url(self, job: Job) -> str | None:
        """A browser link to the job (Pachyderm console when configured), else None."""
        ...

    def close(self) -> None: ...
