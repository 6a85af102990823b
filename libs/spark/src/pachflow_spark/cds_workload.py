"""The workload whose classes pachflow_spark.cds archives: what the stages do, small.

Run as `python -m pachflow_spark.cds_workload ARCHIVE` in a fresh JVM by cds.build; its
own module so that cds (which session imports for the JVM options) imports no session.
`python -m pachflow_spark.cds_workload --warm-up sc://HOST:PORT` runs the same job on a
Spark Connect server instead (`pachflow engine start`: the server loads its classes once,
before the first real job).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow_spark.cds import DUMP
from pachflow_spark.session import SparkSettings, build_session

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

WARM_UP = "--warm-up"


def warm_up_argv(url: str) -> list[str]:
    """The warm-up job for the Spark Connect server at `url`, as a command of its own: the
    caller's process never holds a Connect client (nor its gRPC threads)."""
    return [sys.executable, "-m", "pachflow_spark.cds_workload", WARM_UP, url]


def representative_job(spark: SparkSession, rows: int = 50_000) -> None:
    """What the stages do, small: Parquet with shard directories, a wide aggregation, a
    shuffle, the tree fit, scoring and a model save and load. On a classic session or a
    Connect one (the server then reads and writes the temporary directory: same machine)."""
    from pyspark.ml import PipelineModel
    from pyspark.ml.classification import DecisionTreeClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    with tempfile.TemporaryDirectory() as tmp:
        data_rows = spark.range(rows).select(
            F.format_string("%02d", F.col("id") % 4).alias("shard"),
            F.concat(F.lit("C"), (F.col("id") % 20_000).cast("string")).alias("key"),
            (F.rand(1) * 1e6).alias("x"),
            (F.col("id") % 7 == 0).cast("int").alias("y"),
        )
        data_rows.write.partitionBy("shard").parquet(f"{tmp}/raw")
        raw = spark.read.option("basePath", f"{tmp}/raw").parquet(f"{tmp}/raw/shard=01")
        features = raw.groupBy("shard", "key").agg(
            F.count(F.lit(1)).alias("n"), F.sum("x").alias("x"), F.max("y").alias("y")
        )
        features.write.partitionBy("shard").option("parquet.enable.dictionary", "false").parquet(
            f"{tmp}/features"
        )
        data = spark.read.parquet(f"{tmp}/features").withColumn("label", F.col("y").cast("double"))
        assembler = VectorAssembler(inputCols=["n", "x"], outputCol="features")
        assembled = assembler.transform(data).cache()
        tree = DecisionTreeClassifier(maxDepth=3, weightCol="n").fit(assembled)
        model = PipelineModel(stages=[assembler, tree])
        score = vector_to_array(F.col("probability"))[1]
        tree.transform(assembled).groupBy(score.alias("s"), "label").count().collect()
        model.write().overwrite().save(f"{tmp}/model")
        PipelineModel.load(f"{tmp}/model").transform(data.limit(5)).toPandas()
        assembled.unpersist()


def workload(dump_to: Path) -> None:
    """The representative job in a fresh local JVM, which dumps its classes at exit."""
    spark = build_session(
        "pachflow-cds", SparkSettings("local[2]", "1g", 2), java_options=DUMP.format(dump_to)
    )
    representative_job(spark)
    gateway = spark.sparkContext._gateway
    assert gateway is not None  # a local session runs its own JVM through py4j
    spark.stop()
    # The JVM writes the archive while it exits: wait for it before reporting success.
    proc = getattr(gateway, "proc", None)
    gateway.shutdown()
    if proc is not None:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=300)


def warm_up(url: str) -> None:
    """The representative job on the Spark Connect server at `url`, in one session that
    ends with it."""
    spark = build_session("pachflow-engine-warm-up", SparkSettings(url, shuffle_partitions=2))
    try:
        representative_job(spark)
    finally:
        spark.stop()


if __name__ == "__main__":
    if sys.argv[1:2] == [WARM_UP]:
        warm_up(sys.argv[2])
    else:
        workload(Path(sys.argv[1]))
