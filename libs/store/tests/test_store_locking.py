"""Two commands at once: one runner at a time (the error names the holder), concurrent
puts and readers stay correct."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pachflow_store import JOB_KILLED, JOB_RUNNING, Store, StoreBusy
from pachflow_store.locks import try_exclusive, waiting_exclusive

HOLD_RUN_LOCK = """
import sys
from pachflow_store import Store
store = Store(sys.argv[1])
with store.run_lock():
    print("locked", flush=True)
    sys.stdin.readline()
"""

PUT_MANY = """
import sys
from pathlib import Path
from pachflow_store import Store
store = Store(sys.argv[1])
src = Path(sys.argv[2])
for n in range(int(sys.argv[3])):
    src.write_text(f"{src.name} {n}")
    store.put_files("raw", [(f"/{src.name}/{n}", src)])
"""


def _start(script: str, home: Path) -> subprocess.Popen:
    """Run `script` with the store home as argv[1], its stdin and stdout piped."""
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(home)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdin is not None and proc.stdout is not None
    return proc


def test_a_second_runner_is_refused_naming_the_holder(tmp_path: Path):
    home = tmp_path / "home"
    holder = _start(HOLD_RUN_LOCK, home)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with Store(home) as store, pytest.raises(StoreBusy) as busy, store.run_lock():
            pass
        message = str(busy.value)
        assert f"pid {holder.pid}" in message and str(home) in message
        assert "wait for it to finish" in message
    finally:
        holder.stdin.close()
        holder.wait()
    with Store(home) as store, store.run_lock():  # released when the holder ended
        pass


def test_concurrent_puts_and_reads_stay_consistent(tmp_path: Path):
    home = tmp_path / "home"
    Store(home).close()
    n = 15
    writers = [
        subprocess.Popen([sys.executable, "-c", PUT_MANY, str(home), str(tmp_path / w), str(n)])
        for w in ("w1", "w2")
    ]
    with Store(home) as reader:
        while any(w.poll() is None for w in writers):
            # whatever a reader sees is a complete commit with complete files
            head = reader.head("raw")
            if head is not None:
                ref = reader.resolve("raw", head)
                for f in reader.walk_files(ref):
                    assert (
                        reader.file_blob(ref, f.path).read_text().startswith(f.path.split("/")[1])
                    )
        assert [w.wait() for w in writers] == [0, 0]
        commits = reader.list_commits("raw")
        assert len(commits) == 2 * n
        parents = [c.parent for c in commits]
        assert len(set(parents)) == len(parents)  # a line, never a fork
        assert len(reader.manifest(reader.resolve("raw"))) == 2 * n
        assert os.listdir(home / "inflight") == []


RUNNER_WITH_A_JOB = """
import sys
from pachflow_store import DATUM_SUCCESS, DatumInfo, Store
store = Store(sys.argv[1])
with store.run_lock():
    store.start_job("p", "job1", "spec1", [], 3)
    datum = DatumInfo("p", "job1", "d1", DATUM_SUCCESS, "h1", [], "", 1, "", None)
    with store.transaction() as tx:
        store.record_datum(tx, "p", "job1", datum, {})
    print("one datum done", flush=True)
    sys.stdin.readline()
"""


@pytest.mark.parametrize("reaped", [True, False], ids=["reaped", "zombie"])
def test_a_job_whose_runner_was_killed_reads_as_killed_with_its_datums(tmp_path, reaped):
    home = tmp_path / "home"
    runner = _start(RUNNER_WITH_A_JOB, home)
    assert runner.stdout.readline().strip() == "one datum done"
    try:
        with Store(home) as store:
            (job,) = store.list_jobs()
            assert (job.state, job.processed, job.total) == (JOB_RUNNING, 1, 3)  # live counts
            os.kill(runner.pid, signal.SIGKILL)
            if reaped:
                runner.wait()
            else:  # not reaped yet: the pid still exists, as a zombie
                while Path(f"/proc/{runner.pid}/stat").read_text().rsplit(") ", 1)[1][0] != "Z":
                    time.sleep(0.01)
            (job,) = store.list_jobs()
            assert (job.state, job.processed, job.total) == (JOB_KILLED, 1, 3)
            assert "the runner was killed" in job.reason
            assert store.recover(runner=True).killed_jobs == 1
            (job,) = store.list_jobs()
            assert (job.state, job.processed, job.finished is not None) == (JOB_KILLED, 1, True)
    finally:
        runner.kill()
        runner.wait()


HOLD_WAITING_EXCLUSIVE = """
import sys
from pathlib import Path
from pachflow_store.locks import waiting_exclusive
with waiting_exclusive(Path(sys.argv[1]) / "state.lock"):
    print("locked", flush=True)
    sys.stdin.readline()
"""


def test_a_waiting_exclusive_lock_excludes_others_until_its_holder_lets_go(tmp_path: Path):
    holder = _start(HOLD_WAITING_EXCLUSIVE, tmp_path)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with try_exclusive(tmp_path / "state.lock") as alone:
            assert not alone
    finally:
        holder.stdin.close()
        holder.wait()
    with waiting_exclusive(tmp_path / "state.lock"), try_exclusive(tmp_path / "state.lock") as a:
        assert not a  # held by us now: a second descriptor is refused
