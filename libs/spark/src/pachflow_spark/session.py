"""The one SparkSession builder for the Spark stages (etl, train).

Local mode by default, tuned for pipeline datums rather than a cluster: no UI, quiet logs,
loopback networking, Arrow for pandas conversion, and shuffle partitions sized for the data
(Spark's default of 200 makes small shards slow).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pachflow_spark import cds
from pachflow_spark.java import require_java

DEFAULT_MASTER = "local[*]"
DEFAULT_DRIVER_MEMORY = "4g"


@dataclass(frozen=True)
class SparkSettings:
    """What a stage's `--master/--driver-memory/--shuffle-partitions` options hold."""

    master: str = DEFAULT_MASTER
    driver_memory: str = DEFAULT_DRIVER_MEMORY
    shuffle_partitions: int | None = None  # None: one per core


SCAN_TASKS_PER_CORE = 4
#: The parallel (throughput) collector: batch stages on a few cores gain more from it than
#: from G1's short pauses (etl, full PaySim: -1.5 s of 34).
DRIVER_JAVA_OPTIONS = "-XX:+UseParallelGC"
#: Errors only, on stderr, and no "Using Spark's default log4j profile" banner.
LOG_CONFIG = Path(__file__).with_name("log4j2.properties")


def local_cores(master: str) -> int | None:
    """Cores used by a `local`, `local[N]`, `local[*]` or `local[N,F]` master; None if not local."""
    if not master.startswith("local"):
        return None
    if "[" not in master:
        return 1
    inside = master[master.find("[") + 1 : master.find("]")].split(",")[0].strip()
    if inside in ("*", ""):
        return os.cpu_count() or 2
    return int(inside) if inside.isdigit() else (os.cpu_count() or 2)


def min_scan_partitions(master: str) -> int | None:
    """How many tasks a file scan is split into at least: 4 per local core, so a few large
    files cannot leave a core idle (16 shard files on 2 cores were packed into 3 tasks, the
    last one running alone); None (Spark's default) for a cluster master."""
    cores = local_cores(master)
    return None if cores is None else SCAN_TASKS_PER_CORE * cores


def default_shuffle_partitions(master: str) -> int:
    """One partition per local core (at least 2); for a cluster master Spark's 200."""
    cores = local_cores(master)
    return 200 if cores is None else max(2, cores)


def build_session(app_name: str, settings: SparkSettings | None = None, java_options: str = ""):
    """Create (or return the running) SparkSession for a stage.

    Checks Java first so a missing runtime is one clear error, not a JVM stack trace.
    Starts the JVM from the class archive when there is one (pachflow_spark.cds);
    `java_options` are added to the driver JVM's own.
    """
    settings = settings or SparkSettings()
    require_java()
    # Containers and laptops often have a hostname that does not resolve; loopback does.
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    partitions = settings.shuffle_partitions or default_shuffle_partitions(settings.master)
    logging = f"-Dlog4j2.configurationFile={LOG_CONFIG.as_uri()}"
    jvm = " ".join(filter(None, [logging, DRIVER_JAVA_OPTIONS, cds.java_options(), java_options]))
    scan_partitions = min_scan_partitions(settings.master)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.master)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.sql.shuffle.partitions", str(partitions))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.extraJavaOptions", jvm)
    )
    if scan_partitions:
        builder = builder.config("spark.sql.files.minPartitionNum", str(scan_partitions))
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
