"""`pachflow reproduce SUBJECT`: rebuild a model from its lineage and prove it is the same.
The runner, MLflow and pachyderm_sdk are imported when the command runs, not on --help."""

from __future__ import annotations

import sys
from typing import Any

import click

from pachflow_lineage.options import CONTEXT, home_option, one_line_errors
from pachflow_stagekit.options import json_option, path_option, tracking_uri_option

RUNTIMES = ("local", "podman", "cluster")
DEFAULT_TOLERANCE = 1e-9


@click.command("reproduce", context_settings=CONTEXT)
@click.argument("subject")
@click.option(
    "--runtime",
    type=click.Choice(RUNTIMES),
    default="local",
    show_default=True,
    help="local: the installed stage packages (each must be the version the spec's image "
    "tag names); podman: the spec's images; cluster: new pipelines in a project of their own "
    "on the pachd named by PACHD_ADDRESS (pachyderm_sdk).",
)
@click.option(
    "--tolerance",
    type=float,
    default=DEFAULT_TOLERANCE,
    show_default=True,
    help="Metrics agree when |a - b| <= tolerance * max(1, |a|).",
)
@path_option(
    "--into",
    "Store for the reproduction (must not exist). Default: "
    "$PACHFLOW_HOME/reproductions/<run id>-<new id>.",
    folder=True,
)
@home_option("The original local store.")
@tracking_uri_option("MLflow [env MLFLOW_TRACKING_URI; unset: the store's mlflow.db].")
@click.option(
    "--keep",
    is_flag=True,
    help="Keep the reproduction's store (its commits, jobs and logs) after the verdict; by "
    "default it is removed (its data are hard links to the original's blobs; its runs and "
    "model versions stay in MLflow).",
)
@json_option("The verdict as JSON.")
@one_line_errors
def reproduce(as_json: bool, **request: Any) -> None:
    """Re-run the chain that made SUBJECT (RUN_ID, NAME/VERSION or NAME@ALIAS) from its exact
    input commits and stage versions, and compare the new run with it.

    The reproduction runs in a store (or, on a cluster, a project) of its own: the
    original heads, branches and the model's aliases are not touched (the new version is
    registered as NAME-reproductions, the new run goes to the experiment
    <experiment>-reproductions). The store shares the original's blobs (hard links) and is
    removed after the verdict unless --keep; a failed reproduction keeps it for its logs.
    The new run is tagged pachflow.reproduces=<run id>.
    Compared: every param, every metric within --tolerance (wall-clock *_seconds metrics
    are listed, not compared), the content hashes of every commit upstream of both runs,
    the fitted model (each stage's params and data, row for row) and its input example.
    Exit 0 when reproduced, 1 naming what differs, 2 when a commit or stage version the
    run needs is missing.
    """
    from pachflow.reproduce.run import reproduce_subject

    verdict = reproduce_subject(**request)  # the options, typed there
    click.echo(verdict.to_json() if as_json else verdict.to_table(), nl=False)
    if not verdict.ok:
        sys.exit(1)
