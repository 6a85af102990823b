"""kill -9 of `pachflow run` at random points of the real chain (split -> etl -> train ->
provenance), each followed by one plain rerun. After every rerun:

- no process of the killed runner's datums is left (they die with it),
- one MLflow run per train job that ran (the killed job is resumed under its id, so train
  finds its own run again instead of making a second one), every run belongs to a train
  commit, one model version per train commit,
- `candidate` is on the version of train@master, and `pachflow lineage verify` of it says
  VERIFIED.

Each point adds a small raw file first, so every stage has work to be killed in. Point i
is aimed at one pipeline's job, in the order etl, train, provenance, split (then again):
the run is killed once a datum process of that pipeline runs, after a delay drawn
uniformly over that pipeline's job length in a clean run (measured once), so a kill may
also land in the runner's commit of that job or the next job's start. The number of points:
PACHFLOW_KILL_POINTS (default 3: etl, train, provenance; issue 28's bar is 20). Measured on
the 2-core machine (the test's own SQLite MLflow server): 3 points took 262 s in all (load
2.3-2.7); 20 points (seed 28) passed in 780 s, 13 min (2026-12-07 at a1d57e9..a86c146, load
0.9 at the start, 2.7 at the end). Until e348a25 the kill times were drawn uniformly over
the whole clean run, 4 points by default: with seed 28 they killed etl twice and train
twice (2.3, 2.6, 3.5 and 11.3 s into a 19 s run) and never provenance or split.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from pachflow_testing.mlflow_server import MlflowServer, run_mlflow_server

REPO_ROOT = Path(__file__).resolve().parents[2]
SPECS = REPO_ROOT / "pipelines"
BIN = Path(sys.executable).parent
FIRST_ROWS = 20_000  # enough frauds for train's stratified split
MORE_ROWS = 1_000  # each kill point's new raw file
POINTS = int(os.environ.get("PACHFLOW_KILL_POINTS", "3"))
#: The pipeline each kill point is aimed at, in turn.
TARGETS = ("etl", "train", "provenance", "split")
SEED = int(os.environ.get("PACHFLOW_KILL_SEED", "28"))
MODEL = "pachflow-fraud-detector"

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _env(home: Path, tracking_uri: str) -> dict[str, str]:
    # No MLFLOW_* of this pytest process: an in-process MLflow call of another test leaves
    # MLFLOW_REGISTRY_URI (the shared server's) behind, and train registered there (403).
    drop = ("PACH_", "PPS_", "PACHD_", "MLFLOW_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    return env | {"PACHFLOW_HOME": str(home), "MLFLOW_TRACKING_URI": tracking_uri}


def _pachflow(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "pachflow"), *args], env=env, capture_output=True, text=True, timeout=timeout
    )


def _put(env: dict[str, str], tmp: Path, rows: int, seed: int) -> None:
    data = tmp / f"paysim-{seed}.csv"
    made = _pachflow(
        env, "gen-paysim", "--rows", str(rows), "--seed", str(seed), "--out", str(data)
    )
    assert made.returncode == 0, made.stderr
    put = _pachflow(env, "put", "raw_data", str(data))
    assert put.returncode == 0, put.stderr


def _run(env: dict[str, str]) -> float:
    start = time.monotonic()
    done = _pachflow(env, "run", "--specs", str(SPECS), "-q")
    if done.returncode != 0:  # the failed datums' own words, not only the job table
        jobs = _pachflow(env, "jobs").stdout
        logs = "".join(_pachflow(env, "logs", p).stdout[-4000:] for p in ("train", "provenance"))
        raise AssertionError(f"{done.stdout}\n{done.stderr[-3000:]}\n{jobs}\n{logs}")
    return time.monotonic() - start


def _datum_processes(home: Path) -> list[str]:
    """Live processes whose command line names this store's scratch (a datum's /pfs)."""
    found = []
    scratch = str(home / "scratch").encode()
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(") ", 1)[1][:1]
        except (OSError, IndexError):
            continue
        if scratch in cmdline and state != "Z":
            found.append(cmdline.replace(b"\0", b" ").decode(errors="replace"))
    return found


def _job_seconds(env: dict[str, str]) -> dict[str, float]:
    """Each pipeline's job length (created -> finished) in the newest run."""
    jobs = json.loads(_pachflow(env, "jobs", "--json").stdout)
    newest = jobs[0]["id"]  # newest first; a run's jobs share its id
    return {j["pipeline"]: j["finished"] - j["created"] for j in jobs if j["id"] == newest}


