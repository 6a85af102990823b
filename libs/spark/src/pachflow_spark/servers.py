"""Spark's own servers as processes started from pyspark's jars: a Spark Connect server
(what `pachflow run` shares between its Spark stages) and a standalone master and workers
(what the cluster tests run on). pyspark's pip package ships `bin/spark-submit`,
`bin/spark-class` and the `spark-connect` jar, but not Spark's sbin/ scripts.

Every server runs on loopback, in its own session (so stopping it stops its whole process
group, never anything else) with its output in one log file, and is told to die with the
process that started it (Linux PR_SET_PDEATHSIG: even a kill -9 of the runner leaves no
JVM behind). The exception is a server started with `new_session=False`: it joins its
starter's process group (the local Spark engine's supervisor, which leads that group).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pachflow_spark.java import require_java
from pachflow_spark.session import DEFAULT_DRIVER_MEMORY, driver_java_options
from pachflow_stagekit.parent import die_with_parent

LOOPBACK = "127.0.0.1"
CONNECT_SERVER_CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"
MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"
#: A cold JVM start is ~8 s on an idle 2-core machine; minutes under heavy load.
START_TIMEOUT_S = float(os.environ.get("PACHFLOW_SPARK_SERVER_START_TIMEOUT", "240"))
STOP_TIMEOUT_S = 20.0
#: Warnings, errors and each server's start/stop lines (the stages log errors only).
SERVER_LOG_CONFIG = Path(__file__).with_name("log4j2-server.properties")


class SparkServerError(RuntimeError):
    """A Spark server did not come up (its log tail is in the message)."""


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    """A loopback TCP port that is free right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def port_open(port: int, host: str = LOOPBACK) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def read_json(url: str, timeout: float = 5) -> Any:
    """GET a Spark status URL (a master's, worker's or driver's REST/JSON API)."""
    import json
    import urllib.request

    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.load(response)


@dataclass
class SparkProcess:
    """One server JVM: its process (group leader), log file and what it is."""

    name: str
    proc: subprocess.Popen[bytes]
    log: Path
    leads_group: bool = True  # False: it is in its starter's process group

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, lines: int = 15) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no log)"
        return "\n".join(text[-lines:])

    def wait_for_port(self, port: int, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not port_open(port):
            if self.proc.poll() is not None:
                raise SparkServerError(
                    f"{self.name} exited with {self.proc.returncode} before listening on "
                    f"{LOOPBACK}:{port}; its log {self.log} ends:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise SparkServerError(
                    f"{self.name} did not listen on {LOOPBACK}:{port} within {timeout:g} s; "
                    f"its log {self.log} ends:\n{self.tail()}"
                )
            time.sleep(0.2)

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """SIGTERM to its process group, SIGKILL after `timeout`; wait until it is gone."""
        kill = os.killpg if self.leads_group else os.kill
        if self.proc.poll() is None:
            with suppress(ProcessLookupError):
                kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with suppress(ProcessLookupError):
                    kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        if self.leads_group:
            with suppress(ProcessLookupError, PermissionError):  # children left in the group
                os.killpg(self.proc.pid, signal.SIGKILL)


def spark_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a server: pyspark's Spark home, loopback, this Python."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_REMOTE", "PYSPARK_"))}
    env.update(
        SPARK_HOME=str(spark_home()),
        SPARK_LOCAL_IP=LOOPBACK,
        PYSPARK_PYTHON=sys.executable,
        SPARK_NO_DAEMONIZE="1",
        # the master's and workers' own JVM options (spark-class reads them)
        SPARK_DAEMON_JAVA_OPTS=f"-Dlog4j2.configurationFile={SERVER_LOG_CONFIG.as_uri()}",
    )
    env.update(extra or {})
    return env


def start_process(
    name: str,
    argv: list[str],
    log: Path,
    env: dict[str, str],
    cwd: Path,
    new_session: bool = True,
) -> SparkProcess:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
            start_new_session=new_session,
            preexec_fn=die_with_parent(),
        )
    return SparkProcess(name, proc, log, leads_group=new_session)


@dataclass
class ConnectServer:
    """A running Spark Connect server: `url` (sc://127.0.0.1:PORT) is what the stages'
    --master / PACHFLOW_SPARK_MASTER take."""

    process: SparkProcess
    port: int
    master: str
    driver_memory: str

    @property
    def url(self) -> str:
        return f"sc://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def connect_server_argv(
    port: int, master: str, driver_memory: str, conf: dict[str, str] | None = None
) -> list[str]:
    """spark-submit running the Connect server in its own JVM: the driver of every session."""
    settings = {
        "spark.connect.grpc.binding.address": LOOPBACK,
        "spark.connect.grpc.binding.port": str(port),
        "spark.driver.host": LOOPBACK,
        "spark.driver.bindAddress": LOOPBACK,
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        **(conf or {}),
    }
    argv = [
        str(spark_home() / "bin" / "spark-submit"),
        "--class",
        CONNECT_SERVER_CLASS,
        "--name",
        "pachflow-spark-connect",
        "--master",
        master,
        "--driver-memory",
        driver_memory,
        "--driver-java-options",
        driver_java_options(log_config=SERVER_LOG_CONFIG),
    ]
    for key, value in settings.items():
        argv += ["--conf", f"{key}={value}"]
    return [*argv, "spark-internal"]


