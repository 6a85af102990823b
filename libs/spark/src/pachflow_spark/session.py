"""The one SparkSession builder for the Spark stages (etl, train).

The endpoint (pachflow_spark.endpoint) decides what kind of session it is: in-process
`local[*]` by default, a cluster master (this process is the driver, the executors run
elsewhere), or a Spark Connect server (a thin client session; the server is the driver).
Tuned for pipeline datums rather than a cluster: no UI, quiet logs, loopback networking,
Arrow for pandas conversion, and shuffle partitions sized for the data (Spark's default
of 200 makes small shards slow). The stages use only the DataFrame and ML APIs, so the
same code runs on every kind.
"""

from __future__ import annotations

import atexit
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from pachflow_spark import cds
from pachflow_spark.endpoint import (
    DEFAULT_MASTER,
    DEFAULT_TIMEOUT_S,
    EndpointError,
    SparkEndpoint,
    parse_endpoint,
    wait_until_answering,
)
from pachflow_spark.java import JavaMissing, require_java
from pachflow_stagekit import BadInput

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

DEFAULT_DRIVER_MEMORY = "4g"


@dataclass(frozen=True)
class SparkSettings:
    """What a stage's Spark options hold (pachflow_spark.options)."""

    master: str = DEFAULT_MASTER  # the endpoint: local[...], spark://, k8s:// or sc://
    driver_memory: str = DEFAULT_DRIVER_MEMORY  # ignored on Spark Connect (server-side)
    shuffle_partitions: int | None = None  # None: one per core
    timeout: float = DEFAULT_TIMEOUT_S  # seconds for a remote endpoint to answer
    conf: tuple[tuple[str, str], ...] = ()  # extra spark.* settings (--spark-conf)

    @property
    def endpoint(self) -> SparkEndpoint:
        return parse_endpoint(self.master)


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


def driver_java_options(extra: str = "", log_config: Path = LOG_CONFIG) -> str:
    """The driver JVM's options: a log4j2 config (the stages': errors only), the parallel
    collector, the class archive when there is one, then `extra`."""
    logging = f"-Dlog4j2.configurationFile={log_config.as_uri()}"
    return " ".join(filter(None, [logging, DRIVER_JAVA_OPTIONS, cds.java_options(), extra]))


def is_connect(spark: SparkSession) -> bool:
    """A Spark Connect (client) session rather than a classic one with a JVM here."""
    return type(spark).__module__.startswith("pyspark.sql.connect")


def master_of(spark: SparkSession) -> str:
    """The master Spark runs on (behind a Connect server: the server's), e.g. `local[2]`.
    A classic session's context is asked: its `spark.master` setting is what the last
    builder said, not what the running context uses."""
    if is_connect(spark):
        return spark.conf.get("spark.master") or DEFAULT_MASTER
    return spark.sparkContext.master or DEFAULT_MASTER


def build_session(
    app_name: str, settings: SparkSettings | None = None, java_options: str = ""
) -> SparkSession:
    """Create (or return the running) SparkSession for a stage, of the endpoint's kind.

    Raises EndpointError for a malformed endpoint or one that does not answer within
    `settings.timeout`, and (without Spark Connect) JavaMissing when there is no Java 17+.
    Starts the JVM from the class archive when there is one (pachflow_spark.cds);
    `java_options` are added to the driver JVM's own.
    """
    settings = settings or SparkSettings()
    endpoint = settings.endpoint
    wait_until_answering(endpoint, settings.timeout)
    if endpoint.is_connect:
        return _connect_session(endpoint, settings)
    require_java()
    # The endpoint was resolved (an explicit --master wins over SPARK_REMOTE); pyspark
    # refuses a master while SPARK_REMOTE is set.
    os.environ.pop("SPARK_REMOTE", None)
    if endpoint.on_this_machine:
        # Containers and laptops often have a hostname that does not resolve; loopback does.
        # (A cluster's executors must reach the driver: there the pod's address is used.)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    partitions = settings.shuffle_partitions or default_shuffle_partitions(settings.master)
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.master)
        .config("spark.driver.memory", settings.driver_memory)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.extraJavaOptions", driver_java_options(java_options))
    )
    for key, value in _sql_conf(partitions, min_scan_partitions(settings.master)) + settings.conf:
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _sql_conf(partitions: int, scan_partitions: int | None) -> tuple[tuple[str, str], ...]:
    """Session settings both kinds of session take at run time."""
    conf: list[tuple[str, str]] = [
        ("spark.sql.shuffle.partitions", str(partitions)),
        ("spark.sql.execution.arrow.pyspark.enabled", "true"),
        ("spark.sql.session.timeZone", "UTC"),
    ]
    if scan_partitions:
        conf.append(("spark.sql.files.minPartitionNum", str(scan_partitions)))
    return tuple(conf)


def _connect_session(endpoint: SparkEndpoint, settings: SparkSettings) -> SparkSession:
    """A Spark Connect session: the server is the driver (its memory, JVM and master are
    its own), so only session-level SQL settings are sent, sized for the server's master."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.remote(endpoint.url).getOrCreate()
    master = master_of(spark)
    partitions = settings.shuffle_partitions or default_shuffle_partitions(master)
    for key, value in _sql_conf(partitions, min_scan_partitions(master)) + settings.conf:
        try:
            spark.conf.set(key, value)
        except Exception as exc:
            first = str(exc).strip().splitlines()[0][:200]
            raise EndpointError(
                f"--spark-conf {key}={value}: not settable on a Spark Connect session "
                f"(set it on the server {endpoint.public_url}): {first}"
            ) from exc
    # End the server-side session (and free what it cached) when the stage exits.
    atexit.register(spark.stop)
    return spark


class BadEndpoint(BadInput):
    """The Spark endpoint is malformed or does not answer: exit 2 (bad usage), one line."""


def open_session(app_name: str, settings: SparkSettings) -> SparkSession:
    """build_session for a stage's command: a bad or silent endpoint exits 2 naming it,
    a missing Java exits 1 with what to install."""
    try:
        return build_session(app_name, settings)
    except EndpointError as exc:
        raise BadEndpoint(str(exc)) from exc
    except JavaMissing as exc:
        raise click.ClickException(str(exc)) from exc
