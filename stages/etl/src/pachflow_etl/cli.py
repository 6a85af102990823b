"""`pachflow-etl [OPTIONS] INPUT_DIR OUTPUT_DIR`: per-customer features with PySpark."""

from __future__ import annotations

from pathlib import Path

import click

from pachflow_etl.job import STAGE, run
from pachflow_spark import SparkSettings, open_session, spark_options
from pachflow_stagekit import progress

APP_NAME = "pachflow-etl"


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.argument("input_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("output_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--datum-batching",
    is_flag=True,
    envvar="PACHFLOW_DATUM_BATCHING",
    help="Start Spark once, then process datum after datum through the Pachyderm worker's "
    "NextDatum API (for specs with transform.datumBatching: true). Each datum's input is "
    "$<input name> (e.g. $split) if set, else INPUT_DIR.",
)
@spark_options
def main(
    input_dir: Path, output_dir: Path, datum_batching: bool, spark_settings: SparkSettings
) -> None:
    """Per-customer fraud features from split's transactions.

    Reads every `.parquet` file under INPUT_DIR (contract `transactions` v1: one shard
    directory `shard=NN`, several, or files directly in INPUT_DIR, which count as shard
    `all`) and writes one row per customer (nameOrig), contract `features` v1, as
    OUTPUT_DIR/shard=NN/part-*.parquet: the same shard names as the input, a few files per
    shard, an empty file for an empty shard. Output is complete or absent.

    Spark: in this process by default; --master (PACHFLOW_SPARK_MASTER) points it at a
    cluster master or a Spark Connect server (what `pachflow run` shares between stages).

    Exit codes: 0 ok, 2 bad input (a file not matching the contract: file, column,
    expected and found are named; a Spark endpoint that is malformed or does not answer),
    1 anything else.
    """
    session = None

    def get_spark():
        nonlocal session
        if session is None:
            session = open_session(APP_NAME, spark_settings)
            progress(STAGE, f"Spark: {spark_settings.endpoint.describe()}")
        return session

    partitions = spark_settings.shuffle_partitions
    if not datum_batching:
        run(input_dir, output_dir, get_spark, partitions)
        return
    # Only datum batching talks to the worker: its gRPC stack costs ~0.4 s to import.
    from pachflow_etl.batching import connect_worker, datum_input_dir, serve_datums

    worker = connect_worker()
    get_spark()  # once, before the first datum: that is the point of datum batching
    progress(STAGE, "datum batching: asking the worker for datums")
    serve_datums(worker, lambda: run(datum_input_dir(input_dir), output_dir, get_spark, partitions))
