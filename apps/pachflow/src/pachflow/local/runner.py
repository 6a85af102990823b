"""`pachflow run`: bring every pipeline up to date with its inputs, in DAG order.

One pass = one commit set: the jobs and output commits it creates share one new 32-hex
id, while inputs that did not change keep their ids. A pipeline runs when its output
head's direct provenance (input commits + spec commit) differs from the current inputs'
heads and spec; its datums whose hash (inputs' content + spec) already succeeded are
skipped and their earlier output is reused. A failed job commits nothing and keeps every
datum's log; the next `pachflow run` retries it (skipping the datums that succeeded).
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field

from pachflow.local import s3gateway
from pachflow.local.datums import (
    Datum,
    DatumError,
    InputCommits,
    build_datums,
    input_branch,
)
from pachflow.local.egress import egress
from pachflow.local.env import job_env
from pachflow.local.executor import DatumResult, JobContext, run_datums
from pachflow.local.progress import PipelineProgress, Progress
from pachflow.local.run_spark import RunSpark, is_spark_stage
from pachflow.local.runtime import LocalRuntime, Runtime
from pachflow.local.specs import LocalSpec
from pachflow.pipeline_spec.input_tree import pfs_inputs
from pachflow_lineage.openlineage_events import JobEvents, maybe_events, scoring_model
from pachflow_store import (
    DATUM_FAILED,
    DATUM_RECOVERED,
    DATUM_SKIPPED,
    DATUM_SUCCESS,
    JOB_FAILURE,
    JOB_KILLED,
    JOB_SUCCESS,
    ORIGIN_AUTO,
    ORIGIN_USER,
    RUNNER_ERROR,
    SPEC,
    CommitRef,
    DatumInfo,
    Manifest,
    Store,
    new_id,
    processes,
    short_id,
)

SPEC_FILE = "/spec.json"
MAX_PASSES = 10

UP_TO_DATE = "up to date"
WAITING = "waiting"
SUCCESS = "success"
FAILURE = "failure"


@dataclass
class Outcome:
    pipeline: str
    status: str
    job_id: str | None = None
    total: int = 0
    processed: int = 0
    skipped: int = 0
    failed: int = 0
    elapsed: float = 0.0
    reason: str = ""
    output_commit: str | None = None


@dataclass
class RunSummary:
    outcomes: list[Outcome] = field(default_factory=list)
    commit_sets: list[str] = field(default_factory=list)
    spark: str = ""  # which Spark the Spark stages used (pachflow.local.run_spark)

    @property
    def did_work(self) -> bool:
        return any(o.job_id for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILURE]


class DuplicateOutput(Exception):
    pass


def merge_outputs(results: list[tuple[str, Manifest]]) -> Manifest:
    """All datums' outputs in one manifest; two datums writing one path fail the job with
    Pachyderm's message (src/internal/storage/fileset/validator.go)."""
    merged: Manifest = {}
    owner: dict[str, str] = {}
    for datum_id, outputs in sorted(results):
        for path, entry in outputs.items():
            if path in merged:
                raise DuplicateOutput(
                    f"duplicate path output by different datums: {path} "
                    f"(datums {owner[path][:12]} and {datum_id[:12]})"
                )
            merged[path] = entry
            owner[path] = datum_id
    return merged