def start_connect_server(
    log: Path,
    master: str = "local[*]",
    driver_memory: str = DEFAULT_DRIVER_MEMORY,
    port: int | None = None,
    cwd: Path | None = None,
    wait: bool = True,
    conf: dict[str, str] | None = None,
    new_session: bool = True,
) -> ConnectServer:
    """Start a Spark Connect server on loopback; with `wait`, return once it listens
    (else call `server.process.wait_for_port(server.port)` before using it)."""
    require_java()
    port = port or free_port()
    process = start_process(
        f"Spark Connect server (port {port})",
        connect_server_argv(port, master, driver_memory, conf),
        log,
        spark_env(),
        cwd or log.parent,
        new_session,
    )
    server = ConnectServer(process, port, master, driver_memory)
    if wait:
        process.wait_for_port(port)
    return server


def master_argv(port: int, webui_port: int) -> list[str]:
    return [
        str(spark_home() / "bin" / "spark-class"),
        MASTER_CLASS,
        "--host",
        LOOPBACK,
        "--port",
        str(port),
        "--webui-port",
        str(webui_port),
    ]


def worker_argv(
    master_url: str, cores: int, memory: str, work_dir: Path, webui_port: int
) -> list[str]:
    return [
        str(spark_home() / "bin" / "spark-class"),
        WORKER_CLASS,
        master_url,
        "--host",
        LOOPBACK,
        "--cores",
        str(cores),
        "--memory",
        memory,
        "--work-dir",
        str(work_dir),
        "--webui-port",
        str(webui_port),
    ]


@dataclass
class StandaloneCluster:
    """A Spark standalone master and its workers, each its own JVM on loopback."""

    master: SparkProcess
    workers: list[SparkProcess]
    port: int
    webui_port: int
    root: Path  # logs, and each worker's work dir (worker<N>/app-*/<executor>/)
    worker_webui_ports: list[int] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"spark://{LOOPBACK}:{self.port}"

    @property
    def webui_url(self) -> str:
        return f"http://{LOOPBACK}:{self.webui_port}"

    def status(self) -> dict[str, Any]:
        """The master's JSON status (workers, applications): its web UI's /json."""
        status: dict[str, Any] = read_json(f"{self.webui_url}/json")
        return status

    def worker_status(self, index: int) -> dict[str, Any]:
        """Worker `index`'s JSON status, with its `executors` and `finishedexecutors`."""
        status: dict[str, Any] = read_json(
            f"http://{LOOPBACK}:{self.worker_webui_ports[index]}/json"
        )
        return status

    def alive_workers(self) -> int:
        try:
            return int(self.status().get("aliveworkers", 0))
        except (OSError, ValueError):
            return 0

    def stop(self) -> None:
        for process in [*self.workers, self.master]:
            process.stop()


def start_standalone_cluster(
    root: Path,
    workers: int = 2,
    cores: int = 1,
    memory: str = "1g",
    port: int | None = None,
    webui_port: int | None = None,
) -> StandaloneCluster:
    """A master and `workers` workers (`cores` and `memory` each) under `root` (logs,
    work dirs), on the given or free loopback ports; returns once every worker has
    registered with the master."""
    require_java()
    port, webui = port or free_port(), webui_port or free_port()
    env = spark_env()
    master = start_process(
        "Spark standalone master", master_argv(port, webui), root / "master.log", env, root
    )
    cluster = StandaloneCluster(master, [], port, webui, root)
    try:
        master.wait_for_port(port)
        for i in range(workers):
            work = root / f"worker{i + 1}"
            work.mkdir(parents=True, exist_ok=True)
            cluster.worker_webui_ports.append(free_port())
            cluster.workers.append(
                start_process(
                    f"Spark standalone worker {i + 1}",
                    worker_argv(cluster.url, cores, memory, work, cluster.worker_webui_ports[i]),
                    root / f"worker{i + 1}.log",
                    env,
                    work,
                )
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while cluster.alive_workers() < workers:
            dead = [w for w in cluster.workers if w.proc.poll() is not None]
            if dead or time.monotonic() > deadline:
                what = dead[0] if dead else master
                raise SparkServerError(
                    f"{cluster.alive_workers()}/{workers} Spark workers registered with "
                    f"{cluster.url}; {what.name}'s log {what.log} ends:\n{what.tail()}"
                )
            time.sleep(0.3)
    except BaseException:
        cluster.stop()
        raise
    return cluster
