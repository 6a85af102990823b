"""`pachflow demo`: the whole chain on this machine in one command."""

from __future__ import annotations

from pathlib import Path

import click

from pachflow.commands.local_run import run_pipelines, specs_option
from pachflow.commands.local_store import BadInput, open_store
from pachflow.local import demo as d

DEFAULT_ROWS = 50_000


@click.command(name="demo")
@click.option(
    "--rows",
    type=click.IntRange(min=1000),
    default=DEFAULT_ROWS,
    show_default=True,
    help="PaySim-like rows to generate (the default finishes in about a minute).",
)
@click.option("--seed", type=int, default=7, show_default=True, help="Generator seed.")
@specs_option
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
def demo(rows: int, seed: int, specs_dir: Path | None, quiet: bool) -> None:
    """Generate PaySim-like data, put it in raw_data, run the DAG (split -> etl -> train
    -> ...), then print the MLflow run, the registered model version, its metrics and the
    lineage from the model back to the raw_data commit.

    Everything lives under $PACHFLOW_HOME (default ./.pachflow), MLflow included
    (sqlite:///$PACHFLOW_HOME/mlflow.db) unless MLFLOW_TRACKING_URI is set. Running it again
    on the same data does no work.
    """
    with open_store() as store:
        path = d.demo_file(store, rows, seed)
        if d.generate(path, rows, seed):
            click.echo(f"generated {rows} rows: {path}", err=True)
        raw, new = d.put_if_new(store, path)
        click.echo(
            f"{'put' if new else 'unchanged'} {raw}:/{path.name}"
            + ("" if new else " (raw_data already holds this data)"),
            err=True,
        )
        home = store.home
    summary = run_pipelines(specs_dir, quiet=quiet)
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
        result = d.train_result(store)
        if result is None:
            raise BadInput("train@master has no run.json: did the train pipeline run?")
        spark = summary.spark if summary.did_work else None
        for line in d.report_lines(store, result, local_tracking_uri(home), spark):
            click.echo(line)
