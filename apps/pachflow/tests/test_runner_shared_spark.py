"""`pachflow run` shares one warm Spark between its Spark stages: one Spark Connect server
(a real JVM from pyspark's jars) started when a Spark stage is about to run, handed to
every Spark job through PACHFLOW_SPARK_MASTER, and stopped when the run ends: after
success, after a failed stage and on Ctrl-C, leaving no JVM behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pachflow.local.shared_spark import SharedSpark, is_spark_stage, server_master, server_memory
from pachflow.local.specs import load_specs

PACHFLOW = str(Path(sys.executable).parent / "pachflow")

# A Spark stage's stand-in: records the endpoint it was given and that it answers.
SPARK_STAGE = """
import socket
master = os.environ["PACHFLOW_SPARK_MASTER"]
record = {"master": master}
if master.startswith("sc://"):
    host, port = master[5:].rsplit(":", 1)
    socket.create_connection((host, int(port)), timeout=5).close()
    record["answered"] = True
name = os.environ["PPS_PIPELINE_NAME"]
(pathlib.Path(os.environ["RECORD_DIR"]) / name).write_text(json.dumps(record))
gate = os.environ.get("GATE")
while gate and not pathlib.Path(gate).exists():
    time.sleep(0.05)
if os.environ.get("FAIL") == name:
    sys.exit("failing on purpose")
(out / "done").write_text("ok")
"""


def spark_env(master: str = "local[2]", memory: str = "1g") -> dict[str, dict[str, str]]:
    return {"env": {"PACHFLOW_SPARK_MASTER": master, "PACHFLOW_SPARK_DRIVER_MEMORY": memory}}


@pytest.fixture
def chain(tmp_path, write_spec, script, specs_dir, home, monkeypatch):
    """raw -> plain (no Spark) -> etl (Spark) -> train (Spark), one datum each."""
    records = tmp_path / "records"
    records.mkdir()
    monkeypatch.setenv("RECORD_DIR", str(records))
    stage = script("spark_stage", SPARK_STAGE)
    write_spec(
        "plain",
        [*script("plain", "(out / 'x').write_text('x')\n"), "/pfs/raw", "/pfs/out"],
        "raw",
        glob="/",
    )
    write_spec(
        "etl",
        [*stage, "/pfs/plain", "/pfs/out"],
        "plain",
        glob="/",
        transform=spark_env("local[2]", "1g"),
        datumTries=1,
    )
    write_spec(
        "train",
        [*stage, "/pfs/etl", "/pfs/out"],
        "etl",
        glob="/",
        transform=spark_env("local[1]", "3g"),
        datumTries=1,
    )
    data = tmp_path / "x.txt"
    data.write_text("x")
    subprocess.run([PACHFLOW, "put", "raw", str(data)], check=True, capture_output=True)
    return records


def server_pid(stderr: str) -> int:
    match = re.search(r"shared Spark Connect server sc://127\.0\.0\.1:\d+ \(pid (\d+)", stderr)
    assert match, stderr
    return int(match.group(1))


def gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[1].startswith("Z"):
            return True
        time.sleep(0.1)
    return False


def test_spark_stages_are_the_specs_with_a_local_master(chain, specs_dir):
    specs = {s.name: s for s in load_specs(specs_dir)}
    assert [n for n, s in specs.items() if is_spark_stage(s)] == ["etl", "train"]
    spark = [specs["etl"], specs["train"]]
    assert (server_master(spark), server_memory(spark)) == ("local[2]", "3g")
    shared = SharedSpark(list(specs.values()), Path("/nowhere"), "run")
    assert shared.needed_from(specs["plain"]) and shared.needed_from(specs["train"])


def test_one_server_for_every_spark_job_stopped_after_a_failed_stage(chain, home, specs_dir):
    done = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)],
        capture_output=True,
        text=True,
        env={**os.environ, "FAIL": "train"},
    )
    assert done.returncode == 1, done.stderr  # train failed on purpose
    etl, train = (json.loads((chain / n).read_text()) for n in ("etl", "train"))
    assert etl["master"].startswith("sc://127.0.0.1:") and etl["answered"]
    assert train["master"] == etl["master"]  # the same server for both
    pid = server_pid(done.stderr)
    assert f"stopped the shared Spark Connect server {etl['master']}" in done.stderr
    assert gone(pid), f"the Spark Connect JVM {pid} outlived the run"
    logs = list((home / "logs" / "spark-connect").glob("*.log"))
    assert len(logs) == 1 and "SparkConnectServer" in logs[0].read_text()


def test_ctrl_c_stops_the_server(chain, home, specs_dir, tmp_path):
    gate = tmp_path / "open"
    runner = subprocess.Popen(
        [PACHFLOW, "run", "--specs", str(specs_dir)],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "GATE": str(gate)},
    )
    try:
        deadline = time.monotonic() + 300
        while not (chain / "etl").exists():
            assert runner.poll() is None and time.monotonic() < deadline, "etl never started"
            time.sleep(0.1)
        runner.send_signal(signal.SIGINT)
        _, err = runner.communicate(timeout=120)
    finally:
        gate.touch()
        if runner.poll() is None:
            runner.kill()
    assert runner.returncode != 0
    pid = server_pid(err)
    assert gone(pid), f"the Spark Connect JVM {pid} outlived Ctrl-C"


def test_no_shared_spark_leaves_each_stage_its_own_spark(chain, home, specs_dir):
    done = subprocess.run(
        [PACHFLOW, "run", "--no-shared-spark", "--specs", str(specs_dir)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads((chain / "etl").read_text()) == {"master": "local[2]"}
    assert json.loads((chain / "train").read_text()) == {"master": "local[1]"}
    assert "Spark Connect" not in done.stderr
    assert not (home / "logs" / "spark-connect").exists()
