"""`pachflow run` killed with -9 mid-job, and two commands at once: nothing half-made is
visible, a second runner is refused naming the first, puts and reads still work, and the
next run recovers and finishes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from pachflow_store import JOB_KILLED, JOB_SUCCESS, SHORT_ID_LEN, Store
from pachflow_store.processes import alive
from pachflow_testing.foreground import foreground

PACHFLOW = str(Path(sys.executable).parent / "pachflow")

GATED = """
gate = pathlib.Path(os.environ["GATE"])
(gate.parent / ("started-" + os.environ["PACH_DATUM_ID"])).write_text(str(os.getpid()))
deadline = time.time() + 120
while not gate.exists() and time.time() < deadline:
    time.sleep(0.02)
for f in src.rglob("*"):
    if f.is_file():
        (out / f.name).write_text(f.read_text())
"""


def wait_for(predicate, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + 90
    while not predicate():
        assert proc is None or proc.poll() is None, f"runner exited early while waiting: {what}"
        assert time.monotonic() < deadline, f"timed out waiting: {what}"
        time.sleep(0.02)


def gated_pipeline(
    tmp_path: Path, raw_pipeline, name: str, source: str, files: Sequence[str] = ("x.txt",)
) -> Path:
    """Pipeline p over repo raw (`files` put) running `source`, whose datum waits for the
    file `open` in the returned gates folder (named to it by $GATE)."""
    gates = tmp_path / "gates"
    gates.mkdir()
    raw_pipeline("p", name, source, {"GATE": str(gates / "open")}, files, datumTries=1)
    return gates


@pytest.fixture
def gated(tmp_path, raw_pipeline, specs_dir, home, monkeypatch):
    gates = gated_pipeline(tmp_path, raw_pipeline, "gated", GATED)
    procs: list[subprocess.Popen] = []

    def start_run() -> subprocess.Popen:
        proc = subprocess.Popen(
            foreground([PACHFLOW, "run", "--specs", str(specs_dir)]),  # Ctrl-C reaches it
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        wait_for(
            lambda: any(f.read_text() for f in gates.glob("started-*")), "the datum to start", proc
        )
        return proc

    yield start_run, gates
    (gates / "open").touch()  # lets any datum process left behind by a kill finish
    for proc in procs:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def test_kill_9_mid_job_leaves_no_survivor_and_the_next_run_resumes_the_job(gated, home, specs_dir):
    start_run, gates = gated
    runner = start_run()
    (started,) = gates.glob("started-*")
    datum_pid = int(started.read_text())
    os.kill(runner.pid, signal.SIGKILL)
    runner.wait()

    # the datum dies with its runner (parent-death signal), though its gate never opens
    wait_for(lambda: not alive(datum_pid), "the datum process to die with its runner")
    with Store(home) as store:
        (job,) = store.list_jobs("p")
        assert job.state == JOB_KILLED  # read at once as what it is: its runner is gone
        assert store.head("p") is None  # and no output commit is visible
    (gates / "open").touch()

    again = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True
    )

    assert again.returncode == 0, again.stderr
    assert "1 job(s) marked killed" in again.stderr
    assert f"p: resuming job {job.id[:SHORT_ID_LEN]}" in again.stderr
    with Store(home) as store:
        # one job, the killed one, finished under its own id: its datums' ids (what a
        # stage keys its MLflow run on) are the same in the retry
        assert [(j.id, j.state) for j in store.list_jobs("p")] == [(job.id, JOB_SUCCESS)]
        assert store.resolve("p").id == job.id
        assert [f.path for f in store.walk_files(store.resolve("p"))] == ["/x.txt"]
        assert not (home / "scratch").exists() or not any((home / "scratch").iterdir())


def test_a_datum_that_outlives_its_killed_runner_keeps_the_job_running_until_stopped(
    raw_pipeline, specs_dir, home, tmp_path, monkeypatch
):
    """A datum's child that leaves the datum's process (as a daemon would) but stays in
    its process group: `jobs` says RUNNING while it lives, the next run stops it first."""
    gates = gated_pipeline(tmp_path, raw_pipeline, "detached", DETACHED)
    runner = subprocess.Popen(
        [PACHFLOW, "run", "--specs", str(specs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    child = gates / "child"
    try:
        wait_for(lambda: child.exists() and child.read_text(), "the datum's child", runner)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
        child_pid = int(child.read_text())
        assert alive(child_pid)

        shown = subprocess.run([PACHFLOW, "jobs", "p"], capture_output=True, text=True)
        (row,) = shown.stdout.splitlines()[1:]
        assert " JOB_RUNNING " in row and "still run" in row, row

        (gates / "open").touch()
        again = subprocess.run(
            [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True
        )
        assert "stopped 1 datum process group(s) a killed runner left running" in again.stderr
        assert not alive(child_pid)
    finally:
        (gates / "open").touch()
        if runner.poll() is None:
            runner.kill()
            runner.wait()


# a child of the datum's process: the parent-death signal does not reach it (only the
# datum's process gets it), its process group (the datum's) does
DETACHED = """
import subprocess
gate = pathlib.Path(os.environ["GATE"])
if not gate.exists():
    kid = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    (gate.parent / "child").write_text(str(kid.pid))
    while not gate.exists():
        time.sleep(0.02)
