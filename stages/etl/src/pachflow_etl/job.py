"""One etl run, input dir -> output dir: the same function serves a plain run (one datum or
a whole repo) and each datum of a datum-batching loop.

Each source file (one datum with the spec's glob `/shard=*/*`) gives one partials file,
`shard=NN/<stem>.parquet`. Files under `small_rows` rows are aggregated with Arrow in
this process; larger ones with one Spark job each, in the one session `get_spark` gives.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from pachflow_contracts import ID_COLUMN, PARTIALS, TRANSACTIONS, ContractError
from pachflow_etl.inputs import Source, discover
from pachflow_features.partials import arrow_partials, spark_partials
from pachflow_spark import spark_progress, spark_schema
from pachflow_stagekit import BadInput, atomic_output, check_output_dir, progress

STAGE = "etl"
#: Below this many rows a source is aggregated with Arrow: a Spark job (and, for the first
#: one, the JVM start) costs more than such data. The shards of a +1 % PaySim file hold
#: ~4,000 rows, those of the full file ~400,000.
SMALL_ROWS = 100_000
#: The TRANSACTIONS columns as Spark types: Spark reads only these, no schema inference.
SPARK_INPUT_SCHEMA = spark_schema(TRANSACTIONS.schema)

_UNREADABLE = re.compile(
    r"FAILED_READ_FILE\S*\] Encountered error while reading file (?:file:/*)?(?P<path>/\S+?)\.?\s"
)

SessionFactory = Callable[[], SparkSession]


def run(
    input_dir: str | Path,
    output_dir: str | Path,
    get_spark: SessionFactory,
    small_rows: int = SMALL_ROWS,
) -> list[Source]:
    """Read every TRANSACTIONS file under `input_dir` (or the file it names), write one
    PARTIALS file per non-empty source under `output_dir`, complete or not at all.
    Returns the sources processed.

    `get_spark` is only called for a source of `small_rows` rows or more, so a datum of
    small or empty files needs no JVM. An empty source writes nothing: it adds no customer.
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
            if source.rows < small_rows:
                pq.write_table(arrow_partials(_read_arrow(source)), dest)
                engine = "Arrow"
            else:
                _write_with_spark(get_spark(), source, dest)
                engine = "Spark"
            progress(STAGE, f"{source.output_name}: {source.rows:,} rows ({engine})")
        _check_output(staging)
    progress(STAGE, f"wrote partials of {len(sources)} file(s) to {output_dir}")
    return sources


def _read_arrow(source: Source) -> pa.Table:
    try:
        return pq.read_table(source.path, columns=TRANSACTIONS.columns)
    except (OSError, pa.ArrowException) as exc:
        raise BadInput(_unreadable(str(source.path))) from exc


def _unreadable(path: str) -> str:
    """A file whose footer is fine (it passed the contract check) but whose data is not."""
    return (
        f"{path}: Parquet data cannot be read (corrupt or truncated file; expected "
        f"{TRANSACTIONS.name} v{TRANSACTIONS.version} data)"
    )


def _write_with_spark(spark: SparkSession, source: Source, dest: Path) -> None:
    """One Spark job: the source's rows, shuffled by customer into ONE partition (so the
    datum writes one file), aggregated there, written as `dest`."""
    spark_dir = dest.parent / f"_spark-{dest.stem}"
    transactions = spark.read.schema(SPARK_INPUT_SCHEMA).parquet(str(source.path))
    try:
        with spark_progress(spark, lambda line: progress(STAGE, line)):
            (
                spark_partials(transactions, partitions=1)
                # Reproducible by construction: a hash aggregate emits rows in the order
                # the shuffle delivered them, which differs run to run; sorted by customer,
                # two runs of the same data write the same rows in the same order.
                .sortWithinPartitions(ID_COLUMN)
                .write
                # Partial values are nearly unique per customer: dictionaries only cost time.
                .option("parquet.enable.dictionary", "false")
                .parquet(str(spark_dir))
            )
    except Exception as exc:
        match = _UNREADABLE.search(str(exc))
        if match:
            raise BadInput(_unreadable(match.group("path"))) from exc
        raise
    (part,) = spark_dir.glob("part-*.parquet")  # one partition, one file
    _rewrite_stamped(part, dest)
    shutil.rmtree(spark_dir)  # Spark's own file, _SUCCESS, .crc files


def _rewrite_stamped(part: Path, dest: Path) -> None:
    """Rewrite Spark's file with pyarrow as `dest`: same rows, same order, stamped schema.

    Reproducible by construction: parquet-mr lists each column's encodings from a HashSet
    of enums (identity hash codes), so their order in the footer, and the file's bytes,
    differ from one JVM to the next even for identical rows; pyarrow writes the same bytes
    for the same rows. The file also carries the `pachflow.contract` stamp Spark cannot
    write (Arrow-written partials already do).
    """
    schema = PARTIALS.stamped_schema()
    table = pq.read_table(part).select(schema.names).cast(schema)
    pq.write_table(table, dest, compression="snappy", use_dictionary=False)


def _check_output(staging: Path) -> None:
    """Every file we publish must pass the check its readers will run on it."""
    for path in sorted(staging.rglob("*.parquet")):
        try:
            PARTIALS.check_file(path)
        except ContractError as exc:
            raise RuntimeError(f"etl wrote a file that breaks its own contract: {exc}") from exc
