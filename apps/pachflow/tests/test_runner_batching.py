"""Datum batching: the NextDatum gRPC API served on loopback, so code written with
pachyderm_sdk's batch_all_datums runs unchanged, starting once per worker."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pachflow.local.runner import FAILURE, SUCCESS
from pachflow_store import DATUM_FAILED, DATUM_SUCCESS

BATCHED = """
from pachyderm_sdk import batch_all_datums
with open(os.environ["PIDS"], "a") as fh:
    fh.write(f"{os.getpid()}\\n")

@batch_all_datums
def one_datum():
    for f in sorted(src.rglob("*")):
        if f.is_file():
            text = f.read_text()
            if text == "bad":
                raise ValueError(f"bad datum {f.name}")
            if text == "die":
                os._exit(3)
            print(f"processing {f.name}", flush=True)
            (out / (f.name + ".out")).write_text(text)

one_datum()
"""

LOW_LEVEL = """
from pachyderm_sdk import Client
worker = Client().worker
while True:
    env = dict(e.split("=", 1) for e in worker.next_datum(error="").env)
    env["_job"] = os.environ["PACH_JOB_ID"]
    env["_files"] = sorted(p.name for p in pathlib.Path(env["raw"]).parent.rglob("*"))
    (out / (env["PACH_DATUM_ID"] + ".json")).write_text(json.dumps(env))
"""


@pytest.fixture
def batched(write_spec, script, tmp_path, monkeypatch):
    pids = tmp_path / "pids"

    def make(tries: int = 3, parallelism: int = 1, body: str = BATCHED) -> Path:
        write_spec(
            "b",
            [*script("batched", body), "/pfs/raw", "/pfs/out"],
            "raw",
            # the spec's env: a stage sees no variable of the shell, as on a worker
            transform={"datumBatching": True, "env": {"PIDS": str(pids)}},
            datumTries=tries,
            parallelismSpec={"constant": parallelism},
        )
        return pids

    return make


def starts(pids: Path) -> int:
    return len(pids.read_text().split()) if pids.exists() else 0


def test_batch_all_datums_code_runs_unchanged_in_one_process(store, put, run, batched):
    pids = batched()
    put("raw", {f"/f{n}": str(n) for n in range(5)})

    outcome = run().outcomes[0]

    assert (outcome.status, outcome.processed) == (SUCCESS, 5)
    assert starts(pids) == 1  # one start for five datums
    worker_log = (store.logs_dir / "b" / outcome.job_id / "worker0.log").read_text()
    assert worker_log.count("--- pachflow: started") == 1
    ref = store.resolve("b")
    assert {f.path: store.file_blob(ref, f.path).read_text() for f in store.walk_files(ref)} == {
        f"/f{n}.out": str(n) for n in range(5)
    }
    for datum in store.list_datums("b", outcome.job_id):
        assert datum.state == DATUM_SUCCESS
        # each datum's output lines land in that datum's log
        name = datum.files[0].split("/")[-1]
        assert f"processing {name}" in Path(datum.log_path).read_text()


def test_each_datum_gets_its_env_and_only_its_files(store, put, run, batched):
    batched(body=LOW_LEVEL)
    raw = put("raw", {"/x": "1", "/y": "2"})

    outcome = run().outcomes[0]

    ref = store.resolve("b")
    envs = [json.loads(store.file_blob(ref, f.path).read_text()) for f in store.walk_files(ref)]
    assert {e["PACH_DATUM_ID"] for e in envs} == {
        d.id for d in store.list_datums("b", outcome.job_id)
    }
    for env in envs:
        assert env["raw_COMMIT"] == raw.id
        assert env["_job"] == outcome.job_id
        assert env["_files"] == [Path(env["raw"]).name]  # one datum's files at a time


def test_a_raised_error_is_retried_then_fails_the_job(store, put, run, batched):
    pids = batched(tries=2)
    put("raw", {"/a": "1", "/b": "bad", "/c": "3"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE and "bad datum b" in outcome.reason
    assert store.head("b") is None
    datums = {d.files[0]: d for d in store.list_datums("b", outcome.job_id)}
    assert (datums["raw:/b"].state, datums["raw:/b"].tries) == (DATUM_FAILED, 2)
    assert datums["raw:/a"].state == datums["raw:/c"].state == DATUM_SUCCESS
    assert Path(datums["raw:/b"].log_path).read_text().count("bad datum b") >= 2
    # as in Pachyderm, the process is restarted after each datum error
    assert starts(pids) == 3


def test_a_process_that_dies_mid_datum_is_restarted_for_the_rest(store, put, run, batched):
    pids = batched(tries=1)
    put("raw", {"/a": "1", "/b": "die", "/c": "3"})

    outcome = run().outcomes[0]

    datums = {d.files[0]: d.state for d in store.list_datums("b", outcome.job_id)}
    assert datums == {"raw:/a": DATUM_SUCCESS, "raw:/b": DATUM_FAILED, "raw:/c": DATUM_SUCCESS}
    assert "exited with code 3" in outcome.reason
    assert starts(pids) == 2


def test_a_process_that_never_asks_for_a_datum_fails_clearly(store, put, run, write_spec, script):
    write_spec(
        "b",
        [*script("plain", "pass\n"), "/pfs/raw", "/pfs/out"],
        "raw",
        transform={"datumBatching": True},
        datumTries=1,
    )
    put("raw", {"/a": "1"})

    outcome = run().outcomes[0]

    assert outcome.status == FAILURE and "without calling NextDatum" in outcome.reason


def test_two_workers_share_the_datums(store, put, run, batched):
    pids = batched(parallelism=2)
    put("raw", {f"/f{n}": str(n) for n in range(6)})

    outcome = run(cores=2).outcomes[0]

    assert (outcome.status, outcome.processed) == (SUCCESS, 6)
    assert starts(pids) == 2


def test_pachflow_run_prints_no_grpc_fork_lines(batched, specs_dir, home, tmp_path):
    """The runner serves NextDatum in its own process and forks the workers' processes
    (and restarts them after a datum error): gRPC's fork handlers must not speak (they
    printed "fork_posix.cc:71 ... skipping fork() handlers" into the run's output)."""
    batched(tries=2, parallelism=2)
    files = []
    for n, text in enumerate(["1", "2", "bad", "4", "5", "6"]):
        files.append(tmp_path / f"f{n}")
        files[-1].write_text(text)
    pachflow = str(Path(sys.executable).parent / "pachflow")
    subprocess.run([pachflow, "put", "raw", *map(str, files)], check=True, capture_output=True)

    done = subprocess.run(
        [pachflow, "run", "--specs", str(specs_dir)], capture_output=True, text=True, timeout=300
    )

    assert "bad datum f2" in done.stderr  # the restarts after the error did happen
    grpc_lines = [ln for ln in done.stderr.splitlines() if GRPC_LOG_LINE.match(ln)]
    assert grpc_lines == [], grpc_lines


# gRPC core's log format: severity, date, time, thread, file:line]
GRPC_LOG_LINE = re.compile(r"^[DIWE]\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ [\w./-]+:\d+\]")
