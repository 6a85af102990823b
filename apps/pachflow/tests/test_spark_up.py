"""`pachflow spark up` (`make spark-cluster`), as a user runs it: a Spark standalone master
and two workers, each its own JVM, that a stage can run a job on; Ctrl-C stops them all.
Real processes: the workers' registration and the finished application are read from the
master's JSON status (its web UI's /json/), and after Ctrl-C no process of any JVM's
process group (an executor included) is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from pachflow_spark.servers import free_port, port_open, read_json

pytestmark = [pytest.mark.spark, pytest.mark.slow]

PACHFLOW = str(Path(sys.executable).parent / "pachflow")
START_TIMEOUT_S = 300

#: A tiny job on the cluster, through the stages' own session builder.
JOB = textwrap.dedent(
    """
    import sys
    from pachflow_spark.session import SparkSettings, build_session
    conf = (("spark.executor.memory", "512m"), ("spark.scheduler.minRegisteredResourcesRatio", "1"))
    settings = SparkSettings(master=sys.argv[1], driver_memory="512m", conf=conf)
    spark = build_session("spark-up-test-job", settings)
    print(spark.range(0, 1000, numPartitions=4).groupBy().sum("id").first()[0])
    spark.stop()
    """
)


def groups_alive(pgids: set[int]) -> dict[int, str]:
    """Live (not zombie) processes in any of `pgids`: pid -> command line."""
    alive = {}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            fields = (proc / "stat").read_text().rsplit(") ", 1)[1].split()
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        state, pgid = fields[0], int(fields[2])
        if state != "Z" and pgid in pgids:
            alive[int(proc.name)] = cmdline[:200]
    return alive


def children_of(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_spark_up_serves_a_job_on_two_workers_and_ctrl_c_leaves_no_jvm(tmp_path):
    port, webui = free_port(), free_port()
    env = {**os.environ, "PACHFLOW_HOME": str(tmp_path / "home")}
    env.pop("SPARK_REMOTE", None)
    argv = ["spark", "up", "--port", str(port), "--webui-port", str(webui), "--memory", "1g"]
    up = subprocess.Popen(
        [PACHFLOW, *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert up.stdout is not None
        line = up.stdout.readline()  # printed once every worker registered
        assert line.startswith(f"Spark master spark://127.0.0.1:{port} "), (
            line + up.communicate(timeout=30)[1]
        )
        assert "2 workers" in line

        status = read_json(f"http://127.0.0.1:{webui}/json/")
        assert status["aliveworkers"] == 2
        workers = [w for w in status["workers"] if w["state"] == "ALIVE"]
        assert len(workers) == 2 and {w["cores"] for w in workers} == {1}
        jvms = children_of(up.pid)
        assert len(jvms) == 3, jvms  # the master and two workers
        groups = {os.getpgid(pid) for pid in jvms}
        assert groups == set(jvms), "each JVM leads its own process group"

        job = subprocess.run(
            [sys.executable, "-c", JOB, f"spark://127.0.0.1:{port}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
        )
        assert job.returncode == 0, job.stderr[-3000:]
        assert job.stdout.split() == ["499500"]
        apps = read_json(f"http://127.0.0.1:{webui}/json/")["completedapps"]
        assert [a["name"] for a in apps] == ["spark-up-test-job"]
        assert apps[0]["state"] == "FINISHED"
    finally:
        up.send_signal(signal.SIGINT)  # Ctrl-C
        _, err = up.communicate(timeout=60)
    assert up.returncode == 0, err
    assert "stopped the Spark master and workers" in err
    deadline = time.monotonic() + 10
    while groups_alive(groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert groups_alive(groups) == {}
    assert not port_open(port) and not port_open(webui)
    assert (tmp_path / "home" / "logs" / "spark" / "up" / "master.log").exists()
