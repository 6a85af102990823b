"""`pachflow demo`: the whole chain on this machine in one command."""

from __future__ import annotations

from pathlib import Path

import click

from pachflow.commands.local_run import run_pipelines, spark_option, specs_option
from pachflow.commands.local_store import open_store
from pachflow.report import demo as d
from pachflow.report.results import TrainResult, train_result
from pachflow_stagekit import BadInput
from pachflow_store import short_id

#: ~1,300 frauds, ~260 of them in the 20 % test part: enough for the metrics to mean
#: something (with 16 test frauds one miss is 6 % recall), still ~1-2 minutes end to end.
DEFAULT_ROWS = 1_000_000


@click.command(name="demo")
@click.option(
    "--rows",
    type=click.IntRange(min=1000),
    default=DEFAULT_ROWS,
    show_default=True,
    help="PaySim-like rows to generate (the default: ~260 frauds in the test part, about "
    "1-2 minutes end to end).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Generator seed.")
@specs_option
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@click.option(
    "--verbose",
    "-v",
    is_flag=True,
    help="Also progress at every tenth of a job off a terminal, and the provenance "
    "pipeline's whole lineage report (every commit and file).",
)
@spark_option
def demo(
    rows: int, seed: int, specs_dir: Path | None, quiet: bool, verbose: bool, spark: str
) -> None:
    """Generate PaySim-like data, put it in raw_data, run the DAG (split -> etl -> train
    -> ...), then print the MLflow run, the registered model version, its metrics and the
    lineage from the model back to the raw_data commit. Then it puts a second, small file
    (5 % of the rows) and runs again: only the new file's datums run (printed per
    pipeline) and a new model version is trained, shown next to the first. Last, with a
    score pipeline in the specs, it puts a small held-out file into `transactions`: only the
    score pipeline runs, and it prints how many customers were flagged by which model version.

    Everything lives under $PACHFLOW_HOME (default ./.pachflow), MLflow included
    (sqlite:///$PACHFLOW_HOME/mlflow.db) unless MLFLOW_TRACKING_URI is set. Running it again
    on the same data does no work. `--spark standalone` runs the Spark stages on a Spark
    standalone cluster started for each run (`make demo SPARK=standalone`).
    """
    with open_store() as store:
        path = d.demo_file(store, rows, seed)
        if d.generate(path, rows, seed):
            click.echo(f"generated {rows} rows: {path}", err=True)
        raw, new = d.put_if_new(store, path)
        click.echo(
            f"{'put' if new else 'unchanged'} {raw.repo}@{short_id(raw.id)}:/{path.name}"
            + ("" if new else " (raw_data already holds this data)"),
            err=True,
        )
        home = store.home
    summary = run_pipelines(specs_dir, quiet=quiet, verbose=verbose, spark=spark)
    if summary.failed:
        raise click.ClickException(
            "the demo's DAG failed: "
            + "; ".join(f"{o.pipeline}: {o.reason}" for o in summary.failed)
            + " (see `pachflow logs PIPELINE`)"
        )
    if not summary.did_work:
        click.echo("no work done: same data and specs as the last run; results as before:")
    from pachflow.local.env import local_tracking_uri  # with the runner: pachyderm_sdk

    with open_store() as store:
        result = train_result(store)
        if result is None:
            raise BadInput("train@master has no run.json: did the train pipeline run?")
        for line in d.report_lines(store, result, local_tracking_uri(home), verbose):
            click.echo(line)
    if summary.did_work:
        click.echo(f"Spark           {summary.spark}")
    _increment(rows, seed, specs_dir, quiet, verbose, result, spark)
    _score_heldout(rows, seed, specs_dir, quiet, verbose, spark)


def _increment(
    rows: int,
    seed: int,
    specs_dir: Path | None,
    quiet: bool,
    verbose: bool,
    before: TrainResult,
    spark: str,
) -> None:
    """The second raw file on top of the first model: what ran, and the two models."""
    extra = d.increment_rows(rows)
    with open_store() as store:
        path = d.demo_file(store, extra, seed + 1)
        d.generate(path, extra, seed + 1)
        raw, new = d.put_if_new(store, path)
    if not new:
        return  # the demo ran before: both files are in, and the models above are current
    click.echo(
        f"\nnew data: put {raw.repo}@{short_id(raw.id)}:/{path.name} ({extra} rows), run again:"
    )
    summary = run_pipelines(specs_dir, quiet=quiet, verbose=verbose, spark=spark)
    if summary.failed:
        raise click.ClickException(
            "the demo's second run failed: "
            + "; ".join(f"{o.pipeline}: {o.reason}" for o in summary.failed)
        )
    if quiet:  # else each pipeline's progress line already said it: once is enough
        for line in d.datum_lines(summary.outcomes):
            click.echo(line)
    with open_store() as store:
        after = train_result(store)
        if after is None or after.run_id == before.run_id:
            click.echo("train was skipped: no customer it sees changed")
            return
        raw, files = d.raw_inputs(store, after)
        shared = d.shared_heldout(store, before, after)
    click.echo("the model before and after the new data:")
    for line in d.side_by_side(before.manifest, after.manifest, shared):
        click.echo(line)
    click.echo(f"the new model came from {raw.repo}@{short_id(raw.id)}, which holds:")
    for name, commit in files:
        click.echo(f"  {name}  (put in {d.RAW_REPO}@{short_id(commit)})")


def _score_heldout(
    rows: int, seed: int, specs_dir: Path | None, quiet: bool, verbose: bool, spark: str
) -> None:
    """A held-out file (another seed: customers the model never saw) through the score
    pipeline, when the specs have one: flagged customers and the model version used."""
    from pachflow.local.specs import load_specs

    if not any(spec.name == d.SCORE_PIPELINE for spec in load_specs(specs_dir)):
        return
    extra = d.heldout_rows(rows)
    with open_store() as store:
        path = d.demo_file(store, extra, seed + 2)
        d.generate(path, extra, seed + 2)
        ref, new = d.put_if_new(store, path, d.SCORE_REPO)
    if new:
        click.echo(
            f"\nheld-out data: put {ref.repo}@{short_id(ref.id)}:/{path.name} ({extra} rows), "
            "run again (only the score pipeline has new input):"
        )
        summary = run_pipelines(specs_dir, quiet=quiet, verbose=verbose, spark=spark)
        if summary.failed:
            raise click.ClickException(
                "the demo's scoring run failed: "
                + "; ".join(f"{o.pipeline}: {o.reason}" for o in summary.failed)
            )
    with open_store() as store:
        for line in d.scoring_lines(store, path.name):
            click.echo(line)
