"""`pachflow run --spark`: which Spark the Spark stages use. A spec whose transform.env
sets PACHFLOW_SPARK_MASTER to a local master is a Spark stage; the run points it at a
standalone cluster or a Spark Connect server it starts (from pyspark's jars, loopback,
logs in the store), or at a given endpoint. Whatever the run started is gone when the run
ends: also when the stage fails, and on Ctrl-C. Stand-in stages record what they got."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pachflow_testing.foreground import foreground

PACHFLOW = str(Path(sys.executable).parent / "pachflow")

#: A stand-in Spark stage: records its endpoint and whether it answered, then fails (or
#: waits for Ctrl-C when record.hold exists).
STAGE = """
import socket, urllib.parse
master = os.environ["PACHFLOW_SPARK_MASTER"]
record = {
    "master": master,
    "conf": os.environ.get("PACHFLOW_SPARK_CONF", ""),
    "partitions": os.environ.get("PACHFLOW_SPARK_SHUFFLE_PARTITIONS"),
}
if "://" in master:
    url = master.replace("spark://", "http://").replace("sc://", "http://")
    where = urllib.parse.urlparse(url)
    try:
        socket.create_connection((where.hostname, where.port), timeout=5).close()
        record["answered"] = True
    except OSError:
        record["answered"] = False
record_file = pathlib.Path(os.environ["RECORD"])
record_file.write_text(json.dumps(record))
if record_file.with_suffix(".hold").exists():
    time.sleep(120)
sys.exit(3)
"""


def processes_under(root: Path) -> list[int]:
    """Live processes working in `root` (the Spark servers run with their log dir as cwd)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(proc / "cwd"))
            state = (proc / "stat").read_text().rsplit(") ", 1)[1][0]
        except OSError:
            continue
        if state != "Z" and (cwd == root or root in cwd.parents):
            pids.append(int(proc.name))
    return pids


def port_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def spark_stage(tmp_path, write_spec, script, specs_dir, home, monkeypatch):
    record = tmp_path / "record.json"
    write_spec(
        "sparky",
        [*script("stage", STAGE), "/pfs/raw", "/pfs/out"],
        "raw",
        transform={"env": {"PACHFLOW_SPARK_MASTER": "local[1]", "RECORD": str(record)}},
        datumTries=1,
    )
    data = tmp_path / "x.txt"
    data.write_text("x")
    subprocess.run([PACHFLOW, "put", "raw", str(data)], check=True, capture_output=True)
    return record


def run(specs_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    argv = [PACHFLOW, "run", "--specs", str(specs_dir), *args]
    return subprocess.run(argv, capture_output=True, text=True)


def test_by_default_a_spark_stage_keeps_its_spec_s_own_spark(spark_stage, specs_dir, home):
    """`--spark auto` (the default) with no engine running for the store: in-process."""
    done = run(specs_dir)
    assert done.returncode == 1
    got = json.loads(spark_stage.read_text())
    assert got["master"] == "local[1]" and got["partitions"] is None


def test_a_given_endpoint_reaches_the_spark_stages_and_a_bad_one_exits_2(spark_stage, specs_dir):
    done = run(specs_dir, "--spark", "spark://127.0.0.1:1")
    assert json.loads(spark_stage.read_text())["master"] == "spark://127.0.0.1:1"
    bad = run(specs_dir, "--spark", "sprak://h:1")
    assert bad.returncode == 2 and "'sprak://h:1'" in bad.stderr and "standalone" in bad.stderr
    assert done.returncode == 1


@pytest.mark.spark
def test_a_failed_stage_on_the_run_s_standalone_cluster_leaves_no_jvm(spark_stage, specs_dir, home):
    done = run(specs_dir, "--spark", "standalone")
    assert done.returncode == 1, done.stderr
    got = json.loads(spark_stage.read_text())
    assert got["master"].startswith("spark://127.0.0.1:") and got["answered"]
    assert "spark.executor.memory=" in got["conf"]
    assert int(got["partitions"]) >= 2  # the cluster's cores, not Spark's 200
    assert f"Spark: Spark standalone cluster {got['master']}" in done.stderr
    logs = home / "logs" / "spark"
    assert list(logs.glob("*/standalone/master.log"))
    assert processes_under(logs) == []
    assert port_closed(int(got["master"].rsplit(":", 1)[1]))


@pytest.mark.spark
def test_ctrl_c_stops_the_run_s_spark_connect_server(spark_stage, specs_dir, home, monkeypatch):
    spark_stage.with_suffix(".hold").touch()
    runner = subprocess.Popen(
        foreground([PACHFLOW, "run", "--specs", str(specs_dir), "--spark", "connect"]),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 240
    while not spark_stage.exists() or not spark_stage.read_text():
        assert runner.poll() is None, runner.communicate()
        assert time.monotonic() < deadline, "the stage never started"
        time.sleep(0.1)
    got = json.loads(spark_stage.read_text())
    assert got["master"].startswith("sc://127.0.0.1:") and got["answered"]
    logs = home / "logs" / "spark"
    assert processes_under(logs), "the Connect server is not running under the store's logs"
    runner.send_signal(signal.SIGINT)
    _, err = runner.communicate(timeout=60)
    assert runner.returncode == 130, err
    assert list(logs.glob("*/spark-connect.log"))
    assert processes_under(logs) == []
    assert port_closed(int(got["master"].rsplit(":", 1)[1]))
