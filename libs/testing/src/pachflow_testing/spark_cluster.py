"""Run a Spark stage's command as the driver of an application on a standalone cluster
(one `pachflow spark up` started: `Cluster`, known by its master's URL and web UI) and ask
Spark, not its logs, where the tasks ran.

The stage runs in a child Python process (one SparkContext per process; the test's own
session stays local) with the driver's UI on: after the command returns, the still-running
driver's REST API (`/api/v1/applications/<app>/allexecutors`) gives each executor's task
count, and each worker's JSON status (`executors`, `finishedexecutors`) which executors of
the application it hosted.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pachflow_spark.servers import read_json

#: What the child process runs: the click command, then the driver's executor list.
_CHILD = """
import importlib, json, sys
module, _, name = sys.argv[1].partition(":")
command = getattr(importlib.import_module(module), name)
command.main(sys.argv[3:], standalone_mode=False)
from pyspark import SparkContext
from pachflow_spark.servers import read_json
sc = SparkContext._active_spark_context  # the stage's, still running
url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/allexecutors"
with open(sys.argv[2], "w") as out:
    json.dump({"app": sc.applicationId, "executors": read_json(url)}, out)
"""


@dataclass(frozen=True)
class Cluster:
    """A running standalone cluster, as its master's JSON status shows it."""

    url: str  # spark://host:port
    webui_url: str  # the master's web UI: http://host:port

    def status(self) -> dict[str, Any]:
        """The master's JSON status (workers, applications): its web UI's /json/."""
        status: dict[str, Any] = read_json(f"{self.webui_url}/json/")
        return status

    def worker_uis(self) -> list[str]:
        """The web UI of each alive worker, in the master's order."""
        workers = self.status()["workers"]
        return [str(w["webuiaddress"]) for w in workers if w["state"] == "ALIVE"]

    def worker_status(self, webui: str) -> dict[str, Any]:
        """A worker's JSON status, with its `executors` and `finishedexecutors`."""
        status: dict[str, Any] = read_json(f"{webui}/json")
        return status


@dataclass
class ClusterRun:
    """A stage's run on the cluster: the finished process and the tasks per worker."""

    process: subprocess.CompletedProcess[str]
    app_id: str
    tasks_by_worker: dict[int, int]  # worker index -> tasks its executors completed
    executors: list[dict[str, Any]]  # the driver's REST API's, to explain a failure

    def __str__(self) -> str:
        if not self.app_id:
            return f"no executor report; the stage's stderr ends:\n{self.process.stderr[-3000:]}"
        seen = [(e["id"], e.get("completedTasks")) for e in self.executors]
        return f"app {self.app_id}: executors (id, tasks) {seen}, by worker {self.tasks_by_worker}"


def run_stage_on_cluster(
    cluster: Cluster, command: str, args: list[str], env: dict[str, str], tmp: Path
) -> ClusterRun:
    """Run `command` ("module:click_command") with `args` against `cluster`."""
    report = tmp / "executors.json"
    full_env = {
        **os.environ,
        **env,
        "PACHFLOW_SPARK_MASTER": cluster.url,
        # The driver's REST API, and no job before both executors registered (else a quick
        # first job may run on the one that came first).
        "PACHFLOW_SPARK_CONF": " ".join(
            ["spark.ui.enabled=true", "spark.scheduler.minRegisteredResourcesRatio=1"]
        ),
    }
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, command, str(report), *args],
        env=full_env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0 or not report.exists():
        return ClusterRun(done, "", {}, [])
    got = json.loads(report.read_text())
    app, executors = got["app"], got["executors"]
    return ClusterRun(done, app, tasks_by_worker(cluster, app, executors), executors)


def tasks_by_worker(
    cluster: Cluster, app_id: str, executors: list[dict[str, Any]]
) -> dict[int, int]:
    """Completed tasks per worker: the driver's executors, placed by the workers' status."""
    tasks = {e["id"]: int(e.get("completedTasks", 0)) for e in executors if e["id"] != "driver"}
    placed: dict[int, int] = {}
    for index, webui in enumerate(cluster.worker_uis()):
        status = cluster.worker_status(webui)
        for executor in status.get("executors", []) + status.get("finishedexecutors", []):
            if executor.get("appid") == app_id:
                placed[index] = placed.get(index, 0) + tasks.get(str(executor["id"]), 0)
    return placed
