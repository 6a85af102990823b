"""`pachflow run --spark engine`: etl and train, run by `pachflow run` on the store's
long-lived Spark engine (started by the run, as none runs), give the same partial rows and
the same model metrics as the in-process reference (what the Connect test compares), and
the engine is left running, released, for the next run, which takes it by default
(`--spark auto`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pachflow.local.engine import read
from pachflow_store import Store

pytestmark = [pytest.mark.spark, pytest.mark.slow]
PACHFLOW = str(Path(sys.executable).parent / "pachflow")


def spec(name: str, repo: str, cmd: list[str], env: dict[str, str]) -> dict[str, object]:
    return {
        "pipeline": {"name": name, "project": {"name": "default"}},
        "transform": {"image": f"test/{name}:0.1.0", "cmd": cmd, "env": env},
        "input": {"pfs": {"repo": repo, "branch": "master", "glob": "/"}},
        "datumTries": 1,
    }


def export(home: Path, repo: str, to: Path) -> Path:
    """The files of `repo`'s head commit, as a directory."""
    with Store(home) as store:
        ref = store.resolve(repo, None)
        for f in store.walk_files(ref):
            dest = to / f.path.lstrip("/")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(store.file_blob(ref, f.path).read_bytes())
    return to


def test_a_run_on_the_engine_equals_the_in_process_stages(spark_reference, tmp_path):
    ref = spark_reference
    home, specs = tmp_path / "home", tmp_path / "specs"
    specs.mkdir()
    # the reference's stage settings (not its job ids: the run gives its own)
    env = {
        k: v
        for k, v in ref.stage_env(ref.tracking_uri, "local[2]").items()
        if not k.startswith(("PACH_", "PPS_"))
    }
    pipelines = [
        spec("etl", "split", ["pachflow-etl", "/pfs/split", "/pfs/out"], env),
        spec("train", "etl", ["pachflow-train", *ref.train_args, "/pfs/etl", "/pfs/out"], env),
    ]
    for pipeline in pipelines:
        (specs / f"{pipeline['pipeline']['name']}.json").write_text(json.dumps(pipeline))  # type: ignore[index]
    run_env = {
        **os.environ,
        "PACHFLOW_HOME": str(home),
        "MLFLOW_TRACKING_URI": ref.tracking_uri,
        # the results are the subject, not the warm-up job (test_engine and the session's
        # warm engine, which test_spark_connect compares, run it)
        "PACHFLOW_ENGINE_WARM_UP": "0",
    }

    def pachflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [PACHFLOW, *args], env=run_env, capture_output=True, text=True, cwd=tmp_path
        )

    try:
        assert pachflow("put", "split", str(ref.split)).returncode == 0
        done = pachflow("run", "--specs", str(specs), "--spark", "engine")
        assert done.returncode == 0, done.stderr + pachflow("logs", "train").stdout
        engine = read(home)
        assert engine is not None and engine.alive() and engine.live_users() == {}
        assert f"starting the Spark engine {engine.url}" in done.stderr
        assert f"Spark: the Spark engine {engine.url}" in done.stderr
        assert engine.master == "local[2]" and engine.driver_memory == "1g"
        ref.same_rows(export(home, "etl", tmp_path / "etl"))
        ref.same_metrics(export(home, "train", tmp_path / "train"))
        # the default (--spark auto) takes the engine that runs: no second JVM, same model
        again = pachflow("run", "--specs", str(specs), "--reprocess", "train")
        assert again.returncode == 0, again.stderr + pachflow("logs", "train").stdout
        assert f"Spark: the Spark engine {engine.url}" in again.stderr
        assert "(--spark auto: it was running)" in again.stderr
        assert read(home).pid == engine.pid  # type: ignore[union-attr]
        ref.same_metrics(export(home, "train", tmp_path / "train-again"))
    finally:
        pachflow("engine", "stop")
