"""One warm Spark for every Spark job of a `pachflow run`: a Spark Connect server started
from pyspark's jars on loopback, on demand, and stopped when the run ends.

A pipeline is a Spark stage when its `transform.env` sets PACHFLOW_SPARK_MASTER to a local
master (`local[2]`: "Spark in my own process"); the runner then gives its datums
PACHFLOW_SPARK_MASTER=sc://127.0.0.1:PORT instead, so each stage is a thin Connect client
of the one server (no JVM start, no warm-up of its own). A spec naming a real cluster or
server (spark://, k8s://, sc://) is left alone. The server is sized from those specs: the
most local cores and the largest PACHFLOW_SPARK_DRIVER_MEMORY among them.

The server starts (in the background) when the first job of a run starts and a Spark stage
is at or after that pipeline in DAG order, so its JVM warms up while split runs; a Spark
job waits until it listens. Its log is `$PACHFLOW_HOME/logs/spark-connect/<run>.log`.
The datum's outputs do not depend on it: the spec (and so every datum hash) is unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow.local.specs import LocalSpec

if TYPE_CHECKING:
    from pachflow_spark.servers import ConnectServer

MASTER_ENV = "PACHFLOW_SPARK_MASTER"
MEMORY_ENV = "PACHFLOW_SPARK_DRIVER_MEMORY"
LOCAL_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?")
DEFAULT_MEMORY = "2g"
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def is_spark_stage(spec: LocalSpec) -> bool:
    """A stage that runs Spark in its own process (and can use the shared server)."""
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
    sizes = [spec.env[MEMORY_ENV] for spec in specs if _bytes(spec.env.get(MEMORY_ENV, ""))]
    return max(sizes, key=_bytes, default=DEFAULT_MEMORY)


class SharedSpark:
    """The run's Spark Connect server: started by `prepare`, waited for by `url`, ended by
    `stop` (the runner's caller does it in a `finally`: end of run, stage failure, Ctrl-C,
    SIGTERM). A kill -9 of the runner takes the server with it (PR_SET_PDEATHSIG)."""

    def __init__(
        self,
        specs: Sequence[LocalSpec],
        log_dir: Path,
        run_name: str,
        master: str | None = None,
    ) -> None:
        """`master`: where the server runs its jobs, e.g. an existing standalone cluster
        (spark://...); default: local[N] sized from the specs."""
        self.spark_specs = [s for s in specs if is_spark_stage(s)]
        self.master = master
        self.order = [s.name for s in specs]
        self.log = log_dir / "spark-connect" / f"{run_name}.log"
        self.server: ConnectServer | None = None
        self.ready = False

    def needed_from(self, spec: LocalSpec) -> bool:
        """Will a Spark stage run at or after `spec` (DAG order)?"""
        position = self.order.index(spec.name) if spec.name in self.order else 0
        return any(self.order.index(s.name) >= position for s in self.spark_specs)

    def prepare(self, spec: LocalSpec) -> None:
        """Start the server without waiting, if a Spark stage may run from here on."""
        if self.server is None and self.needed_from(spec):
            from pachflow_spark.servers import start_connect_server

            memory = server_memory(self.spark_specs)
            # on a cluster each executor gets what the largest stage would have had
            conf = {"spark.executor.memory": memory} if self.master else None
            self.server = start_connect_server(
                self.log,
                master=self.master or server_master(self.spark_specs),
                driver_memory=memory,
                wait=False,
                conf=conf,
            )

    def env_for(self, spec: LocalSpec) -> dict[str, str]:
        """The datums' env overrides: the server's URL for a Spark stage, else nothing."""
        if not is_spark_stage(spec):
            return {}
        self.prepare(spec)
        assert self.server is not None
        if not self.ready:
            self.server.process.wait_for_port(self.server.port)
            self.ready = True
        return {MASTER_ENV: self.server.url}

    def describe(self) -> str:
        if self.server is None:
            return "no Spark stage ran"
        return (
            f"shared Spark Connect server {self.server.url} (pid {self.server.process.pid}, "
            f"master {self.server.master}, driver memory {self.server.driver_memory}; "
            f"log {self.log})"
        )

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
