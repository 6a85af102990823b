"""Which Spark the Spark stages of a `pachflow run` use (`--spark`, PACHFLOW_RUN_SPARK):

- `stage` (default): each stage as its spec says, in-process `local[N]`, exactly as in its
  container on a Pachyderm worker;
- `connect`: one Spark Connect server shared by every Spark job of the run, started from
  pyspark's jars on loopback when a Spark stage is about to run;
- `standalone`: one Spark standalone cluster for the run (a master and two workers, each
  its own JVM on loopback); each Spark stage is a driver with executors on the workers;
- an endpoint URL (`spark://...`, `k8s://...`, `sc://...`): a Spark that runs already,
  e.g. `pachflow spark up`'s.

A pipeline is a Spark stage when its `transform.env` sets PACHFLOW_SPARK_MASTER to a local
master; the runner then gives its datums PACHFLOW_SPARK_MASTER=<the run's endpoint>. The
spec, and so every datum hash, is unchanged: outputs do not depend on where Spark ran.
What the runner started is stopped when the run ends however it ends (end, stage failure,
Ctrl-C, SIGTERM: the caller's `finally`); a kill -9 of the runner takes it along
(PR_SET_PDEATHSIG). Logs: `$PACHFLOW_HOME/logs/spark/<run>/`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow.local.specs import LocalSpec
from pachflow_spark.endpoint import EndpointError, parse_endpoint

if TYPE_CHECKING:
    from pachflow_spark.servers import ConnectServer, StandaloneCluster

MASTER_ENV = "PACHFLOW_SPARK_MASTER"
MEMORY_ENV = "PACHFLOW_SPARK_DRIVER_MEMORY"
CONF_ENV = "PACHFLOW_SPARK_CONF"
PARTITIONS_ENV = "PACHFLOW_SPARK_SHUFFLE_PARTITIONS"
WORKERS = 2
STAGE, CONNECT, STANDALONE = "stage", "connect", "standalone"
MODES = (STAGE, CONNECT, STANDALONE)
LOCAL_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?")
DEFAULT_MEMORY = "2g"
#: Each worker of `standalone`: its executor gets this much (and the stage's driver keeps
#: its spec's memory).
WORKER_MEMORY = "2g"
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def check_mode(value: str) -> str:
    """`stage`, `connect`, `standalone` or a valid endpoint URL; else EndpointError."""
    value = value.strip()
    if value not in MODES:
        parse_endpoint(value)
    return value


def is_spark_stage(spec: LocalSpec) -> bool:
    """A stage that runs Spark in its own process (and can be pointed elsewhere)."""
    return bool(LOCAL_MASTER.fullmatch(spec.env.get(MASTER_ENV, "").strip()))


def _bytes(size: str) -> int:
    return int(size[:-1]) * _UNITS.get(size[-1].lower(), 1) if size[:-1].isdigit() else 0


def server_master(specs: Sequence[LocalSpec]) -> str:
    """`local[N]` with the most cores any Spark stage asks for (`local[*]` wins)."""
    cores = []
    for spec in specs:
        inside = spec.env[MASTER_ENV].partition("[")[2].partition("]")[0].split(",")[0]
        if inside in ("*", ""):
            return "local[*]"
        cores.append(int(inside))
    return f"local[{max(cores, default=1)}]"


def server_memory(specs: Sequence[LocalSpec]) -> str:
    """The largest driver memory a Spark stage asks for: the shared server is the driver
    of each of them in turn, and must cache what the largest one caches in-process."""
    sizes = [spec.env[MEMORY_ENV] for spec in specs if _bytes(spec.env.get(MEMORY_ENV, ""))]
    return max(sizes, key=_bytes, default=DEFAULT_MEMORY)


class RunSpark:
    """The run's Spark: `env_for` starts what the mode needs at the first Spark job that
    has datums to run (and `prepare` already starts a Connect server in the background
    when the run reaches a pipeline a Spark stage follows, so its JVM warms up meanwhile);
    `stop` ends it."""

    def __init__(self, mode: str, specs: Sequence[LocalSpec], log_dir: Path) -> None:
        self.mode = check_mode(mode)
        self.spark_specs = [s for s in specs if is_spark_stage(s)]
        self.order = [s.name for s in specs]
        self.log_dir = log_dir
        self.connect: ConnectServer | None = None
        self.cluster: StandaloneCluster | None = None
        self._ready = False

    @property
    def starts_servers(self) -> bool:
        return self.mode in (CONNECT, STANDALONE)

    def _needed_from(self, spec: LocalSpec) -> bool:
        position = self.order.index(spec.name) if spec.name in self.order else 0
        return any(self.order.index(s.name) >= position for s in self.spark_specs)

    def prepare(self, spec: LocalSpec) -> None:
        """Start the Connect server without waiting, if a Spark stage may run from here on."""
        if self.mode != CONNECT or self.connect is not None or not self._needed_from(spec):
            return
        from pachflow_spark.servers import start_connect_server

        self.connect = start_connect_server(
            self.log_dir / "spark-connect.log",
            master=server_master(self.spark_specs),
            driver_memory=server_memory(self.spark_specs),
            wait=False,
        )

    def env_for(self, spec: LocalSpec) -> dict[str, str]:
        """The datums' env overrides: the run's endpoint for a Spark stage, else nothing.
        Raises SparkServerError when a server the run starts does not come up."""
        if self.mode == STAGE or not is_spark_stage(spec):
            return {}
        return {MASTER_ENV: self.endpoint(), **self._cluster_conf(spec)}

    def endpoint(self) -> str:
        if self.mode == CONNECT:
            self.prepare(self.spark_specs[0])
            assert self.connect is not None
            if not self._ready:
                self.connect.process.wait_for_port(self.connect.port)
                self._ready = True
            return self.connect.url
        if self.mode == STANDALONE:
            if self.cluster is None:
                from pachflow_spark.servers import start_standalone_cluster

                self.cluster = start_standalone_cluster(
                    self.log_dir / "standalone",
                    workers=WORKERS,
                    cores=self._worker_cores(),
                    memory=WORKER_MEMORY,
                )
            return self.cluster.url
        return self.mode

    @staticmethod
    def _worker_cores() -> int:
        return max(1, (os.cpu_count() or 2) // WORKERS)

    def _cluster_conf(self, spec: LocalSpec) -> dict[str, str]:
        """On the run's own cluster each executor gets its worker's memory, and the shuffles
        as many partitions as the cluster has cores, as in-process Spark has (with Spark's
        200 for a cluster master, train on 20,000 rows took 74 s), unless set."""
        if self.mode != STANDALONE:
            return {}
        given = spec.env.get(CONF_ENV, os.environ.get(CONF_ENV, ""))
        env = {CONF_ENV: f"{given} spark.executor.memory={WORKER_MEMORY}".strip()}
        if PARTITIONS_ENV not in spec.env and PARTITIONS_ENV not in os.environ:
            env[PARTITIONS_ENV] = str(max(2, WORKERS * self._worker_cores()))
        return env

    def describe(self) -> str:
        """Which Spark the Spark jobs used, for the run's summary."""
        if self.mode == STAGE:
            return "in-process Spark in each stage (its spec's local master)"
        if self.connect is not None:
            return (
                f"shared Spark Connect server {self.connect.url} (master "
                f"{self.connect.master}, driver memory {self.connect.driver_memory}; log "
                f"{self.connect.process.log})"
            )
        if self.cluster is not None:
            return (
                f"Spark standalone cluster {self.cluster.url} ({WORKERS} workers; master UI "
                f"{self.cluster.webui_url}; logs {self.cluster.root})"
            )
        if self.starts_servers:
            return f"{self.mode} Spark: not started (no Spark job ran)"
        return parse_endpoint(self.mode).describe()

    def stop(self) -> None:
        for server in (self.connect, self.cluster):
            if server is not None:
                server.stop()


__all__ = ["MODES", "EndpointError", "RunSpark", "check_mode", "is_spark_stage"]
