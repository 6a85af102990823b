"""`pachflow engine start|stop|status` and `pachflow run --spark engine`: one long-lived
Spark Connect server per PACHFLOW_HOME, with real processes: the supervisor and the
server's JVM in a process group of their own, detached from the caller; `stop` leaves no
process of that group; an idle engine stops itself (not while a run holds it); the
warm-up job can be turned off (--no-warm-up, PACHFLOW_ENGINE_WARM_UP=0); a state
whose processes died is removed; a run starts the engine when none runs, and when the
engine dies under a datum, the datum's error names it and the retry runs on a restarted
engine."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pachflow.local.engine import READY, Engine, read, state_path, touch, write
from pachflow_spark.servers import free_port
from pachflow_store.processes import DatumGroup, members, start_time

PACHFLOW = str(Path(sys.executable).parent / "pachflow")


def pachflow(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PACHFLOW, *args], capture_output=True, text=True, cwd=cwd, env={**os.environ, **env}
    )


def group_of(engine: Engine) -> list[int]:
    """Live processes in the engine's process group."""
    return members(DatumGroup(engine.pgid, engine.leader_started, "engine", ""))


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_for(condition, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.fixture
def engine_home(home: Path, tmp_path: Path) -> Iterator[Path]:
    """A store whose engine (if a test leaves one) is stopped at the end."""
    yield home
    pachflow("engine", "stop", cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.spark
def test_start_status_stop_and_no_process_of_its_group_is_left(engine_home, tmp_path):
    started = pachflow("engine", "start", "--idle-timeout", "10m", cwd=tmp_path)
    assert started.returncode == 0, started.stderr
    engine = read(engine_home)
    assert engine is not None and engine.status == READY
    assert f"running: {engine.url}" in started.stdout
    # sized as `--spark connect` sizes with no Spark stage to go by; detached from the
    # caller: the supervisor leads its own session, the JVM is in its group
    assert (engine.master, engine.driver_memory, engine.idle_timeout) == ("local[*]", "2g", 600)
    group = group_of(engine)
    assert engine.pgid in group and engine.pid in group
    assert os.getsid(engine.pgid) == engine.pgid
    assert "java" in Path(f"/proc/{engine.pid}/cmdline").read_text()
    assert port_open(engine.port)
    assert (Path(engine.log_dir) / "spark-connect.log").is_file()
    assert Path(engine.log_dir).parent == engine_home / "logs" / "engine"
    assert "warmed up in" in engine.supervisor_log.read_text()

    status = pachflow("engine", "status", cwd=tmp_path)
    assert f"running: {engine.url}" in status.stdout and "driver memory 2g" in status.stdout
    assert "stops after 10 min idle" in status.stdout
    as_json = json.loads(pachflow("engine", "status", "--json", cwd=tmp_path).stdout)
    assert as_json["running"] and as_json["url"] == engine.url and as_json["idle_seconds"] >= 0
    again = pachflow("engine", "start", cwd=tmp_path)
    assert again.returncode == 0 and f"already running: {engine.url}" in again.stdout
    assert read(engine_home).pid == engine.pid  # type: ignore[union-attr]

    stopped = pachflow("engine", "stop", cwd=tmp_path)
    assert stopped.returncode == 0 and f"stopped the Spark engine {engine.url}" in stopped.stdout
    assert group_of(engine) == []
    assert not port_open(engine.port)
    assert not state_path(engine_home).exists()
    assert "stopped: no Spark engine" in pachflow("engine", "status", cwd=tmp_path).stdout
    assert "no Spark engine was running" in pachflow("engine", "stop", cwd=tmp_path).stdout


@pytest.mark.slow
@pytest.mark.spark
def test_an_idle_engine_stops_itself_but_not_while_a_run_holds_it(engine_home, tmp_path):
    # no warm-up job (the lifecycle is the subject): ready as soon as the server listens
    started = pachflow(
        "engine", "start", "--no-warm-up", cwd=tmp_path, PACHFLOW_ENGINE_IDLE_TIMEOUT="4s"
    )
    assert started.returncode == 0, started.stderr
    engine = touch(engine_home, user=os.getpid())  # held, as `pachflow run` holds it
    assert engine is not None and engine.idle_timeout == 4 and not engine.warm_up
    log = engine.supervisor_log.read_text()
    assert "not warmed up (warm-up off)" in log and "warmed up in" not in log
    time.sleep(6)
    assert read(engine_home) is not None and engine.pid in group_of(engine)
    touch(engine_home, user=os.getpid(), release=True)
    wait_for(lambda: not group_of(engine), 60, "the idle engine did not stop")
    assert not state_path(engine_home).exists()
    assert "idle for" in engine.supervisor_log.read_text()


def test_a_state_whose_processes_died_is_removed(home, tmp_path):
    dead = subprocess.Popen(["sleep", "60"], start_new_session=True)
    dead_started = start_time(dead.pid)
    dead.kill()
    dead.wait()
    now = time.time()
    common = dict(
        home=str(home),
        port=free_port(),
        master="local[2]",
        driver_memory="1g",
        idle_timeout=60.0,
        started=now,
        last_used=now,
        log_dir=str(tmp_path),
        status=READY,
    )
    home.mkdir(parents=True)
    write(Engine(pgid=dead.pid, leader_started=dead_started, pid=dead.pid, **common))  # type: ignore[arg-type]
    status = pachflow("engine", "status", cwd=tmp_path)
    assert "removed the state of a Spark engine that had died" in status.stdout
    assert "stopped: no Spark engine" in status.stdout
    assert not state_path(home).exists()
    # a process group number now led by another process (here: this test's) is not the
    # engine's: the state is stale, and nothing of that group is signalled
    write(Engine(pgid=os.getpid(), leader_started=1, pid=os.getpid(), **common))  # type: ignore[arg-type]
    as_json = json.loads(pachflow("engine", "status", "--json", cwd=tmp_path).stdout)
    assert not as_json["running"] and as_json["stale_removed"]["pgid"] == os.getpid()


def test_a_bad_idle_timeout_or_warm_up_exits_2(home, tmp_path):
    bad = pachflow("engine", "start", "--idle-timeout", "soon", cwd=tmp_path)
    assert bad.returncode == 2 and "--idle-timeout" in bad.stderr and "'soon'" in bad.stderr
    zero = pachflow("engine", "start", cwd=tmp_path, PACHFLOW_ENGINE_IDLE_TIMEOUT="0s")
    assert zero.returncode == 2 and "more than 0" in zero.stderr
    maybe = pachflow("engine", "start", cwd=tmp_path, PACHFLOW_ENGINE_WARM_UP="maybe")
    assert maybe.returncode == 2 and "PACHFLOW_ENGINE_WARM_UP" in maybe.stderr
    assert "'maybe'" in maybe.stderr
    assert not state_path(home).exists()


#: A Spark stage on Spark Connect: its first try runs a query, says it is ready and waits
#: for the test (which kills the engine's JVM meanwhile), then queries again (and fails);
#: the next try runs on whatever engine serves the same URL then.
STAGE = """
from pyspark.sql import SparkSession
master = os.environ["PACHFLOW_SPARK_MASTER"]
marks = pathlib.Path(os.environ["MARKS"])
attempt = len(list(marks.glob("try*"))) + 1
(marks / f"try{attempt}").write_text(master)
spark = SparkSession.builder.remote(master).getOrCreate()
assert spark.range(10).count() == 10
if attempt == 1:
    (marks / "ready").touch()
    while not (marks / "go").exists():
        time.sleep(0.1)
(out / "n.txt").write_text(str(spark.range(1000).count()))
"""


@pytest.mark.slow
@pytest.mark.spark
def test_a_run_starts_the_engine_and_a_datum_retries_on_a_restarted_one_after_it_died(
    engine_home, tmp_path, raw_pipeline, specs_dir
):
    marks = tmp_path / "marks"
    marks.mkdir()
    env = {"PACHFLOW_SPARK_MASTER": "local[1]", "MARKS": str(marks)}
    raw_pipeline("sparky", "stage", STAGE, env, glob="/", datumTries=2)
    runner = subprocess.Popen(
        [PACHFLOW, "run", "--specs", str(specs_dir), "--spark", "engine"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        # the engine the run starts, and its restart, skip the warm-up job (not the subject)
        env={**os.environ, "PACHFLOW_ENGINE_WARM_UP": "0"},
    )
    try:
        wait_for(lambda: (marks / "ready").exists() or runner.poll() is not None, 600, "no try")
        assert runner.poll() is None, runner.communicate()
        first = read(engine_home)
        assert first is not None and first.url == (marks / "try1").read_text()
        os.kill(first.pid, signal.SIGKILL)
        (marks / "go").touch()
        _, err = runner.communicate(timeout=600)
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGINT)
            runner.communicate(timeout=60)
    assert runner.returncode == 0, err
    assert f"starting the Spark engine {first.url}" in err
    second = read(engine_home)
    assert second is not None and second.alive()
    assert second.url == first.url and second.pid != first.pid  # restarted, same port
    assert not first.warm_up and not second.warm_up
    assert (marks / "try2").read_text() == first.url
    logs = pachflow("logs", "sparky", cwd=tmp_path).stdout
    assert f"the Spark engine {first.url} (JVM pid {first.pid}" in logs
    assert f"died during this try; restarted it ({first.url}) for the next try" in logs
    assert second.live_users() == {}  # the run released it: idle from now on
    assert "left running" in err
