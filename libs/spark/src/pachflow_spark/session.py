"""The one SparkSession builder for the Spark stages (etl, train).

Local mode by default, tuned for pipeline datums rather than a cluster: no UI, quiet logs,
loopback networking, Arrow for pandas conversion, and shuffle partitions sized for the data
(Spark's default of 200 makes small shards slow).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from pachflow_spark.java import require_java

DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "4g"


@dataclass(frozen=True)
class SparkSettings:
    """What a stage's `--master/--driver-memory/--shuffle-partitions` options hold."""

    master: str = DEFAULT_MASTER
    driver_memory: str = DEFAULT_DRIVER_MEMORY
    shuffle_partitions: int | None = None  # None: one per core


def default_shuffle_partitions(master: str) -> int:
    """One partition per local core (at least 2); for a cluster master Spark's 200."""
    if master.startswith("local"):
        inside = master[master.find("[") + 1 : master.find("]")] if "[" in master else "1"
        cores = (os.cpu_count() or 2) if inside in ("*", "") else int(inside.split(",")[0])
        return max(2, cores)
    return 200


def build_session(app_name: str, settings: SparkSettings | None = None):
    """Create (or return the running) SparkSession for a stage.

    Checks Java first so a missing runtime is one clear error, not a JVM stack trace.
    """
    settings = settings or SparkSettings()
    require_java()
    # Containers and laptops often have a hostname that does not resolve; loopback does.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    partitions = settings.shuffle_partitions or default_shuffle_partitions(settings.master)
    spark = (
        SparkSession.builder.appName(app_name)
        .master(settings.master)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", "-Dlog4j2.level=error")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    return spark
