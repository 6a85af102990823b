"""Fixtures for the tests that run etl and train on other kinds of Spark (a Spark Connect
server, a standalone cluster): one small PaySim data set, split once, and the reference
outputs of the in-process (`local[2]`) etl and train, made once per pytest session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

BIN = Path(sys.executable).parent
ROWS = 20_000  # ~26 frauds: enough for both parts of train's stratified split
#: Metrics that measure the machine, not the model.
TIMINGS = {"fit_seconds", "evaluate_seconds"}
EXPERIMENT = "spark-engines"
MODEL = "spark-engines-detector"
# Small data on a cluster: Spark's 200 shuffle partitions would only cost time. train's
# input laid out by customer in 4 partitions: the same on every Spark (train's --partitions).
SPARK_ENV = {
    "PACHFLOW_SPARK_DRIVER_MEMORY": "1g",
    "PACHFLOW_SPARK_SHUFFLE_PARTITIONS": "4",
    "PACHFLOW_TRAIN_PARTITIONS": "4",
}


def stage_env(tracking_uri: str, master: str | None = None) -> dict[str, str]:
    """A stage's env as a Pachyderm worker gives it (a fresh job: a new MLflow run)."""
    job = uuid.uuid4().hex
    env = {
        **SPARK_ENV,
        "PACHFLOW_ETL_SMALL_ROWS": "0",  # always Spark, never the Arrow path
        "MLFLOW_TRACKING_URI": tracking_uri,
        "PACH_JOB_ID": job,
        "PACH_OUTPUT_COMMIT_ID": job,
        "PACH_DATUM_ID": "datum-0",
        "PPS_PIPELINE_NAME": "train",
        "PPS_PROJECT_NAME": "default",
        "PPS_SPEC_COMMIT": "5" * 32,
    }
    if master:
        env["PACHFLOW_SPARK_MASTER"] = master
    return env


def run_cli(name: str, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / name), *args], env={**os.environ, **env}, capture_output=True, text=True
    )


def partial_rows(out: Path) -> pd.DataFrame:
    """Every partials file's rows, with its path, in a stable order."""
    frames = [
        pq.read_table(p).to_pandas().assign(file=str(p.relative_to(out)))
        for p in sorted(out.rglob("*.parquet"))
    ]
    return pd.concat(frames).sort_values(["file", "nameOrig"]).reset_index(drop=True)


def model_metrics(out: Path) -> dict[str, float]:
    metrics = json.loads((out / "run.json").read_text())["metrics"]
    return {k: v for k, v in metrics.items() if k not in TIMINGS}


@dataclass(frozen=True)
class Reference:
    split: Path  # etl's input
    etl: Path  # in-process etl's output (train's input)
    train: Path  # in-process train's output
    tracking_uri: str
    stage_env: Callable[..., dict[str, str]]
    run_cli: Callable[..., subprocess.CompletedProcess[str]]
    train_args: list[str]

    def same_rows(self, out: Path) -> None:
        pd.testing.assert_frame_equal(partial_rows(out), partial_rows(self.etl))

    def same_metrics(self, out: Path) -> None:
        got, want = model_metrics(out), model_metrics(self.train)
        assert got.keys() == want.keys()
        for key, value in want.items():
            assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key


@pytest.fixture(scope="session")
def spark_reference(tmp_path_factory, mlflow_tracking_uri) -> Reference:
    root = tmp_path_factory.mktemp("spark-reference")
    raw, split, etl, train = (root / n for n in ("raw", "split", "etl", "train"))
    raw.mkdir()
    train_args = ["--max-depth", "4", "--experiment", EXPERIMENT, "--registered-model", MODEL]
    steps = [
        ("pachflow", ["gen-paysim", "--rows", str(ROWS), "--seed", "8", "--out", f"{raw}/t.csv"]),
        ("pachflow-split", [str(raw), str(split)]),
        ("pachflow-etl", [str(split), str(etl)]),
        ("pachflow-train", [*train_args, str(etl), str(train)]),
    ]
    for name, args in steps:
        done = run_cli(name, args, stage_env(mlflow_tracking_uri, "local[2]"))
        assert done.returncode == 0, f"{name}: {done.stderr}"
    return Reference(split, etl, train, mlflow_tracking_uri, stage_env, run_cli, train_args)
