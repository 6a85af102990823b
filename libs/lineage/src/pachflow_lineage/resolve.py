"""Resolving lineage: walk a backend's commit graph and join it with MLflow.

- upstream of a run (or of a model version, through its run): the run's `pachyderm.*`
  tags name the job, its output commit and inputs; the backend walks provenance from
  there down to the commits people put (raw_data), spec commits included.
- downstream of a commit: the backend walks subvenance; every commit reached is looked up
  in MLflow (runs tagged with it as output commit, runs that logged it as a dataset input,
  runs named in its `mlflow.run_id` metadata), and every run's model versions are added.
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pachflow_contracts.commits import SPEC, USER, CommitRef
from pachflow_contracts.run_tags import RunContext, output_commit_tags, run_context
from pachflow_lineage.backends.base import Backend, CommitRecord
from pachflow_lineage.errors import UnknownCommit, UnknownModelVersion, UnknownRun
from pachflow_lineage.graph import Datum, Job, Lineage, Run

if TYPE_CHECKING:
    from pachflow_lineage.tracking import Tracking

MAX_COMMITS = 500
#: What the score stage writes per scored file (pachflow_scoring.run.SCORING_JSON).
SCORING_RECORD = "scoring.json"  # a lineage graph bigger than this is not something to print
META_RUN_ID = "mlflow.run_id"
META_MODEL_VERSION = "mlflow.model_version"


def scoring_records(
    backend: Backend, ref: CommitRef, record: CommitRecord | None = None
) -> list[dict[str, Any]]:
    """The score stage's records (`<file>/scoring.json`) in a commit (`record`: its
    inspected commit with files, when the caller has it): empty when it holds none."""
    record = record or backend.inspect_commit(ref, files=True)
    records = []
    for entry in record.commit.files:
        if entry.path.rsplit("/", 1)[-1] == SCORING_RECORD:
            data = backend.read_file(ref, entry.path)
            if data is not None:
                records.append(json.loads(data) | {"path": entry.path})
    return records


@dataclass
class Resolver:
    backend: Backend
    tracking: Tracking
    files: bool = True  # list each commit's files (upstream)
    _records: dict[str, CommitRecord] = field(default_factory=dict)

    # --- shared ----------------------------------------------------------------------
    def record(self, ref: CommitRef, files: bool | None = None) -> CommitRecord:
        if ref.key not in self._records:
            want_files = self.files if files is None else files
            self._records[ref.key] = self.backend.inspect_commit(ref, files=want_files)
        return self._records[ref.key]

    def _add_commit(self, lineage: Lineage, rec: CommitRecord) -> None:
        lineage.add(rec.commit)
        url = self.backend.commit_url(rec.commit.ref)
        if url:
            lineage.links[f"commit {rec.commit.ref.label}"] = url

    def _add_job(self, lineage: Lineage, rec: CommitRecord) -> None:
        """The job that made `rec`, its inputs and spec feeding it, and it feeding `rec`."""
        if rec.job is None:
            for p in rec.provenance:
                lineage.connect(p.key, rec.commit.key, "provenance")
            return
        lineage.add(rec.job)
        for p in rec.provenance:
            lineage.connect(p.key, rec.job.key, "spec" if p.repo_type == SPEC else "input")
        lineage.connect(rec.job.key, rec.commit.key, "output")
        url = self.backend.job_url(rec.job)
        if url:
            lineage.links[f"job {rec.job.label}"] = url

    def _walk_up(self, lineage: Lineage, start: CommitRef) -> None:
        queue = deque([start])
        seen: set[str] = set()
        while queue and len(seen) < MAX_COMMITS:
            ref = queue.popleft()
            if ref.key in seen:
                continue
            seen.add(ref.key)
            rec = self.record(ref)
            self._add_commit(lineage, rec)
            self._add_job(lineage, rec)
            queue.extend(rec.provenance)
        if queue:
            lineage.notes.append(f"stopped after {MAX_COMMITS} commits")

    def _add_run(self, lineage: Lineage, run: Run, ctx: RunContext) -> None:
        """The run, fed by its datum (or job), and its registered model versions."""
        lineage.add(run)
        if run.url:
            lineage.links[f"mlflow run {run.run_id}"] = run.url
        job_key = Job(pipeline=ctx.pipeline, id=ctx.job_id, project=ctx.project).key
        if ctx.job_id and job_key in lineage.jobs:
            if ctx.datum_id:
                datum = Datum(pipeline=ctx.pipeline, job_id=ctx.job_id, id=ctx.datum_id)
                lineage.add(datum)
                lineage.connect(job_key, datum.key, "datum")
                lineage.connect(datum.key, run.key, "tracked")
            else:
                lineage.connect(job_key, run.key, "tracked")
        elif ctx.output_commit and ctx.output_commit.key in lineage.commits:
            lineage.connect(ctx.output_commit.key, run.key, "tracked")
        for ref in ctx.inputs:
            # Without a job in the graph (a run made outside a pipeline), the inputs are
            # the only link; with one, input -> job -> run already says it.
            if ref.key in lineage.commits and job_key not in lineage.jobs:
                lineage.connect(ref.key, run.key, "dataset")
        for mv in self.tracking.model_versions_for_run(run.run_id):
            lineage.add(mv)
            lineage.connect(run.key, mv.key, "registered")
            if mv.url:
                lineage.links[f"model {mv.name}/{mv.version}"] = mv.url

    # --- upstream --------------------------------------------------------------------
    def upstream_of_run(self, run_id: str, subject: str | None = None) -> Lineage:
        mlrun = self.tracking.get_run(run_id)
        run = self.tracking.run_node(mlrun)
        ctx = run_context(mlrun.data.tags, run.datasets)
        lineage = Lineage(subject=subject or run.key, direction="upstream")
        starts = [ctx.output_commit] if ctx.output_commit else list(ctx.inputs)
        if not starts:
            raise UnknownRun(
                f"MLflow run {run_id} carries no pachyderm.* tags or commit dataset inputs: "
                "it was not made by a pachflow stage"
            )
        for ref in starts:
            try:
                self._walk_up(lineage, ref)
            except UnknownCommit as exc:
                lineage.notes.append(f"{exc} (named by run {run_id})")
        self._add_run(lineage, run, ctx)
        if ctx.job_id:
            lineage.info["job"] = f"{ctx.pipeline}@{ctx.job_id}"
            lineage.info["commit set"] = ctx.job_id
            try:
                members = self.backend.commit_set(ctx.job_id)
                lineage.info["commit set commits"] = ", ".join(r.label for r in members)
            except UnknownCommit:
                pass
        if ctx.output_commit:
            lineage.info["output commit"] = ctx.output_commit.label
        specs = [c.ref.label for c in lineage.commits.values() if c.ref.repo_type == SPEC]
        if specs:
            lineage.info["spec versions"] = ", ".join(specs)
        lineage.info["tracking uri"] = self.tracking.tracking_uri
        return lineage

    def upstream_of_model(self, name: str, version: str) -> Lineage:
        mv = self.tracking.get_model_version(name, version)
        if not mv.run_id:
            raise UnknownRun(f"model version {name}/{mv.version} names no MLflow run")
        lineage = self.upstream_of_run(mv.run_id, subject=mv.key)
        lineage.add(mv)
        lineage.connect(f"run:{mv.run_id}", mv.key, "registered")
        return lineage

    def upstream_of_commit(self, ref: CommitRef) -> Lineage:
        """Every commit (and job) a commit came from; no MLflow needed."""
        lineage = Lineage(subject=ref.key, direction="upstream")
        self._walk_up(lineage, ref)
        return lineage

    def scoring_records(self, ref: CommitRef) -> list[dict[str, Any]]:
        """The score stage's records in a commit (`<file>/scoring.json`): empty when the
        commit holds no predictions."""
        return scoring_records(self.backend, ref, self.record(ref, files=True))

    def upstream_of_predictions(self, ref: CommitRef, records: list[dict[str, Any]]) -> Lineage:
        """A predictions commit back to what made it: its job and input commit(s), the model
        version(s) that scored, their training runs and everything upstream of those runs,
        down to the raw_data commits and files."""
        lineage = Lineage(subject=ref.key, direction="upstream")
        self._walk_up(lineage, ref)
        scorer = rec.job.key if (rec := self.record(ref)).job else ref.key
        versions = sorted({(r["model"]["name"], r["model"]["version"]) for r in records})
        for name, version in versions:
            try:
                trained = self.upstream_of_model(name, version)
            except (UnknownRun, UnknownModelVersion) as exc:
                lineage.notes.append(f"{exc} (named by {ref.label}'s scoring.json)")
                continue
            lineage.absorb(trained)
            lineage.connect(f"model:{name}/{version}", scorer, "scored")
        scored = ", ".join(
            f"{r['source']} ({r['counts']['customers']:,} customers, "
            f"{r['counts']['flagged']:,} flagged)"
            for r in records
        )
        lineage.info["predictions commit"] = ref.label
        lineage.info["scored files"] = scored
        lineage.info["model versions"] = ", ".join(f"{n}/{v}" for n, v in versions)
        lineage.info["tracking uri"] = self.tracking.tracking_uri
        return lineage

    # --- downstream ------------------------------------------------------------------
    def downstream_of_model(self, name: str, version: str) -> Lineage:
        """What came from a model version's train output commit (e.g. a scoring pipeline
        or the provenance pipeline), and the version itself."""
        mv = self.tracking.get_model_version(name, version)
        run = self.tracking.get_run(mv.run_id) if mv.run_id else None
        ctx = run_context(run.data.tags) if run else RunContext()
        if ctx.output_commit is None:
            raise UnknownRun(
                f"model version {name}/{mv.version}: its run names no pipeline output commit"
            )
        lineage = self.downstream_of_commit(ctx.output_commit, subject=mv.key)
        lineage.add(mv)
        lineage.connect(f"run:{mv.run_id}", mv.key, "registered")
        return lineage

    def downstream_of_commit(self, ref: CommitRef, subject: str | None = None) -> Lineage:
        lineage = Lineage(subject=subject or ref.key, direction="downstream")
        start = self.record(ref)
        self._add_commit(lineage, start)
        queue = deque([start])
        seen = {ref.key}
        while queue:
            rec = queue.popleft()
            self._runs_of_commit(lineage, rec)
            for sub in rec.subvenance:
                if sub.repo_type != USER or sub.key in seen:
                    continue
                if len(seen) >= MAX_COMMITS:
                    lineage.notes.append(f"stopped after {MAX_COMMITS} commits")
                    return lineage
                seen.add(sub.key)
                sub_rec = self.record(sub, files=False)
                self._add_commit(lineage, sub_rec)
                self._connect_down(lineage, rec.commit.ref, sub_rec)
                queue.append(sub_rec)
        return lineage

    def _connect_down(self, lineage: Lineage, parent: CommitRef, rec: CommitRecord) -> None:
        """Only the path from the subject: parent -> job -> commit (not the job's other
        inputs, which are not downstream of the subject)."""
        if rec.job is None:
            lineage.connect(parent.key, rec.commit.key, "provenance")
            return
        lineage.add(rec.job)
        lineage.connect(parent.key, rec.job.key, "input")
        lineage.connect(rec.job.key, rec.commit.key, "output")

    def _runs_of_commit(self, lineage: Lineage, rec: CommitRecord) -> None:
        ref = rec.commit.ref
        found = {}
        for mlrun in self.tracking.runs_by_tags(output_commit_tags(ref)):
            found[mlrun.info.run_id] = mlrun
        linked = rec.commit.metadata.get(META_RUN_ID)
        if linked and linked not in found:
            try:
                found[linked] = self.tracking.get_run(linked)
            except UnknownRun:
                lineage.notes.append(f"{ref.label} names MLflow run {linked}, which is gone")
        for mlrun in found.values():
            run = self.tracking.run_node(mlrun)
            ctx = run_context(mlrun.data.tags, run.datasets)
            if rec.job is None:  # not made by a job: the commit itself feeds the run
                ctx = RunContext(output_commit=ref)
            self._add_run(lineage, run, ctx)
        for mlrun in self.tracking.runs_with_dataset(ref):
            if mlrun.info.run_id in found:
                continue
            run = self.tracking.run_node(mlrun)
            self._add_run(lineage, run, RunContext())
            lineage.connect(ref.key, run.key, "dataset")
