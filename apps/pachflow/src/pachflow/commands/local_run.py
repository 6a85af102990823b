"""`pachflow run/jobs/logs`: run the specs on this machine over the local store."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from pachflow.commands.local_store import BadInput, emit_json, open_store, table, when
from pachflow.local.progress import Progress
from pachflow.local.runtime import RUNTIMES, get_runtime

if TYPE_CHECKING:
    from pachflow.local.runner import RunSummary

# The runner and spec loading (pachyderm_sdk, ~1 s) are imported when a run starts, not when
# any pachflow command (or --help) starts.

specs_option = click.option(
    "--specs",
    "specs_dir",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="Directory of pipeline specs (*.json). Default: $PACHFLOW_SPECS_DIR, else the "
    "nearest pipelines/ directory.",
)


@contextmanager
def sigterm_stops() -> Iterator[None]:
    """SIGTERM ends a run like Ctrl-C: its datum processes are stopped and its jobs marked
    JOB_KILLED, exit 143 (Ctrl-C: 130). A kill -9 cannot be caught: `pachflow jobs` shows
    its jobs killed at once, and the next run records them so and recovers."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    except KeyboardInterrupt:  # exit 130 like a shell, not click's "Aborted!" (1 = job failed)
        click.echo("interrupted: the running jobs are marked JOB_KILLED", err=True)
        raise SystemExit(128 + signal.SIGINT) from None
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_pipelines(
    specs_dir: Path | None,
    runtime: str = "local",
    reprocess: tuple[str, ...] = (),
    quiet: bool = False,
    cron_ticks: int = 0,
    shared_spark: bool = True,
    shared_spark_master: str | None = None,
) -> RunSummary:
    """Load the specs and bring every pipeline up to date; prints progress and the summary.
    With `cron_ticks` N: N times, one tick of every cron input, then a run. With
    `shared_spark` (local runtime only: a container's /pfs is not the server's) the Spark
    stages share one Spark Connect server, stopped when the run ends however it ends."""
    from pachflow.local.cron import tick_all
    from pachflow.local.runner import Runner, summary_lines
    from pachflow.local.shared_spark import SharedSpark
    from pachflow.local.specs import SpecError, find_spec, load_specs

    try:
        specs = load_specs(specs_dir)
    except SpecError as exc:
        raise BadInput(f"the pipeline specs are not valid:\n{exc}") from None
    progress = Progress(quiet=quiet)

    with open_store() as store, sigterm_stops():
        for name in reprocess:
            find_spec(specs, name)
        if cron_ticks and not any(spec.crons for spec in specs):
            raise BadInput("--cron-ticks: no spec has a cron input")
        spark = None
        if shared_spark and runtime == "local":
            run_name = time.strftime("%Y%m%dT%H%M%S")
            spark = SharedSpark(specs, store.logs_dir, run_name, shared_spark_master)
        try:
            for n in range(max(1, cron_ticks)):
                if cron_ticks:
                    for ref in tick_all(store, specs):
                        progress.say(f"cron tick {n + 1}/{cron_ticks}: {ref}")
                summary = Runner(
                    store,
                    specs,
                    get_runtime(runtime),
                    progress,
                    reprocess=frozenset(reprocess),
                    spark=spark,
                ).run()
                for line in summary_lines(summary):
                    click.echo(line, err=True)
                reprocess = ()
                if summary.failed:
                    break
        finally:
            if spark is not None and spark.server is not None:
                spark.stop()
                progress.say(f"stopped the {spark.describe()}")
    summary.spark = spark.describe() if spark is not None else "in-process Spark in each stage"
    return summary


