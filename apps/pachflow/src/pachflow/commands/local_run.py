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

from pachflow.commands.local_store import emit_json, job_dict, open_store, table, when
from pachflow.local.progress import Progress
from pachflow.local.runtime import RUNTIMES, get_runtime
from pachflow_stagekit import BadInput
from pachflow_stagekit.options import json_option
from pachflow_store import USER, JobInfo, Store, is_id_prefix, parse_job_name

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
    verbose: bool = False,
    spark: str = "auto",
) -> RunSummary:
    """Load the specs and bring every pipeline up to date; prints progress (one line per job)
    and the pipelines that did not run. With `cron_ticks` N: N times, one tick of every
    cron input, then a run. `spark`: which Spark the Spark stages use (run_spark); what
    the run starts for it is stopped when the run ends, however it ends."""
    from pachflow.local.run_spark import STAGE, RunSpark
    from pachflow.local.runner import Runner, summary_lines
    from pachflow.local.specs import SpecError, find_spec, load_specs, unknown_inputs
    from pachflow.pipeline_spec.locate import input_repos_from_env

    try:
        specs = load_specs(specs_dir)
    except SpecError as exc:
        raise BadInput("the pipeline specs are not valid:", str(exc).splitlines()) from None
    progress = Progress(quiet=quiet, verbose=verbose)
    from pachflow.local.cron import tick_all
    from pachflow.local.env import unpassed_stage_settings

    for warning in unpassed_stage_settings(specs):
        click.echo(warning, err=True)  # even with --quiet: the run differs from what was meant

    with open_store() as store, sigterm_stops():
        for name in reprocess:
            find_spec(specs, name)
        if cron_ticks and not any(spec.crons for spec in specs):
            raise BadInput("--cron-ticks: no spec has a cron input")
        # the input repos validate knows ($PACHFLOW_INPUT_REPOS) and those data was put in
        known = {*input_repos_from_env(), *(r.name for r in store.list_repos() if r.type == USER)}
        problems = unknown_inputs(specs, known)
        if problems:
            raise BadInput("the pipeline specs are not valid:", problems)
        run_spark = RunSpark(
            spark,
            specs,
            store.logs_dir / "spark" / time.strftime("%Y%m%dT%H%M%S"),
            home=store.home,
            say=lambda line: click.echo(line, err=True),
        )
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
                    spark=run_spark,
                ).run()
                for line in summary_lines(summary, progress_shown=not quiet):
                    click.echo(line, err=True)
                reprocess = ()
                if summary.failed:
                    break
        finally:
            run_spark.stop()
        summary.spark = run_spark.describe()
        if run_spark.mode != STAGE:
            click.echo(f"Spark: {summary.spark}", err=True)
    return summary


def _spark_mode(ctx: click.Context, param: click.Parameter, value: str) -> str:
    from pachflow.local.run_spark import EndpointError, check_mode

    try:
        return check_mode(value)
    except EndpointError as exc:
        raise click.BadParameter(
            f"{exc}, or auto, stage, connect, standalone or engine", ctx, param
        ) from exc


spark_option = click.option(
    "--spark",
    envvar="PACHFLOW_RUN_SPARK",
    show_envvar=True,
    default="auto",
    show_default=True,
    callback=_spark_mode,
    metavar="auto|stage|connect|standalone|engine|URL",
    help="Which Spark the Spark stages (etl, train, score) use: `auto` the store's Spark "
    "engine if one runs (warm, it is faster), else `stage`; `stage` each its own in-process "
    "Spark as its spec says; `connect` one Spark Connect server shared by the run; "
    "`standalone` a Spark standalone cluster (master + 2 workers, own JVMs) for the run; "
    "`engine` the store's long-lived, warmed-up Spark Connect server (`pachflow engine`; "
    "started if none runs, left running, stops itself when idle); or a running one: "
    "spark://HOST:PORT (e.g. `pachflow spark up`), sc://HOST:PORT. What the run starts "
    "(but the engine) is on loopback, logs in $PACHFLOW_HOME/logs/spark/, stopped when it "
    "ends.",
)


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
@click.option(
    "--verbose", "-v", is_flag=True, help="Progress at every tenth of a job also off a terminal."
)
@spark_option
def run(
    specs_dir: Path | None,
    runtime: str,
    reprocess: tuple[str, ...],
    quiet: bool,
    cron_ticks: int,
    verbose: bool,
    spark: str,
) -> None:
    """Run every pipeline whose inputs (or spec) changed, in DAG order, until all are up to
    date. One run = one commit set: its jobs and output commits share one new id.

    Ends with what the (last) run produced: the new commit of each pipeline and, when train
    ran, the MLflow run, the registered model version and its page in the MLflow UI.

    Exit codes: 0 every job succeeded (or nothing had to run); 1 a job failed (its datums'
    logs: `pachflow logs PIPELINE`); 2 invalid specs or bad usage; 75 another `pachflow
    run` holds this store (named; try again when it ends); 130/143 stopped by Ctrl-C or
    SIGTERM (its jobs marked JOB_KILLED).
    """
    summary = run_pipelines(specs_dir, runtime, reprocess, quiet, cron_ticks, verbose, spark)
    echo_produced(summary)
    if summary.failed:
        sys.exit(1)


def echo_produced(summary: RunSummary) -> None:
    from pachflow.local.env import local_tracking_uri
    from pachflow.report.results import produced_lines

    with open_store() as store:
        for line in produced_lines(store, summary, local_tracking_uri(store.home)):
            click.echo(line)


@click.command(name="jobs")
@click.argument("target", required=False, metavar="[PIPELINE | PIPELINE@JOB | JOB]")
@json_option()
def jobs(target: str | None, as_json: bool) -> None:
    """The jobs of every pipeline, newest first; of PIPELINE; one job (PIPELINE@JOB); or
    every pipeline's job of one run (JOB: a job id, shared by the run's jobs). A job id
    may be shortened to 4+ of its hex digits, as the progress lines print it.

    A running job shows the datums recorded so far; a job whose runner was killed (kill -9,
    a crash) shows as JOB_KILLED with the datums that finished, at once.
    """
    with open_store() as store:
        infos = select_jobs(store, target)
    if as_json:
        emit_json([job_dict(j) for j in infos])
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


def select_jobs(store: Store, target: str | None) -> list[JobInfo]:
    """`jobs`' TARGET: nothing, PIPELINE, PIPELINE@JOB or JOB (id or 4+ hex digits)."""
    if target is None:
        return store.list_jobs()
    if "@" in target:
        name = parse_job_name(target)
        return [store.inspect_job(name.pipeline, name.id)]
    if store.pipeline_exists(target) or not is_id_prefix(target):
        return store.list_jobs(target)
    return store.jobs_with_id(target)


@click.command(name="logs")
@click.argument("pipeline", metavar="PIPELINE[@JOB]")
@click.option("--job", "job_id", help="Job id or 4+ of its hex digits (default: the latest).")
@click.option("--datum", "datum_id", help="Only this datum (its id, or a unique prefix).")
def logs(pipeline: str, job_id: str | None, datum_id: str | None) -> None:
    """Print the logs of a pipeline's job, datum by datum (every try is kept). The job:
    PIPELINE@JOB or --job JOB (a job id or 4+ of its hex digits), else the latest."""
    with open_store() as store:
        if "@" in pipeline:
            name = parse_job_name(pipeline)
            if job_id is not None and job_id != name.id:
                raise BadInput(f"{pipeline} and --job {job_id}: name the job once")
            pipeline, job_id = name.pipeline, name.id
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
