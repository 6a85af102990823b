"""`lineage impact repo@commit:path`: every run and model version that saw one file, i.e.
what to retrain (or delete) after a deletion request for that file.

The file is identified by its content hash at the commit named. Every commit of the repo
that holds the same path with the same content saw it too (later commits keep a file until
it is deleted), so the walk starts from all of them; everything downstream of those
commits (jobs, output commits, MLflow runs, model versions) is listed. A run downstream of
a commit is counted even when its datum did not read that file: for a deletion request,
listing too much is safe and listing too little is not.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from pachflow_contracts.commits import CommitRef
from pachflow_lineage.errors import UnknownCommit
from pachflow_lineage.graph import Lineage, ModelVersion, Run

if TYPE_CHECKING:
    from pachflow_lineage.resolve import Resolver


@dataclass
class Impact:
    file: str
    hash: str
    commits: list[str] = field(default_factory=list)  # commits of the repo holding the file
    downstream: list[str] = field(default_factory=list)  # output commits made from them
    runs: list[Run] = field(default_factory=list)
    model_versions: list[ModelVersion] = field(default_factory=list)
    #: predictions commits made by those model versions (score@<commit>)
    predictions: list[str] = field(default_factory=list)
    lineage: Lineage | None = None

    def to_json(self) -> str:
        data = {
            "file": self.file,
            "hash": self.hash,
            "commits": self.commits,
            "downstream_commits": self.downstream,
            "runs": [asdict(r) for r in self.runs],
            "model_versions": [asdict(m) for m in self.model_versions],
            "predictions": self.predictions,
        }
        return json.dumps(data, indent=2) + "\n"

    def to_table(self) -> str:
        lines = [f"{self.file} (content {self.hash[:16]})"]
        lines.append(f"held by {len(self.commits)} commit(s): " + ", ".join(self.commits))
        lines.append(f"downstream commits: {len(self.downstream)}")
        lines += [f"  {c}" for c in self.downstream]
        lines.append(f"MLflow runs that saw it: {len(self.runs)}")
        lines += [f"  {r.run_id}  {r.name}  {r.status}" for r in self.runs]
        lines.append(f"model versions to retrain: {len(self.model_versions)}")
        for m in self.model_versions:
            aliases = f" (aliases {', '.join(m.aliases)})" if m.aliases else ""
            lines.append(f"  {m.name}/{m.version}  run {m.run_id}{aliases}")
        lines.append(f"predictions made by those model versions: {len(self.predictions)}")
        lines += [f"  {p}" for p in self.predictions]
        return "\n".join(lines) + "\n"


def impact(resolver: Resolver, ref: CommitRef, path: str) -> Impact:
    backend = resolver.backend
    resolver.record(ref, files=False)  # UnknownCommit names the commit
    digest = backend.file_hash(ref, path)
    if digest is None:
        raise UnknownCommit(f"no file /{path} in {ref.label}")
    holders = [
        c
        for c in backend.commits_of(ref.repo)
        if c.id == ref.id or backend.file_hash(c, path) == digest
    ]
    result = Impact(file=f"{ref.label}:/{path}", hash=digest)
    merged = Lineage(subject=f"file:{ref.label}:/{path}", direction="downstream")
    for holder in holders:
        down = resolver.downstream_of_commit(holder)
        for table in ("commits", "jobs", "datums", "runs", "model_versions", "links"):
            getattr(merged, table).update(getattr(down, table))
        for edge in down.edges:
            merged.connect(edge.src, edge.dst, edge.kind)
    result.commits = sorted(h.label for h in holders)
    result.downstream = sorted(
        c.ref.label for c in merged.commits.values() if c.ref.label not in result.commits
    )
    result.runs = sorted(merged.runs.values(), key=lambda r: r.run_id)
    result.model_versions = sorted(
        merged.model_versions.values(), key=lambda m: (m.name, int(m.version))
    )
    result.predictions = sorted({c for m in result.model_versions for c in m.scoring_commits})
    result.lineage = merged
    return result
