"""Spark's servers are started so that none outlives its owner: `stop` ends the server's
whole process group (a JVM's children included), and the server dies with the process
that started it even when that one is killed with -9 (what `pachflow run` relies on).
Shown with a stand-in command: the same start_process starts every Spark JVM."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time

from pachflow_spark.servers import spark_env, start_process
from pachflow_store.processes import alive


def gone(pid: int, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_stop_ends_the_whole_process_group(tmp_path):
    pids = tmp_path / "pids"
    server = start_process(
        "stand-in",
        ["bash", "-c", f"sleep 600 & echo $! > {pids}; sleep 600"],
        tmp_path / "server.log",
        spark_env(),
        tmp_path,
    )
    deadline = time.monotonic() + 10
    while not pids.exists() or not pids.read_text().strip():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child = int(pids.read_text())
    server.stop(timeout=5)
    assert gone(server.pid) and gone(child)


def test_a_server_dies_with_the_process_that_started_it_even_on_kill_9(tmp_path):
    owner = tmp_path / "owner.py"
    owner.write_text(
        textwrap.dedent(
            f"""
            import pathlib, time
            from pachflow_spark.servers import spark_env, start_process
            root = pathlib.Path({str(tmp_path)!r})
            p = start_process("stand-in", ["sleep", "600"], root / "s.log", spark_env(), root)
            print(p.pid, flush=True)
            time.sleep(600)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(owner)], stdout=subprocess.PIPE, text=True)
    server_pid = int(proc.stdout.readline())
    assert not gone(server_pid, timeout=0.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert gone(server_pid), "the server outlived the process that started it"
