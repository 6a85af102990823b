"""The Spark engine: one source file's partials as one Spark job, for sources too large for
the Arrow engine's memory budget (pachflow_etl.engine). Imported only when such a source
comes: pyspark costs ~0.5 s to import, and a datum of files within the limit starts no JVM."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pyarrow.parquet as pq
from pyspark.sql import SparkSession

from pachflow_contracts import ID_COLUMN, PARTIALS, TRANSACTIONS
from pachflow_etl import STAGE
from pachflow_etl.inputs import Source, unreadable
from pachflow_features.partials import spark_partials
from pachflow_spark import spark_progress, spark_schema
from pachflow_spark.paths import pfs_path, spark_path
from pachflow_stagekit import BadInput, progress

#: The TRANSACTIONS columns as Spark types: Spark reads only these, no schema inference.
SPARK_INPUT_SCHEMA = spark_schema(TRANSACTIONS.schema)

_UNREADABLE = re.compile(
    r"FAILED_READ_FILE\S*\] Encountered error while reading file (?:file:/*)?(?P<path>/\S+?)\.?\s"
)


def write_with_spark(spark: SparkSession, source: Source, dest: Path) -> None:
    """One Spark job: the source's rows, shuffled by customer into ONE partition (so the
    datum writes one file), aggregated there, written as `dest`."""
    spark_dir = dest.parent / f"_spark-{dest.stem}"
    transactions = spark.read.schema(SPARK_INPUT_SCHEMA).parquet(spark_path(source.path))
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
                .parquet(spark_path(spark_dir))
            )
    except Exception as exc:
        match = _UNREADABLE.search(str(exc))
        if match:
            raise BadInput(unreadable(pfs_path(match.group("path")))) from exc
        raise
    (part,) = spark_dir.glob("part-*.parquet")  # one partition, one file
    rewrite_stamped(part, dest)
    shutil.rmtree(spark_dir)  # Spark's own file, _SUCCESS, .crc files


def rewrite_stamped(part: Path, dest: Path) -> None:
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