"""


def test_a_second_run_is_refused_while_puts_and_reads_go_on(gated, home, specs_dir, tmp_path):
    start_run, gates = gated
    first = start_run()

    second = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True
    )
    assert second.returncode == 75  # "busy, try later": not 1, which is a failed job
    assert f"pid {first.pid}" in second.stderr and "pachflow run" in second.stderr

    more = tmp_path / "y.txt"
    more.write_text("y")
    put = subprocess.run([PACHFLOW, "put", "raw", str(more)], capture_output=True, text=True)
    assert put.returncode == 0, put.stderr
    ls = subprocess.run([PACHFLOW, "ls", "raw"], capture_output=True, text=True)
    assert "/y.txt" in ls.stdout

    (gates / "open").touch()
    _, err = first.communicate(timeout=120)
    assert first.returncode == 0, err
    with Store(home) as store:
        # the first run saw the put made while it ran and brought p up to date with it
        assert [f.path for f in store.walk_files(store.resolve("p"))] == ["/x.txt", "/y.txt"]
        provenance = store.inspect_commit(store.resolve("p")).provenance
        assert store.resolve("raw") in provenance


def test_sigterm_stops_the_datum_processes_and_marks_the_job_killed(gated, home, tmp_path):
    start_run, gates = gated
    runner = start_run()
    (started,) = gates.glob("started-*")
    datum_pid = int(started.read_text())

    runner.send_signal(signal.SIGTERM)
    runner.wait(timeout=60)

    assert runner.returncode != 0
    with Store(home) as store:
        (job,) = store.list_jobs("p")
        assert job.state == JOB_KILLED and store.head("p") is None
    wait_for(lambda: not alive(datum_pid), "the datum process to be stopped")


def ignores(pid: int, sig: signal.Signals) -> bool:
    """Whether process `pid` ignores `sig` (its SigIgn mask in /proc)."""
    status = Path(f"/proc/{pid}/status").read_text()
    mask = next(line.split()[1] for line in status.splitlines() if line.startswith("SigIgn:"))
    return bool(int(mask, 16) >> (sig - 1) & 1)


GATED_ONE = """
if (src / "wait.txt").exists():
    gate = pathlib.Path(os.environ["GATE"])
    (gate.parent / "started-wait").write_text(str(os.getpid()))
    while not gate.exists():
        time.sleep(0.02)
for f in src.rglob("*"):
    if f.is_file():
        (out / f.name).write_text(f.read_text())
"""


def test_jobs_after_kill_9_shows_the_job_killed_with_the_datums_that_finished(
    raw_pipeline, specs_dir, home, tmp_path, monkeypatch
):
    files = ("a.txt", "b.txt", "c.txt", "d.txt", "wait.txt")
    gates = gated_pipeline(tmp_path, raw_pipeline, "gated", GATED_ONE, files)
    runner = subprocess.Popen(
        [PACHFLOW, "run", "--specs", str(specs_dir)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:

        def four_done() -> bool:
            if not (gates / "started-wait").exists():
                return False
            with Store(home) as store:
                jobs = store.list_jobs("p") if store.pipeline_exists("p") else []
                return bool(jobs) and jobs[0].processed == 4

        wait_for(four_done, "4 datums to finish and the 5th to start", runner)
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait()
    finally:
        (gates / "open").touch()
        if runner.poll() is None:
            runner.kill()
            runner.wait()

    shown = subprocess.run([PACHFLOW, "jobs", "p"], capture_output=True, text=True, check=True)
    (row,) = shown.stdout.splitlines()[1:]
    assert " JOB_KILLED " in row and " 4/0/0/5 " in row and "the runner was killed" in row
    as_json = subprocess.run(
        [PACHFLOW, "jobs", "p", "--json"], capture_output=True, text=True, check=True
    )
    (job,) = json.loads(as_json.stdout)
    assert (job["state"], job["processed"], job["skipped"], job["failed"]) == (JOB_KILLED, 4, 0, 0)

    again = subprocess.run(
        [PACHFLOW, "run", "--specs", str(specs_dir)], capture_output=True, text=True
    )
    assert again.returncode == 0, again.stderr
    assert "resuming job" in again.stderr and "success  5/5 datums" in again.stderr
    with Store(home) as store:
        resumed = store.inspect_job("p", job["id"])  # the killed job, finished
        assert (resumed.state, resumed.processed) == (JOB_SUCCESS, 5)
        tries = [
            Path(d.log_path).read_text().count("--- try") for d in store.list_datums("p", job["id"])
        ]
        assert sorted(tries) == [1, 1, 1, 1, 2]  # only the killed datum ran again


def test_ctrl_c_exits_130_and_marks_the_job_killed(gated, home):
    start_run, gates = gated
    runner = start_run()
    (started,) = gates.glob("started-*")
    datum_pid = int(started.read_text())
    # what a terminal's Ctrl-C reaches: a process that does not ignore SIGINT (the
    # timeouts this test had were a pytest started in the background, see foreground())
    assert not ignores(runner.pid, signal.SIGINT)
    runner.send_signal(signal.SIGINT)
    try:
        _, err = runner.communicate(timeout=60)
    except subprocess.TimeoutExpired:  # say which of the two waits, for the next look
        ended = runner.poll()
        datum = "alive" if Path(f"/proc/{datum_pid}").exists() else "gone"
        raise AssertionError(
            f"60 s after SIGINT the runner is {'running' if ended is None else f'gone ({ended})'}"
            f" and its output still open; the datum process {datum_pid} is {datum}"
        ) from None
    assert runner.returncode == 130, err
    assert "Aborted!" not in err
    with Store(home) as store:
        (job,) = store.list_jobs("p")
        assert job.state == JOB_KILLED