def _wait_for_datum(home: Path, pipeline: str, runner: subprocess.Popen[bytes]) -> None:
    """Until a datum process of `pipeline` runs (its command, under this store's scratch)."""
    command = f"/pachflow-{pipeline} "
    deadline = time.monotonic() + 600
    while not any(command in c for c in _datum_processes(home)):
        assert runner.poll() is None, f"the run ended before a {pipeline} datum ran"
        assert time.monotonic() < deadline, f"no {pipeline} datum in 600 s"
        time.sleep(0.1)


def _check_invariants(env: dict[str, str], home: Path, tracking_uri: str) -> None:
    from mlflow.tracking import MlflowClient

    from pachflow_store import Store

    with Store(home) as store:
        train_commits = {c.commit.id for c in store.list_commits("train")}
        head = store.head("train")
    client = MlflowClient(tracking_uri, registry_uri=tracking_uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, "tags.`pachyderm.pipeline` = 'train'", max_results=1000)
    per_job = Counter(r.data.tags["pachyderm.job_id"] for r in runs)
    assert all(n == 1 for n in per_job.values()), f"a train job has several runs: {per_job}"
    assert set(per_job) == train_commits, "a run whose job made no train commit (a duplicate)"
    versions = client.search_model_versions(f"name = '{MODEL}'")
    per_run = Counter(v.run_id for v in versions)
    assert all(n == 1 for n in per_run.values()), f"a run has several versions: {per_run}"
    assert len(versions) == len(train_commits)
    candidate = client.get_model_version_by_alias(MODEL, "candidate")
    assert client.get_run(candidate.run_id).data.tags["pachyderm.job_id"] == head
    verified = _pachflow(env, "lineage", "verify", f"{MODEL}@candidate", "--backend", "local")
    assert verified.returncode == 0 and "VERIFIED" in verified.stdout, verified.stdout


@pytest.fixture
def own_mlflow(tmp_path: Path) -> Iterator[MlflowServer]:
    """A tracking server of this test's own: the invariants count every run and version,
    so no other test's (deliberately duplicated) runs may share its registry."""
    with run_mlflow_server(tmp_path / "mlflow") as server:
        yield server


def test_kill_9_at_random_points_leaves_no_survivor_and_no_duplicate(tmp_path, own_mlflow):
    mlflow_server = own_mlflow
    home = tmp_path / "home"
    env = _env(home, mlflow_server.uri)
    _put(env, tmp_path, FIRST_ROWS, 1)
    _run(env)
    lengths = _job_seconds(env)
    _check_invariants(env, home, mlflow_server.uri)
    draw = random.Random(SEED)
    for point in range(POINTS):
        _put(env, tmp_path, MORE_ROWS, 100 + point)
        target = TARGETS[point % len(TARGETS)]
        after = draw.uniform(0, lengths[target])
        runner = subprocess.Popen(
            [str(BIN / "pachflow"), "run", "--specs", str(SPECS), "-q"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for_datum(home, target, runner)
            runner.wait(timeout=after)
        except subprocess.TimeoutExpired:
            os.kill(runner.pid, signal.SIGKILL)
            runner.wait()
        finally:
            if runner.poll() is None:
                runner.kill()
                runner.wait()
        killed = "" if runner.returncode == -signal.SIGKILL else ", the run had ended"
        where = (
            f"kill point {point} {after:.1f}s into {target}'s datum (its clean job: "
            f"{lengths[target]:.1f}s, seed {SEED}{killed})"
        )
        deadline = time.monotonic() + 30  # a datum gets SIGTERM, its JVM a closed stdin
        while _datum_processes(home) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _datum_processes(home), f"{where}: datum processes outlived their runner"
        _run(env)
        try:
            _check_invariants(env, home, mlflow_server.uri)
        except AssertionError as exc:
            raise AssertionError(f"{where}: {exc}") from exc