class Runner:
    def __init__(
        self,
        store: Store,
        specs: list[LocalSpec],
        runtime: Runtime | None = None,
        progress: Progress | None = None,
        reprocess: frozenset[str] = frozenset(),
        cores: int | None = None,
        events: JobEvents | None = None,
        spark: RunSpark | None = None,
    ) -> None:
        self.store = store
        self.spark = spark  # which Spark the Spark stages use (None: their spec's own)
        # OpenLineage RunEvents per job, when configured (OPENLINEAGE_URL, ...; default off)
        self.events = events if events is not None else maybe_events()
        self.specs = specs  # in DAG order (load_specs)
        self.runtime = runtime or LocalRuntime()
        self.progress = progress or Progress()
        self.reprocess = set(reprocess)
        self.cores = cores or os.cpu_count() or 1
        self._failed: set[tuple[str, frozenset[CommitRef]]] = set()

    def run(self) -> RunSummary:
        with self.store.run_lock() as survivors:
            if survivors:  # a killed runner's datums: stopped before their scratch goes
                stopped = processes.stop(survivors)
                self.progress.say(
                    f"stopped {len(stopped)} datum process group(s) a killed runner left "
                    f"running (pgid {', '.join(str(g.pgid) for g in stopped)})"
                )
            recovered = self.store.recover(runner=True)
            shutil.rmtree(self.store.scratch_dir, ignore_errors=True)
            if recovered.killed_jobs or recovered.orphan_blobs:
                self.progress.say(
                    f"recovered from an interrupted command: {recovered.killed_jobs} job(s) "
                    f"marked killed, {recovered.orphan_blobs} orphan blob(s) removed"
                )
            summary = RunSummary()
            with self.store.writing_blobs():
                for _ in range(MAX_PASSES):
                    run_id = new_id()
                    outcomes = [self._pipeline(spec, run_id) for spec in self.specs]
                    worked = any(o.job_id for o in outcomes)
                    for job_id in dict.fromkeys(o.job_id for o in outcomes if o.job_id):
                        summary.commit_sets.append(job_id)  # run_id, or a resumed job's id
                    # keep the last word on each pipeline
                    by_name = {o.pipeline: o for o in summary.outcomes}
                    for o in outcomes:
                        if o.job_id or o.pipeline not in by_name:
                            by_name[o.pipeline] = o
                    summary.outcomes = [by_name[s.name] for s in self.specs]
                    if not worked:
                        break
            return summary

    # ------------------------------------------------------------------ one pipeline

    def _spec_commit(self, spec: LocalSpec, run_id: str) -> CommitRef:
        """The pipeline's current spec version: a new commit in its spec repo when the spec
        content changed (like `pachctl update pipeline`)."""
        content = spec.content()
        head = self.store.head(spec.name, SPEC)
        if head is not None:
            ref = CommitRef(spec.name, head, repo_type=SPEC)
            current = self.store.manifest(ref).get(SPEC_FILE)
            if current is not None and self.store.blobs.path(current[0]).read_bytes() == content:
                return ref
        blob = self.store.blobs.put_bytes(content)
        with self.store.transaction() as tx:
            return self.store.insert_commit(
                tx, CommitRef(spec.name, run_id, repo_type=SPEC), {SPEC_FILE: blob}, [], ORIGIN_USER
            )

    def _inputs(self, spec: LocalSpec) -> tuple[InputCommits, str]:
        commits: InputCommits = {}
        for pfs in pfs_inputs(spec.input):
            repo, branch = pfs["repo"], input_branch(pfs)
            head = self.store.head(repo, branch=branch)
            if head is None:
                return {}, f"{repo}@{branch} has no commit yet"
            ref = CommitRef(repo, head)
            commits[(repo, branch)] = (ref, self.store.manifest(ref))
        return commits, ""

    def _pipeline(self, spec: LocalSpec, run_id: str) -> Outcome:
        spec_ref = self._spec_commit(spec, run_id)
        commits, waiting = self._inputs(spec)
        if waiting:
            return Outcome(spec.name, WAITING, reason=waiting)
        expected = frozenset([spec_ref, *(ref for ref, _ in commits.values())])
        forced = spec.name in self.reprocess
        out_head = self.store.head(spec.name)
        if out_head is not None and not forced:
            provenance = self.store.inspect_commit(CommitRef(spec.name, out_head)).provenance
            if frozenset(provenance) == expected:
                return Outcome(spec.name, UP_TO_DATE, output_commit=out_head)
        if (spec.name, expected) in self._failed:
            return Outcome(spec.name, FAILURE, reason="failed earlier in this run")
        self.reprocess.discard(spec.name)
        inputs = [ref for ref, _ in commits.values()]
        resumed = self.store.resumable_job(spec.name, spec_ref.id, inputs)
        job_id = resumed or run_id
        try:
            outcome = self._job(spec, job_id, spec_ref, commits, expected, forced, bool(resumed))
        except BaseException as exc:
            # the runner itself failed (or was interrupted): the job must not stay RUNNING
            with self.store.transaction() as tx:
                self.store.kill_job(tx, spec.name, job_id, f"{RUNNER_ERROR}{exc!r}")
            raise
        if outcome.status == FAILURE:
            self._failed.add((spec.name, expected))
        return outcome

    def _point_at_run_spark(self, spec: LocalSpec, ctx: JobContext, has_datums: bool) -> str:
        """Give a Spark stage's datums the run's Spark (starting it if need be); returns
        why that failed, or ""."""
        if self.spark is None:
            return ""
        from pachflow_spark.servers import SparkServerError

        try:
            self.spark.prepare(spec)  # a Connect server warms up while earlier jobs run
            if has_datums:
                ctx.base_env.update(self.spark.env_for(spec))
                if is_spark_stage(spec):
                    ctx.try_failed = self.spark.after_failed_try
        except SparkServerError as exc:
            self.progress.say(f"{spec.name}: Spark did not start: {exc}")
            return f"Spark did not start: {exc}"
        return ""

    def _job(
        self,
        spec: LocalSpec,
        run_id: str,
        spec_ref: CommitRef,
        commits: InputCommits,
        provenance: frozenset[CommitRef],
        forced: bool,
        resumed: bool = False,
    ) -> Outcome:
        """One job; `resumed`: under the id of a job a killed runner left unfinished (its
        datums that succeeded count as processed, the rest run again)."""
        inputs = [ref for ref, _ in commits.values()]

        def start(total: int) -> None:
            if resumed:
                self.store.restart_job(spec.name, run_id, total)
                self.progress.say(f"{spec.name}: resuming job {short_id(run_id)}")
            else:
                self.store.start_job(spec.name, run_id, spec_ref.id, inputs, total)

        try:
            datums = build_datums(spec.input, commits, spec.salt())
        except DatumError as exc:  # pachd fails the job when it cannot make its datums
            start(0)
            with self.store.transaction() as tx:
                self.store.finish_job(tx, spec.name, run_id, JOB_FAILURE, str(exc), (0, 0, 0), None)
            self.progress.say(f"{spec.name}: {FAILURE}: {exc}")
            return Outcome(spec.name, FAILURE, job_id=run_id, reason=str(exc))
        start(len(datums))
        self._emit("START", spec, run_id, spec_ref, inputs)
        progress = PipelineProgress(spec.name, run_id, len(datums))
        ctx = JobContext(
            store=self.store,
            spec=spec,
            runtime=self.runtime,
            job_id=run_id,
            base_env=job_env(spec, job_id=run_id, spec_commit=spec_ref.id, home=self.store.home),
            workers=max(1, min(spec.parallelism, self.cores)),
            deadline=time.monotonic() + spec.job_timeout_s if spec.job_timeout_s else None,
        )
        produced: list[tuple[str, Manifest]] = []
        # s3Out: pachd never skips a datum, its output is not tracked per datum (registry.go)
        no_skip = forced or spec.every_job or spec.s3_out
        to_run = self._skip_done(spec, run_id, datums, produced, progress, no_skip)
        spark_error = self._point_at_run_spark(spec, ctx, bool(to_run))
        if spark_error:
            to_run = []
        self.progress.start(progress)
        errors, recovered = self._run_datums(ctx, to_run, produced, progress)
        manifest, reason = self._job_output(ctx, produced, errors, spark_error)
        note = f"{recovered} datum(s) recovered by errCmd" if recovered and not reason else ""
        self._finish_job(ctx, spec_ref, inputs, provenance, manifest, reason, note, progress)
        return Outcome(
            spec.name,
            FAILURE if reason else SUCCESS,
            job_id=run_id,
            total=len(datums),
            processed=progress.done,
            skipped=progress.skipped,
            failed=progress.failed,
            elapsed=progress.elapsed,
            reason=reason or note,
            output_commit=None if reason else run_id,
        )

    def _run_datums(
        self,
        ctx: JobContext,
        to_run: list[Datum],
        produced: list[tuple[str, Manifest]],
        progress: PipelineProgress,
    ) -> tuple[list[str], int]:
        """Run the datums, record each, add what succeeded to `produced`; returns the
        failed datums' errors and how many errCmd recovered."""
        errors: list[str] = []
        recovered = 0
        with self.spark.watching(ctx.spec, ctx) if self.spark else nullcontext():
            for result in self._execute(ctx, to_run):
                self._record(ctx.spec, ctx.job_id, result)
                if result.state == DATUM_SUCCESS:
                    progress.done += 1
                    produced.append((result.datum.id, result.outputs))
                elif result.state == DATUM_RECOVERED:  # errCmd succeeded: no output, no failure
                    recovered += 1
                else:
                    progress.failed += 1
                    errors.append(f"datum {result.datum.id[:12]} failed: {result.error}")
                self.progress.update(progress)
        return errors, recovered

    def _job_output(
        self,
        ctx: JobContext,
        produced: list[tuple[str, Manifest]],
        errors: list[str],
        spark_error: str,
    ) -> tuple[Manifest, str]:
        """The job's output commit (the datums' outputs merged, or s3Out's bucket), egressed
        if the spec says so; or why the job failed."""
        spec = ctx.spec
        if ctx.timed_out():
            return {}, f"job timed out (jobTimeout {spec.job_timeout_s:g}s)"
        if spark_error:
            return {}, spark_error
        if errors:
            return {}, f"{len(errors)} datum(s) failed; first: {errors[0]}"
        try:
            manifest = merge_outputs(produced)
        except DuplicateOutput as exc:
            return {}, str(exc)
        if ctx.output is not None:  # s3Out: the commit is the bucket `out`
            manifest, reason = ctx.output.manifest, ctx.output.error
            if reason:
                return manifest, reason
        if spec.egress_dir is not None:
            reason = egress(self.store, manifest, spec.egress_dir)
            if reason:
                return manifest, reason
        return manifest, ""

    def _finish_job(
        self,
        ctx: JobContext,
        spec_ref: CommitRef,
        inputs: list[CommitRef],
        provenance: frozenset[CommitRef],
        manifest: Manifest,
        reason: str,
        note: str,
        progress: PipelineProgress,
    ) -> None:
        """Record the job's end (and its output commit if it succeeded) in one transaction,
        drop its scratch, and say so (progress, OpenLineage)."""
        spec, run_id = ctx.spec, ctx.job_id
        counts = (progress.done, progress.skipped, progress.failed)
        state = JOB_KILLED if ctx.timed_out() else JOB_FAILURE
        with self.store.transaction() as tx:
            if reason:
                self.store.finish_job(tx, spec.name, run_id, state, reason, counts, None)
            else:
                ref = CommitRef(spec.name, run_id)
                self.store.insert_commit(tx, ref, manifest, sorted(provenance), ORIGIN_AUTO)
                self.store.finish_job(tx, spec.name, run_id, JOB_SUCCESS, note, counts, run_id)
        shutil.rmtree(ctx.scratch.parent, ignore_errors=True)
        if reason:
            self._emit("FAIL", spec, run_id, spec_ref, inputs, error=reason)
        else:
            self._emit(
                "COMPLETE", spec, run_id, spec_ref, inputs, output=CommitRef(spec.name, run_id)
            )
        self.progress.finish(progress, FAILURE if reason else SUCCESS, reason)

    def _emit(
        self,
        state: str,
        spec: LocalSpec,
        job_id: str,
        spec_ref: CommitRef,
        inputs: list[CommitRef],
        output: CommitRef | None = None,
        error: str = "",
    ) -> None:
        if self.events is None:
            return
        from pachflow_lineage.backends.local import LocalBackend  # only with events on
        from pachflow_lineage.resolve import scoring_records

        try:
            # a scoring job's output names the model version that made it (scoring.json)
            model = (
                scoring_model(scoring_records(LocalBackend(self.store), output)) if output else None
            )
            self.events.emit(
                state,
                spec.name,
                job_id,
                inputs,
                output=output,
                project=spec.project,
                spec_commit=spec_ref.id,
                model=model,
                error=error,
            )
        except Exception as exc:  # lineage events must never fail the job they describe
            self.progress.say(f"OpenLineage: could not send {state} of {spec.name}: {exc}")

    def _skip_done(
        self,
        spec: LocalSpec,
        run_id: str,
        datums: list[Datum],
        produced: list[tuple[str, Manifest]],
        progress: PipelineProgress,
        forced: bool,
    ) -> list[Datum]:
        """Datums that already succeeded with the same hash are recorded SKIPPED and their
        earlier outputs reused; the rest is returned to run."""
        to_run = []
        with self.store.transaction() as tx:
            for datum in datums:
                done = None if forced else self.store.done_datum(spec.name, datum.hash)
                if done is None:
                    to_run.append(datum)
                    continue
                source_job, outputs = done
                if source_job == run_id:  # a resumed job's datum that succeeded: kept as is
                    produced.append((datum.id, outputs))
                    progress.done += 1
                    continue
                info = self._info(spec, run_id, datum, DATUM_SKIPPED, 0, "", "", source_job)
                self.store.record_datum(tx, spec.name, run_id, info, outputs)
                produced.append((datum.id, outputs))
                progress.skipped += 1
        return to_run

    def _execute(self, ctx: JobContext, datums: list[Datum]) -> Iterator[DatumResult]:
        if ctx.spec.uses_s3:  # s3 inputs / s3Out: the datums run with an S3 gateway up
            return s3gateway.serving(ctx, datums, lambda: self._run(ctx, datums), self.progress.say)
        return self._run(ctx, datums)

    @staticmethod
    def _run(ctx: JobContext, datums: list[Datum]) -> Iterator[DatumResult]:
        if ctx.spec.datum_batching:
            # imported here: grpc + pachyderm_sdk cost a second at start-up for every command
            from pachflow.local import batching

            return batching.run_batched(ctx, datums)
        return run_datums(ctx, datums)

    def _record(self, spec: LocalSpec, run_id: str, result: DatumResult) -> None:
        info = self._info(
            spec,
            run_id,
            result.datum,
            result.state,
            result.tries,
            result.error,
            result.log_path,
            None,
        )
        with self.store.transaction() as tx:
            self.store.record_datum(
                tx, spec.name, run_id, info, result.outputs if result.state != DATUM_FAILED else {}
            )

    @staticmethod
    def _info(
        spec: LocalSpec,
        run_id: str,
        datum: Datum,
        state: str,
        tries: int,
        error: str,
        log_path: str,
        reused_from: str | None,
    ) -> DatumInfo:
        return DatumInfo(
            pipeline=spec.name,
            job_id=run_id,
            id=datum.id,
            state=state,
            hash=datum.hash,
            files=datum.file_labels(),
            log_path=log_path,
            tries=tries,
            error=error,
            reused_from=reused_from,
        )


def summary_lines(summary: RunSummary, progress_shown: bool = False) -> list[str]:
    """One line per pipeline; with `progress_shown`, the pipelines whose jobs the progress
    lines already reported are left out."""
    lines = []
    for o in summary.outcomes:
        if o.status in (SUCCESS, FAILURE) and o.job_id:
            if progress_shown:
                continue
            lines.append(
                f"{o.pipeline:<12} {o.status:<8} job {short_id(o.job_id)}  {o.processed} processed,"
                f" {o.skipped} skipped, {o.failed} failed of {o.total}  {o.elapsed:.1f}s"
                + (f"\n{'':<13}{o.reason}" if o.reason else "")
            )
        else:
            detail = f" ({o.reason})" if o.reason else ""
            lines.append(f"{o.pipeline:<12} {o.status}{detail}")
    if not summary.did_work:
        lines.append("nothing to do: every pipeline is up to date with its inputs")
    return lines


def elapsed(start: float) -> float:
    return time.monotonic() - start
