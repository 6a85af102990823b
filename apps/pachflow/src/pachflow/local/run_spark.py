"""Which Spark the Spark stages of a `pachflow run` use (`--spark`, PACHFLOW_RUN_SPARK):

- `auto` (default): `engine` when the store's engine runs already (warm, it wins: a cold
  full-size run 0.77x in-process, a +1 % run 0.82-0.93x), else `stage` (starting one costs
  a one-off run ~10 s more than it saves: bench/RESULTS.md "a user's session");
- `stage`: each stage as its spec says, in-process `local[N]`, exactly as in its
  container on a Pachyderm worker;
- `connect`: one Spark Connect server shared by every Spark job of the run, started from
  pyspark's jars on loopback when a Spark stage is about to run;
- `standalone`: one Spark standalone cluster for the run (a master and two workers, each
  its own JVM on loopback); each Spark stage is a driver with executors on the workers;
- `engine`: the store's long-lived, warmed-up Spark Connect server (pachflow.local.engine,
  `pachflow engine start`), started if none runs and left running for the next run (it
  stops itself when idle); a datum whose try failed because the engine died gets that
  said in its error, and the engine is restarted (same port) before its next try;
- an endpoint URL (`spark://...`, `k8s://...`, `sc://...`): a Spark that runs already,
  e.g. `pachflow spark up`'s.

A pipeline is a Spark stage when its `transform.env` sets PACHFLOW_SPARK_MASTER to a local
master; the runner then gives its datums PACHFLOW_SPARK_MASTER=<the run's endpoint>. The
spec, and so every datum hash, is unchanged: outputs do not depend on where Spark ran.
What the runner started (but the engine) is stopped when the run ends however it ends
(end, stage failure, Ctrl-C, SIGTERM: the caller's `finally`); a kill -9 of the runner
takes it along (PR_SET_PDEATHSIG). Logs: `$PACHFLOW_HOME/logs/spark/<run>/`.
"""

from __future__ import annotations

import os
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pachflow.local.specs import LocalSpec
from pachflow_spark.endpoint import EndpointError, parse_endpoint
from pachflow_stagekit.ticking import ticking

if TYPE_CHECKING:
    from pachflow.local.engine import Engine
    from pachflow.local.executor import JobContext
    from pachflow_spark.servers import ConnectServer, StandaloneCluster

