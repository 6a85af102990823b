"""The lineage model: commits, jobs, datums, MLflow runs and model versions, and the edges
between them, as small dataclasses a backend fills and a renderer prints.

Edges follow the data: input commit -> job -> output commit -> run -> model version. Every
node has a `key` (unique across kinds) that edges refer to.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Self

from pachflow_contracts.commits import DEFAULT_PROJECT, USER, CommitRef


def utc_iso(moment: datetime) -> str:
    """The model's time format (`created`, `finished`): ISO 8601 in UTC to the second,
    2026-01-02T03:04:05Z, whichever backend read it."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Node:
    """What every node has: a `key` (unique across kinds) that edges refer to, and a JSON
    form (`to_dict`, read back by `from_dict`): its fields, unless the kind spells its own."""

    @property
    def key(self) -> str:
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Self:
        """The node `to_dict` wrote (the `key` a Lineage adds is left out)."""
        return cls(**{k: v for k, v in item.items() if k != "key"})


@dataclass
class FileEntry:
    path: str
    size: int
    hash: str = ""  # content hash as the backend keeps it (local: sha256; Pachyderm: its hash)


@dataclass
class Commit(Node):
    """A commit with what a person needs to find it again: origin, size, time, files."""

    ref: CommitRef
    origin: str = ""  # USER (put by a person), AUTO (made by a pipeline), ...
    size: int | None = None  # bytes
    created: str | None = None  # ISO 8601, UTC
    files: list[FileEntry] = field(default_factory=list)
    metadata: dict[str, str] = field(default_factory=dict)
    error: str = ""

    @property
    def key(self) -> str:
        return self.ref.key

    def to_dict(self) -> dict[str, Any]:
        return {
            "repo": self.ref.repo,
            "id": self.ref.id,
            "project": self.ref.project,
            "type": self.ref.repo_type,
            "origin": self.origin,
            "size": self.size,
            "created": self.created,
            "files": [asdict(f) for f in self.files],
            "metadata": dict(self.metadata),
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, item: dict[str, Any]) -> Self:
        ref = CommitRef(
            repo=item["repo"],
            id=item["id"],
            project=item.get("project", DEFAULT_PROJECT),
            repo_type=item.get("type", USER),
        )
        dropped = {"key", "repo", "id", "project", "type", "files"}
        rest = {k: v for k, v in item.items() if k not in dropped}
        files = [FileEntry(**f) for f in item.get("files", [])]
        return cls(ref=ref, files=files, **rest)


@dataclass
class Job(Node):
    """One pipeline run: Pachyderm's job (pipeline@id; id == its output commit id)."""

    pipeline: str
    id: str
    project: str = DEFAULT_PROJECT
    state: str = ""
    created: str | None = None
    finished: str | None = None
    data_processed: int | None = None
    data_skipped: int | None = None
    data_failed: int | None = None
    data_total: int | None = None
    reason: str = ""

    @property
    def key(self) -> str:
        return f"job:{self.label}"

    @property
    def label(self) -> str:
        name = (
            self.pipeline if self.project == DEFAULT_PROJECT else f"{self.project}/{self.pipeline}"
        )
        return f"{name}@{self.id}"


@dataclass
class Datum(Node):
    """One datum of a job (the unit a stage process ran on)."""

    pipeline: str
    job_id: str
    id: str
    state: str = ""

    @property
    def key(self) -> str:
        return f"datum:{self.pipeline}@{self.job_id}/{self.id}"


@dataclass
class Run(Node):
    """An MLflow run and the `pachyderm.*` tags / dataset inputs that tie it to commits."""

    run_id: str
    experiment_id: str = ""
    name: str = ""
    status: str = ""
    tags: dict[str, str] = field(default_factory=dict)
    datasets: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return f"run:{self.run_id}"


@dataclass
class ModelVersion(Node):
    """A registered model version and the run it came from."""

    name: str
    version: str
    run_id: str = ""
    aliases: list[str] = field(default_factory=list)
    status: str = ""
    url: str = ""
    #: `<pipeline>@<commit>` of every predictions commit this version made (its
    #: `pachyderm.scoring.*` tags, written by the score stage)
    scoring_commits: list[str] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"model:{self.name}/{self.version}"


