"""`pachflow-train INPUT_DIR OUTPUT_DIR`: fit, evaluate and track the fraud model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from pachflow_spark import SparkSettings, spark_options
from pachflow_spark.object_store import object_store_url
from pachflow_stagekit import check_output_dir, terminate_cleanly
from pachflow_stagekit.mlflow_access import required_tracking_uri
from pachflow_stagekit.options import env_options, tracking_uri_option
from pachflow_train import data
from pachflow_train.classifier import CLASSIFIERS, IMPURITIES, ModelSettings
from pachflow_train.engine import ARROW_MAX_BYTES
from pachflow_train.mlflow_run import CANDIDATE_ALIAS, HttpSettings
from pachflow_train.model_staging import ENV_PREFIX
from pachflow_train.run import TrackingSettings, train

DEFAULT_EXPERIMENT = "pachflow-fraud"
DEFAULT_REGISTERED_MODEL = "pachflow-fraud-detector"
#: train's own options each read PACHFLOW_TRAIN_<OPTION> (--max-depth: ..._MAX_DEPTH).
option = env_options("PACHFLOW_TRAIN")
#: Its MLflow options each read PACHFLOW_<OPTION>, as in every spec (PACHFLOW_EXPERIMENT).
pachflow_option = env_options("PACHFLOW")


def _class_weight(ctx: click.Context, param: click.Parameter, value: str) -> str:
    if value in ("none", "balanced"):
        return value
    try:
        if float(value) > 0:
            return value
    except ValueError:
        pass
    raise click.BadParameter(f"expected none, balanced or a positive number, found {value!r}")


def _object_store_prefix(
    ctx: click.Context, param: click.Parameter, value: str | None
) -> str | None:
    if value is None or object_store_url(value) is not None:
        return value
    raise click.BadParameter(f"expected an s3a://bucket/prefix URL, found {value!r}")


HELP = """Fit the fraud classifier on etl's customer features and track it in MLflow.

\b
Reads:  every *.parquet under INPUT_DIR (partials contract v1, e.g. /pfs/etl), merged
        into one features row per customer. INPUT_DIR may be an object-store URL
        (s3a://etl: an "s3": true input, read through the worker's S3 gateway at
        $S3_ENDPOINT with AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY). Inputs up to
        --arrow-max-bytes are read and scored in this process (pyarrow, numpy) and Spark
        fits on the sampled rows only; larger ones stay in Spark, which then needs
        hadoop-aws for s3a:// (a Connect server's classpath, or --spark-conf).
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
@option("--classifier", type=click.Choice(CLASSIFIERS), default="decision_tree")
@option("--max-depth", type=click.IntRange(1, 30), default=5)
@option(
    "--max-bins",
    type=click.IntRange(2),
    default=32,
    help="Bins per continuous feature for splits.",
)
@option("--min-instances-per-node", type=click.IntRange(1), default=1)
@option("--impurity", type=click.Choice(IMPURITIES), default="gini", help="Ignored by gbt.")
@option("--num-trees", type=click.IntRange(1), default=20, help="random_forest only.")
@option("--max-iter", type=click.IntRange(1), default=20, help="gbt only: boosting rounds.")
@option("--seed", type=int, default=42, help="Seeds the split and the classifier.")
@option(
    "--test-fraction",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=0.2,
    help="Share of customers held out: a customer is held out when a seeded hash of its "
    "id falls below this share, so its side never changes as data grows.",
)
@option(
    "--class-weight",
    default="none",
    callback=_class_weight,
    help="Instance weight of fraud rows: none, balanced (negatives/positives of the "
    "training part) or a number.",
)
@option(
    "--negative-fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=0.1,
    help="Share of the non-fraud training rows to fit on: a sample by a seeded hash of "
    "nameOrig (the same customers on every engine and as data grows), each row "
    f"weighted 1/share so the model stays calibrated; never fewer than "
    f"{data.MIN_SAMPLED_NEGATIVES:,} rows (smaller data trains on all). 1 = all rows. "
    "Evaluation always scores every row.",
)
@option(
    "--partitions",
    type=click.IntRange(1),
    default=None,
    help="Repartition the data by customer into N sorted partitions: the same seed then "
    "gives the same model on every Spark (local, cluster, Connect) [default: as read, one "
    "per Parquet split: the same model for the same input partitioning].",
)
@option(
    "--arrow-max-bytes",
    type=click.IntRange(0),
    default=ARROW_MAX_BYTES,
    show_default=True,
    help="Hold the data in this process (Arrow) when the partials files add up to at most "
    "this many bytes: Spark then gets only the fit's sampled rows and the saved tree scores "
    "every customer here (no Spark pass over all of them); larger inputs stay in Spark. "
    "0: always Spark. The default keeps this process within the measured bound of "
    "bench/RESULTS.md (train engines).",
)
@option(
    "--model-staging",
    default=None,
    callback=_object_store_prefix,
    help="On a Spark Connect session: an s3a://bucket/prefix the server saves the model "
    "to (<prefix>/<run id>/sparkml) for train to copy down and log, when the server "
    "cannot write train's OUTPUT_DIR (another pod). Its endpoint and keys: "
    f"{ENV_PREFIX}S3_ENDPOINT, ..._AWS_ACCESS_KEY_ID, ..._AWS_SECRET_ACCESS_KEY, each "
    "else the unprefixed variable [default: the server writes OUTPUT_DIR/model].",
)
@tracking_uri_option()
@pachflow_option("--experiment", default=DEFAULT_EXPERIMENT)
@pachflow_option(
    "--registered-model",
    default=DEFAULT_REGISTERED_MODEL,
    help=f"Registered model that gets a version (alias {CANDIDATE_ALIAS!r}).",
)
@pachflow_option(
    "--mlflow-retries",
    type=click.IntRange(0, 10),
    default=3,
    help="Retries per MLflow request (sets MLFLOW_HTTP_REQUEST_MAX_RETRIES).",
)
@pachflow_option(
    "--mlflow-backoff",
    type=click.IntRange(0, 60),
    default=1,
    help="Backoff factor in s, doubling per retry (MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR).",
)
@pachflow_option(
    "--mlflow-timeout",
    type=click.IntRange(1),
    default=60,
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
    arrow_max_bytes: int,
    model_staging: str | None,
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
        model_staging=model_staging,
    )
    train(
        input_dir,
        output_dir,
        ModelSettings(**model_options),
        tracking,
        spark_settings,
        partitions,
        arrow_max_bytes,
    )