MASTER_ENV = "PACHFLOW_SPARK_MASTER"
MEMORY_ENV = "PACHFLOW_SPARK_DRIVER_MEMORY"
CONF_ENV = "PACHFLOW_SPARK_CONF"
PARTITIONS_ENV = "PACHFLOW_SPARK_SHUFFLE_PARTITIONS"
WORKERS = 2
STAGE, CONNECT, STANDALONE, ENGINE = "stage", "connect", "standalone", "engine"
AUTO = "auto"
MODES = (AUTO, STAGE, CONNECT, STANDALONE, ENGINE)
LOCAL_MASTER = re.compile(r"local(\[(\*|\d+)(,\d+)?\])?")
DEFAULT_MEMORY = "2g"
#: Each worker of `standalone`: its executor gets this much (and the stage's driver keeps
#: its spec's memory).
WORKER_MEMORY = "2g"
#: How often a job on the engine checks that it still runs.
ENGINE_WATCH_S = 1.0
_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def check_mode(value: str) -> str:
    """`auto`, `stage`, `connect`, `standalone`, `engine` or a valid endpoint URL; else
    EndpointError."""
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

    def __init__(
        self,
        mode: str,
        specs: Sequence[LocalSpec],
        log_dir: Path,
        home: Path | None = None,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.log_dir = log_dir
        self.home = home or log_dir.parents[2]  # the store's ($PACHFLOW_HOME/logs/spark/<run>)
        self.mode = check_mode(mode)
        self.auto = self.mode == AUTO
        if self.auto:
            self.mode = ENGINE if _engine_runs(self.home) else STAGE
        self.spark_specs = [s for s in specs if is_spark_stage(s)]
        self.order = [s.name for s in specs]
        self.say = say or (lambda line: print(line, file=sys.stderr, flush=True))
        self.connect: ConnectServer | None = None
        self.cluster: StandaloneCluster | None = None
        self.engine: Engine | None = None
        self._ready = False
        self._engine_lock = threading.Lock()  # parallel datums may find it dead at once

    @property
    def starts_servers(self) -> bool:
        return self.mode in (CONNECT, STANDALONE)

    def _needed_from(self, spec: LocalSpec) -> bool:
        position = self.order.index(spec.name) if spec.name in self.order else 0
        return any(self.order.index(s.name) >= position for s in self.spark_specs)

    def prepare(self, spec: LocalSpec) -> None:
        """Start the Connect server (or the engine, if none runs) without waiting, if a
        Spark stage may run from here on."""
        if self.mode == ENGINE and self.engine is None and self._needed_from(spec):
            self._ensure_engine()
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

    def _ensure_engine(self, port: int | None = None, restart: bool = False) -> Engine:
        """The running engine, held by this run (started if none runs, and said so unless
        it is a `restart` the caller reports)."""
        from pachflow.local import engine

        master, memory = server_master(self.spark_specs), server_memory(self.spark_specs)
        try:
            idle = engine.default_idle_timeout_s()
        except ValueError as exc:
            raise engine.EngineError(f"${engine.IDLE_ENV}: {exc}") from None
        try:
            warm_up = engine.default_warm_up()
        except ValueError as exc:
            raise engine.EngineError(f"${engine.WARM_UP_ENV}: {exc}") from None
        found, started = engine.ensure(
            self.home, master, memory, idle, os.getpid(), port, warm_up=warm_up
        )
        if started and not restart:
            self.say(
                f"starting the Spark engine {found.url} (none was running for {self.home}: "
                f"master {master}, driver memory {memory}; it stays up for the next runs and "
                f"stops after {idle:g} s idle, or `pachflow engine stop`)"
            )
        elif _bytes(found.driver_memory) < _bytes(memory):
            self.say(
                f"the running Spark engine {found.url} has driver memory "
                f"{found.driver_memory}, a Spark stage asks for {memory}: `pachflow engine "
                "stop` and run again to resize it"
            )
        self.engine = found
        return found

    def _engine_endpoint(self) -> str:
        """The ready engine's URL, touched for this job (restarted if it is gone)."""
        from pachflow.local import engine

        with self._engine_lock:
            found = engine.touch(self.home, os.getpid())
            if found is None or self.engine is None or found.pgid != self.engine.pgid:
                found = self._ensure_engine(self.engine.port if self.engine else None)
            self.engine = engine.wait_ready(found)
            return self.engine.url

    def after_failed_try(self, error: str) -> str:
        """A Spark stage's try failed with `error`: if the engine died meanwhile, say so
        (naming it) and restart it, on the same port, before the next try."""
        if self.mode != ENGINE or self.engine is None:
            return error
        from pachflow.local import engine

        with self._engine_lock:
            used = self.engine
            if used.alive():
                return error
            note = f"{used.describe()} died during this try"
            self.say(f"{note}: restarting it")
            try:
                engine.stop_engine(self.home)  # what is left of its process group
                self.engine = engine.wait_ready(self._ensure_engine(used.port, restart=True))
                note += f"; restarted it ({self.engine.url}) for the next try"
            except engine.EngineError as exc:
                note += f"; it did not restart: {exc}"
        return f"{error} ({note})"

    @contextmanager
    def watching(self, spec: LocalSpec, ctx: JobContext) -> Iterator[None]:
        """While a Spark stage's datums run on the engine: when its JVM dies, stop their
        processes at once (a Spark Connect client retries a dead server for minutes), so
        their tries fail now and are retried on a restarted engine (after_failed_try)."""
        if self.mode != ENGINE or self.engine is None or not is_spark_stage(spec):
            yield
            return
        stopped_for = 0  # the engine (process group) whose death stopped the tries

        def watch() -> None:
            nonlocal stopped_for
            engine = self.engine
            if engine is not None and engine.pgid != stopped_for and not engine.alive():
                stopped_for = engine.pgid
                ctx.stop_tries()

        with ticking(ENGINE_WATCH_S, watch, "engine-watch"):
            yield

    def endpoint(self) -> str:
        if self.mode == ENGINE:
            return self._engine_endpoint()
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
            return "in-process Spark in each stage (its spec's local master)" + (
                " (--spark auto: no Spark engine runs for this store; `pachflow engine "
                "start` keeps one warm for the next runs)"
                if self.auto
                else ""
            )
        if self.engine is not None:
            return (
                f"{self.engine.describe()}{' (--spark auto: it was running)' if self.auto else ''}"
                ", left running: `pachflow engine status`, `pachflow engine stop`"
            )
        if self.mode == ENGINE:
            return "the Spark engine: not used (no Spark job ran)"
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
        """Stop what the run started; the engine keeps running, released by this run."""
        for server in (self.connect, self.cluster):
            if server is not None:
                server.stop()
        if self.engine is not None:
            from pachflow.local import engine

            engine.touch(self.home, os.getpid(), release=True)


def _engine_runs(home: Path) -> bool:
    """Whether the store's engine runs now (a stale state is cleared on the way)."""
    from pachflow.local import engine

    return engine.current(home)[0] is not None


__all__ = ["MODES", "EndpointError", "RunSpark", "check_mode", "is_spark_stage"]
