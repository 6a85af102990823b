"""The workload whose classes pachflow_spark.cds archives: what the stages do, small.

Run as `python -m pachflow_spark.cds_workload ARCHIVE` in a fresh JVM by cds.build; its
own module so that cds (which session imports for the JVM options) imports no session.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from pachflow_spark.cds import DUMP
from pachflow_spark.session import SparkSettings, build_session


def workload(dump_to: Path) -> None:
    """What the stages do, small: Parquet with shard directories, a wide aggregation, a
    shuffle, the tree fit, scoring and a model save. The JVM dumps its classes at exit."""
    from pyspark.ml import PipelineModel
    from pyspark.ml.classification import DecisionTreeClassifier
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.functions import vector_to_array
    from pyspark.sql import functions as F

    spark = build_session(
        "pachflow-cds", SparkSettings("local[2]", "1g", 2), java_options=DUMP.format(dump_to)
    )
    with tempfile.TemporaryDirectory() as tmp:
        rows = spark.range(50_000).select(
            F.format_string("%02d", F.col("id") % 4).alias("shard"),
            F.concat(F.lit("C"), (F.col("id") % 20_000).cast("string")).alias("key"),
            (F.rand(1) * 1e6).alias("x"),
            (F.col("id") % 7 == 0).cast("int").alias("y"),
        )
        rows.write.partitionBy("shard").parquet(f"{tmp}/raw")
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


if __name__ == "__main__":
    workload(Path(sys.argv[1]))
