"""One etl run, input dir -> output dir: the same function serves a plain run (one datum or
a whole repo) and each datum of a datum-batching loop.

Each source file (one datum with the spec's glob `/shard=*/*`) gives one partials file,
`shard=NN/<stem>.parquet`. Files that fit the Arrow engine's memory budget
(pachflow_etl.engine) are aggregated with Arrow in this process; larger ones with one
Spark job each, in the one session `get_spark` gives.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import pyarrow.parquet as pq

from pachflow_contracts import PARTIALS, TRANSACTIONS, ContractError
from pachflow_etl import STAGE
from pachflow_etl.engine import ARROW, ARROW_MAX_BYTES, choose_engine
from pachflow_etl.inputs import Source, discover, unreadable
from pachflow_features.partials import arrow_partials
from pachflow_stagekit import BadInput, as_bad_input, atomic_output, check_output_dir, progress

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

SessionFactory = Callable[[], "SparkSession"]


def run(
    input_dir: str | Path,
    output_dir: str | Path,
    get_spark: SessionFactory,
    arrow_max_bytes: int = ARROW_MAX_BYTES,
) -> list[Source]:
    """Read every TRANSACTIONS file under `input_dir` (or the file it names), write one
    PARTIALS file per non-empty source under `output_dir`, complete or not at all.
    Returns the sources processed.

    `get_spark` is only called for a source larger than `arrow_max_bytes`, so a datum of
    files that fit in memory needs no JVM (nor pyspark). An empty source writes nothing:
    it adds no customer.
    """
    check_output_dir(output_dir)
    Path(output_dir).mkdir(parents=True, exist_ok=True)  # an empty datum's output is empty
    sources = discover(input_dir)
    if not sources:
        progress(STAGE, f"no {TRANSACTIONS.name} Parquet files under {input_dir}: nothing to do")
        return sources
    progress(
        STAGE,
        f"{len(sources)} file(s), {sum(s.rows for s in sources):,} rows under {input_dir}",
    )
    with atomic_output(output_dir) as staging:
        for source in sources:
            dest = staging / source.output_name
            if not source.rows:
                progress(STAGE, f"{source.path.name} of shard {source.shard}: no rows, no output")
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            choice = choose_engine(source, arrow_max_bytes)
            progress(
                STAGE,
                f"{source.output_name}: {source.rows:,} rows: {choice.engine} ({choice.reason})",
            )
            if choice.engine == ARROW:
                pq.write_table(arrow_partials(_read_checked(source)), dest)
            else:
                with as_bad_input(ContractError):  # batch by batch, before Spark starts
                    TRANSACTIONS.check_files([source.path])
                from pachflow_etl.spark_job import write_with_spark  # pyspark: ~0.5 s

                write_with_spark(get_spark(), source, dest)
        _check_output(staging)
    progress(STAGE, f"wrote partials of {len(sources)} file(s) to {output_dir}")
    return sources


def _read_checked(source: Source) -> pa.Table:
    """The file's rows, their values checked against TRANSACTIONS (exit 2 naming file,
    column and row): read once, for the check and the aggregation both."""
    try:
        table = pq.read_table(source.path, columns=TRANSACTIONS.columns)
    except (OSError, pa.ArrowException) as exc:
        raise BadInput(unreadable(source.path)) from exc
    with as_bad_input(ContractError):
        TRANSACTIONS.check_values(table, str(source.path))
    return table


def _check_output(staging: Path) -> None:
    """Every file we publish must pass the check its readers will run on it."""
    for path in sorted(staging.rglob("*.parquet")):
        try:
            PARTIALS.check_file(path)
        except ContractError as exc:
            raise RuntimeError(f"etl wrote a file that breaks its own contract: {exc}") from exc