@dataclass(frozen=True)
class Edge:
    """`src` feeds `dst`. kind: input (commit -> job), spec (spec commit -> job), output
    (job -> commit), provenance (commit -> commit, no job known), datum (job -> datum),
    tracked (commit or datum -> run), dataset (commit -> run, MLflow dataset input),
    registered (run -> model version), scored (model version -> the scoring job or commit
    whose predictions it made)."""

    src: str
    dst: str
    kind: str


#: A Lineage's node tables (attribute, node kind), in the order its JSON form lists them.
NODE_TABLES: tuple[tuple[str, type[Commit | Job | Datum | Run | ModelVersion]], ...] = (
    ("commits", Commit),
    ("jobs", Job),
    ("datums", Datum),
    ("runs", Run),
    ("model_versions", ModelVersion),
)
_TABLE_OF = {kind: table for table, kind in NODE_TABLES}


@dataclass
class Lineage:
    """A resolved lineage graph around one subject (a run, a commit or a model version)."""

    subject: str
    direction: str  # "upstream" or "downstream"
    commits: dict[str, Commit] = field(default_factory=dict)
    jobs: dict[str, Job] = field(default_factory=dict)
    datums: dict[str, Datum] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    model_versions: dict[str, ModelVersion] = field(default_factory=dict)
    edges: list[Edge] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    info: dict[str, str] = field(default_factory=dict)  # job, commit set, spec versions...
    notes: list[str] = field(default_factory=list)

    def add(self, node: Commit | Job | Datum | Run | ModelVersion) -> None:
        self._table(_TABLE_OF[type(node)]).setdefault(node.key, node)

    def _table(self, name: str) -> dict[str, Node]:
        table: dict[str, Node] = getattr(self, name)
        return table

    def connect(self, src: str, dst: str, kind: str) -> None:
        edge = Edge(src, dst, kind)
        if edge not in self.edges:
            self.edges.append(edge)

    def absorb(self, other: Lineage) -> None:
        """Add `other`'s nodes, edges, links and notes (its subject and info are not)."""
        for table, _ in NODE_TABLES:
            for key, node in other._table(table).items():
                self._table(table).setdefault(key, node)
        for edge in other.edges:
            self.connect(edge.src, edge.dst, edge.kind)
        self.links.update(other.links)
        self.notes += [n for n in other.notes if n not in self.notes]

    def node_label(self, key: str) -> str:
        """A short human label for a node key (what diagrams print)."""
        kind, _, rest = key.partition(":")
        if kind == "run":
            run = self.runs.get(key)
            return f"run {run.name or rest}" if run else f"run {rest}"
        if kind == "model":
            return f"model {rest}"
        if kind == "job":
            return f"job {rest}"
        if kind == "datum":  # local datum ids are 64-hex hashes: 12 digits identify one
            datum_id = rest.rsplit("/", 1)[-1]
            return f"datum {datum_id[:12]}" if len(datum_id) > 16 else f"datum {datum_id}"
        return rest

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Lineage:
        """Read back what `to_dict` wrote (e.g. the link stage's lineage.json)."""

        lineage = cls(subject=data["subject"], direction=data["direction"])
        for table, kind in NODE_TABLES:
            for item in data.get(table, []):
                lineage.add(kind.from_dict(item))
        lineage.edges = [Edge(**e) for e in data.get("edges", [])]
        lineage.links = dict(data.get("links", {}))
        lineage.info = dict(data.get("info", {}))
        lineage.notes = list(data.get("notes", []))
        return lineage

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: commits as objects with `repo` and `id`; edges by node key."""
        return {
            "subject": self.subject,
            "direction": self.direction,
            **{
                table: [n.to_dict() | {"key": n.key} for n in self._table(table).values()]
                for table, _ in NODE_TABLES
            },
            "edges": [asdict(e) for e in self.edges],
            "links": dict(self.links),
            "info": dict(self.info),
            "notes": list(self.notes),
        }
