"""One etl run, input dir -> output dir: the same function serves a plain run (one datum or
a whole repo) and each datum of a datum-batching loop.

All shards found are processed in ONE Spark job (one read, one groupBy, one write
partitioned by shard), so per-shard cost is a few files, not a Spark job each.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from pachflow_contracts import FEATURES, TRANSACTIONS, ContractError
from pachflow_contracts.features import ID_COLUMN
from pachflow_etl.features import customer_features
from pachflow_etl.inputs import Shard, discover
from pachflow_spark import master_of, shuffle_partitions_for, spark_progress
from pachflow_stagekit import BadInput, atomic_output, progress

STAGE = "etl"
#: The Spark type of each TRANSACTIONS column: Spark reads only these, no schema inference.
_SPARK_INPUT_TYPES = {
    "int32": T.IntegerType(),
    "int8": T.ByteType(),
    "string": T.StringType(),
    "double": T.DoubleType(),
}
SPARK_INPUT_SCHEMA = T.StructType(
    [T.StructField(f.name, _SPARK_INPUT_TYPES[str(f.type)]) for f in TRANSACTIONS.schema]
)
#: The input schema plus `shard`, read from the `shard=NN` directory name (string: "07").
SHARDED_INPUT_SCHEMA = T.StructType(
    [*SPARK_INPUT_SCHEMA.fields, T.StructField("shard", T.StringType())]
)

_UNREADABLE = re.compile(
    r"FAILED_READ_FILE\S*\] Encountered error while reading file (?:file:/*)?(?P<path>/\S+?)\.?\s"
)

SessionFactory = Callable[[], SparkSession]


def run(
    input_dir: str | Path,
    output_dir: str | Path,
    get_spark: SessionFactory,
    shuffle_partitions: int | None = None,
) -> list[Shard]:
    """Read every TRANSACTIONS file under `input_dir`, write `shard=<value>/part-*.parquet`
    (FEATURES) under `output_dir`, complete or not at all. Returns the shards processed.

    `get_spark` is only called when some shard has rows, so an empty datum needs no JVM.
    `shuffle_partitions` None: sized from the input (pachflow_spark.shuffle_partitions_for).
    """
    shards = discover(input_dir)
    if not shards:
        progress(STAGE, f"no {TRANSACTIONS.name} Parquet files under {input_dir}: nothing to do")
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        return shards
    rows = sum(s.rows for s in shards)
    progress(
        STAGE,
        f"{len(shards)} shard(s), {sum(len(s.files) for s in shards)} file(s), "
        f"{rows:,} rows under {input_dir}",
    )
    with atomic_output(output_dir) as staging:
        full = [s for s in shards if s.rows]
        if full:
            spark = get_spark()
            partitions = shuffle_partitions or shuffle_partitions_for(
                sum(s.size for s in full), master_of(spark)
            )
            _write_with_spark(spark, read_transactions(spark, full), full, staging, partitions)
        for shard in shards:
            if not shard.rows:
                _write_empty(shard, staging / f"shard={shard.value}")
        _check_output(staging)
    progress(STAGE, f"wrote features of {len(shards)} shard(s) to {output_dir}")
    return shards


def read_transactions(spark: SparkSession, shards: list[Shard]) -> DataFrame:
    """All rows of `shards`, with their shard value as column `shard`.

    In split's layout (every file directly in its `shard=NN` directory) this is ONE Parquet
    scan that takes `shard` from the path, like a Hive-partitioned table. Otherwise one scan
    per shard, unioned: each is planned and code-generated on its own, which costs ~2.5 s
    more on the full data set.
    """
    base = _partitioned_base(shards)
    if base is not None:
        return (
            spark.read.schema(SHARDED_INPUT_SCHEMA)
            .option("basePath", str(base))
            .parquet(*[str(p) for shard in shards for p in shard.files])
        )
    frames = [
        spark.read.schema(SPARK_INPUT_SCHEMA)
        .parquet(*[str(p) for p in shard.files])
        .withColumn("shard", F.lit(shard.value))
        for shard in shards
    ]
    df = frames[0]
    for frame in frames[1:]:
        df = df.unionByName(frame)
    return df


def _partitioned_base(shards: list[Shard]) -> Path | None:
    """The directory holding every `shard=<value>` directory when each file sits directly
    in the one of its shard; None for any other layout."""
    files = [(shard.value, path) for shard in shards for path in shard.files]
    if any(path.parent.name != f"shard={value}" for value, path in files):
        return None
    bases = {path.parent.parent for _, path in files}
    return bases.pop() if len(bases) == 1 else None


def _write_with_spark(
    spark: SparkSession,
    transactions: DataFrame,
    shards: list[Shard],
    staging: Path,
    partitions: int,
) -> None:
    # Each reduce task writes one file per shard it holds: `partitions` files per shard.
    spark.conf.set("spark.sql.shuffle.partitions", str(partitions))
    # Keep one open writer per shard instead of sorting all rows by shard before writing.
    spark.conf.set("spark.sql.maxConcurrentOutputFileWriters", "1000")
    spark_dir = staging / "_spark"
    progress(STAGE, f"Spark: {len(shards)} shard(s), {partitions} shuffle partitions")
    try:
        with spark_progress(spark, lambda line: progress(STAGE, line)):
            (
                customer_features(transactions, keys=("shard",), partitions=partitions)
                # Reproducible by construction: a hash aggregate emits rows in the order
                # the shuffle delivered them, which differs run to run. Sorted by customer
                # within each task, two runs of the same data write byte-identical files
                # (and the write needs no further sort by `shard`).
                .sortWithinPartitions("shard", ID_COLUMN)
                .write.partitionBy("shard")
                # Feature values are nearly unique per customer: dictionaries only cost time.
                .option("parquet.enable.dictionary", "false")
                # No _SUCCESS marker (a write option reaches the job's Hadoop settings on
                # classic and Spark Connect sessions alike).
                .option("mapreduce.fileoutputcommitter.marksuccessfuljobs", "false")
                .parquet(str(spark_dir))
            )
    except Exception as exc:
        # A file whose footer is fine (it passed the contract check) but whose data is not.
        match = _UNREADABLE.search(str(exc))
        if match:
            raise BadInput(
                f"{match.group('path')}: Parquet data cannot be read (corrupt or truncated "
                f"file; expected {TRANSACTIONS.name} v{TRANSACTIONS.version} data)"
            ) from exc
        raise
    # Keep the Parquet files only (no _SUCCESS, no .crc checksums) under staging/shard=*/,
    # renamed: Spark's names carry a random job UUID (see part_name).
    written = []
    for shard in shards:
        name = f"shard={shard.value}"
        dest = staging / name
        dest.mkdir()
        for i, part in enumerate(sorted((spark_dir / name).glob("part-*.parquet"))):
            written.append(part.rename(dest / part_name(shard, i)))
    shutil.rmtree(spark_dir)
    _rewrite_stamped(written)


def _rewrite_stamped(paths: list[Path]) -> None:
    """Rewrite Spark's files with pyarrow, same rows, same order, contract-stamped schema.

    Reproducible by construction: parquet-mr lists each column's encodings from a HashSet
    of enums (identity hash codes), so their order in the footer, and the file's bytes,
    differ from one JVM to the next even for identical rows; pyarrow writes the same bytes
    for the same rows. The files also carry the `pachflow.contract` stamp Spark cannot
    write. Threads: pyarrow releases the GIL while it reads and writes.
    """
    schema = FEATURES.stamped_schema()

    def rewrite(path: Path) -> None:
        table = pq.read_table(path).select(schema.names).cast(schema)
        tmp = path.with_name(f".{path.name}.tmp")
        pq.write_table(table, tmp, compression="snappy", use_dictionary=False)
        tmp.replace(path)

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(rewrite, paths))


def part_name(shard: Shard, index: int, suffix: str = "") -> str:
    """`part-<index>-<digest of the shard's input file names><suffix>.parquet`.

    Deterministic (Spark's own `part-N-<uuid>` names change on every run, and train reads
    files in name order, so its seeded split would too), yet unique per datum: two datums
    never hold the same input files, so they never write the same path."""
    names = "\n".join(sorted(p.name for p in shard.files))
    return f"part-{index:05d}-{hashlib.sha256(names.encode()).hexdigest()[:16]}{suffix}.parquet"


def _write_empty(shard: Shard, shard_dir: Path) -> None:
    """An empty shard still gets a file, so train (and people) see the shard and the schema."""
    shard_dir.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_batches([], schema=FEATURES.stamped_schema()),
        shard_dir / part_name(shard, 0, "-empty"),
    )


def _check_output(staging: Path) -> None:
    """Every file we publish must pass the check train will run on it."""
    for path in sorted(staging.rglob("*.parquet")):
        try:
            FEATURES.check_file(path)
        except ContractError as exc:
            raise RuntimeError(f"etl wrote a file that breaks its own contract: {exc}") from exc
