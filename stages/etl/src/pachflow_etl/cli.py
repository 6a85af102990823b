"""`pachflow-etl [OPTIONS] INPUT_DIR OUTPUT_DIR`: per-customer partials, Arrow or PySpark per
source file by what fits memory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from pachflow_etl import STAGE
from pachflow_etl.engine import ARROW_MAX_BYTES
from pachflow_etl.job import run
from pachflow_spark import SparkSettings, open_session, spark_options
from pachflow_stagekit import progress, terminate_cleanly
from pachflow_stagekit.options import env_options

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

APP_NAME = "pachflow-etl"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("input_dir", type=click.Path(path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@env_options("PACHFLOW")(
    "--datum-batching",
    is_flag=True,
    help="Start once (Spark at the first datum that needs it), then process datum after "
    "datum through the Pachyderm worker's "
    "NextDatum API (for specs with transform.datumBatching: true). Each datum's input is "
    "$<input name> (e.g. $split) if set, else INPUT_DIR.",
)
@env_options("PACHFLOW_ETL")(
    "--arrow-max-bytes",
    type=click.IntRange(min=0),
    default=ARROW_MAX_BYTES,
    help="Source files of at most this many bytes are aggregated with Arrow in this process "
    "(no Spark job, no JVM start); larger ones with Spark. The default keeps Arrow's peak "
    "memory within 1 GiB (measured: bench/RESULTS.md); 0 = always Spark.",
)
@spark_options(shuffle_partitions=False)
def main(
    input_dir: Path,
    output_dir: Path,
    datum_batching: bool,
    arrow_max_bytes: int,
    spark_settings: SparkSettings,
) -> None:
    """Per-customer partial aggregates from split's transactions, one file per source.

    Reads every `.parquet` file under INPUT_DIR, or the one file a datum names (contract
    `transactions` v1: shard directories `shard=NN`, or files directly in INPUT_DIR, which
    count as shard `all`) and writes, for each non-empty file `shard=NN/<stem>.parquet`,
    one row per customer (nameOrig) of exact, additive aggregates, contract `partials` v1,
    as OUTPUT_DIR/shard=NN/<stem>.parquet. Readers merge them into one features row per
    customer (pachflow_features). An empty file writes nothing. Output is complete or
    absent.

    Engine, per source file, by its size on disk: at most --arrow-max-bytes, Arrow in this
    process (no JVM); larger, one Spark job that reduces in one task into one file. Each
    file's choice and its reason is logged.

    Spark: in this process by default; --master (PACHFLOW_SPARK_MASTER, else SPARK_REMOTE)
    points it at a cluster master or a Spark Connect server.

    Exit codes: 0 ok, 2 bad input (a file not matching the contract: file, column,
    expected and found are named; a Spark endpoint that is malformed or does not answer),
    1 anything else.
    """
    terminate_cleanly()
    session: SparkSession | None = None

    def get_spark() -> SparkSession:
        nonlocal session
        if session is None:
            session = open_session(APP_NAME, spark_settings)
            progress(STAGE, f"Spark: {spark_settings.endpoint.describe()}")
        return session

    if not datum_batching:
        run(input_dir, output_dir, get_spark, arrow_max_bytes)
        return
    # Only datum batching talks to the worker: its gRPC stack costs ~0.4 s to import.
    from pachflow_etl.batching import connect_worker, datum_input_dir, serve_datums

    worker = connect_worker()
    # The session is made at the first datum that needs Spark and kept for all later ones
    # (that is the point of datum batching); datums that fit Arrow's memory never start the JVM.
    progress(STAGE, "datum batching: asking the worker for datums")
    serve_datums(
        worker, lambda: run(datum_input_dir(input_dir), output_dir, get_spark, arrow_max_bytes)
    )