@click.command(name="run")
@specs_option
@click.option(
    "--runtime",
    type=click.Choice(sorted(RUNTIMES)),
    default="local",
    show_default=True,
    help="Where datums run: `local` runs the spec's argv from the installed packages; "
    "`podman`/`docker` run it in the spec's image (build them with `make images`).",
)
@click.option(
    "--reprocess",
    multiple=True,
    metavar="PIPELINE",
    help="Run this pipeline again and process every datum (e.g. after changing stage code).",
)
@click.option(
    "--shared-spark/--no-shared-spark",
    default=True,
    envvar="PACHFLOW_SHARED_SPARK",
    show_default=True,
    help="Run every Spark job of this run on one Spark Connect server, started on "
    "loopback when a Spark stage is about to run and stopped at the end (log in "
    "$PACHFLOW_HOME/logs/spark-connect/). --no-shared-spark: each Spark stage starts its "
    "own in-process Spark, as in its container. Always off with --runtime podman/docker.",
)
@click.option(
    "--shared-spark-master",
    envvar="PACHFLOW_SHARED_SPARK_MASTER",
    metavar="URL",
    default=None,
    help="Master of the shared server, e.g. an existing standalone cluster spark://HOST:PORT "
    "(its executors get the largest PACHFLOW_SPARK_DRIVER_MEMORY of the Spark stages) "
    "[default: local[N], N = the most cores a Spark stage asks for].",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress lines, only the summary.")
@click.option(
    "--cron-ticks",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Tick every cron input N times, one after the other (each tick is a commit on "
    "the cron repo named by its time, as pachd makes it), running the pipelines after "
    "each. Without it cron pipelines wait for their first tick.",
)
def run(
    specs_dir: Path | None,
    runtime: str,
    reprocess: tuple[str, ...],
    quiet: bool,
    cron_ticks: int,
    shared_spark: bool,
    shared_spark_master: str | None,
) -> None:
    """Run every pipeline whose inputs (or spec) changed, in DAG order, until all are up to
    date. One run = one commit set: its jobs and output commits share one new id.

    Exit codes: 0 every job succeeded (or nothing had to run); 1 a job failed (its datums'
    logs: `pachflow logs PIPELINE`); 2 invalid specs or bad usage; 75 another `pachflow
    run` holds this store (named; try again when it ends); 130/143 stopped by Ctrl-C or
    SIGTERM (its jobs marked JOB_KILLED).
    """
    summary = run_pipelines(
        specs_dir, runtime, reprocess, quiet, cron_ticks, shared_spark, shared_spark_master
    )
    if summary.failed:
        sys.exit(1)


@click.command(name="jobs")
@click.argument("pipeline", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def jobs(pipeline: str | None, as_json: bool) -> None:
    """The jobs of every pipeline (or of PIPELINE), newest first.

    A running job shows the datums recorded so far; a job whose runner was killed (kill -9,
    a crash) shows as JOB_KILLED with the datums that finished, at once.
    """
    with open_store() as store:
        infos = store.list_jobs(pipeline)
    if as_json:
        emit_json([{**j.to_dict(), "inputs": [str(i) for i in j.inputs]} for j in infos])
        return
    table(
        [
            [
                j.pipeline,
                j.id,
                j.state,
                when(j.created),
                f"{(j.finished or time.time()) - j.created:.1f}s",
                f"{j.processed}/{j.skipped}/{j.failed}/{j.total}",
                j.reason[:80],
            ]
            for j in infos
        ],
        ["PIPELINE", "ID", "STATE", "CREATED", "DURATION", "DONE/SKIPPED/FAILED/TOTAL", "REASON"],
    )


@click.command(name="logs")
@click.argument("pipeline")
@click.option("--job", "job_id", help="Job id (default: the pipeline's latest job).")
@click.option("--datum", "datum_id", help="Only this datum (its id, or a unique prefix).")
def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
    """Print the logs of a pipeline's job, datum by datum (every try is kept)."""
    with open_store() as store:
        job = store.inspect_job(pipeline, job_id)
        datums = store.list_datums(pipeline, job.id)
    if datum_id is not None:
        datums = [d for d in datums if d.id.startswith(datum_id)]
        if len(datums) != 1:
            raise BadInput(
                f"datum {datum_id} "
                + ("does not exist" if not datums else "is ambiguous")
                + f" in job {pipeline}@{job.id}"
            )
    for d in datums:
        click.echo(
            f"=== datum {d.id} {d.state} ({', '.join(d.files[:3])}"
            + (" ..." if len(d.files) > 3 else "")
            + ")"
        )
        if d.reused_from:
            click.echo(
                f"(skipped: unchanged since job {d.reused_from}; its logs: "
                f"pachflow logs {pipeline} --job {d.reused_from} --datum {d.id[:12]})"
            )
            continue
        path = Path(d.log_path) if d.log_path else None
        if path is not None and path.is_file():
            sys.stdout.write(path.read_text(errors="replace"))
        else:
            click.echo("(no log)")
