"""`pachflow-train INPUT_DIR OUTPUT_DIR`: fit, evaluate and track the fraud model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pachflow_spark import SparkSettings, spark_options
from pachflow_stagekit import check_output_dir, terminate_cleanly
from pachflow_stagekit.mlflow_access import required_tracking_uri
from pachflow_train import data
from pachflow_train.classifier import CLASSIFIERS, IMPURITIES, ModelSettings
from pachflow_train.mlflow_run import CANDIDATE_ALIAS, HttpSettings
from pachflow_train.run import TrackingSettings, train

DEFAULT_EXPERIMENT = "pachflow-fraud"
DEFAULT_REGISTERED_MODEL = "pachflow-fraud-detector"


def _class_weight(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("none", "balanced"):
        return value
    try:
        if float(value) > 0:
            return value
    except ValueError:
        pass
    raise click.BadParameter(f"expected none, balanced or a positive number, found {value!r}")


HELP = """Fit the fraud classifier on etl's customer features and track it in MLflow.

\b
Reads:  every *.parquet under INPUT_DIR (partials contract v1, e.g. /pfs/etl), merged
        into one features row per customer.
Writes: OUTPUT_DIR/<run_id>   empty marker named after the MLflow run
        OUTPUT_DIR/run.json   run id, experiment, tracking URI, model URI, registered
                              model version, metrics, input commits
        OUTPUT_DIR/model/     the fitted Spark PipelineModel (scores without MLflow)

Inside a Pachyderm worker the job context (PACH_JOB_ID, PACH_DATUM_ID, <input>_COMMIT, ...)
becomes pachyderm.* tags and dataset inputs of the run; a retry of the same job + datum
reuses or resumes its run. Exit 0 ok, 2 bad input (schema, unlearnable data, usage),
1 anything else (e.g. MLflow unreachable after the retries; OUTPUT_DIR is then empty).

MLflow credentials come from the environment only (options would show in logs):
MLFLOW_TRACKING_USERNAME/PASSWORD for basic auth (the spec's mlflow-credentials secret)
or MLFLOW_TRACKING_TOKEN (bearer). Rejected credentials (401, "authentication") or a
missing permission (403, "permission denied") are not retried: exit 1 at once. No secret
is ever printed or recorded.
"""


@click.command(help=HELP, context_settings={"max_content_width": 100})
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--classifier",
    type=click.Choice(CLASSIFIERS),
    default="decision_tree",
    envvar="PACHFLOW_TRAIN_CLASSIFIER",
    show_default=True,
)
@click.option(
    "--max-depth",
    type=click.IntRange(1, 30),
    default=5,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_DEPTH",
)
@click.option(
    "--max-bins",
    type=click.IntRange(2),
    default=32,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_BINS",
    help="Bins per continuous feature for splits.",
)
@click.option(
    "--min-instances-per-node",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MIN_INSTANCES_PER_NODE",
)
@click.option(
    "--impurity",
    type=click.Choice(IMPURITIES),
    default="gini",
    show_default=True,
    envvar="PACHFLOW_TRAIN_IMPURITY",
    help="Ignored by gbt.",
)
@click.option(
    "--num-trees",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    envvar="PACHFLOW_TRAIN_NUM_TREES",
    help="random_forest only.",
)
@click.option(
    "--max-iter",
    type=click.IntRange(1),
    default=20,
    show_default=True,
    envvar="PACHFLOW_TRAIN_MAX_ITER",
    help="gbt only: boosting rounds.",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    envvar="PACHFLOW_TRAIN_SEED",
    help="Seeds the split and the classifier.",
)
@click.option(
    "--test-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    show_default=True,
    envvar="PACHFLOW_TRAIN_TEST_FRACTION",
    help="Share of customers held out: a customer is held out when a seeded hash of its "
    "id falls below this share, so its side never changes as data grows.",
)
@click.option(
    "--class-weight",
    default="none",
    show_default=True,
    callback=_class_weight,
    envvar="PACHFLOW_TRAIN_CLASS_WEIGHT",
    help="Instance weight of fraud rows: none, balanced (negatives/positives of the "
    "training part) or a number.",
)
@click.option(
    "--negative-fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.1,
    show_default=True,
    envvar="PACHFLOW_TRAIN_NEGATIVE_FRACTION",
    help="Share of the non-fraud training rows to fit on: a seeded sample, each row "
    f"weighted 1/share so the model stays calibrated; never fewer than "
    f"{data.MIN_SAMPLED_NEGATIVES:,} rows (smaller data trains on all). 1 = all rows. "
    "Evaluation always scores every row.",
)
@click.option(
    "--partitions",
    type=click.IntRange(1),
    default=None,
    envvar="PACHFLOW_TRAIN_PARTITIONS",
    help="Repartition the data by customer into N sorted partitions: the same seed then "
    "gives the same model on every Spark (local, cluster, Connect) [default: as read, one "
    "per Parquet split: the same model for the same input partitioning].",
)
@click.option(
    "--tracking-uri",
    envvar="MLFLOW_TRACKING_URI",
    default=None,
    help="MLflow tracking URI [env MLFLOW_TRACKING_URI; required: MLflow's own default "
    "would write ./mlflow.db and ./mlruns].",
)
@click.option(
    "--experiment", envvar="PACHFLOW_EXPERIMENT", default=DEFAULT_EXPERIMENT, show_default=True
)
@click.option(
    "--registered-model",
    envvar="PACHFLOW_REGISTERED_MODEL",
    default=DEFAULT_REGISTERED_MODEL,
    show_default=True,
    help=f"Registered model that gets a version (alias {CANDIDATE_ALIAS!r}).",
)
@click.option(
    "--mlflow-retries",
    type=click.IntRange(0, 10),
    default=3,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_RETRIES",
    help="Retries per MLflow request (sets MLFLOW_HTTP_REQUEST_MAX_RETRIES).",
)
@click.option(
    "--mlflow-backoff",
    type=click.IntRange(0, 60),
    default=1,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_BACKOFF",
    help="Backoff factor in s, doubling per retry (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR).",
)
@click.option(
    "--mlflow-timeout",
    type=click.IntRange(1),
    default=60,
    show_default=True,
    envvar="PACHFLOW_MLFLOW_TIMEOUT",
    help="Seconds per MLflow request (MLFLOW_HTTP_REQUEST_TIMEOUT).",
)
@spark_options
def main(
    input_dir: Path,
    output_dir: Path,
    tracking_uri: str | None,
    experiment: str,
    registered_model: str,
    mlflow_retries: int,
    mlflow_backoff: int,
    mlflow_timeout: int,
    partitions: int | None,
    spark_settings: SparkSettings,
    **model_options: Any,
) -> None:
    terminate_cleanly()
    check_output_dir(output_dir)
    tracking = TrackingSettings(
        tracking_uri=required_tracking_uri(tracking_uri),
        experiment=experiment,
        registered_model=registered_model,
        http=HttpSettings(mlflow_retries, mlflow_backoff, mlflow_timeout),
    )
    train(
        input_dir, output_dir, ModelSettings(**model_options), tracking, spark_settings, partitions
    )
