"""What the store returns: plain frozen dataclasses, with `to_dict()` for `--json`."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar, cast

from pachflow_contracts.commits import CommitRef

if TYPE_CHECKING:
    import sqlite3

    from _typeshed import DataclassInstance

ORIGIN_USER = "USER"
ORIGIN_AUTO = "AUTO"

JOB_RUNNING = "JOB_RUNNING"
JOB_SUCCESS = "JOB_SUCCESS"
JOB_FAILURE = "JOB_FAILURE"
JOB_KILLED = "JOB_KILLED"

DATUM_SUCCESS = "SUCCESS"
DATUM_SKIPPED = "SKIPPED"
DATUM_FAILED = "FAILED"
DATUM_RECOVERED = "RECOVERED"  # failed, but transform.errCmd succeeded: no output
DATUM_RUNNING = "STARTING"
DATUM_DONE = (DATUM_SUCCESS, DATUM_SKIPPED)


class _Dict:
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(cast("DataclassInstance", self))  # every subclass is one


Model = TypeVar("Model", bound=_Dict)


def from_row(cls: type[Model], row: sqlite3.Row, **parsed: Any) -> Model:
    """`cls` with every field read from the row's column of the same name, but those
    `parsed` gives (JSON columns, commit references, other tables)."""
    names = [f.name for f in dataclasses.fields(cast("type[DataclassInstance]", cls))]
    return cls(**{name: parsed[name] if name in parsed else row[name] for name in names})


@dataclass(frozen=True)
class RepoInfo(_Dict):
    name: str
    type: str
    created: float
    head: str | None
    size: int
    commits: int
    description: str = ""


@dataclass(frozen=True)
class CommitInfo(_Dict):
    commit: CommitRef
    branch: str
    origin: str
    parent: str | None
    created: float
    finished: float
    size: int
    description: str
    provenance: list[CommitRef] = field(default_factory=list)
    subvenance: list[CommitRef] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileInfo(_Dict):
    path: str  # absolute inside the commit: "/shard=00/a.parquet"
    type: str  # "file" | "dir"
    size: int
    blob: str | None = None


@dataclass(frozen=True)
class JobInfo(_Dict):
    pipeline: str
    id: str
    state: str
    created: float
    finished: float | None
    reason: str
    spec_commit: str
    inputs: list[CommitRef]
    total: int
    processed: int
    skipped: int
    failed: int
    output_commit: str | None


@dataclass(frozen=True)
class DatumInfo(_Dict):
    pipeline: str
    job_id: str
    id: str
    state: str
    hash: str
    files: list[str]  # "<input>:<path>" of every input file the datum saw
    log_path: str
    tries: int
    error: str
    reused_from: str | None  # the job whose output a skipped datum reuses
