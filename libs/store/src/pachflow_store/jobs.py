"""The job ledger: jobs and their datums (state, hash, outputs), and which datums a job
may skip because an earlier job already succeeded on the same inputs.

A job is JOB_RUNNING in the ledger from its start until its runner finishes it. Read
while its runner is alive, its counts are those of the datums recorded so far; read after
its runner was killed (kill -9, a crash: nothing could mark it), it shows as JOB_KILLED
with the datums that did finish, as the next `pachflow run` will record it."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import time

from pachflow_contracts.commits import SPEC, CommitRef
from pachflow_store.connected import Connected
from pachflow_store.errors import NotFound
from pachflow_store.models import (
    DATUM_DONE,
    DATUM_FAILED,
    DATUM_SKIPPED,
    DATUM_SUCCESS,
    JOB_KILLED,
    JOB_RUNNING,
    DatumInfo,
    JobInfo,
    from_row,
)
from pachflow_store.names import Manifest, parse_repo
from pachflow_store.processes import DatumGroup
from pachflow_store.refs import BadName, is_id_prefix, pick_unique

#: The reason of a job whose runner died without finishing it.
RUNNER_GONE = "the runner was killed (its process is gone); `pachflow run` resumes the job"
#: The reason's start for a job its runner stopped on an error or a signal (Ctrl-C, SIGTERM).
RUNNER_ERROR = "runner error: "
#: Why a job is still RUNNING though its runner is gone.
ORPHANS_RUNNING = (
    "its runner was killed but {n} datum process group(s) still run (pgid {pgids}); "
    "the next `pachflow run` stops them and resumes the job"
)


class JobLedger(Connected):
    def start_job(
        self, pipeline: str, job_id: str, spec_commit: str, inputs: list[CommitRef], total: int
    ) -> None:
        with self.transaction() as tx:
            tx.execute(
                "INSERT INTO jobs (pipeline, id, state, created, spec_commit, inputs, total)"
                " VALUES (?,?,?,?,?,?,?)",
                (
                    pipeline,
                    job_id,
                    JOB_RUNNING,
                    time.time(),
                    spec_commit,
                    json.dumps([str(i) for i in inputs]),
                    total,
                ),
            )

    def record_datum(
        self,
        tx: sqlite3.Connection,
        pipeline: str,
        job_id: str,
        datum: DatumInfo,
        outputs: Manifest,
    ) -> None:
        tx.execute(
            "INSERT OR REPLACE INTO datums VALUES (?,?,?,?,?,?,?,?,?,?)",
            (
                pipeline,
                job_id,
                datum.id,
                datum.state,
                datum.hash,
                json.dumps(datum.files),
                datum.log_path,
                datum.tries,
                datum.error,
                datum.reused_from,
            ),
        )
        tx.executemany(
            "INSERT OR REPLACE INTO datum_files VALUES (?,?,?,?,?,?)",
            [(pipeline, job_id, datum.id, p, b, s) for p, (b, s) in outputs.items()],
        )

    def finish_job(
        self,
        tx: sqlite3.Connection,
        pipeline: str,
        job_id: str,
        state: str,
        reason: str,
        counts: tuple[int, int, int],
        output_commit: str | None,
    ) -> None:
        processed, skipped, failed = counts
        tx.execute(
            "UPDATE jobs SET state = ?, finished = ?, reason = ?, processed = ?, skipped = ?,"
            " failed = ?, output_commit = ? WHERE pipeline = ? AND id = ?",
            (
                state,
                time.time(),
                reason,
                processed,
                skipped,
                failed,
                output_commit,
                pipeline,
                job_id,
            ),
        )

    def kill_job(self, tx: sqlite3.Connection, pipeline: str, job_id: str, reason: str) -> None:
        """Finish a job its runner could not finish: JOB_KILLED, with the datums recorded."""
        counts = self.datum_counts(pipeline, job_id)
        self.finish_job(tx, pipeline, job_id, JOB_KILLED, reason, counts, None)

    def done_datum(self, pipeline: str, datum_hash: str) -> tuple[str, Manifest] | None:
        """The latest job where a datum with this hash succeeded (or was reused), and the
        outputs it wrote: what reprocess_spec until_success skips."""
        row = self.conn.execute(
            "SELECT d.job_id, d.id FROM datums d JOIN jobs j ON j.pipeline = d.pipeline AND"
            " j.id = d.job_id WHERE d.pipeline = ? AND d.hash = ? AND d.state IN (?, ?)"
            " ORDER BY j.created DESC LIMIT 1",
            (pipeline, datum_hash, *DATUM_DONE),
        ).fetchone()
        if row is None:
            return None
        outputs = self.conn.execute(
            "SELECT path, blob, size FROM datum_files WHERE pipeline = ? AND job_id = ?"
            " AND datum_id = ?",
            (pipeline, row[0], row[1]),
        ).fetchall()
        return row[0], {r[0]: (r[1], r[2]) for r in outputs}

    def list_jobs(self, pipeline: str | None = None) -> list[JobInfo]:
        if pipeline is not None and not self.pipeline_exists(pipeline):
            raise NotFound(f"pipeline {pipeline} does not exist (it has never run)")
        query = "SELECT * FROM jobs"
        args: tuple[str, ...] = ()
        if pipeline is not None:
            query += " WHERE pipeline = ?"
            args = (pipeline,)
        rows = self.conn.execute(query + " ORDER BY created DESC", args).fetchall()
        jobs = [self._job(r) for r in rows]
        if any(j.state == JOB_RUNNING for j in jobs):
            since = self.live_runner_since()
            orphans = self.surviving_datums() if since is None else []
            jobs = [self._running(j, since, orphans) if j.state == JOB_RUNNING else j for j in jobs]
        return jobs

    def resumable_job(self, pipeline: str, spec_commit: str, inputs: list[CommitRef]) -> str | None:
        """The pipeline's latest job when its runner was killed or stopped before it could
        finish it, on these very inputs and spec: the next run resumes it under its id, so
        what its datums did outside the store (an MLflow run, a model version, keyed on the
        job and datum ids) is found again, not made twice."""
        row = self.conn.execute(
            "SELECT id, state, reason, spec_commit, inputs, output_commit FROM jobs"
            " WHERE pipeline = ? ORDER BY created DESC LIMIT 1",
            (pipeline,),
        ).fetchone()
        if row is None or row["state"] not in (JOB_KILLED, JOB_RUNNING):
            return None
        stopped = row["reason"] == RUNNER_GONE or (row["reason"] or "").startswith(RUNNER_ERROR)
        same = row["spec_commit"] == spec_commit and json.loads(row["inputs"]) == [
            str(i) for i in inputs
        ]
        return row["id"] if stopped and same and row["output_commit"] is None else None

    def restart_job(self, pipeline: str, job_id: str, total: int) -> None:
        """A resumed job is RUNNING again, started now (so a reader sees the live runner's
        job, not a killed one); the datums it recorded stay."""
        with self.transaction() as tx:
            tx.execute(
                "UPDATE jobs SET state = ?, created = ?, finished = NULL, reason = '',"
                " total = ? WHERE pipeline = ? AND id = ?",
                (JOB_RUNNING, time.time(), total, pipeline, job_id),
            )

    def datum_counts(self, pipeline: str, job_id: str) -> tuple[int, int, int]:
        """(processed, skipped, failed) datums recorded for a job so far."""
        rows = self.conn.execute(
            "SELECT state, COUNT(*) FROM datums WHERE pipeline = ? AND job_id = ? GROUP BY state",
            (pipeline, job_id),
        ).fetchall()
        by_state = {r[0]: r[1] for r in rows}
        return (
            by_state.get(DATUM_SUCCESS, 0),
            by_state.get(DATUM_SKIPPED, 0),
            by_state.get(DATUM_FAILED, 0),
        )

    def _running(
        self, job: JobInfo, runner_since: float | None, orphans: list[DatumGroup]
    ) -> JobInfo:
        """A RUNNING job as it really is: its datums so far, and KILLED when no live runner
        started before it (the runner that started it is gone) and none of its datum
        processes outlived that runner."""
        processed, skipped, failed = self.datum_counts(job.pipeline, job.id)
        job = dataclasses.replace(job, processed=processed, skipped=skipped, failed=failed)
        if runner_since is not None and job.created >= runner_since:
            return job
        mine = [g for g in orphans if (g.pipeline, g.job_id) == (job.pipeline, job.id)]
        if mine:
            pgids = ", ".join(str(g.pgid) for g in mine)
            return dataclasses.replace(job, reason=ORPHANS_RUNNING.format(n=len(mine), pgids=pgids))
        return dataclasses.replace(job, state=JOB_KILLED, reason=RUNNER_GONE)

    def inspect_job(self, pipeline: str, job_id: str | None = None) -> JobInfo:
        """One job by its id or a unique prefix of 4+ hex digits, or the pipeline's latest
        job when `job_id` is None."""
        jobs = self.list_jobs(pipeline)
        if job_id is None:
            if not jobs:
                raise NotFound(f"pipeline {pipeline} has no job")
            return jobs[0]
        if not is_id_prefix(job_id):  # no id and no prefix of one: no such job
            raise NotFound(f"job {pipeline}@{job_id} does not exist")
        chosen = pick_unique(f"{pipeline} job", job_id, [j.id for j in jobs])
        return next(j for j in jobs if j.id == chosen)

    def jobs_with_id(self, text: str) -> list[JobInfo]:
        """Every pipeline's job of one run (a job id is its commit set's id, shared by the
        run's jobs), by the id or a unique prefix of 4+ hex digits."""
        if not is_id_prefix(text):
            raise BadName(f"malformed job id {text!r}: expected its id or 4+ of its hex digits")
        rows = self.conn.execute(
            "SELECT DISTINCT id FROM jobs WHERE id LIKE ?", (text + "%",)
        ).fetchall()
        chosen = pick_unique("job", text, [r[0] for r in rows])
        return [j for j in self.list_jobs() if j.id == chosen]

    def list_datums(self, pipeline: str, job_id: str) -> list[DatumInfo]:
        rows = self.conn.execute(
            "SELECT * FROM datums WHERE pipeline = ? AND job_id = ? ORDER BY id",
            (pipeline, job_id),
        ).fetchall()
        return [from_row(DatumInfo, r, files=json.loads(r["files"])) for r in rows]

    def pipeline_exists(self, pipeline: str) -> bool:
        """A pipeline exists once it has run: its spec repo does."""
        row = self.conn.execute(
            "SELECT 1 FROM repos WHERE name = ? AND type = ?", (pipeline, SPEC)
        ).fetchone()
        return row is not None

    @staticmethod
    def _job(r: sqlite3.Row) -> JobInfo:
        inputs = []
        for text in json.loads(r["inputs"]):
            label, _, cid = text.partition("@")
            name, repo_type = parse_repo(label)
            inputs.append(CommitRef(name, cid, repo_type=repo_type))
        return from_row(JobInfo, r, inputs=inputs)
